# Runs one libFuzzer target for a bounded time over a fresh copy of its committed corpus.
# cmake -DFUZZER=<binary> -DCORPUS=<committed corpus dir> -DWORK=<scratch dir> -DSECONDS=<n>
#       -P run_fuzz.cmake
foreach(var FUZZER CORPUS WORK SECONDS)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_fuzz.cmake: -D${var}=... is required")
    endif()
endforeach()
if(NOT IS_DIRECTORY ${CORPUS})
    message(FATAL_ERROR "run_fuzz.cmake: no corpus at ${CORPUS}")
endif()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(COPY ${CORPUS}/ DESTINATION ${WORK}/corpus)
# -max_len bounds inputs near a jumbo datagram; -timeout flags any single input that hangs.
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -max_len=16384 -timeout=10
                        -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "fuzzer failed (exit ${status}); the input is in ${WORK}/artifacts")
endif()
