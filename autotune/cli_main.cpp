// attune: the tuning CLI. `attune tune` searches the schedule space for a workload on this
// machine and records every candidate in a JSONL database; `show`, `export` and `plot` read it.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "attune/attention.h"
#include "autotune/database.h"
#include "autotune/fma_peak.h"
#include "autotune/machine.h"
#include "autotune/pack.h"
#include "autotune/process.h"
#include "autotune/tuner.h"

namespace {

using namespace attune::autotune;

// A small flag parser: --name value, --switch; every subcommand documents its flags.
struct Flag {
  std::string name, help, value;
  bool is_switch = false, set = false, repeatable = false;
  std::vector<std::string> values;  // every value given, for a repeatable flag
};

class Args {
 public:
  Args(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}
  Args& opt(const std::string& name, const std::string& def, const std::string& help) {
    flags_.push_back({name, help, def, false, false, false, {}});
    return *this;
  }
  // A flag that may be given several times (all values kept, in order).
  Args& many(const std::string& name, const std::string& help) {
    flags_.push_back({name, help, "", false, false, true, {}});
    return *this;
  }
  Args& sw(const std::string& name, const std::string& help) {
    flags_.push_back({name, help, "", true, false, false, {}});
    return *this;
  }
  // Returns false if --help was asked for (usage printed).
  bool parse(int argc, char** argv) {
    for (int a = 0; a < argc; ++a) {
      const std::string arg = argv[a];
      if (arg == "--help" || arg == "-h") {
        usage(std::cout);
        return false;
      }
      Flag* f = find(arg.rfind("--", 0) == 0 ? arg.substr(2) : "");
      if (!f) throw attune::Error("attune " + command_ + ": unknown argument '" + arg + "' (see --help)");
      f->set = true;
      if (f->is_switch) continue;
      if (a + 1 >= argc) throw attune::Error("attune " + command_ + ": --" + f->name + " needs a value");
      f->value = argv[++a];
      f->values.push_back(f->value);
    }
    return true;
  }
  std::string get(const std::string& name) const { return flag(name).value; }
  const std::vector<std::string>& all(const std::string& name) const { return flag(name).values; }
  bool has(const std::string& name) const { return flag(name).set; }
  int get_int(const std::string& name) const {
    try {
      return std::stoi(get(name));
    } catch (const std::exception&) {
      throw attune::Error("attune " + command_ + ": --" + name + " must be an integer, got '" + get(name) + "'");
    }
  }
  void usage(std::ostream& os) const {
    os << "usage: attune " << command_ << " [flags]\n" << summary_ << "\n\nflags:\n";
    for (const Flag& f : flags_)
      os << "  --" << f.name << (f.is_switch ? "" : " VALUE") << (f.repeatable ? " (repeatable)" : "") << "\n      " << f.help
         << (f.value.empty() || f.is_switch ? "" : " (default: " + f.value + ")") << "\n";
  }

