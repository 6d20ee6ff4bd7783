# The attune CLI end to end on tiny workloads (attention, projection GEMM): tune, show, export,
# plot, --help.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if (NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif ()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()
# `attune export ARGS... --out FILE`: FILE must hold `expected` kernels, the first measured on
# `machine`.
function(export_expecting file expected machine)
  step(${ATTUNE} export --db ${db} ${ARGN} --out ${file})
  file(READ ${file} exported)
  string(JSON n LENGTH "${exported}" kernels)
  string(JSON cpu GET "${exported}" kernels 0 cpu)
  if (NOT n EQUAL expected OR NOT cpu STREQUAL machine)
    message(FATAL_ERROR "export ${ARGN} wrote ${n} kernels (the first measured on '${cpu}'), expected ${expected} "
            "of '${machine}'")
  endif ()
endfunction()
set(db "${WORK_DIR}/db.jsonl")
step(${ATTUNE} tune --shape 1x2x128x128x64 --budget 3 --db ${db} --min-time 0.02)
# The config this build ships for the workload, if tuned (`attune which`), is measured and
# re-timed against the winner.
step(${ATTUNE} which --shape 1x2x128x128x64)
if (last_out MATCHES "config  {")
  file(READ ${db} records)
  if (NOT records MATCHES "\"strategy\":\"shipped\"")
    message(FATAL_ERROR "the tune did not measure the shipped config:\n${last_out}")
  endif ()
endif ()
# The projection GEMM of the multi-head attention layer: [1, 64, 2*32] -> 2 heads of 32.
step(${ATTUNE} tune --kernel linear --shape 1x2x64x64x32 --budget 2 --db ${db} --min-time 0.02)
step(${ATTUNE} show --db ${db})
foreach (key "sdpa:b1:h2:kv2:q128:k128:d64" "linear:b1:h2:kv2:q64:k64:d32")
  if (NOT last_out MATCHES "${key}")
    message(FATAL_ERROR "attune show lacks the workload ${key} (no correct candidate?):\n${last_out}")
  endif ()
endforeach ()
# % of the machine's FMA peak, which each tune measures for its target.
if (NOT last_out MATCHES "FMA peak [0-9]+")
  message(FATAL_ERROR "attune show gives no FMA peak:\n${last_out}")
endif ()
file(STRINGS ${db} first_record LIMIT_COUNT 1)
string(JSON here GET "${first_record}" cpu)  # this machine, as the tunes named it
export_expecting(${WORK_DIR}/tuned.json 2 "${here}")
# Peers from a benchmark run's JSON (rows labelled with the tuned workload's key) as lines.
file(WRITE ${WORK_DIR}/bench.json [[{"benchmarks": [
  {"run_name": "sdpa/onednn_unfused/x", "run_type": "iteration", "label": "sdpa:b1:h2:kv2:q128:k128:d64:causal0:mask0", "GFLOP/s": 12.5},
  {"run_name": "sdpa/attune/x", "run_type": "iteration", "label": "sdpa:b1:h2:kv2:q128:k128:d64:causal0:mask0", "GFLOP/s": 40}]}]])
step(${ATTUNE} plot --db ${db} --bench ${WORK_DIR}/bench.json --out ${WORK_DIR}/plot.png)
if (NOT EXISTS ${WORK_DIR}/plot.png)
  message(FATAL_ERROR "no plot written")
endif ()
execute_process(COMMAND ${ATTUNE} plot --db ${db} --bench ${WORK_DIR}/missing.json --out ${WORK_DIR}/p2.png
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if (rc EQUAL 0 OR NOT err MATCHES "--bench")
  message(FATAL_ERROR "attune plot with a missing --bench file: rc ${rc}, ${err}")
endif ()
# An offline batch (as for a GPU machine without Halide), here for the host CPU: built with
# --batch-out and a hand-picked --config, run by its run.sh, imported into the database.
set(batch "${WORK_DIR}/batch")
step(${ATTUNE} tune --shape 1x2x64x64x64 --budget 2 --db ${db} --batch-out ${batch}
     --config "{\"kernel\":\"sdpa\",\"knobs\":{\"q_tile\":24}}")
step(${batch}/run.sh --rounds 2 --min-time 0.01)
step(${ATTUNE} import --batch ${batch} --db ${db})
if (NOT last_out MATCHES "imported 2 measured")
  message(FATAL_ERROR "attune import did not record the batch's 2 candidates:\n${last_out}")
endif ()
# Another machine's tune in the same database (as a shared one gathers): shown apart; export
# takes this machine's results, or another's with --machine, never a mix.
string(REGEX REPLACE "\"cpu\":\"[^\"]*\"" "\"cpu\":\"Other CPU (family 1, model 2)\"" other_record "${first_record}")
file(APPEND ${db} "${other_record}\n")
step(${ATTUNE} show --db ${db})
if (NOT last_out MATCHES "machine Other CPU")
  message(FATAL_ERROR "attune show does not list the other machine's results apart:\n${last_out}")
endif ()
export_expecting(${WORK_DIR}/here.json 3 "${here}")  # the two tunes and the batch's workload
export_expecting(${WORK_DIR}/other.json 1 "Other CPU (family 1, model 2)" --machine "Other CPU (family 1, model 2)")
execute_process(COMMAND ${ATTUNE} export --db ${db} --machine "No such CPU" --out ${WORK_DIR}/none.json
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if (rc EQUAL 0 OR NOT err MATCHES "--machine")
  message(FATAL_ERROR "export --machine of a machine without records: rc ${rc}, ${err}")
endif ()
foreach (cmd tune import show export plot)
  step(${ATTUNE} ${cmd} --help)
endforeach ()
execute_process(COMMAND ${ATTUNE} tune --preset standard --total-budget 1m --db ${db} RESULT_VARIABLE rc ERROR_VARIABLE err)
if (rc EQUAL 0 OR NOT err MATCHES "--total-budget")
  message(FATAL_ERROR "a --total-budget too small for the preset was not rejected by name: ${err}")
endif ()
execute_process(COMMAND ${ATTUNE} tune --budget bogus --db ${db} RESULT_VARIABLE rc ERROR_VARIABLE err)
if (rc EQUAL 0 OR NOT err MATCHES "--budget")
  message(FATAL_ERROR "a bad --budget was not rejected by name: ${err}")
endif ()
