// attune public API: attention kernels AOT-compiled from tuned Halide schedules.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace attune {

// Every invalid argument, unsupported option or failed kernel is reported with this type;
// the message names the argument. Outputs are untouched when it is thrown.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SdpaOptions {
  bool causal = false;          // bottom-right aligned when seq_q != seq_kv
  float scale = 0.0f;           // 0 means 1/sqrt(head_dim)
  int num_kv_heads = 0;         // 0 means num_heads; GQA/MQA when it divides num_heads
  const std::uint8_t* key_padding_mask = nullptr;  // [batch, seq_kv], nonzero = attend
};

// Scaled dot-product attention: out = softmax(q·kᵀ·scale)·v.
// q, out: [batch, num_heads, seq_q, head_dim]; k, v: [batch, num_kv_heads, seq_kv, head_dim];
// row-major, contiguous float32. Throws attune::Error on bad arguments.
void sdpa(const float* q, const float* k, const float* v, float* out,
          int batch, int num_heads, int seq_q, int seq_kv, int head_dim,
          const SdpaOptions& options = {});

// Attention weights for interpretability: probs = softmax(q·kᵀ·scale), same options as sdpa.
// probs: [batch, num_heads, seq_q, seq_kv], each row sums to 1 (or is all zeros if fully masked).
void attention_probs(const float* q, const float* k, float* probs,
                     int batch, int num_heads, int seq_q, int seq_kv, int head_dim,
                     const SdpaOptions& options = {});

// Multi-head attention layer weights, nn.Linear layout: W is [out_features, in_features], y = x·Wᵀ + b.
struct MhaWeights {
  const float* w_q = nullptr;  // [num_heads*head_dim, model_dim]
  const float* w_k = nullptr;  // [kv_heads*head_dim, model_dim]  (kv_heads = options.num_kv_heads or num_heads)
  const float* w_v = nullptr;  // [kv_heads*head_dim, model_dim]
  const float* w_o = nullptr;  // [model_dim, num_heads*head_dim]
  const float* b_q = nullptr;  const float* b_k = nullptr;  // biases optional (nullptr = none)
  const float* b_v = nullptr;  const float* b_o = nullptr;
};

// The layer of torch.nn.MultiheadAttention(batch_first=True) (and GQA layers when
// options.num_kv_heads < num_heads): project, SDPA per head, concatenate, project.
// x_q: [batch, seq_q, model_dim], x_kv: [batch, seq_kv, model_dim], out: [batch, seq_q, model_dim];
// head_dim = model_dim / num_heads. attn_weights, if not null: [batch, num_heads, seq_q, seq_kv].
void multi_head_attention(const float* x_q, const float* x_kv, float* out,
                          int batch, int seq_q, int seq_kv, int model_dim, int num_heads,
                          const MhaWeights& weights, const SdpaOptions& options = {},
                          float* attn_weights = nullptr);

// Sequence buckets: every kernel variant is tuned and compiled per bucket, and a call runs the
// kernel of its bucket. decode: seq_q <= kDecodeMaxSeqQ (split over the KV sequence);
// otherwise by seq_kv: short <= kShortMaxSeqKv < medium <= kMediumMaxSeqKv < long.
constexpr int kDecodeMaxSeqQ = 16;
constexpr int kShortMaxSeqKv = 512;
constexpr int kMediumMaxSeqKv = 2048;
enum class SeqBucket { kDecode = 0, kShort = 1, kMedium = 2, kLong = 3 };
constexpr SeqBucket seq_bucket(int seq_q, int seq_kv) {
  return seq_q <= kDecodeMaxSeqQ   ? SeqBucket::kDecode
         : seq_kv <= kShortMaxSeqKv  ? SeqBucket::kShort
         : seq_kv <= kMediumMaxSeqKv ? SeqBucket::kMedium
                                     : SeqBucket::kLong;
}
constexpr const char* to_string(SeqBucket bucket) {
  constexpr const char* names[] = {"decode", "short", "medium", "long"};
  return names[int(bucket)];
}

// Which compiled kernel a call would run (introspection; `attune which` prints it).
struct DispatchInfo {
  std::string kernel;       // compiled function, e.g. "attune_sdpa_d64_causal_avx512_medium_long"
  std::string target;       // Halide target it was compiled for
  std::string config;       // schedule Config JSON ("" = the schedule space's default)
  std::string config_hash;  // FNV-1a 64 of the canonical config JSON, as in the tuning database
  std::string tuned_for;    // workload key(s) the config was tuned for (space-separated; a bucket
                            // without its own borrows a neighbour's); "" = the default schedule
  std::string bucket;       // the call's sequence bucket (see seq_bucket)
  bool decode = false;      // bucket == "decode"
  std::string isa;          // CPU ISA level of the kernel: avx512, avx2 or sse41
  std::string source;       // "built-in", or the path of the kernel pack it comes from
};
// `function` is "sdpa", "attention_probs" or "linear" (the projection GEMM multi_head_attention
// runs for a layer of num_heads x head_dim features; options do not apply); validates the
// arguments like the call would.
DispatchInfo describe_dispatch(const std::string& function, int batch, int num_heads, int seq_q,
                               int seq_kv, int head_dim, const SdpaOptions& options = {});

