# Test fixture: a real kernel pack, made as a hardware owner would: a short tune of a small
# workload, then `attune export --pack`.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach (step "tune;--shape;1x2x64x300x64;--budget;2;--min-time;0.05;--db;${WORK_DIR}/tuning.jsonl"
              "tune;--kernel;linear;--shape;1x2x64x64x32;--budget;1;--min-time;0.05;--db;${WORK_DIR}/tuning.jsonl"
              "export;--db;${WORK_DIR}/tuning.jsonl;--pack;${WORK_DIR}/test_pack.so")
  execute_process(COMMAND "${ATTUNE}" ${step} RESULT_VARIABLE rc)
  if (NOT rc EQUAL 0)
    message(FATAL_ERROR "attune ${step} failed (${rc})")
  endif ()
endforeach ()
