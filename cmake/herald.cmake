# Helpers shared by every CMakeLists.txt: warning flags, layer libraries, tests.

add_library(herald_warnings INTERFACE)
target_compile_options(herald_warnings INTERFACE -Wall -Wextra -Wpedantic -Wconversion
                       -Wsign-conversion -Wshadow $<$<BOOL:${HERALD_WERROR}>:-Werror>)
# g++ 12 at -O2 reports -Wrestrict on `"literal" + std::string` inside libstdc++ (GCC bug
# 105651, a false positive fixed in g++ 13); keep it a warning there, not a build failure.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(herald_warnings INTERFACE -Wno-error=restrict)
    # It also reports -Wmaybe-uninitialized inside std::vector moved out of a tl::expected
    # when a unity translation unit inlines more together (false positives of the GCC bug
    # 105562 family); the clang builds (asan, tsan) keep their uninitialized checks.
    target_compile_options(herald_warnings INTERFACE -Wno-maybe-uninitialized)
endif()

# herald_layer(NAME LINKS ...): a static library from every .cpp under src/NAME, alias
# herald::NAME. Layers with no sources yet are INTERFACE libraries.
function(herald_layer name)
    cmake_parse_arguments(ARG "" "DIR;TARGET" "LINKS" ${ARGN})
    set(dir ${CMAKE_SOURCE_DIR}/src/${ARG_DIR})
    set(target ${ARG_TARGET})
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cpp)
    if(sources)
        add_library(${target} STATIC ${sources})
        set_target_properties(${target} PROPERTIES UNITY_BUILD ${HERALD_UNITY})
        target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/src
                                                    ${CMAKE_SOURCE_DIR}/include)
        target_link_libraries(${target} PUBLIC ${ARG_LINKS} PRIVATE herald_warnings)
    else()
        add_library(${target} INTERFACE)
        target_include_directories(${target} INTERFACE ${CMAKE_SOURCE_DIR}/src
                                                       ${CMAKE_SOURCE_DIR}/include)
        target_link_libraries(${target} INTERFACE ${ARG_LINKS})
    endif()
    add_library(herald::${name} ALIAS ${target})
endfunction()

# Test code itself compiles at -O1 outside Debug builds: the libraries it drives keep the
# build type's optimization, and -O1 compiles a test file (GoogleTest, Asio) in about 60% of
# -O3's time (g++ 12: node_api_test.cpp 10.6 s -> 6.4 s).
add_library(herald_test_code INTERFACE)
target_compile_options(herald_test_code INTERFACE $<$<NOT:$<CONFIG:Debug>>:-O1>)

# herald_add_test(NAME LABEL unit|property|sim|integration|fuzz LINKS ... [SOURCES ...]
#                 [TIMEOUT s] [COST s] [ARGS ...] [TSAN]): a GoogleTest binary from NAME.cpp
#                 (or SOURCES). TSAN also runs it in the ThreadSanitizer build (label tsan).
#                 COST: about how many seconds it runs in its slowest tier; ctest -j starts the
#                 costliest tests first, so on a fresh clone (no timing data yet) a long test
#                 does not start last and run alone while the other core idles.
#                 LABEL unit or property: the test is also listed in the global property
#                 HERALD_SANITIZER_TIER_TESTS, which make test's release tier leaves out
#                 (herald_release_tier_target).
function(herald_add_test name)
    cmake_parse_arguments(ARG "NO_GTEST_MAIN;TSAN" "LABEL;TIMEOUT;COST" "LINKS;SOURCES;ARGS"
                          ${ARGN})
    if(NOT ARG_SOURCES)
        set(ARG_SOURCES ${name}.cpp)
    endif()
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 60)
    endif()
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_LINKS} herald_warnings herald_test_code)
    if(NOT ARG_NO_GTEST_MAIN)
        target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock)
    endif()
    if(ARG_LABEL STREQUAL "property")
        target_link_libraries(${name} PRIVATE rapidcheck rapidcheck_gtest)
    endif()
    if(TARGET herald_test_pch AND NOT ARG_NO_GTEST_MAIN)
        target_precompile_headers(${name} REUSE_FROM herald_test_pch)
    endif()
    add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
    if(ARG_LABEL MATCHES "^(unit|property)$")
        set_property(GLOBAL APPEND PROPERTY HERALD_SANITIZER_TIER_TESTS ${name})
    endif()
    set(labels ${ARG_LABEL})
    if(ARG_TSAN)
        list(APPEND labels tsan)
        add_dependencies(herald_tsan_tests ${name})
    endif()
    set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${ARG_TIMEOUT})
    if(ARG_COST)
        set_tests_properties(${name} PROPERTIES COST ${ARG_COST})
    endif()
endfunction()

# herald_release_tier_target(): the target herald_release_tier, which builds every target of the
# tree but the tests listed in HERALD_SANITIZER_TIER_TESTS. make test's release tier builds it
# and runs every test but the labels unit and property: those run in the ASan+UBSan tier (the
# same -O2 and NDEBUG, with the sanitizers); compiling their 53 files a second time with g++
# cost make test about three minutes of its 40. The sim tests stay in the release tier: it runs
# their full seed counts (docs/simulation.md), the sanitizer tiers a quarter or an eighth.
# `make build` and scripts/test-mutants still build and run every test with g++. Call it once,
# at the end of the top-level CMakeLists.txt, after every add_subdirectory.
function(herald_collect_targets dir out)
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    foreach(sub ${subdirs})
        herald_collect_targets(${sub} below)
        list(APPEND targets ${below})
    endforeach()
    set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(herald_release_tier_target)
    herald_collect_targets(${CMAKE_SOURCE_DIR} targets)
    get_property(left_out GLOBAL PROPERTY HERALD_SANITIZER_TIER_TESTS)
    add_custom_target(herald_release_tier)
    foreach(target ${targets})
        get_target_property(type ${target} TYPE)
        get_target_property(excluded ${target} EXCLUDE_FROM_ALL)
        if(type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY)$"
           AND NOT excluded AND NOT target IN_LIST left_out)
            add_dependencies(herald_release_tier ${target})
        endif()
    endforeach()
endfunction()
