// Kernel packs (attune::load_kernel_pack): shared libraries built by `attune export --pack`.
// A pack exports the ABI version, a JSON manifest naming its target and kernels, the kernels
// themselves and its own Halide runtime (linked -Bsymbolic, so it never mixes with ours).
#include <dlfcn.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>

#include "attune/attention.h"
#include "halide_hooks.h"
#include "kernel_pack.h"
#include "registry.h"

namespace attune {
namespace detail {
namespace {

struct Pack {
  PackInfo info;
  void* handle = nullptr;
  std::deque<std::string> strings;  // storage the entries' const char* point into
  std::vector<KernelEntry> entries;

  const char* keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

// The loaded packs, most recent first; never removed. Never destroyed either: a call still
// running on another thread as the process exits (in a short process, the load-time warm-up's
// own call) reads them, and ran into the freed list (pack_test: 1 exit in 4-7 segfaulted).
struct Packs {
  std::shared_mutex mutex;
  std::deque<std::unique_ptr<Pack>> list;
};
Packs& loaded_packs() {
  static auto* packs = new Packs;
  return *packs;
}
std::atomic<unsigned> packs_loaded{0};    // bumped as a pack is added: selections made before are stale

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw Error("attune::load_kernel_pack: " + path + ": " + msg);
}

// Reads the manifest into `pack` (throws naming what is wrong; the caller closes the handle).
void read_manifest(Pack& pack) {
  const std::string& path = pack.info.path;
  auto abi = reinterpret_cast<int (*)()>(dlsym(pack.handle, kPackAbiSymbol));
  auto manifest = reinterpret_cast<const char* (*)()>(dlsym(pack.handle, kPackManifestSymbol));
  if (!abi || !manifest) fail(path, std::string("not an attune kernel pack (no ") + kPackAbiSymbol + " / " +
                                        kPackManifestSymbol + ")");
  pack.info.abi_version = abi();
  if (pack.info.abi_version != kPackAbiVersion)
    fail(path, "pack ABI version " + std::to_string(pack.info.abi_version) + ", this runtime reads version " +
                   std::to_string(kPackAbiVersion) + " (rebuild it with this attune's `attune export --pack`)");
  const nlohmann::json m = nlohmann::json::parse(manifest(), nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m["target"].is_string() || !m["kernels"].is_array())
    fail(path, "corrupt manifest (not a JSON object with 'target' and 'kernels')");
  pack.info.target = m["target"];
  Isa isa;
  std::string why;
  if (!target_runs_here(pack.info.target, &isa, &why)) fail(path, why);
  for (const nlohmann::json& k : m["kernels"]) {
    const auto field = [&](const char* name) -> const nlohmann::json& {
      if (!k.is_object() || !k.contains(name)) fail(path, std::string("corrupt manifest: a kernel without '") + name + "'");
      return k[name];
    };
    KernelEntry e{};
    if (!field("name").is_string() || !field("generator").is_string() || !field("head_dim").is_number_integer() ||
        !field("causal").is_boolean() || !field("mask").is_boolean() || !field("buckets").is_array() ||
        !field("config").is_object())
      fail(path, "corrupt manifest: a kernel field has the wrong type");
    e.name = pack.keep(field("name"));
    const std::string gen = field("generator");
    if (gen != "sdpa" && gen != "attention_probs" && gen != "linear")
      fail(path, "kernel " + std::string(e.name) + ": unknown generator '" + gen + "'");
    e.generator = pack.keep(gen);
    e.head_dim = field("head_dim");
    if (e.head_dim < 0 || e.head_dim > 256) fail(path, "kernel " + std::string(e.name) + ": bad head_dim");
    e.causal = field("causal");
    e.has_mask = field("mask");
    for (const nlohmann::json& b : field("buckets")) {
      int bit = -1;
      for (int i = 0; i < 4; ++i)
        if (b.is_string() && b == to_string(SeqBucket(i))) bit = i;
      if (bit < 0) fail(path, "kernel " + std::string(e.name) + ": unknown sequence bucket " + b.dump());
      e.buckets |= 1u << bit;
    }
    e.isa = isa;
    e.target = pack.keep(pack.info.target);
    e.config = pack.keep(field("config").dump());
    const bool keyed = k.contains("workload_key") && k["workload_key"].is_string();  // older packs lack it
    e.tuned_for = pack.keep(keyed ? k["workload_key"].get<std::string>() : std::string());
    e.fn = reinterpret_cast<AnyFn>(dlsym(pack.handle, e.name));
    if (!e.fn) fail(path, "kernel " + std::string(e.name) + " is in the manifest but not in the library");
    pack.entries.push_back(e);
  }
  pack.info.kernels = int(pack.entries.size());
}

}  // namespace

void for_each_kernel(const std::function<void(const KernelEntry&, const char* pack)>& fn) {
  {
    std::shared_lock<std::shared_mutex> lock(loaded_packs().mutex);
    for (const auto& p : loaded_packs().list)
      for (const KernelEntry& e : p->entries) fn(e, p->info.path.c_str());
  }
  for (const KernelEntry& e : kernel_table()) fn(e, nullptr);
}

namespace {

// The scan over every kernel (~270 built in) took ~3 us a call: each thread remembers its last
// selections.
struct Selection {
  unsigned packs_loaded = ~0u;  // packs_loaded when made; ~0u = empty
  std::string generator;
  int head_dim = 0;
  bool causal = false, has_mask = false;
  unsigned bucket = 0;
  Isa isa = Isa::ksse41;
  Selected selected;
};
constexpr int kRemembered = 8;
thread_local Selection remembered[kRemembered];
thread_local int next_slot = 0;

}  // namespace

Selected select_kernel(const char* api, const std::string& generator, int head_dim, bool causal, bool has_mask,
                       int seq_q, int seq_kv) {
  const unsigned bucket = 1u << int(seq_bucket(seq_q, seq_kv));
  const Isa isa = isa_limit();
  const unsigned loaded = packs_loaded.load(std::memory_order_acquire);
  for (const Selection& r : remembered)
    if (r.packs_loaded == loaded && r.head_dim == head_dim && r.bucket == bucket && r.isa == isa &&
        r.causal == causal && r.has_mask == has_mask && r.generator == generator)
      return r.selected;

  Selected best;
  int best_score = -1;
  for_each_kernel([&](const KernelEntry& e, const char* pack) {
    if (generator != e.generator || e.causal != causal || e.has_mask != has_mask || e.isa > isa) return;
    if (e.head_dim != head_dim && e.head_dim != 0) return;
    if (pack && !(e.buckets & bucket)) return;
    const int score = (pack ? 64 : 0) + int(e.isa) * 4 + (e.head_dim == head_dim ? 2 : 0) + ((e.buckets & bucket) ? 1 : 0);
    if (score > best_score) best = {&e, pack}, best_score = score;
  });
  if (best.entry) {
    remembered[next_slot] = {loaded, generator, head_dim, causal, has_mask, bucket, isa, best};
    next_slot = (next_slot + 1) % kRemembered;
    return best;
  }
  throw Error(std::string("attune::") + api + ": no " + generator + " kernel compiled for head_dim=" +
              std::to_string(head_dim) + (causal ? " causal" : "") + (has_mask ? " with key_padding_mask" : "") +
              " in this build");
}

}  // namespace detail

PackInfo load_kernel_pack(const std::string& path_arg) {
  using namespace detail;
  if (path_arg.empty()) throw Error("attune::load_kernel_pack: path is empty");
  std::error_code ec;  // one pack per file, however it is named
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(path_arg, ec);
  const std::string path = ec ? path_arg : canonical.string();
  Packs& packs = loaded_packs();
  std::unique_lock<std::shared_mutex> lock(packs.mutex);
  for (const auto& p : packs.list)
    if (p->info.path == path) return p->info;
  auto pack = std::make_unique<Pack>();
  pack->info.path = path;
  // RTLD_LOCAL: the pack's symbols (its kernels and Halide runtime) stay out of the global scope.
  pack->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!pack->handle) {
    const char* err = dlerror();
    fail(path, std::string("cannot load: ") + (err ? err : "unknown dlopen error"));
  }
  try {
    read_manifest(*pack);
  } catch (...) {
    dlclose(pack->handle);
    throw;
  }
  // The pack's Halide runtime reports errors to us and runs on our thread pool and allocator.
  install_halide_hooks(pack->handle);
  packs.list.push_front(std::move(pack));
  packs_loaded.fetch_add(1, std::memory_order_release);
  return packs.list.front()->info;
}

}  // namespace attune
