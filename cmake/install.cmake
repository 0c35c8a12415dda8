# The installed Herald (docs/install.md): libherald.so (versioned SONAME, hidden visibility: only
# what include/herald/ marks HERALD_API is exported), the public headers, heraldd, herald,
# herald-sim, the docs, a CMake package (find_package(herald) -> herald::herald) and herald.pc.
# Not in sanitizer builds: they are for testing, not for installing.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Every layer the public API stands on, from the layer libraries' own objects (src/CMakeLists.txt
# compiles them position-independent with hidden visibility when installing).
set(herald_library_objects)
foreach(layer herald_core herald_wire herald_proto herald_store herald_runtime herald)
    list(APPEND herald_library_objects $<TARGET_OBJECTS:${layer}>)
endforeach()
add_library(herald_shared SHARED ${herald_library_objects})
target_include_directories(herald_shared
    PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# The public headers use tl::expected (header-only); everything else is private.
target_link_libraries(herald_shared
    PUBLIC tl::expected
    PRIVATE msgpackc-cxx SQLite::SQLite3 PkgConfig::sodium Threads::Threads spdlog::spdlog fmt::fmt
            CURL::libcurl nlohmann_json::nlohmann_json)
set_target_properties(herald_shared PROPERTIES
    OUTPUT_NAME herald
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    EXPORT_NAME herald)

# -DHERALD_STATIC_LIBRARY=ON also installs libherald.a (the same objects, as an archive; a
# program linking it also needs SQLite, libsodium, spdlog and fmt: pkg-config --static lists them).
option(HERALD_STATIC_LIBRARY "Also build and install libherald.a" OFF)
if(HERALD_STATIC_LIBRARY)
    add_library(herald_static STATIC ${herald_library_objects})
    target_include_directories(herald_static
        PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
               $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(herald_static PUBLIC tl::expected
                          PRIVATE msgpackc-cxx SQLite::SQLite3 PkgConfig::sodium Threads::Threads
                                  spdlog::spdlog fmt::fmt CURL::libcurl)
    set_target_properties(herald_static PROPERTIES OUTPUT_NAME herald)
    install(TARGETS herald_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

install(TARGETS herald_shared EXPORT herald-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/herald DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS heraldd herald_cli herald_sim_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(herald_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
install(EXPORT herald-targets NAMESPACE herald:: DESTINATION ${herald_cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/package/herald-config.cmake.in
                              ${CMAKE_BINARY_DIR}/package/herald-config.cmake
                              INSTALL_DESTINATION ${herald_cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/package/herald-config-version.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/herald-config.cmake
              ${CMAKE_BINARY_DIR}/package/herald-config-version.cmake
        DESTINATION ${herald_cmake_dir})
# The .pc finds its prefix from where it lies, so that `cmake --install --prefix P` works.
file(RELATIVE_PATH herald_pc_up /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
set(herald_pc_prefix "\${pcfiledir}/${herald_pc_up}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/package/herald.pc.in ${CMAKE_BINARY_DIR}/package/herald.pc
               @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/package/herald.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
