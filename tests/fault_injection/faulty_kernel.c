/* Test-only candidate kernels with the sdpa signature that misbehave on purpose:
 * FAULT 1 segfaults, 2 hangs forever, 3 allocates without bound, 4 returns wrong numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct halide_buffer_t;
typedef struct { uint64_t device; void* iface; uint8_t* host; } buffer_head;

int attune_candidate(struct halide_buffer_t* q, struct halide_buffer_t* k, struct halide_buffer_t* v,
                     struct halide_buffer_t* mask, float scale, struct halide_buffer_t* out) {
  (void)q; (void)k; (void)v; (void)mask; (void)scale;
#if FAULT == 1
  volatile int* p = (int*)16;
  *p = 1;
#elif FAULT == 2
  for (volatile int spin = 0;; spin++) {}
#elif FAULT == 3
  for (;;) {
    char* leak = malloc(1 << 26);
    if (!leak) abort(); /* out of memory under the runner's cap, as new would terminate */
    memset(leak, 1, 1 << 26);
  }
#elif FAULT == 4
  /* halide_buffer_t starts with device, device_interface, host: write garbage to host. */
  float* host = (float*)((buffer_head*)out)->host;
  for (int n = 0; n < 64; ++n) host[n] = 12345.0f;
#endif
  return 0;
}
