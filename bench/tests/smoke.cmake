# Runs `incq_bench --quick` and checks its JSON (see check_bench_json.cpp).
execute_process(COMMAND ${BENCH} --quick --threads 2 --json ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "incq_bench --quick exited with ${rc}")
endif()
execute_process(COMMAND ${CHECK} ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_bench_json failed on ${OUT}")
endif()