 private:
  std::string command_, summary_;
  std::vector<Flag> flags_;
  Flag* find(const std::string& name) {
    for (Flag& f : flags_)
      if (f.name == name) return &f;
    return nullptr;
  }
  const Flag& flag(const std::string& name) const {
    for (const Flag& f : flags_)
      if (f.name == name) return f;
    throw std::logic_error("attune " + command_ + ": no flag --" + name + " declared");
  }
};

// The tools next to an installed attune (<prefix>/libexec/attune/), else those of this build tree.
Toolchain toolchain(const std::string& target) {
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  const std::filesystem::path libexec = exe.parent_path().parent_path() / "libexec" / "attune";
  const auto tool = [&](const char* name, const char* built) {
    return std::filesystem::exists(libexec / name) ? (libexec / name).string() : std::string(built);
  };
  Toolchain tc;
  tc.generator_exe = tool("attune_generators", ATTUNE_GENERATOR_EXE);
  tc.runner_exe = tool("attune-runner", ATTUNE_RUNNER_EXE);
  tc.target = target;
  return tc;
}

// The workloads the build ships (attune tune --preset standard) for attention kernel `kernel`;
// with sdpa also the projection GEMM of the multi-head attention layer the bench runs
// (model_dim 512 = 8 heads of 64, S=1024).
std::vector<Workload> standard_workloads(const std::string& kernel) {
  auto mk = [&](int b, int h, int kv, int sq, int skv, int d, bool causal) {
    Workload w;
    w.kernel = kernel;
    w.batch = b; w.num_heads = h; w.num_kv_heads = kv; w.seq_q = sq; w.seq_kv = skv; w.head_dim = d; w.causal = causal;
    return w;
  };
  // sdpa's long buckets, dense and causal, are tuned at long context (two heads: a trial in
  // ~25 s); their configs hold at S=4096 too (docs/performance.md). attention_probs returns
  // S x S: S=4096.
  const bool sdpa = kernel == "sdpa";
  const Workload long_context = sdpa ? mk(1, 2, 2, 32768, 32768, 64, false) : mk(1, 8, 8, 4096, 4096, 64, false);
  const Workload causal_long = sdpa ? mk(1, 2, 2, 32768, 32768, 64, true) : mk(1, 8, 8, 4096, 4096, 64, true);
  std::vector<Workload> set = {mk(1, 8, 8, 2048, 2048, 64, false), mk(1, 8, 8, 2048, 2048, 128, false),
                               mk(1, 8, 8, 2048, 2048, 80, false), mk(1, 8, 2, 2048, 2048, 64, false),
                               causal_long,                        mk(1, 8, 8, 2048, 2048, 64, true),
                               mk(4, 8, 8, 512, 512, 64, false),  mk(4, 8, 8, 512, 512, 64, true),
                               mk(1, 8, 8, 256, 4096, 64, false), long_context,
                               mk(4, 8, 8, 1, 4096, 64, false),    mk(4, 8, 2, 1, 4096, 128, false)};
  if (sdpa) {
    Workload projection = mk(1, 8, 0, 1024, 1024, 64, false);
    projection.kernel = "linear";
    set.push_back(projection);
  }
  return set;
}

// What this build's dispatch runs for `function` (sdpa, attention_probs, linear) on `w`'s shape.
attune::DispatchInfo dispatch_of(const std::string& function, const Workload& w) {
  attune::SdpaOptions o;
  o.causal = w.causal;
  o.num_kv_heads = w.num_kv_heads;
  static const std::uint8_t any_mask = 1;
  if (w.mask) o.key_padding_mask = &any_mask;
  return attune::describe_dispatch(function, w.batch, w.num_heads, w.seq_q, w.seq_kv, w.head_dim, o);
}

// The tuned config this build's dispatch runs for `w` with kernels for `target`'s vector ISA
// (`attune which`), if it has one: the incumbent a tune on this machine must beat.
std::optional<attune::schedules::Config> shipped_config(const Workload& w, const std::string& target) {
  static const std::map<VectorIsa, std::string> level = {
      {VectorIsa::kAvx512, "avx512"}, {VectorIsa::kAvx2, "avx2"}, {VectorIsa::kSse, "sse41"}};
  const std::string resolved = resolve_target(target);
  const auto it = level.find(vector_isa_of(resolved));
  if (it == level.end() || attune::schedules::is_gpu_target(resolved)) return std::nullopt;
  const std::string before = attune::max_isa();
  try {
    attune::set_max_isa(it->second);
    const attune::DispatchInfo d = dispatch_of(w.kernel, w);
    attune::set_max_isa(before);
    if (d.config.empty() || vector_isa_of(d.target) != it->first) return std::nullopt;
    return attune::schedules::Config::from_json(d.config);
  } catch (const attune::Error&) {  // an ISA this CPU lacks, a kernel this build does not have
    attune::set_max_isa(before);
    return std::nullopt;
  }
}

// The flags parse_shape() reads.
Args& shape_flags(Args& a) {
  return a.opt("shape", "1x8x1024x1024x64", "workload shape BxHxSqxSkvxD")
      .sw("causal", "causal attention (bottom-right aligned)")
      .sw("mask", "with a key padding mask")
      .opt("kv-heads", "", "KV heads (GQA/MQA); default = heads");
}

// "BxHxSqxSkvxD", e.g. 1x8x1024x1024x64.
Workload parse_shape(const std::string& s, const Args& a) {
  Workload w;
  int v[5];
  char x[4];
  std::istringstream in(s);
  if (!(in >> v[0] >> x[0] >> v[1] >> x[1] >> v[2] >> x[2] >> v[3] >> x[3] >> v[4]) ||
      std::string(x, 4) != "xxxx" || *std::min_element(v, v + 5) <= 0)
    throw attune::Error("attune tune: --shape must be BxHxSqxSkvxD with positive sizes, got '" + s + "'");
  w.batch = v[0]; w.num_heads = v[1]; w.seq_q = v[2]; w.seq_kv = v[3]; w.head_dim = v[4];
  w.causal = a.has("causal");
  w.mask = a.has("mask");
  w.num_kv_heads = a.has("kv-heads") ? a.get_int("kv-heads") : 0;
  if (w.num_kv_heads < 0 || (w.num_kv_heads > 0 && w.num_heads % w.num_kv_heads != 0))
    throw attune::Error("attune tune: --kv-heads must divide the number of heads");
  return w;
}

// "10m", "90s", "1h" = time; "500" or "500t" = trials.
void parse_budget(const std::string& s, TuneOptions& o) {
  try {
    size_t used = 0;
    const double n = std::stod(s, &used);
    const std::string unit = s.substr(used);
    if (n <= 0) throw std::invalid_argument("non-positive");
    if (unit.empty() || unit == "t" || unit == "trials") o.max_trials = int(n);
    else if (unit == "s") o.max_seconds = n;
    else if (unit == "m") o.max_seconds = n * 60;
    else if (unit == "h") o.max_seconds = n * 3600;
    else throw std::invalid_argument("unit");
  } catch (const std::exception&) {
    throw attune::Error("attune tune: --budget must be like 10m, 90s, 1h or 500 (trials), got '" + s + "'");
  }
}

void print_progress(const TuneProgress& p, const std::string& label, bool tty) {
  if (p.final_configs > 0) {
    // On a terminal the line ends when the next one starts (after the progress bar's line).
    std::fprintf(stderr, "%s%s: re-timing %d configs (the fastest, the default, the shipped and given ones) in %d "
                 "interleaved rounds%s", tty ? "\n" : "", label.c_str(), p.final_configs, p.final_rounds,
                 tty ? "" : "\n");
    return;
  }
  const double frac = p.budget_trials > 0 ? double(p.trials) / p.budget_trials : p.elapsed_s / p.budget_s;
  const double eta = frac > 0 ? std::max(0.0, p.elapsed_s * (1 - frac) / frac) : 0;
  char line[256], peak[32] = "";
  if (p.peak_gflops > 0) std::snprintf(peak, sizeof peak, " (%.0f%% of peak)", 100 * p.best_gflops / p.peak_gflops);
  std::snprintf(line, sizeof line, "%s %d%s trials, best %.1f GFLOP/s%s, %d failed, %.0fs elapsed, ETA %.0fs",
                label.c_str(), p.trials, p.budget_trials ? ("/" + std::to_string(p.budget_trials)).c_str() : "",
                p.best_gflops, peak, p.failures, p.elapsed_s, eta);
  if (tty) {
    const int width = 24, done = int(std::min(1.0, frac) * width);
    std::fprintf(stderr, "\r[%s%s] %s\033[K", std::string(size_t(done), '#').c_str(),
                 std::string(size_t(width - done), '.').c_str(), line);
  } else {
    static double last = -1e9;
    static std::string last_label;
    if (label != last_label || p.elapsed_s < last) last = -1e9, last_label = label;  // a new tune or slice
    if (p.elapsed_s - last >= 10 || frac >= 1) {
      std::fprintf(stderr, "%s\n", line);
      last = p.elapsed_s;
    }
  }
}

int cmd_tune(int argc, char** argv) {
  Args a("tune", "Search the schedule space for a workload on this machine; every candidate is built, "
                 "checked against the double reference and timed in an isolated process, and recorded "
                 "in the database. Ctrl-C stops it cleanly; re-running resumes: measured configs are not "
                 "measured again.");
  shape_flags(a.opt("kernel", "sdpa",
                    "kernel: sdpa, attention_probs, or linear (the multi-head attention layer's projection "
                    "GEMM: --shape BxHxSxSxD projects [B, S, H*D] inputs to H heads of D)"))
      .opt("preset", "",
           "'standard': tune the workload set the build ships, one after another (with --kernel sdpa "
           "also the projection GEMM of the multi-head attention layer, model_dim 512, S=1024)")
      .opt("target", "host", "Halide target string (e.g. x86-64-linux-avx2-fma)")
      .opt("budget", "10m", "per workload: time (10m, 90s, 1h) or trials (500)")
      .opt("total-budget", "",
           "one budget for all the workloads (--preset), in slices: each workload a warm-up slice (half the "
           "budget in all), then each slice to the workload whose best improved the most in its last one "
           "(as Ansor's task scheduler); the final re-measurements come after it")
      .opt("strategy", "model",
           "model (a cost model, updated as measurements arrive, ranks candidates before they are "
           "measured), evolutionary, random, or autoscheduler:NAME (Mullapudi2016, Adams2019, Li2018: "
           "Halide's autoschedulers on the same generator, recorded as baselines)")
      .opt("jobs", "2", "parallel candidate builds")
      .opt("db", "attune_tuning.jsonl", "tuning database (append-only JSONL)")
      .opt("seed", "1", "random seed")
      .opt("min-time", "0.3", "seconds of measurement per candidate")
      .opt("threads", "0", "threads the kernels use (0 = all cores)")
      .sw("pin", "pin the runner to CPUs 0..threads-1 (taskset)")
      .opt("remeasure", "3", "the fastest N configs re-measured interleaved at the end, with the default config and the --config ones (below 2: none)")
      .opt("final-rounds", "3", "interleaved rounds of that re-measurement (its median ranks the configs for show and "
           "export; more rounds on a noisy machine)")
      .many("config",
            "a config (JSON, as `attune show` prints it; knobs it lacks take the default's) measured first, "
            "before the default config and the strategy's proposals (recorded as strategy 'given'); "
            "several --config flags are measured in the order given")
      .opt("transfer", "4",
           "learn from up to N other workloads in the database (same kernel and target, nearest shapes "
           "first): their best configs are measured after the default (recorded as strategy 'transfer') "
           "and their measurements train the model strategy's cost model; 0: none")
      .sw("no-shipped", "do not measure the config this build ships for the workload (`attune which`; by "
                        "default it is measured after the default config and re-timed against the winners)")
      .opt("batch-out", "",
           "offline batch for a machine without Halide (e.g. a GPU box): build --budget N candidates "
           "into this directory instead of running them; there, DIR/run.sh checks and times them; "
           "here, `attune import DIR` records the results (repeat for more rounds of search)");
  if (!a.parse(argc, argv)) return 0;
  const std::string kernel = a.get("kernel");
  if (kernel != "sdpa" && kernel != "attention_probs" && kernel != "linear")
    throw attune::Error("attune tune: --kernel must be sdpa, attention_probs or linear, got '" + kernel + "'");
  std::vector<Workload> workloads;
  if (a.get("preset") == "standard") {
    if (kernel == "linear")
      throw attune::Error("attune tune: --preset standard tunes the projection GEMM with --kernel sdpa (the default)");
    workloads = standard_workloads(kernel);
  } else if (!a.get("preset").empty()) {
    throw attune::Error("attune tune: unknown --preset '" + a.get("preset") + "'");
  } else {
    Workload w = parse_shape(a.get("shape"), a);
    w.kernel = kernel;
    if (kernel == "linear" && (w.causal || w.mask || w.num_kv_heads > 0))
      throw attune::Error("attune tune: --kernel linear takes no --causal, --mask or --kv-heads");
    if (kernel == "linear" && w.seq_kv != w.seq_q)
      throw attune::Error("attune tune: --kernel linear: the shape's Sq and Skv must be equal");
    workloads.push_back(w);
  }

  Database db(a.get("db"));
  const bool tty = isatty(2);
  stop_on_signals();  // Ctrl-C: stop cleanly (a second one: at once); the next run resumes
  const auto options_for = [&](const Workload& w) {
    TuneOptions o;
    o.workload = w;
    o.toolchain = toolchain(a.get("target"));
    o.strategy = a.get("strategy");
    for (const std::string& c : a.all("config")) o.configs.push_back(attune::schedules::Config::from_json(c));
    parse_budget(a.get("budget"), o);
    if (o.strategy.rfind("autoscheduler:", 0) == 0) o.max_trials = 1;
    o.jobs = a.get_int("jobs");
    o.seed = std::uint64_t(a.get_int("seed"));
    o.min_time_s = std::stod(a.get("min-time"));
    o.final_remeasure = a.get_int("remeasure");
    o.final_rounds = a.get_int("final-rounds");
    if (o.final_rounds < 1) throw attune::Error("attune tune: --final-rounds must be >= 1, got " + a.get("final-rounds"));
    o.transfer = a.get_int("transfer");
    o.work_dir = std::filesystem::temp_directory_path().string() + "/attune-tune-" + std::to_string(getpid());
    // The candidates' Halide runtime sizes its thread pool from HL_NUM_THREADS (inherited).
    const int threads = a.get_int("threads");
    if (threads > 0) setenv("HL_NUM_THREADS", a.get("threads").c_str(), 1);
    if (a.has("pin")) {
      const int n = threads > 0 ? threads : int(std::thread::hardware_concurrency());
      o.toolchain.pin_cpus = "0-" + std::to_string(std::max(0, n - 1));
    }
    return o;
  };
  std::vector<TuneOptions> tasks;
  for (const Workload& w : workloads) {
    tasks.push_back(options_for(w));
    if (!a.has("no-shipped")) tasks.back().shipped = shipped_config(w, tasks.back().toolchain.target);
  }

  if (!a.get("batch-out").empty()) {
    if (a.has("total-budget")) throw attune::Error("attune tune: --batch-out takes --budget N, not --total-budget");
    for (const TuneOptions& o : tasks) {
      const BatchSummary b = prepare_batch(o, db, a.get("batch-out"));
      std::printf("%s: %d candidates built into %s (%d failed to build); run %s/run.sh on the target machine, "
                  "then attune import %s\n", o.workload.key().c_str(), b.built, a.get("batch-out").c_str(), b.failed,
                  a.get("batch-out").c_str(), a.get("batch-out").c_str());
    }
    return 0;
  }
  // The summary of workload `w`'s tune; false if it was interrupted (the run stops there).
  const auto report = [&](const Workload& w, const TuneResult& r) {
    if (r.interrupted) {
      std::fprintf(stderr, "interrupted: %d trials of %s are in %s; the same command resumes the tune\n", r.trials,
                   w.key().c_str(), a.get("db").c_str());
      return false;
    }
    if (!r.found) {
      std::printf("%s: no valid config found (%d trials, %d failed)\n", w.key().c_str(), r.trials, r.failures);
      return true;
    }
    std::printf("%s: best %.1f GFLOP/s (%.3f ms", w.key().c_str(), r.best.gflops, r.best.median_ms);
    if (r.best.peak_gflops > 0) std::printf(", %.0f%% of the FMA peak", 100 * r.best.gflops / r.best.peak_gflops);
    std::printf("), config %s %s; %d trials, %d failed", r.best.config_hash.c_str(), r.best.config.dump().c_str(),
                r.trials, r.failures);
    if (r.default_final.median_ms > 0)
      std::printf("; %.2fx the default config (%.3f ms)", r.default_final.median_ms / r.best.median_ms,
                  r.default_final.median_ms);
    if (r.shipped_final.median_ms > 0)
      std::printf("; %.2fx the config this build ships (%.3f ms)", r.shipped_final.median_ms / r.best.median_ms,
                  r.shipped_final.median_ms);
    if (r.default_final.median_ms > 0 || r.shipped_final.median_ms > 0) std::printf(" in the same interleaved round");
    std::printf("\n");
    return true;
  };
  const auto announce = [&](const TuneOptions& o) {
    std::fprintf(stderr, "tuning %s on %s with %s\n", o.workload.key().c_str(),
                 resolve_target(o.toolchain.target).c_str(), o.strategy.c_str());
  };

  if (a.has("total-budget")) {
    if (a.has("budget")) throw attune::Error("attune tune: give --budget (per workload) or --total-budget, not both");
    if (tasks.front().strategy.rfind("autoscheduler:", 0) == 0)
      throw attune::Error("attune tune: an autoscheduler baseline is one trial per workload: use --budget, not --total-budget");
    TuneOptions total;
    parse_budget(a.get("total-budget"), total);
    if (total.max_seconds > 0 && total.max_seconds < 20.0 * double(tasks.size()))
      throw attune::Error("attune tune: --total-budget " + a.get("total-budget") + " is under 20 s per workload (" +
                          std::to_string(tasks.size()) + " workloads)");
    size_t shown = tasks.size();  // the workload whose slice the progress line is about
    const std::vector<TuneResult> results =
        tune_all(tasks, {total.max_trials, total.max_seconds}, db, [&](size_t t, const TuneProgress& p) {
          if (t != shown && p.final_configs == 0) {
            if (tty && shown != tasks.size()) std::fprintf(stderr, "\n");
            announce(tasks[t]);
            shown = t;
          }
          print_progress(p, tasks[t].workload.key(), tty);
        });
    if (tty) std::fprintf(stderr, "\n");
    for (size_t t = 0; t < tasks.size(); ++t)
      if (!report(tasks[t].workload, results[t])) return 130;
    if (stop_requested()) return 130;
    return 0;
  }
  for (const TuneOptions& o : tasks) {
    announce(o);
    const TuneResult r = tune(o, db, [&](const TuneProgress& p) { print_progress(p, o.workload.key(), tty); });
    if (tty) std::fprintf(stderr, "\n");
    if (!report(o.workload, r)) return 130;  // as a shell reports a command stopped by SIGINT
  }
  return 0;
}

int cmd_import(int argc, char** argv) {
  Args a("import", "Record the results of an offline batch (attune tune --batch-out DIR, then DIR/run.sh on "
                   "the target machine) in the tuning database. Importing twice adds nothing.");
  a.opt("batch", "", "the batch directory (holds batch.jsonl and results.jsonl)")
      .opt("db", "attune_tuning.jsonl", "tuning database");
  if (!a.parse(argc, argv)) return 0;
  if (a.get("batch").empty()) throw attune::Error("attune import: --batch DIR is required");
  Database db(a.get("db"));
  const ImportSummary s = import_batch(a.get("batch"), db);
  std::printf("imported %d measured and %d failed candidates into %s (%d already there, %d not run yet)\n",
              s.imported, s.failed, a.get("db").c_str(), s.already, s.not_run);
  return 0;
}

int cmd_show(int argc, char** argv) {
  Args a("show", "Best config per workload, target and machine in a tuning database, with its speed as % of "
                 "the machine's fp32 FMA peak for the target (measured by each tune), against the default config, "
                 "the config the build shipped when the tune ran, and the autoscheduler baselines recorded there.");
  a.opt("db", "attune_tuning.jsonl", "tuning database");
  if (!a.parse(argc, argv)) return 0;
  Database db(a.get("db"));
  std::set<std::tuple<std::string, std::string, std::string>> keys;  // workload, target, machine
  for (const Record& r : db.records()) keys.insert({r.workload_key, r.target, r.cpu});
  std::printf("%-52s %10s %6s %9s %9s %8s %7s  %s\n", "workload", "GFLOP/s", "%peak", "x default", "x shipped",
              "trials", "failed", "config");
  for (const auto& [key, target, machine] : keys) {
    int trials = 0, failed = 0;
    double peak = 0;  // the FMA peak the tunes measured (the best of them: a busy moment lowers it)
    // The default and shipped configs: search-time best, latest end-of-tune re-measurement.
    struct Incumbent {
      std::string hash;
      double search = 0, final = 0;
    };
    std::map<std::string, Incumbent> incumbents;  // by strategy
    std::map<std::string, double> baselines;
    for (const Record& r : db.records()) {
      if (r.workload_key != key || r.target != target || r.cpu != machine) continue;
      ++trials;
      failed += !r.ok();
      peak = std::max(peak, r.peak_gflops);
      if (!r.ok()) continue;
      if (r.strategy == "default" || r.strategy == "shipped") {
        Incumbent& i = incumbents[r.strategy];
        i.search = std::max(i.search, r.gflops);
        i.hash = r.config_hash;
      }
      if (r.strategy == "final")
        for (auto& [name, i] : incumbents)
          if (r.config_hash == i.hash) i.final = r.gflops;
      if (r.strategy.rfind("autoscheduler:", 0) == 0) baselines[r.strategy] = std::max(baselines[r.strategy], r.gflops);
    }
    const auto best = db.best(key, target, 1, machine);
    if (best.empty()) {
      std::printf("%-52s %10s %6s %9s %9s %8d %7d\n", key.c_str(), "-", "-", "-", "-", trials, failed);
      continue;
    }
    const Record& b = best.front();
    // The best is ranked by its end-of-tune re-measurement: compare it with the incumbent's from
    // the same interleaved round when there is one (search-time figures run high).
    const auto speedup_over = [&](const std::string& name) -> std::string {
      const auto it = incumbents.find(name);
      if (it == incumbents.end()) return "-";
      char s[16];
      std::snprintf(s, sizeof s, "%.2f", b.gflops / (it->second.final > 0 ? it->second.final : it->second.search));
      return s;
    };
    const std::string pct = peak > 0 ? std::to_string(int(std::lround(100 * b.gflops / peak))) : "-";
    std::printf("%-52s %10.1f %6s %9s %9s %8d %7d  %s %s\n", key.c_str(), b.gflops, pct.c_str(),
                speedup_over("default").c_str(), speedup_over("shipped").c_str(), trials, failed,
                b.config_hash.c_str(), b.config.dump().c_str());
    for (const auto& [name, g] : baselines) std::printf("    %s: %.1f GFLOP/s (tuned is %.1fx)\n", name.c_str(), g, b.gflops / g);
    std::printf("    target %s, machine %s", target.c_str(), machine.c_str());
    if (peak > 0) std::printf(", FMA peak %.1f GFLOP/s", peak);
    std::printf("\n");
  }
  return 0;
}

// Whose tuned configs an export takes (timings of different machines are not ranked together):
// `requested`, else the only machine with records for `target`, else this machine.
std::string export_machine(const Database& db, const std::string& target, const std::string& requested) {
  const std::vector<std::string> names = db.machines(target);
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "'" : ", '") + n + "'";
  const auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  if (!requested.empty()) {
    if (!has(requested))
      throw attune::Error("attune export: --machine '" + requested + "' has no records for " + target +
                          (names.empty() ? std::string(" (none has)") : " (these have: " + listed + ")"));
    return requested;
  }
  if (names.size() <= 1) return names.empty() ? "" : names.front();
  if (has(measuring_machine(target))) return measuring_machine(target);
  throw attune::Error("attune export: " + std::to_string(names.size()) + " machines have records for " + target +
                      " (" + listed + "): choose one with --machine");
}

