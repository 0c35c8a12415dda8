# cmake -DBUILD_DIR=... -DWORK=... -DEXAMPLE=... -DCXX=... -P consumer_test.cmake
# Installs BUILD_DIR into WORK/prefix and builds EXAMPLE against it, as a user outside the tree.

function(step what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT code EQUAL 0)
        message(FATAL_ERROR "${what} failed (${code}):\n${out}\n${err}")
    endif()
    set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
file(GLOB_RECURSE libraries ${prefix}/lib*/libherald.so.*)
list(LENGTH libraries count)
if(count LESS 1)
    message(FATAL_ERROR "no libherald.so.* installed under ${prefix}")
endif()
foreach(file include/herald/herald.h bin/heraldd bin/herald bin/herald-sim)
    if(NOT EXISTS ${prefix}/${file})
        message(FATAL_ERROR "${file} is not installed")
    endif()
endforeach()

# Only the public API is exported: no symbol of an internal layer.
list(GET libraries 0 library)
step("nm" nm -D -C --defined-only ${library})
# A symbol whose own name is in an internal namespace (public ones may mention internal types in
# their parameters, e.g. the Node handle's constructor).
string(REGEX MATCHALL
       "\n[0-9a-f]+ [A-Za-z] (typeinfo for |typeinfo name for |vtable for )?herald::(runtime|proto|wire|store|sim|admin)::[^\n]*"
       internal "\n${step_output}")
if(internal)
    list(GET internal 0 first)
    message(FATAL_ERROR "libherald.so exports internal symbols, e.g. ${first}")
endif()
if(NOT step_output MATCHES "herald::Node::start")
    message(FATAL_ERROR "libherald.so does not export herald::Node::start")
endif()

# 1. CMake: find_package(herald 0.1 REQUIRED) and herald::herald.
set(src ${WORK}/cmake-consumer)
file(MAKE_DIRECTORY ${src})
file(COPY ${EXAMPLE} DESTINATION ${src})
file(WRITE ${src}/CMakeLists.txt [=[
cmake_minimum_required(VERSION 3.25)
project(herald_consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(herald 0.1 REQUIRED)
add_executable(ping_pong ping_pong.cpp)
target_link_libraries(ping_pong PRIVATE herald::herald)
]=])
step("consumer configure" ${CMAKE_COMMAND} -S ${src} -B ${src}/build
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
step("consumer build" ${CMAKE_COMMAND} --build ${src}/build)
step("consumer run" ${src}/build/ping_pong)
if(NOT step_output MATCHES "done: 10 round trips")
    message(FATAL_ERROR "the CMake consumer did not exchange its messages:\n${step_output}")
endif()

# 2. pkg-config --cflags --libs herald.
file(GLOB_RECURSE pc_files ${prefix}/*/herald.pc)
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
step("pkg-config" pkg-config --cflags --libs herald)
string(STRIP "${step_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
get_filename_component(libdir ${library} DIRECTORY)
step("pkg-config build" ${CXX} ${EXAMPLE} ${flags} -Wl,-rpath,${libdir} -o ${WORK}/ping_pong_pc)
step("pkg-config run" ${WORK}/ping_pong_pc)
if(NOT step_output MATCHES "done: 10 round trips")
    message(FATAL_ERROR "the pkg-config consumer did not exchange its messages:\n${step_output}")
endif()
# 3. The CMake consumer talks to the installed heraldd: ping its echo service.
execute_process(COMMAND sh -c "'${prefix}/bin/heraldd' --listen udp://127.0.0.1:0 --data-dir '${WORK}/data' >'${WORK}/heraldd.out' 2>&1 & echo $!"
                OUTPUT_VARIABLE daemon_pid OUTPUT_STRIP_TRAILING_WHITESPACE)
set(ready "")
foreach(attempt RANGE 100)
    file(READ ${WORK}/heraldd.out log)
    if(log MATCHES "node ([0-9a-f]+) listening on ([^ \n]+)")
        set(ready "${CMAKE_MATCH_1}.2@${CMAKE_MATCH_2}")
        break()
    endif()
    execute_process(COMMAND sleep 0.1)
endforeach()
if(ready STREQUAL "")
    execute_process(COMMAND kill ${daemon_pid})
    message(FATAL_ERROR "the installed heraldd did not start:\n${log}")
endif()
execute_process(COMMAND ${src}/build/ping_pong ping ${ready} 3 RESULT_VARIABLE code
                OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
execute_process(COMMAND kill ${daemon_pid})
if(NOT code EQUAL 0 OR NOT out MATCHES "done: 3 round trips")
    message(FATAL_ERROR "the consumer could not talk to heraldd's echo at ${ready}:\n${out}\n${err}")
endif()
message(STATUS "package consumer: find_package and pkg-config builds ran and talked to heraldd")