// Kernel packs: shared libraries of tuned kernels for one target, built by
// `attune export --pack OUT.so` on the machine they were tuned on. Once loaded, a pack's
// kernels are preferred over the built-in ones for the workloads they match (kernel, head_dim,
// causal, mask, sequence bucket), so a hardware owner ships faster kernels without rebuilding
// applications. Throws attune::Error, loading nothing, if the file cannot be loaded, is not an
// attune pack, was built for another pack ABI version, or targets a CPU this one is not.
// Packs stay loaded until the process exits; loading the same path twice is a no-op.
struct PackInfo {
  std::string path;
  std::string target;       // Halide target its kernels were compiled for
  int abi_version = 0;
  int kernels = 0;          // number of kernels it provides
};
constexpr int kPackAbiVersion = 1;
PackInfo load_kernel_pack(const std::string& path);

// Caps the CPU ISA level the dispatch may use ("avx512", "avx2", "sse41"; "" = the best this
// CPU supports, the default). Kernels are compiled for each level; this selects among them
// (tests run every compiled level on one machine). max_isa() is the level in effect.
void set_max_isa(const std::string& isa);
std::string max_isa();

// Threads. A call runs its parallel loops on the calling thread plus num_threads() - 1 other
// threads: the process's OpenMP threads, or the workers of attune's own pool (thread_pool()).
//
// Which pool: by default (ThreadPool::kAuto) the OpenMP runtime's threads when the process has
// one (libgomp, LLVM's libomp or Intel's libiomp5 linked into the application when attune
// loads) and it binds them (OMP_PROC_BIND, OMP_PLACES), as oneDNN's and PyTorch's CPU kernels
// do, or, unbound, while they spin-wait after the application's last loop (for loops that took
// under 30 ms the last time): attune then shares the threads of the application's own parallel
// loops instead of competing with them.
// Otherwise attune's own pool (unbound OpenMP threads woken from sleep often land on the
// caller's CPU), whose workers run on the CPUs of worker_cpus() whatever the calling thread's
// affinity: an application that pins its threads (a pinned request thread) still gets every
// core; calls from several threads share the workers. set_thread_pool (or
// ATTUNE_THREAD_POOL=auto|attune|openmp in the environment) chooses one; kOpenMP in a process
// without an OpenMP runtime throws attune::Error. thread_pool() is the pool a call made now
// from this thread would run on (kAttune or kOpenMP). A call made inside an OpenMP parallel
// region runs on attune's pool (bound OpenMP: on its calling thread, nested teams being off).
enum class ThreadPool { kAuto, kAttune, kOpenMP };
void set_thread_pool(ThreadPool pool);
ThreadPool thread_pool();

// set_num_threads(n): threads per call (0 = the default: OpenMP's, omp_get_max_threads(), on
// its threads; one per CPU of worker_cpus() on attune's pool).
void set_num_threads(int n);
int num_threads();
// The CPUs attune's workers may run on. Default: the CPUs the process started on (its affinity
// when attune was loaded: taskset and container limits count, threads pinned later do not),
// together with the places of an OpenMP runtime that binds threads (it pins the main thread
// to its first place before attune is loaded). {} restores the default; a CPU number out of
// range, or a list with no CPU this process may run on, throws attune::Error.
void set_worker_cpus(const std::vector<int>& cpus);
std::vector<int> worker_cpus();

// Runs attune's parallel loops on the application's thread pool instead of attune's (so attune
// does not compete with PyTorch's, an inference server's or OpenMP's threads). parallel_for(n,
// task) must call task(i) exactly once for every i in [0, n), on any threads, in any order, and
// return when all have returned; task never throws. A throw or a missed index fails the attune
// call with attune::Error. Loops inside a task run on the task's thread. An empty function
// restores thread_pool(); set_num_threads and set_worker_cpus do not apply to it.
// <attune/openmp.h> has the OpenMP version: attune::use_openmp().
using ParallelFor = std::function<void(int n, const std::function<void(int)>& task)>;
void set_parallel_for(ParallelFor parallel_for);

}  // namespace attune