int cmd_export(int argc, char** argv) {
  Args a("export", "Write the best config per workload of a target to a JSON file that the build "
                   "(attune_add_kernels) consumes, or with --pack build a kernel pack: a shared library of "
                   "the best kernel per kernel variant and sequence bucket that applications load at run "
                   "time with attune::load_kernel_pack().");
  a.opt("db", "attune_tuning.jsonl", "tuning database")
      .opt("target", "host", "Halide target whose results to export")
      .opt("machine", "", "the machine whose results to export, as `attune show` names it (default: the only one "
                          "with results for the target, else this machine)")
      .opt("out", "", "output file (default: schedules/tuned/<target>.json)")
      .opt("pack", "", "build a kernel pack at this path (.so) instead of the JSON file");
  if (!a.parse(argc, argv)) return 0;
  Database db(a.get("db"));
  const std::string target = resolve_target(a.get("target"));
  const std::string machine = export_machine(db, target, a.get("machine"));
  if (!a.get("pack").empty()) {
    const std::string work = std::filesystem::temp_directory_path().string() + "/attune-pack-" + std::to_string(getpid());
    const PackResult r = build_kernel_pack(toolchain(target), db, machine, a.get("pack"), work);
    std::filesystem::remove_all(work);
    std::printf("built kernel pack %s: %d kernels for %s (%.0f s)\n", a.get("pack").c_str(), r.kernels,
                target.c_str(), r.seconds);
    return 0;
  }
  nlohmann::json kernels = nlohmann::json::array();
  for (const Record& b : db.best_per_workload(target, machine))
    kernels.push_back({{"workload_key", b.workload_key}, {"workload", b.workload}, {"config", b.config},
                       {"config_hash", attune::schedules::Config::from_json(b.config.dump()).hash_hex()},
                       {"gflops", b.gflops}, {"cpu", b.cpu}});
  const std::string out = a.get("out").empty() ? "schedules/tuned/" + target + ".json" : a.get("out");
  if (std::filesystem::path(out).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(out).parent_path());
  std::ofstream(out) << nlohmann::json{{"target", target}, {"format", 1}, {"kernels", kernels}}.dump(2) << "\n";
  std::printf("exported %zu tuned configs for %s%s to %s\n", kernels.size(), target.c_str(),
              machine.empty() ? "" : (" measured on " + machine).c_str(), out.c_str());
  return 0;
}

