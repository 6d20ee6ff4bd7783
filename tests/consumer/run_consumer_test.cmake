# Installs the build tree into a scratch prefix, then, against it only: builds and runs the
# consumer app and the pack-loading example (with the test pack), runs the installed CLI (which
# must find its tools in the install tree), and builds an app with its own kernel library from
# its own tuned config; editing that config and rebuilding must change the kernel the app runs.
# Any failing step fails the test.
file(REMOVE_RECURSE "${WORK_DIR}")
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if (NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif ()
endfunction()
set(prefix "${WORK_DIR}/prefix")
step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

# Halide must not be needed by a consumer: the package is libattune.a + headers + Threads.
step(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_DISABLE_FIND_PACKAGE_Halide=ON "-DATTUNE_EXAMPLES_DIR=${EXAMPLES_DIR}")
step(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
step("${WORK_DIR}/build/consumer")
step(${CMAKE_COMMAND} -E env OMP_PROC_BIND=true OMP_PLACES=threads "${WORK_DIR}/build/pinned_app")
step("${WORK_DIR}/build/pack_example" "${TEST_PACK}")

# The installed CLI runs from the install tree (generator and runner from libexec/attune).
step("${prefix}/bin/attune" which --shape 1x8x1x4096x64)
step("${prefix}/bin/attune" tune --shape 1x1x20x40x32 --budget 1 --min-time 0.02 --db "${WORK_DIR}/cli.jsonl")

# Own kernels from own tuned configs (avx2 kernels: they run on any CPU this test runs on).
function(write_tuned config)
  file(WRITE "${WORK_DIR}/my_tuned.json" "{\"target\": \"x86-64-linux-avx-avx2-f16c-fma-sse41\", \"format\": 1,
  \"kernels\": [{\"workload\": {\"kernel\": \"sdpa\", \"batch\": 1, \"num_heads\": 4, \"num_kv_heads\": 4,
  \"seq_q\": 600, \"seq_kv\": 1000, \"head_dim\": 64, \"causal\": false, \"mask\": false}, \"config\": ${config}}]}\n")
endfunction()
set(config_a [[{"kernel":"sdpa","knobs":{"algorithm":0,"k_transpose":1,"kv_block":32,"pv_rows":3,"pv_width":32,"q_tile":48,"qk_rows":3,"rfactor":0,"vec":8}}]])
set(config_b [[{"kernel":"sdpa","knobs":{"algorithm":0,"k_transpose":1,"kv_block":16,"pv_rows":2,"pv_width":8,"q_tile":48,"qk_rows":3,"rfactor":0,"vec":8}}]])
write_tuned("${config_a}")
step(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/own" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
     -DATTUNE_CONSUMER_OWN_KERNELS=ON "-DMY_TUNED_CONFIGS=${WORK_DIR}/my_tuned.json")
step(${CMAKE_COMMAND} --build "${WORK_DIR}/own" -j 2)
step("${WORK_DIR}/own/own_kernels" "${config_a}")
write_tuned("${config_b}")  # a new tuning result: rebuilding alone picks it up
step(${CMAKE_COMMAND} --build "${WORK_DIR}/own" -j 2)
step("${WORK_DIR}/own/own_kernels" "${config_b}")

# A missing or malformed export stops the configure step, naming the file and the problem.
file(WRITE "${WORK_DIR}/bad_json.json" "{ this is not json")
file(WRITE "${WORK_DIR}/no_config.json" "{\"target\": \"x86-64-linux-avx2-fma\", \"kernels\": [{\"workload\":
  {\"kernel\": \"sdpa\", \"batch\": 1, \"num_heads\": 4, \"num_kv_heads\": 4, \"seq_q\": 600, \"seq_kv\": 1000,
  \"head_dim\": 64, \"causal\": false, \"mask\": false}}]}")
foreach (case "missing.json|does not exist" "bad_json.json|not an attune export" "no_config.json|kernels\\[0\\].config")
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 name)
  list(GET case 1 expected)
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/bad_${name}" "-DCMAKE_PREFIX_PATH=${prefix}"
                          -DATTUNE_CONSUMER_OWN_KERNELS=ON "-DMY_TUNED_CONFIGS=${WORK_DIR}/${name}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \t\r\n]+" " " err "${err}")  # CMake wraps long messages
  if (rc EQUAL 0 OR NOT err MATCHES "${name}" OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "configure with ${name} should fail naming the file and '${expected}'; got rc ${rc}:\n${err}")
  endif ()
endforeach ()
