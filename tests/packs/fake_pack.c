/* Test-only kernel packs that attune::load_kernel_pack must refuse, one per defect: compiled
   once per case with -D<CASE> (tests/CMakeLists.txt). */
#if defined(NOT_A_PACK)
int some_function(void) { return 42; }
#else
#define KERNEL(name, buckets)                                                                \
  "{\"target\":\"x86-64-linux-sse41\",\"kernels\":[{\"name\":\"" name "\",\"generator\":\"sdpa\"," \
  "\"head_dim\":64,\"causal\":false,\"mask\":false,\"buckets\":" buckets ",\"config\":{}}]}"
#if defined(WRONG_ABI)
#define MANIFEST "{}"
#elif defined(CORRUPT_MANIFEST)
#define MANIFEST "{not json"
#elif defined(FOREIGN_TARGET)
#define MANIFEST "{\"target\":\"arm-64-linux\",\"kernels\":[]}"
#elif defined(GPU_TARGET)
#define MANIFEST "{\"target\":\"x86-64-linux-cuda-cuda_capability_80\",\"kernels\":[]}"
#elif defined(MISSING_CPU_FEATURE) /* Xeon Phi only: no current CPU has it */
#define MANIFEST "{\"target\":\"x86-64-linux-avx512-avx512_knl\",\"kernels\":[]}"
#elif defined(MISSING_KERNEL)
#define MANIFEST KERNEL("attune_pack_missing", "[\"short\"]")
#elif defined(BAD_BUCKET)
#define MANIFEST KERNEL("some_kernel", "[\"huge\"]")
#endif
void some_kernel(void) {}
int attune_pack_abi_version(void) {
#if defined(WRONG_ABI)
  return 999;
#else
  return 1;
#endif
}
const char* attune_pack_manifest(void) { return MANIFEST; }
#endif