// The peers' median GFLOP/s per tuned workload from a benchmark run's JSON: rows
// "group/<implementation>/<workload>" labelled with the workload key (attune's own rows skipped).
std::map<std::string, std::map<std::string, double>> bench_peers(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw attune::Error("attune plot: cannot read --bench " + path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw attune::Error("attune plot: --bench " + path + " is not benchmark JSON: " + e.what());
  }
  std::map<std::string, std::map<std::string, std::vector<double>>> runs;
  for (const auto& b : j.value("benchmarks", nlohmann::json::array())) {
    const std::string name = b.value("run_name", ""), label = b.value("label", "");
    const size_t p1 = name.find('/'), p2 = name.find('/', p1 + 1);
    if (b.value("run_type", "") != "iteration" || label.empty() || !b.contains("GFLOP/s") || p2 == std::string::npos)
      continue;
    const std::string impl = name.substr(p1 + 1, p2 - p1 - 1);
    if (impl != "attune") runs[label][impl].push_back(b["GFLOP/s"].get<double>());
  }
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& [key, impls] : runs)
    for (const auto& [impl, g] : impls) out[key][impl] = median(g);
  return out;
}

int cmd_plot(int argc, char** argv) {
  Args a("plot", "PNG of best-so-far GFLOP/s against trials and against time, per workload and strategy "
                 "(gnuplot), with the default and shipped configs, the autoscheduler baselines, the FMA peak and the peers "
                 "of a benchmark run as horizontal lines.");
  a.opt("db", "attune_tuning.jsonl", "tuning database").opt("out", "attune_tuning.png", "PNG file");
  a.opt("bench", "", "Google Benchmark JSON of bench/run.sh (build/release/bench/attune_bench.json): its peers "
                     "(median GFLOP/s) on the tuned workloads as lines");
  if (!a.parse(argc, argv)) return 0;
  Database db(a.get("db"));
  const std::string dir = std::filesystem::temp_directory_path().string() + "/attune-plot-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  // A panel per workload, and per target and machine where the database has several: their
  // curves are not one search.
  std::set<std::string> targets, machines;
  for (const Record& r : db.records()) targets.insert(r.target), machines.insert(r.cpu);
  const auto panel = [&](const std::string& key, const std::string& target, const std::string& machine) {
    return key + (targets.size() > 1 ? " for " + target : "") + (machines.size() > 1 ? " on " + machine : "");
  };
  // One data file per (panel, strategy): trial, elapsed, best-so-far. A tune's hand-picked
  // (`given`) and transferred configs are the first trials of the strategy it searched with
  // (the one whose records follow them), so its curve is the whole tune's best-so-far.
  std::map<std::pair<std::string, std::string>, std::vector<const Record*>> series;
  std::map<std::string, std::vector<const Record*>> leading;  // workload -> given/transfer not yet followed
  std::map<std::string, std::map<std::string, double>> lines;  // workload -> baseline -> GFLOP/s
  for (const Record& r : db.records()) {
    const std::string wl = panel(r.workload_key, r.target, r.cpu);
    if (r.strategy == "default" || r.strategy == "shipped" || r.strategy.rfind("autoscheduler:", 0) == 0) {
      if (r.ok()) lines[wl][r.strategy] = std::max(lines[wl][r.strategy], r.gflops);
      continue;
    }
    if (r.peak_gflops > 0) lines[wl]["FMA peak"] = std::max(lines[wl]["FMA peak"], r.peak_gflops);
    if (r.strategy == "final") continue;
    if (r.strategy == "given" || r.strategy == "transfer") {
      leading[wl].push_back(&r);
      continue;
    }
    std::vector<const Record*>& s = series[{wl, r.strategy}];
    std::vector<const Record*>& first = leading[wl];
    s.insert(s.end(), first.begin(), first.end());
    first.clear();
    s.push_back(&r);
  }
  for (const auto& [workload, recs] : leading)  // a tune of given configs only
    for (const Record* r : recs) series[{workload, r->strategy}].push_back(r);
  std::set<std::string> workloads;
  for (const auto& [k, v] : series) workloads.insert(k.first);
  for (const auto& [k, v] : lines) workloads.insert(k);
  if (!a.get("bench").empty())  // measured here, for the host target; on the tuned workloads only
    for (const auto& [key, peers] : bench_peers(a.get("bench"))) {
      const std::string wl = panel(key, resolve_target("host"), machine_name());
      if (workloads.count(wl))
        for (const auto& [name, g] : peers) lines[wl][name] = g;
    }
  std::ostringstream gp;
  gp << "set terminal pngcairo size 1400," << 420 * std::max<size_t>(1, workloads.size()) << "\n"
     << "set output '" << a.get("out") << "'\nset multiplot layout " << std::max<size_t>(1, workloads.size())
     << ",2\nset key bottom right\nset ylabel 'best GFLOP/s'\nset grid\n";
  int file_no = 0;
  for (const std::string& wl : workloads) {
    for (const char* axis : {"trial", "seconds"}) {
      gp << "set title '" << wl << "' noenhanced\nset xlabel '" << axis << "'\nplot ";
      bool first = true;
      for (const auto& [k, recs] : series) {
        if (k.first != wl) continue;
        const std::string file = dir + "/s" + std::to_string(file_no++) + ".dat";
        std::ofstream f(file);
        double best = 0;
        int trial = 0;
        for (const Record* r : recs) {
          best = std::max(best, r->ok() ? r->gflops : 0.0);
          f << ++trial << " " << r->elapsed_s << " " << best << "\n";
        }
        gp << (first ? "" : ", ") << "'" << file << "' using " << (axis == std::string("trial") ? 1 : 2)
           << ":3 with steps lw 2 title '" << k.second << "' noenhanced";
        first = false;
      }
      for (const auto& [name, g] : lines[wl]) {
        gp << (first ? "" : ", ") << g << " with lines dt 2 title '" << name << "' noenhanced";
        first = false;
      }
      gp << "\n";
    }
  }
  gp << "unset multiplot\n";
  const std::string script = dir + "/plot.gp";
  std::ofstream(script) << gp.str();
  const int rc = std::system(("gnuplot '" + script + "'").c_str());
  std::filesystem::remove_all(dir);
  if (rc != 0) throw attune::Error("attune plot: gnuplot failed (is gnuplot installed?)");
  std::printf("wrote %s\n", a.get("out").c_str());
  return 0;
}

