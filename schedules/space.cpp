#include "space.h"

#include <algorithm>

#include "attune/attention.h"

namespace attune::schedules {

namespace {
std::vector<std::int64_t> multiples(int unit, std::initializer_list<int> factors) {
  std::vector<std::int64_t> v;
  for (int f : factors) v.push_back(std::int64_t(unit) * f);
  return v;
}

// Register tiles of rows x cols vectors (cols vectors loaded per step plus one broadcast).
// The space admits a tile whose accumulators leave 4 registers for operands: LLVM may reload
// operands from L1 rather than spill accumulators, and such tiles can win (the measured
// AVX-512 causal best, 3x8, needs 33 registers with its loads). The default config takes only
// tiles that need no spill at all: a spilled accumulator runs the loop at store-forwarding
// latency (3x4 on AVX2: -35%).
std::int64_t admitted_accumulators(int num_registers) { return num_registers - 4; }
bool spill_free(std::int64_t rows, std::int64_t cols, int num_registers) {
  return rows * cols + cols + 1 <= num_registers;
}

constexpr std::int64_t kDefaultQTile = 48;  // query rows per task of the default config

}  // namespace

Space::Space(const SpaceParams& p) : params_(p) {
  if (p.gpu && p.kernel != "sdpa") throw Error("schedule space: kernel '" + p.kernel + "' has no GPU schedule yet (sdpa has)");
  const int vec = p.vector_width;
  if (p.kernel == "linear") {
    knobs_ = {
        {"row_tile", {8, 16, 24, 32, 48, 64, 96, 128}, "rows (tokens) per parallel task"},
        {"rows", {1, 2, 3, 4, 5, 6, 8}, "rows of the register tile"},
        {"width", multiples(vec, {1, 2, 3, 4, 5, 6, 8}), "output features of the register tile"},
        {"vec", {vec}, "vector width in floats (the target's native width)"},
    };
    return;
  }
  if (p.kernel != "sdpa" && p.kernel != "attention_probs")
    throw Error("schedule space: unknown kernel '" + p.kernel + "'");
  if (p.gpu) {
    // Thread blocks tile head_dim exactly (a guarded tail would leave the per-thread PV
    // accumulators reading V past the row).
    if (p.head_dim <= 0 || p.head_dim % 8 != 0)
      throw Error("schedule space: GPU schedules need a compile-time head_dim that is a multiple of 8, got " +
                  std::to_string(p.head_dim));
    // Materialised scores in GPU memory: a QK^T kernel, the row max, the exps, the row sum and
    // a PV kernel, each with its own block/thread tiling (register tiles per thread).
    knobs_ = {
        {"algorithm", {0}, "0 = materialised scores (GPU: one kernel per stage)"},
        {"q_tile", {16, 32, 64, 128}, "query rows per QK^T thread block"},
        {"kv_block", {32, 64, 128}, "keys per QK^T thread block"},
        {"vec", {1, 2, 4}, "keys per vector load in QK^T (K is packed in panels of vec keys)"},
        {"qk_keys", {1, 2, 4, 8}, "keys per QK^T thread (a multiple of vec)"},
        {"qk_rows", {1, 2, 4, 8}, "query rows per QK^T thread (register tile qk_keys x qk_rows)"},
        {"qk_unroll", {1, 2, 4, 8}, "QK^T: head_dim steps unrolled"},
        {"qk_stage", {0, 1}, "QK^T: 1 = the block's Q rows and K panels are copied to shared memory first"},
        {"pv_q_tile", {16, 32, 64, 128}, "query rows per PV thread block"},
        {"pv_block_width", {8, 16, 32, 64, 128}, "head_dim columns per PV thread block (divides head_dim)"},
        {"pv_width", {1, 2, 4, 8}, "head_dim columns per PV thread (in vectors of up to 4)"},
        {"pv_rows", {1, 2, 4, 8}, "query rows per PV thread (register tile pv_width x pv_rows)"},
        {"pv_unroll", {1, 2, 4, 8}, "PV: keys unrolled"},
        {"stat_rows", {1, 2, 4, 8}, "rows per block of the row max / sum kernels (32 threads per row)"},
        {"max_registers", {64, 128, 255}, "CUDA: registers per thread the driver may allocate when it loads "
         "the kernels (Halide's runtime caps them at 64 unless told: big register tiles then spill)"},
    };
    return;
  }
  // attention_probs returns the whole probability matrix: only the materialised algorithm.
  const std::vector<std::int64_t> algorithms =
      p.kernel == "sdpa" ? std::vector<std::int64_t>{0, 1, 2} : std::vector<std::int64_t>{0};
  knobs_ = {
      {"algorithm", algorithms, "0 = materialised scores per query tile, 1 = flash (online softmax over KV blocks), "
       "2 = split-KV (chunks of kv_block keys in parallel, combined; for decode)"},
      {"q_tile", {8, 16, 24, 32, 48, 64, 96, 128}, "query rows per parallel task"},
      {"kv_block", multiples(vec, {1, 2, 4, 8, 16, 32, 64, 128}),
       "keys per score block (flash: per online-softmax step; split-KV: per parallel chunk)"},
      {"qk_rows", {1, 2, 3, 4, 5, 6, 8}, "query rows of the QK^T register tile"},
      {"pv_rows", {1, 2, 3, 4, 5, 6, 8}, "query rows of the PV register tile"},
      {"pv_width", multiples(vec, {1, 2, 3, 4, 5, 6, 8}), "head_dim columns of the PV register tile"},
      {"vec", {vec}, "vector width in floats (the target's native width)"},
      {"rfactor", {0, 1}, "row max/sum reduce vec lanes at a time (rfactor) or serially"},
      {"k_transpose", {0, 1}, "1 = K transposed once (keys contiguous), 0 = K read in place (split-KV only)"},
      {"kv_group_inner", {0, 1}, "split-KV only: 1 = GQA packing: the query heads sharing a KV head are the rows "
       "of its chunks' register tiles (each K/V row loaded serves the group), 0 = a task per query head"},
      {"qk_order", {0, 1}, "QK^T (materialised, flash): 0 = each row group of the tile walks all key blocks, "
       "1 = each key block's K panels serve all row groups of the tile from L1"},
  };
  if (p.kernel == "sdpa") {  // attention_probs has no PV
    knobs_.push_back({"pv_stream", {0, 1}, "split-KV: 1 = PV key by key, each V row read once from memory into "
                      "all rows' accumulators (in L1), 0 = PV in register tiles (V copied first when pv_width < head_dim)"});
    knobs_.push_back({"q_group", {1, 2, 4, 8},
                      "flash: query tiles per parallel task; each KV block is read from memory once for "
                      "the group and from L2 by each tile (the KV-block loop runs outside the tiles)"});
    knobs_.push_back({"pv_kblock", {0, 32, 64, 128, 256, 512},
                      "keys per PV block; materialised: 0 = all keys at once, else per block each register tile's "
                      "partial sum is added to the query tile's accumulator, so a V block serves all row groups "
                      "of the tile from L1 instead of every row group streaming all of V; flash: keys per "
                      "online-softmax step (0 = kv_block)"});
  }
}

const Knob* Space::knob(const std::string& name) const {
  for (const Knob& k : knobs_)
    if (k.name == name) return &k;
  return nullptr;
}

double Space::size() const {
  double n = 1;
  for (const Knob& k : knobs_) n *= double(k.values.size());
  return n;
}

std::optional<std::string> Space::validate(const Config& c) const {
  if (c.kernel != params_.kernel) return "kernel is '" + c.kernel + "', expected '" + params_.kernel + "'";
  for (const Knob& k : knobs_) {
    auto it = c.knobs.find(k.name);
    if (it == c.knobs.end()) return "missing knob '" + k.name + "'";
    if (std::find(k.values.begin(), k.values.end(), it->second) == k.values.end())
      return "knob '" + k.name + "' = " + std::to_string(it->second) + " is outside its domain";
  }
  for (const auto& [name, value] : c.knobs) {
    (void)value;
    if (!knob(name)) return "unknown knob '" + name + "'";
  }
  if (params_.gpu) return validate_gpu(c);
  const std::int64_t budget = admitted_accumulators(params_.num_registers);
  if (params_.kernel == "linear") {
    const std::int64_t row_tile = c.get("row_tile"), rows = c.get("rows"), width = c.get("width");
    // A task of one register tile does not compile: under the short-sequence path's guard its
    // rows keep a symbolic extent (Halide 14 cannot unroll them).
    if (row_tile % rows != 0 || row_tile == rows) return "row_tile must be a multiple of rows, at least twice";
    if (rows * (width / c.get("vec")) > budget) return "linear register tile needs more than " + std::to_string(budget) + " vector registers";
    return std::nullopt;
  }
  const std::int64_t vec = c.get("vec"), q_tile = c.get("q_tile"), qk_rows = c.get("qk_rows"),
                     pv_rows = c.get("pv_rows"), pv_width = c.get("pv_width"),
                     kv_block = c.get("kv_block");
  const int D = params_.head_dim;
  if (D > 0 && D % vec == 0 && D % pv_width != 0)
    return "pv_width " + std::to_string(pv_width) + " does not divide head_dim " + std::to_string(D);
  if ((D == 0 || D % vec != 0) && pv_width != vec)
    return "head_dim " + std::to_string(D) + " is not a multiple of the vector width: pv_width must be vec";
  if (c.get("algorithm") != 2 && (q_tile % qk_rows != 0 || q_tile % pv_rows != 0))  // split-KV tiles chunks, not q_tile
    return "q_tile " + std::to_string(q_tile) + " must be a multiple of qk_rows and pv_rows";
  if (c.get("algorithm") != 2 && c.get("k_transpose") == 0)
    return "k_transpose 0 (K read in place) is implemented for split-KV (algorithm 2) only";
  if (c.get("algorithm") == 2 && c.get("qk_order") != 0)
    return "qk_order 1 is implemented for the materialised and flash algorithms only";
  if (c.get("algorithm") == 2 && c.get_or("pv_kblock", 0) != 0)
    return "pv_kblock is implemented for the materialised and flash algorithms only";
  if (c.get("algorithm") != 2 && c.get_or("pv_stream", 0) != 0)
    return "pv_stream is implemented for split-KV (algorithm 2) only";
  if (c.get("algorithm") != 1 && c.get_or("q_group", 1) != 1)
    return "q_group is implemented for the flash algorithm (1) only";
  if (c.get("algorithm") == 1 && c.get_or("pv_kblock", 0) % kv_block != 0)
    return "flash: pv_kblock (keys per online-softmax block) must be a multiple of kv_block";
  if (c.get("algorithm") != 2 && c.get("kv_group_inner") != 0)
    return "kv_group_inner 1 is implemented for split-KV (algorithm 2) only";
  if (c.get("algorithm") != 2 && kv_block > 16 * vec)
    return "kv_block above " + std::to_string(16 * vec) + " only for split-KV chunks";
  // Split-KV QK tiles: qk_rows x 4 vectors of keys (transposed K), or qk_rows x at least one
  // vector of head_dim lanes (K in place).
  if (c.get("algorithm") == 2 ? qk_rows * (c.get("k_transpose") ? 4 : 1) > budget : qk_rows * (kv_block / vec) > budget)
    return "QK register tile " + std::to_string(qk_rows) + "x" + std::to_string(kv_block) +
           " needs more than " + std::to_string(budget) + " vector registers";
  if (pv_rows * (pv_width / vec) > budget)
    return "PV register tile " + std::to_string(pv_rows) + "x" + std::to_string(pv_width) +
           " needs more than " + std::to_string(budget) + " vector registers";
  return std::nullopt;
}

// Thread blocks within the device limits (threads, registers) and a warp's multiple; register
// tiles of at most 64 accumulators per thread; shared-memory staging within the static limit.
std::optional<std::string> Space::validate_gpu(const Config& c) const {
  const int D = params_.head_dim;
  if (c.get("qk_keys") % c.get("vec") != 0) return "qk_keys must be a multiple of vec";
  const std::int64_t qk_threads = (c.get("kv_block") / c.get("qk_keys")) * (c.get("q_tile") / c.get("qk_rows"));
  const std::int64_t pv_threads = (c.get("pv_block_width") / c.get("pv_width")) * (c.get("pv_q_tile") / c.get("pv_rows"));
  for (auto [name, n] : {std::pair<const char*, std::int64_t>{"QK^T", qk_threads}, {"PV", pv_threads}}) {
    if (n < 32 || n > kMaxGpuThreads || n % 32 != 0)
      return std::string(name) + " thread block of " + std::to_string(n) + " threads (needs a multiple of 32 up to " +
             std::to_string(kMaxGpuThreads) + ")";
    // A block that may need more registers than an SM's register file does not launch.
    if (n * c.get("max_registers") > kGpuRegistersPerBlock)
      return std::string(name) + " thread block of " + std::to_string(n) + " threads with max_registers " +
             std::to_string(c.get("max_registers")) + " exceeds the " + std::to_string(kGpuRegistersPerBlock) +
             " registers of a block";
  }
  if (c.get("q_tile") < c.get("qk_rows") || c.get("pv_q_tile") < c.get("pv_rows"))
    return "a thread block has fewer rows than one thread's register tile";
  if (c.get("qk_keys") * c.get("qk_rows") > 64 || c.get("pv_width") * c.get("pv_rows") > 64)
    return "register tile above 64 accumulators per thread";
  if (D % c.get("pv_block_width") != 0 || c.get("pv_block_width") % c.get("pv_width") != 0)
    return "pv_block_width " + std::to_string(c.get("pv_block_width")) + " must divide head_dim " + std::to_string(D) +
           " and be a multiple of pv_width";
  const std::int64_t staged = 4 * D * (c.get("q_tile") + c.get("kv_block"));
  if (c.get("qk_stage") && staged > kMaxGpuSharedBytes)
    return "QK^T staging needs " + std::to_string(staged) + " bytes of shared memory";
  return std::nullopt;
}

Config Space::default_config() const {
  if (params_.gpu) {
    // Threads of 4 keys x 8 rows (QK^T) and 4 columns x 8 rows (PV), Q and K staged, 128
    // registers: the best of the first H200 tunes at S=2048 and 4096 (README, GPU section).
    const int D = params_.head_dim;
    std::int64_t pv_block_width = 8;
    for (int w : {64, 32, 16})
      if (D % w == 0) {
        pv_block_width = w;
        break;
      }
    Config c;
    c.kernel = params_.kernel;
    c.knobs = {{"algorithm", 0}, {"q_tile", 64}, {"kv_block", 64}, {"vec", 4}, {"qk_keys", 4}, {"qk_rows", 8},
               {"qk_unroll", 4}, {"qk_stage", 1}, {"pv_q_tile", 64}, {"pv_block_width", pv_block_width},
               {"pv_width", pv_block_width >= 16 ? 4 : 1}, {"pv_rows", 8}, {"pv_unroll", 4}, {"stat_rows", 4},
               {"max_registers", 128}};
    if (validate(c)) c.knobs["q_tile"] = 32;    // head_dim 128: the staged Q and K tiles fit in shared memory
    if (validate(c)) c.knobs["qk_stage"] = 0;  // larger head_dims: Q and K read through the L1 cache
    if (auto why = validate(c)) throw Error("schedule space: default GPU config invalid: " + *why);
    return c;
  }
  // Spill-free register tiles of 6 rows x `cols` vectors, as sgemm micro-kernels. AVX-512
  // (32 registers): 6x4, hand-found on Zen 5; AVX2 (16): 6x2, measured on Zen 2/3.
  const int vec = params_.vector_width, D = params_.head_dim;
  const int rows = 6;
  int cols = 1;
  while (spill_free(rows, cols + 1, params_.num_registers)) ++cols;
  if (params_.kernel == "linear") {
    Config c;
    c.kernel = "linear";
    c.knobs = {{"row_tile", 48}, {"rows", rows}, {"width", cols * vec}, {"vec", vec}};
    return c;
  }
  // Causal too takes the materialised algorithm: it trims each query tile's keys at the
  // diagonal and keeps the register tiles. Flash with long online-softmax blocks (pv_kblock
  // 256-512) measured the same on AVX2 (S=2048-4096, cross 256/4096: within the host's noise)
  // with O(q_tile x block) scratch per task instead of O(q_tile x seq_kv); the tuner picks.
  std::int64_t pv_width = vec;
  for (std::int64_t w : {4 * vec, 5 * vec, 6 * vec, 3 * vec, 2 * vec})
    if (D > 0 && D % vec == 0 && D % w == 0 && spill_free(rows, w / vec, params_.num_registers)) {
      pv_width = w;
      break;
    }
  Config c;
  c.kernel = params_.kernel;
  c.knobs = {{"algorithm", 0},
             {"q_tile", kDefaultQTile},
             {"kv_block", cols * vec},
             {"qk_rows", rows},
             {"pv_rows", rows},
             {"pv_width", pv_width},
             {"vec", vec},
             {"rfactor", 1},
             {"k_transpose", 1},
             {"kv_group_inner", 0},
             {"qk_order", 0},
             {"pv_kblock", 128},
             {"pv_stream", 0},
             {"q_group", 1}};
  if (params_.kernel != "sdpa") {  // the PV knobs
    c.knobs.erase("pv_kblock");
    c.knobs.erase("pv_stream");
    c.knobs.erase("q_group");
  }
  if (params_.decode && params_.kernel == "sdpa") {  // few query rows, long KV: split-KV
    c.knobs["algorithm"] = 2;
    c.knobs["kv_block"] = 32 * vec;
    // One row per tile: register tiles round the rows up (a GQA group's heads are the rows
    // with kv_group_inner; the tuner sizes tiles to the group).
    c.knobs["qk_rows"] = 1;
    c.knobs["pv_rows"] = 1;
    for (std::int64_t w : {8 * vec, 4 * vec, 2 * vec})
      if (D > 0 && D % vec == 0 && D % w == 0) {
        c.knobs["pv_width"] = w;
        break;
      }
    c.knobs["k_transpose"] = 0;
    c.knobs["kv_group_inner"] = 1;
    c.knobs["pv_kblock"] = 0;
  }
  c = canonical(c);
  if (auto why = validate(c)) throw Error("schedule space: default config invalid: " + *why);
  return c;
}

Config Space::complete(const Config& c) const {
  Config out = c;
  for (const auto& [name, value] : default_config().knobs) out.knobs.emplace(name, value);
  // Knobs the config predates keep the behaviour it was measured with: the split-KV-only
  // kv_group_inner stays off for the other algorithms, and PV is not key-blocked.
  if (params_.gpu) {
    // Configs from before a knob keep what they were measured with.
    if (!c.knobs.count("qk_keys")) out.knobs["qk_keys"] = out.get("vec");  // one vector per thread
    if (!c.knobs.count("max_registers")) out.knobs["max_registers"] = 64;   // Halide's default cap
    return out;
  }
  if (params_.kernel != "linear" && !c.knobs.count("kv_group_inner") && out.get("algorithm") != 2)
    out.knobs["kv_group_inner"] = 0;
  if (params_.kernel == "sdpa" && !c.knobs.count("pv_kblock")) out.knobs["pv_kblock"] = 0;
  if (params_.kernel == "sdpa" && !c.knobs.count("q_group")) out.knobs["q_group"] = 1;
  return out;
}

// Dead knobs: split-KV tiles chunks of kv_block keys, not q_tile rows; with pv_stream its PV
// has no register tiles; attention_probs has no PV; flash with pv_kblock = kv_block is flash
// with one register tile's keys per online-softmax step (pv_kblock 0). For a known workload
// also: GQA packing of a dense workload (a group of one head), and materialised PV blocks of
// at least seq_kv keys (one block whose loop stops at seq_kv: the smallest such block size).
// Flash blocks are not folded so: a flash block computes scores for all its keys.
Config Space::canonical(const Config& c) const {
  if (params_.gpu || params_.kernel == "linear") return c;
  Config out = c;
  const auto no_pv_tiles = [&] {
    out.knobs["pv_rows"] = 1;
    out.knobs["pv_width"] = params_.vector_width;
  };
  if (params_.kernel == "attention_probs") no_pv_tiles();
  const std::int64_t algorithm = c.get_or("algorithm", 0);
  if (algorithm == 2) {
    out.knobs["q_tile"] = kDefaultQTile;
    if (c.get_or("pv_stream", 0) != 0) no_pv_tiles();
  }
  if (algorithm == 1 && c.knobs.count("pv_kblock") && c.get("pv_kblock") == c.get_or("kv_block", 0))
    out.knobs["pv_kblock"] = 0;
  if (params_.kv_group == 1 && c.knobs.count("kv_group_inner")) out.knobs["kv_group_inner"] = 0;
  if (algorithm == 0 && params_.seq_kv > 0 && c.get_or("pv_kblock", 0) >= params_.seq_kv) {
    if (const Knob* blocks = knob("pv_kblock")) {
      const auto block = std::lower_bound(blocks->values.begin(), blocks->values.end(), std::int64_t(params_.seq_kv));
      if (block != blocks->values.end()) out.knobs["pv_kblock"] = *block;
    }
  }
  return out;
}

Config Space::sample(std::mt19937_64& rng) const {
  // The algorithm first, then each other knob uniform (rejecting invalid combinations), then
  // the dead ones fixed: every decision is drawn evenly (pv_stream 1 as often as 0, though 0
  // has more distinct kernels). Drawn jointly with the rest, an algorithm's share followed how
  // many of its combinations are valid (split-KV, the least constrained, got 77% of prefill
  // samples, on AVX2 5 to 10 times slower than query tiles there); instead the algorithm the
  // workload class is for takes most draws (split-KV for decode, query tiles otherwise) and
  // the others stay in reach.
  const Knob* algorithms = knob("algorithm");
  std::vector<double> weights;
  if (algorithms)
    for (std::int64_t a : algorithms->values) weights.push_back((a == 2) == params_.decode ? 8.0 : 1.0);
  for (int draw = 0; draw < 16; ++draw) {
    std::int64_t algorithm = 0;
    if (!weights.empty())
      algorithm = algorithms->values[std::discrete_distribution<size_t>(weights.begin(), weights.end())(rng)];
    for (int attempt = 0; attempt < 10000; ++attempt) {
      Config c;
      c.kernel = params_.kernel;
      for (const Knob& k : knobs_) {
        std::uniform_int_distribution<size_t> pick(0, k.values.size() - 1);
        c.knobs[k.name] = k.values[pick(rng)];
      }
      if (!weights.empty()) c.knobs["algorithm"] = algorithm;
      c = canonical(c);
      if (!validate(c)) return c;
    }
  }
  return default_config();
}

std::vector<Config> Space::neighbours(const Config& c) const {
  const Config from = canonical(c);
  std::vector<Config> out;
  for (const Knob& k : knobs_) {
    auto it = std::find(k.values.begin(), k.values.end(), from.get(k.name));
    const auto pos = it - k.values.begin();
    for (auto step : {-1, 1}) {
      const auto p = pos + step;
      if (p < 0 || p >= std::ptrdiff_t(k.values.size())) continue;
      Config n = from;
      n.knobs[k.name] = k.values[size_t(p)];
      n = canonical(n);
      if (n != from && !validate(n) && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  }
  return out;
}

Config Space::repair_or_resample(Config c, std::mt19937_64& rng) const {
  if (!validate(c)) return c;
  // Walk to a valid neighbour if one is close; otherwise draw afresh.
  for (const Config& n : neighbours(c))
    if (!validate(n)) return n;
  return sample(rng);
}

Config Space::mutate(const Config& c, std::mt19937_64& rng) const {
  const Config from = canonical(c);
  for (int attempt = 0; attempt < 64; ++attempt) {
    Config m = from;
    const int changes = std::uniform_int_distribution<int>(1, 2)(rng);
    for (int n = 0; n < changes; ++n) {
      const Knob& k = knobs_[std::uniform_int_distribution<size_t>(0, knobs_.size() - 1)(rng)];
      if (k.values.size() < 2) continue;
      auto pos = std::find(k.values.begin(), k.values.end(), m.get(k.name)) - k.values.begin();
      // Mostly a step to an adjacent value, sometimes a jump anywhere in the domain.
      if (std::bernoulli_distribution(0.75)(rng))
        pos = std::clamp<std::ptrdiff_t>(pos + (std::bernoulli_distribution(0.5)(rng) ? 1 : -1), 0,
                                         std::ptrdiff_t(k.values.size()) - 1);
      else
        pos = std::uniform_int_distribution<std::ptrdiff_t>(0, std::ptrdiff_t(k.values.size()) - 1)(rng);
      m.knobs[k.name] = k.values[size_t(pos)];
    }
    m = canonical(m);
    if (m != from && !validate(m)) return m;
  }
  return sample(rng);
}

Config Space::crossover(const Config& a, const Config& b, std::mt19937_64& rng) const {
  Config c = a;
  for (const Knob& k : knobs_)
    if (std::bernoulli_distribution(0.5)(rng)) c.knobs[k.name] = b.get(k.name);
  return canonical(repair_or_resample(c, rng));
}

}  // namespace attune::schedules