int cmd_which(int argc, char** argv) {
  Args a("which", "Which compiled kernel, target and schedule config a call would run in this build.");
  shape_flags(a.opt("function", "sdpa", "sdpa, attention_probs or linear (multi_head_attention's projection GEMM)"))
      .opt("pack", "", "load this kernel pack first (as an application would)")
      .opt("max-isa", "", "cap the CPU ISA level: avx512, avx2 or sse41 (attune::set_max_isa)");
  if (!a.parse(argc, argv)) return 0;
  const Workload w = parse_shape(a.get("shape"), a);
  if (!a.get("pack").empty()) attune::load_kernel_pack(a.get("pack"));
  attune::set_max_isa(a.get("max-isa"));
  const attune::DispatchInfo d = dispatch_of(a.get("function"), w);
  std::printf("kernel  %s\nbucket  %s\nsource  %s\ntarget  %s\nconfig  %s\nhash    %s\ntuned   %s\n",
              d.kernel.c_str(), d.bucket.c_str(), d.source.c_str(), d.target.c_str(),
              d.config.empty() ? "(default schedule of the space)" : d.config.c_str(),
              d.config_hash.empty() ? "-" : d.config_hash.c_str(),
              d.tuned_for.empty() ? "-" : ("for " + d.tuned_for).c_str());
  return 0;
}

void usage() {
  std::printf(
      "usage: attune <command> [flags]   (attune <command> --help for its flags)\n\n"
      "commands:\n"
      "  tune     search schedules for a workload on this machine (resumable)\n"
      "  import   record an offline batch's results (tune --batch-out, run on the target machine)\n"
      "  show     best config per workload in a tuning database\n"
      "  export   best configs -> schedules/tuned/<target>.json for the build, or a kernel pack (--pack)\n"
      "  plot     PNG of best-so-far GFLOP/s against trials and time\n"
      "  which    which compiled kernel and config a call would run in this build\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "tune") return cmd_tune(argc - 2, argv + 2);
    if (cmd == "show") return cmd_show(argc - 2, argv + 2);
    if (cmd == "import") return cmd_import(argc - 2, argv + 2);
    if (cmd == "export") return cmd_export(argc - 2, argv + 2);
    if (cmd == "plot") return cmd_plot(argc - 2, argv + 2);
    if (cmd == "which") return cmd_which(argc - 2, argv + 2);
    std::fprintf(stderr, "attune: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
