// attune's thread pool and threading API (set_thread_pool, set_num_threads, set_worker_cpus,
// set_parallel_for). A parallel loop runs on the application's parallel_for if it gave one, on
// the process's OpenMP threads (run_on_openmp: bound ones, or unbound ones while they spin, see
// on_openmp() and openmp_team_running()) or on attune's pool (Pool).
//
// On the pool, a loop is a Job on the caller's stack: the caller posts it, claims indices itself
// alongside up to num_threads() - 1 workers, and returns once every thread that joined has
// left it. Nested loops (split-KV's chunks inside its heads) are jobs too; a thread waiting for
// its nested job only waits for indices that running threads have claimed, so it cannot
// deadlock. Idle workers spin briefly before sleeping: a call's loops follow each other within
// microseconds (K panels, then the attention tiles). Workers start as the library loads (with
// the scratch warm-up, see on_load) and run on worker_cpus() less the posting thread's CPU.
#include "thread_pool.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <iterator>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "attune/attention.h"
#include "halide_hooks.h"
#include "scratch.h"

namespace attune {
namespace detail {

namespace {

// ---- CPUs -------------------------------------------------------------------------------

// The loading thread's affinity, read before main() (on_load): the CPUs the process was started
// on (taskset, a container's cpuset). Threads the application pins later do not change it.
cpu_set_t startup_cpus;
bool startup_known = false;

std::vector<int> cpus_of(const cpu_set_t& set) {
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// The process's CPUs: its startup affinity, together with the places of an OpenMP runtime that
// binds threads (libgomp and libomp pin the main thread to their first place as they load,
// before attune's constructor runs, so the startup mask alone would be that one place).
std::vector<int> default_cpus() {
  cpu_set_t set;
  if (startup_known) {
    set = startup_cpus;
  } else {
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) CPU_SET(0, &set);
  }
  using IntFn = int (*)();
  using PlaceFn = int (*)(int);
  using IdsFn = void (*)(int, int*);
  auto num_places = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_num_places"));
  auto place_procs = reinterpret_cast<PlaceFn>(dlsym(RTLD_DEFAULT, "omp_get_place_num_procs"));
  auto place_ids = reinterpret_cast<IdsFn>(dlsym(RTLD_DEFAULT, "omp_get_place_proc_ids"));
  if (num_places && place_procs && place_ids)
    for (int p = 0, n = num_places(); p < n; ++p) {
      std::vector<int> ids(size_t(std::max(0, place_procs(p))));
      place_ids(p, ids.data());
      for (int c : ids)
        if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
    }
  return cpus_of(set);
}

std::mutex settings_mutex;
// set_worker_cpus' CPUs; empty = default_cpus(). Created on first use and never destroyed: the
// load-time warm-up reads it before this file's dynamic initializers would have run, and its
// thread may still be starting workers while a short process exits.
std::vector<int>& chosen_cpus() {
  static auto* cpus = new std::vector<int>;
  return *cpus;
}
std::atomic<int> requested_threads{0};
// set_parallel_for's function; read with atomic_load. Never destroyed, like chosen_cpus(): a
// call still running on another thread as the process exits copies it.
std::shared_ptr<const ParallelFor>& app_parallel_for() {
  static auto* f = new std::shared_ptr<const ParallelFor>;
  return *f;
}

std::atomic<int> cpu_count{0};  // current_cpus().size() once known (0: compute it again)

std::vector<int> current_cpus() {
  std::lock_guard<std::mutex> lock(settings_mutex);
  if (chosen_cpus().empty()) chosen_cpus() = default_cpus();
  cpu_count.store(int(chosen_cpus().size()), std::memory_order_relaxed);
  return chosen_cpus();
}

// num_threads() on attune's pool. Read by every loop: a cached count, not a copy of the CPUs
// made under a lock (a heap allocation per loop).
int pool_threads() {
  const int n = requested_threads;
  if (n > 0) return n;
  const int cpus = cpu_count.load(std::memory_order_relaxed);
  return cpus > 0 ? cpus : int(current_cpus().size());
}

// Whether a thread may be pinned to `set` (the kernel refuses a set with no CPU that is online
// and in the process's cpuset): a probe thread created with that affinity.
bool can_run_on(const cpu_set_t& set) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  bool ok = pthread_attr_setaffinity_np(&attr, sizeof(set), &set) == 0;
  pthread_t t;
  if (ok) ok = pthread_create(&t, &attr, [](void*) -> void* { return nullptr; }, nullptr) == 0;
  if (ok) pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  return ok;
}

cpu_set_t cpu_set_of(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return set;
}

// The kernel ids of attune's own threads (workers, the load-time warm-up): never taken for an
// application's OpenMP thread (openmp_team_running). Created on first use and never destroyed,
// like chosen_cpus().
std::mutex own_tids_mutex;
std::vector<pid_t>& own_tids() {
  static auto* tids = new std::vector<pid_t>;
  return *tids;
}
// This thread's kernel id, read once (a syscall costs ~1 us in these VMs). A forked child's one
// thread reads it again (fork_generation).
std::atomic<unsigned> fork_generation{0};
pid_t main_tid = 0;  // the process's main thread (its id is the process id)
pid_t this_tid() {
  thread_local pid_t tid = 0;
  thread_local unsigned generation = 0;
  if (tid == 0 || generation != fork_generation.load(std::memory_order_relaxed)) {
    tid = pid_t(syscall(SYS_gettid));
    generation = fork_generation.load(std::memory_order_relaxed);
  }
  return tid;
}
void register_own_thread() {
  std::lock_guard<std::mutex> lock(own_tids_mutex);
  own_tids().push_back(this_tid());
}

std::int64_t cpu_clock_ns(clockid_t clock) {
  timespec t;
  if (clock_gettime(clock, &t) != 0) return -1;
  return std::int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The CPU time attune's own threads have used, as each reported it: a worker as it finishes a
// job and before it waits for the next, the warm-up as it ends, read live until then
// (openmp_team_running tells the application's threads from attune's by it).
std::atomic<std::int64_t> own_cpu_ns{0};
std::atomic<pid_t> warmup_tid{0};  // while the load-time warm-up runs
thread_local std::int64_t own_cpu_reported = 0;
void report_own_cpu() {
  const std::int64_t now = cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID);
  own_cpu_ns.fetch_add(now - own_cpu_reported, std::memory_order_relaxed);
  own_cpu_reported = now;
}

// ---- the pool ---------------------------------------------------------------------------

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or `limit` has passed (the clock read every 64 turns): waits that are
// usually microseconds, where sleeping and being woken would cost more and move threads.
template <class Done>
void spin_until(Done done, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (int n = 0; !done(); ++n) {
    if ((n & 63) == 0 && std::chrono::steady_clock::now() > until) return;
    cpu_relax();
  }
}

thread_local int task_depth = 0;  // > 0 inside a task run by the app's or OpenMP's threads

struct Job {
  HalideTask task;
  void* user_context;
  std::uint8_t* closure;
  int min, extent;
  int max_helpers;        // workers that may join: num_threads() - 1 at posting
  int helpers = 0;        // workers that joined (pool mutex)
  std::atomic<int> active{0};  // workers inside it now (changed under the pool mutex)
  std::atomic<int> next{0};
  std::atomic<int> error{0};
  pid_t* team_tids = nullptr;  // on OpenMP's threads: each writes its kernel id at its thread number

  // Claims and runs indices until none are left.
  void work() {
    for (int i = next.fetch_add(1, std::memory_order_relaxed); i < extent;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      if (const int rc = task(user_context, min + i, closure)) {
        int none = 0;
        error.compare_exchange_strong(none, rc);
        next.store(extent, std::memory_order_relaxed);  // stop the others claiming
      }
    }
  }
  bool open() const { return next.load(std::memory_order_relaxed) < extent && helpers < max_helpers; }
};

class Pool {
 public:
  int run(Job& job) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      spawn_locked(job.max_helpers);
      avoid_cpu_locked(sched_getcpu());
      queue_.push_back(&job);
      posted_.fetch_add(1, std::memory_order_release);
      // Wake only sleepers no one has signalled yet: a worker woken for the call's previous loop
      // may still be on its way (waking a halted vCPU takes 50-200 us here), and each futex
      // wake costs the caller ~40 us in VMs.
      const int wake = std::min(job.max_helpers, sleepers_ - signals_);
      if (wake > 0) {
        signals_ += wake;
        if (wake == sleepers_) wake_.notify_all();
        else for (int n = 0; n < wake; ++n) wake_.notify_one();
      }
    }
    job.work();
    // The workers still in it finish within microseconds, usually: wait for them spinning. A
    // caller asleep here is woken by the last worker, and the scheduler then tends to put it on
    // that worker's CPU: the next call's loops would share it.
    spin_until([&] { return job.active.load(std::memory_order_acquire) == 0; }, std::chrono::microseconds(100));
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
    done_.wait(lock, [&] { return job.active == 0; });
    return job.error.load();
  }

  // Starts the workers a loop of `threads` threads would use, ahead of it.
  void start(int threads) {
    std::lock_guard<std::mutex> lock(mutex_);
    spawn_locked(threads - 1);
  }

  // After fork() only the forking thread exists: the child starts with no workers.
  void reset_after_fork() {
    new (&mutex_) std::mutex;
    new (&wake_) std::condition_variable;
    new (&done_) std::condition_variable;
    new (&queue_) std::vector<Job*>;  // the parent's entries belong to threads that do not exist here
    new (&threads_) std::vector<pthread_t>;
    workers_ = 0;
    sleepers_ = signals_ = 0;
    avoided_cpu_ = -1;
  }

  // Moves every worker, sleeping ones included, to worker_cpus() now (set_worker_cpus; the
  // warm-up, whose thread's CPU the workers avoided, is not where the application will call).
  void repin() {
    const cpu_set_t set = cpu_set_of(current_cpus());
    std::lock_guard<std::mutex> lock(mutex_);
    for (pthread_t t : threads_) pthread_setaffinity_np(t, sizeof(set), &set);  // best effort
    avoided_cpu_ = -1;
    ++affinity_epoch_;
  }

 private:
  // Workers run on worker_cpus() less the CPU of the thread posting a loop (it works on the loop
  // too). Woken after idle, a worker was otherwise often placed on the poster's CPU, and the two
  // shared it for a whole call while the other CPU idled: 43% of calls made 50 ms apart ran at
  // ~0.6 speed here (S=1024), waiting ~5 ms each in the run queue. Each worker applies it to
  // itself as it joins a loop (apply_affinity): setting another thread's affinity cost the
  // caller ~45 us in VMs. Only when the poster has moved: a call's loops post from one CPU.
  void avoid_cpu_locked(int cpu) {
    if (cpu < 0 || cpu == avoided_cpu_ || threads_.empty()) return;
    avoided_cpu_ = cpu;
    ++affinity_epoch_;
  }

  void apply_affinity(int avoided_cpu) {
    std::vector<int> cpus = current_cpus();
    const auto poster = std::find(cpus.begin(), cpus.end(), avoided_cpu);
    if (poster != cpus.end() && cpus.size() > 1) cpus.erase(poster);
    const cpu_set_t set = cpu_set_of(cpus);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort
  }

  // Workers start on worker_cpus() (not inheriting a pinned caller's CPU, where the scheduler
  // would leave them until it rebalances: calls ran at 55-65% speed for the first tens of ms).
  void spawn_locked(int wanted) {
    if (workers_ >= wanted) return;
    cpu_set_t set = cpu_set_of(current_cpus());
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    for (; workers_ < wanted; ++workers_) {
      pthread_t t;
      if (pthread_create(&t, &attr, &Pool::worker_main, this) != 0) break;  // fewer workers, still correct
      pthread_setname_np(t, "attune-worker");  // by the spawner: named even before it first runs
      pthread_detach(t);  // workers never exit: t stays valid for repin()
      threads_.push_back(t);
    }
    pthread_attr_destroy(&attr);
  }

  static void* worker_main(void* self) {
    register_own_thread();
    static_cast<Pool*>(self)->worker_loop();
    return nullptr;
  }

  Job* take_locked() {
    for (Job* job : queue_)
      if (job->open()) {
        ++job->helpers;
        ++job->active;
        return job;
      }
    return nullptr;
  }

  void worker_loop() {
    unsigned applied_epoch = ~0u;  // the affinity_epoch_ this thread's affinity reflects
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex_);
      Job* job = take_locked();
      if (!job) {
        ++sleepers_;
        wake_.wait(lock, [&] { return signals_ > 0; });
        --signals_;
        --sleepers_;
        job = take_locked();  // null when woken too late for the loop: spin for the call's next
      }
      unsigned seen = posted_.load(std::memory_order_relaxed);
      const unsigned epoch = affinity_epoch_;
      const int avoided = avoided_cpu_;
      lock.unlock();
      // Setting the affinity costs this thread 50-100 us in VMs: before the job only if this
      // thread is on the poster's CPU now, else after it (it matters for the next wake-up).
      bool stale = epoch != applied_epoch && avoided >= 0;
      if (stale && (!job || sched_getcpu() == avoided)) {
        apply_affinity(avoided);
        stale = false;
      }
      if (job) {
        job->work();
        report_own_cpu();
        std::lock_guard<std::mutex> done_lock(mutex_);
        if (--job->active == 0) done_.notify_all();
        seen = posted_.load(std::memory_order_relaxed);
      }  // the job may be gone from here on
      if (stale) apply_affinity(avoided);
      applied_epoch = epoch;
      spin_for_work(seen);
    }
  }

  // Waits up to ~50 us for a job posted after `seen` before going to sleep.
  void spin_for_work(unsigned seen) {
    spin_until([&] { return posted_.load(std::memory_order_acquire) != seen; }, std::chrono::microseconds(50));
    report_own_cpu();
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<Job*> queue_;  // posted jobs (some may have no indices left to claim)
  std::vector<pthread_t> threads_;
  std::atomic<unsigned> posted_{0};
  int workers_ = 0;
  int sleepers_ = 0, signals_ = 0;  // workers waiting on wake_; wake-ups owed to them
  int avoided_cpu_ = -1;            // the CPU workers leave to the poster (-1: none)
  unsigned affinity_epoch_ = 0;     // bumped whenever the workers' affinity should change
};

// Never destroyed: workers sleep in it until the process exits.
Pool& pool() {
  static Pool* p = [] {
    auto* created = new Pool;
    pthread_atfork(nullptr, nullptr, [] { pool().reset_after_fork(); });
    return created;
  }();
  return *p;
}

// ---- the process's OpenMP runtime --------------------------------------------------------

// Found by symbol, not linked: libgomp's entry point for `#pragma omp parallel`, which LLVM's
// libomp and Intel's libiomp5 export too. Looked up as attune loads (not called then: the
// runtime may not be initialised yet); an OpenMP runtime loaded later (dlopen) is not seen.
using GompParallel = void (*)(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);
GompParallel gomp_parallel = nullptr;
int (*omp_max_threads)() = nullptr;
int (*omp_proc_bind)() = nullptr;  // omp_get_proc_bind: 0 = omp_proc_bind_false
int (*omp_thread_num)() = nullptr;
int (*omp_in_parallel)() = nullptr;
std::atomic<ThreadPool> chosen_pool{ThreadPool::kAuto};

// kAuto takes OpenMP's threads where it binds them (OMP_PROC_BIND, OMP_PLACES): there attune's
// workers would share a CPU with a bound OpenMP thread spin-waiting after the app's last loop
// (a first call at S=512 ran at ~0.5 speed). Unbound OpenMP threads are taken only while they
// spin (openmp_team_running): woken after idle, the scheduler often put one on its team's
// calling CPU, and a call waited 2-10 ms for it (S=512: median 0.2-0.4 speed after 30 ms
// idle); attune's workers avoid the caller's CPU (Pool).
bool on_openmp() {
  const ThreadPool chosen = chosen_pool.load(std::memory_order_relaxed);
  if (chosen != ThreadPool::kAuto) return chosen == ThreadPool::kOpenMP;
  return gomp_parallel && omp_proc_bind() != 0;
}

int openmp_threads();

// Whether kAuto may take unbound OpenMP threads for this thread's loops while they spin: not
// inside the application's parallel region (its team is busy with it, and a nested one would
// be this thread alone), nor where the team is smaller than attune's pool (of `pool_size`).
bool may_borrow_openmp(int pool_size) {
  return gomp_parallel && task_depth == 0 && chosen_pool.load(std::memory_order_relaxed) == ThreadPool::kAuto &&
         !on_openmp() && !omp_in_parallel() && openmp_threads() >= pool_size;
}

// ---- unbound OpenMP threads that spin --------------------------------------------------------

// After each of an application's parallel loops, libgomp's threads spin-wait a few ms
// (GOMP_SPINCOUNT) before they sleep. A call made then on attune's pool ran at 0.3-0.9 speed
// (S=512-2048): its worker shared a CPU with a spinning thread and waited a scheduler slice (~3
// ms) to run, mid-task, while the caller idled. Those threads are running on their own CPUs,
// so a loop posted to them starts at once: while one spins, kAuto runs the loops on OpenMP.
//
// Which threads to watch: this thread's team, once a loop ran on it (each team thread notes its
// id). Before that, from the main thread (the master of an application's OpenMP loops), the
// process's other threads (threads_after_own, else other_threads): a busy thread other than the
// team's costs one loop on the team, which names the team for every later check.
struct TeamWatch {
  std::vector<pid_t> tids;
  std::vector<std::int64_t> cpu;  // each one's CPU time at the last check (-1: gone)
  std::int64_t checked_at = 0;    // now_ns() of the last check
  bool known = false;             // tids is this thread's OpenMP team
  std::int64_t listed_at = 0;    // foreign_cpu_ns() when tids was read from /proc (!known)
  std::int64_t gated_at = -1000000000;  // now_ns() when foreign_cpu_ns() was last read
  std::int64_t reuse_until = 0;   // now_ns() until which a loop's choice holds (the call's next loops)
  bool borrowing = false;
  // How long this thread's recent loops took, by kernel stage and extent (long_loop).
  struct LoopTime {
    HalideTask task = nullptr;
    int extent = 0;
    std::int64_t ns = 0;
  } loops[8];
  int next_loop = 0;
};
thread_local TeamWatch team_watch;

// Unbound OpenMP threads are not taken for a loop that took over 30 ms last time: a spinning
// thread competes with attune's workers for its few ms of spinning only, while an unbound
// team ran long loops ~9% slower than attune's pool here (S=4096: 324 against 358 GFLOP/s,
// bound 361): the scheduler put its threads on one CPU at times, which attune's workers avoid.
constexpr std::int64_t kLongLoopNs = 30000000;
// This thread's last time of the loop of `task` over `extent` indices, or null.
TeamWatch::LoopTime* loop_time(HalideTask task, int extent) {
  for (auto& l : team_watch.loops)
    if (l.task == task && l.extent == extent) return &l;
  return nullptr;
}
bool long_loop(HalideTask task, int extent) {
  const TeamWatch::LoopTime* l = loop_time(task, extent);
  return l && l->ns > kLongLoopNs;
}

// A thread's CPU time (ns), or -1 once it has exited: its CPU clock is exact even while it runs
// on another CPU (the kernel adds the running slice), ~1.6 us a read in VMs.
std::int64_t thread_cpu_ns(pid_t tid) {
  return cpu_clock_ns(clockid_t((~unsigned(tid) << 3) | 6));  // CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED
}

// The CPU time of the process's threads other than this one and attune's: it grows when an
// OpenMP team starts and runs (exact for threads that ended or wait, a tick behind for running
// ones; the check, not this, says whether one runs now).
std::int64_t foreign_cpu_ns() {
  std::int64_t own = own_cpu_ns.load(std::memory_order_relaxed);
  if (const pid_t warmup = warmup_tid.load(std::memory_order_relaxed)) own += std::max<std::int64_t>(0, thread_cpu_ns(warmup));
  return cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID) - own;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The process's threads other than this one and attune's own (/proc/self/task).
std::vector<pid_t> other_threads() {
  std::vector<pid_t> own;
  {
    std::lock_guard<std::mutex> lock(own_tids_mutex);
    own = own_tids();
  }
  own.push_back(this_tid());
  std::vector<pid_t> tids;
  const int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return tids;
  alignas(8) char buf[4096];  // getdents64 directly: opendir's 32 KiB buffer cost more than the read
  for (long got; (got = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0;)
    for (long at = 0; at < got;) {
      const auto* e = reinterpret_cast<const dirent64*>(buf + at);
      const pid_t tid = pid_t(std::atoi(e->d_name));
      if (tid > 0 && std::find(own.begin(), own.end(), tid) == own.end()) tids.push_back(tid);
      at += e->d_reclen;
    }
  close(dir);
  return tids;
}

constexpr size_t kMaxWatched = 4;  // a team spins together: its first threads say enough

// The first threads created after attune's own, found by trying the ids that follow theirs (a
// thread's CPU clock can be read only in its own process): where the application starts its
// OpenMP team after loading attune, its team, found in a few us where listing /proc/self/task
// costs 60-150 us after idle. Empty where ids were taken by other processes meanwhile.
std::vector<pid_t> threads_after_own() {
  pid_t last = main_tid;
  {
    std::lock_guard<std::mutex> lock(own_tids_mutex);
    for (pid_t tid : own_tids()) last = std::max(last, tid);
  }
  std::vector<pid_t> found;
  for (pid_t tid = last + 1; tid <= last + 8 && found.size() < kMaxWatched; ++tid)
    if (thread_cpu_ns(tid) >= 0) found.push_back(tid);
  return found;
}

// Whether a watched thread is running now: its CPU time grows with the clock over a few us.
bool openmp_team_running() {
  TeamWatch& w = team_watch;
  if (!w.known && now_ns() - w.gated_at > 1000000) {  // at most once a ms: 2 clock reads, ~3 us
    if (this_tid() != main_tid) return false;
    // Listing /proc/self/task costs 60-130 us after idle: only once other threads have run
    // 1 ms since the last listing (never, in a process whose OpenMP team has not started; the
    // warm-up's thread exit alone was ~0.5 ms), plus what attune's spinning workers have not
    // reported yet (up to ~50 us each).
    const std::int64_t foreign = foreign_cpu_ns();
    w.gated_at = now_ns();
    if (foreign - w.listed_at >= 1000000 + 60000 * std::int64_t(pool_threads())) {
      w.tids = threads_after_own();
      if (w.tids.empty()) w.tids = other_threads();
      w.cpu.clear();
      w.listed_at = foreign;
    }
  }
  const size_t n = std::min(w.tids.size(), kMaxWatched);
  if (n == 0) return false;
  // Running: CPU time growing at half the clock's rate or more, since the last check where that
  // was under 1 ms ago (back-to-back calls: one read a thread), else over a fresh 2 us.
  if (w.cpu.size() != n || now_ns() - w.checked_at > 1000000) {
    w.cpu.resize(n);
    for (size_t i = 0; i < n; ++i) w.cpu[i] = thread_cpu_ns(w.tids[i]);
    w.checked_at = now_ns();
    while (now_ns() < w.checked_at + 2000) cpu_relax();
  }
  bool running = false;
  for (size_t i = 0; i < n; ++i) {
    const std::int64_t cpu = thread_cpu_ns(w.tids[i]);
    running |= w.cpu[i] >= 0 && cpu >= 0 && 2 * (cpu - w.cpu[i]) > now_ns() - w.checked_at;
    w.cpu[i] = cpu;
  }
  w.checked_at = now_ns();
  return running;
}

// The pool for this thread's next top-level loop under kAuto with unbound OpenMP threads: the
// check's answer holds for the loops that follow within 50 us (one call's loops).
bool borrow_openmp_now(HalideTask task, int extent) {
  if (long_loop(task, extent)) return false;
  TeamWatch& w = team_watch;
  if (now_ns() >= w.reuse_until) w.borrowing = openmp_team_running();
  return w.borrowing;
}
// Whether a call made now from this thread would run on OpenMP's threads.
bool openmp_now() { return on_openmp() || (may_borrow_openmp(pool_threads()) && openmp_team_running()); }
void loop_ended(HalideTask task, int extent, std::int64_t ns, bool borrowed) {
  TeamWatch& w = team_watch;
  w.reuse_until = now_ns() + 50000;
  w.borrowing = borrowed;
  TeamWatch::LoopTime* slot = loop_time(task, extent);
  if (!slot) slot = &w.loops[w.next_loop++ % std::size(w.loops)];
  *slot = {task, extent, ns};
}

// num_threads() on OpenMP's threads.
int openmp_threads() {
  const int n = requested_threads;
  return n > 0 ? n : std::max(1, omp_max_threads());
}

// One OpenMP parallel region per loop, of `team` threads: they claim indices as attune's
// workers do (the tasks differ in cost: causal tiles). Loops inside a task run on its thread.
int run_on_openmp(Job& job, int team) {
  std::vector<pid_t> tids(size_t(team), 0);
  job.team_tids = tids.data();
  gomp_parallel([](void* loop) {
        ++task_depth;
        Job& job = *static_cast<Job*>(loop);
        const int t = omp_thread_num();
        if (t >= 0 && t < job.max_helpers + 1) job.team_tids[t] = this_tid();
        job.work();
        --task_depth;
      }, &job, unsigned(team), 0);
  // The team (less this thread, its master) is what openmp_team_running watches from now on.
  TeamWatch& w = team_watch;
  tids.erase(std::remove_if(tids.begin(), tids.end(), [](pid_t tid) { return tid == 0 || tid == this_tid(); }),
             tids.end());
  if (!w.known || tids != w.tids) w.tids = std::move(tids), w.cpu.clear();  // another team: a fresh window
  w.known = true;
  return job.error.load();
}

ThreadPool pool_named(const char* name) {
  const std::string n = name;
  if (n == "auto" || n.empty()) return ThreadPool::kAuto;
  if (n == "attune") return ThreadPool::kAttune;
  if (n == "openmp" && gomp_parallel) return ThreadPool::kOpenMP;
  std::fprintf(stderr, "attune: ATTUNE_THREAD_POOL='%s' is not %s; using auto\n", name,
               n == "openmp" ? "usable: no OpenMP runtime is loaded in this process" : "auto, attune or openmp");
  return ThreadPool::kAuto;
}

// ---- warm-up as the library loads ---------------------------------------------------------

// A fresh process's first call paid for starting the workers and for the first touch of its
// scratch pages: ~11 us a page in VMs, ~3 ms of a 2.2 ms call at S=512. Both are done here, on
// a thread of their own, while the application starts up (reads its model, fills its tensors),
// after one small call (warm_call): the first run of dispatch, the Halide runtime, the pool and
// the allocator (lazy symbol binding, page faults) cost a first call at S=512 another ~0.1 ms.
// ATTUNE_WARMUP_MB sets the scratch prefaulted (default 16 MiB: a first call at S=4096, B=1,
// H=8, D=64 fits); 0 turns the warm-up off, and workers then start with the first call.
constexpr std::size_t kDefaultWarmupMiB = 16;

std::size_t warmup_bytes() {
  const char* env = std::getenv("ATTUNE_WARMUP_MB");
  if (!env || !*env) return kDefaultWarmupMiB << 20;
  char* end = nullptr;
  const unsigned long long mib = std::strtoull(env, &end, 10);
  if (*end || *env == '-' || mib > (1ull << 20)) {  // no exception can reach anyone at load time
    std::fprintf(stderr, "attune: ATTUNE_WARMUP_MB='%s' is not a number of MiB (0..1048576); using %zu\n", env,
                 kDefaultWarmupMiB);
    return kDefaultWarmupMiB << 20;
  }
  return std::size_t(mib) << 20;
}

__attribute__((constructor)) void on_load() {
  startup_known = sched_getaffinity(0, sizeof(startup_cpus), &startup_cpus) == 0;
  main_tid = getpid();
  pthread_atfork(nullptr, nullptr, [] {  // the child's one thread is its main thread
    fork_generation.fetch_add(1, std::memory_order_relaxed);
    main_tid = getpid();
  });
  omp_max_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  omp_proc_bind = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_proc_bind"));
  omp_thread_num = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
  omp_in_parallel = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_in_parallel"));
  if (omp_max_threads && omp_proc_bind && omp_thread_num && omp_in_parallel)
    gomp_parallel = reinterpret_cast<GompParallel>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  if (const char* env = std::getenv("ATTUNE_THREAD_POOL")) chosen_pool = pool_named(env);
  const std::size_t bytes = warmup_bytes();
  if (bytes == 0) return;
  // The CPUs are settled here, on the loading thread (an OpenMP runtime is loaded and has
  // pinned it by now), and the warm-up runs on all of them, not only on a pinned loader's CPU.
  const cpu_set_t cpus = cpu_set_of(current_cpus());
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
  pthread_t t;
  if (pthread_create(&t, &attr, [](void* arg) -> void* {
        // Nothing here calls the OpenMP runtime: it may not be initialised yet. Where there is
        // one, the warm call runs serially, and attune's pool starts unless kOpenMP was chosen.
        register_own_thread();
        warmup_tid = this_tid();
        const bool openmp = gomp_parallel != nullptr;
        if (chosen_pool.load() != ThreadPool::kOpenMP) pool().start(pool_threads());
        if (warm_call) {
          task_depth += openmp;
          warm_call();  // before the reserve exists: its blocks are not cut from it
          task_depth -= openmp;
          if (!openmp) pool().repin();  // the workers avoided this thread's CPU; the app's may be it
        }
        prefault_reserve(reinterpret_cast<std::size_t>(arg));
        report_own_cpu();
        warmup_tid = 0;
        return nullptr;
      }, reinterpret_cast<void*>(bytes)) == 0) {
    pthread_setname_np(t, "attune-warmup");  // by the loader: named before main() starts
    pthread_detach(t);
  }
  pthread_attr_destroy(&attr);
}

int run_serially(void* uc, HalideTask task, int min, int extent, std::uint8_t* closure) {
  for (int i = min; i < min + extent; ++i)
    if (const int rc = task(uc, i, closure)) return rc;
  return 0;
}

// The application's parallel_for: every index must run once; a throw or a missed index is an
// error (Halide's generic error code), never a silently incomplete result.
int run_on_app_pool(const ParallelFor& parallel_for, void* uc, HalideTask task, int min, int extent,
                    std::uint8_t* closure) {
  std::atomic<int> error{0}, ran{0};
  const std::function<void(int)> body = [&](int i) {
    ++ran;
    if (i < 0 || i >= extent || error.load(std::memory_order_relaxed)) return;
    ++task_depth;
    const int rc = task(uc, min + i, closure);
    --task_depth;
    int none = 0;
    if (rc) error.compare_exchange_strong(none, rc);
  };
  std::string failure;
  try {
    parallel_for(extent, body);
  } catch (const std::exception& e) {
    failure = std::string("threw: ") + e.what();
  } catch (...) {
    failure = "threw a non-std exception";
  }
  if (failure.empty() && !error && ran.load() != extent)
    failure = "ran " + std::to_string(ran.load()) + " tasks of " + std::to_string(extent) +
              " (it must call task(i) once for every i in [0, n) before returning)";
  if (failure.empty()) return error;
  capture_halide_error(uc, ("the parallel_for given to attune::set_parallel_for " + failure).c_str());
  return -1;
}

}  // namespace

int do_par_for(void* uc, HalideTask task, int min, int extent, std::uint8_t* closure) {
  if (extent <= 0) return 0;
  if (task_depth > 0) return run_serially(uc, task, min, extent, closure);  // nested in an app task
  if (auto app = std::atomic_load(&app_parallel_for())) return run_on_app_pool(*app, uc, task, min, extent, closure);
  const int pool_size = pool_threads();
  const bool borrowable = may_borrow_openmp(pool_size);
  const std::int64_t start = borrowable ? now_ns() : 0;
  const bool openmp = on_openmp() || (borrowable && borrow_openmp_now(task, extent));
  // OpenMP gets its whole team even for fewer indices: libgomp ends the threads a smaller team
  // leaves out, and starts them again for the application's next loop.
  const int threads = openmp ? openmp_threads() : std::min(pool_size, extent);
  if (threads <= 1 || extent == 1) return run_serially(uc, task, min, extent, closure);
  Job job{task, uc, closure, min, extent, threads - 1};
  const int rc = openmp ? run_on_openmp(job, threads) : pool().run(job);
  if (borrowable) loop_ended(task, extent, now_ns() - start, openmp);
  return rc;
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 0) throw Error("attune::set_num_threads: n must be >= 0, got " + std::to_string(n));
  detail::requested_threads = n;
}

int num_threads() { return detail::openmp_now() ? detail::openmp_threads() : detail::pool_threads(); }

void set_thread_pool(ThreadPool pool) {
  if (pool != ThreadPool::kAuto && pool != ThreadPool::kAttune && pool != ThreadPool::kOpenMP)
    throw Error("attune::set_thread_pool: pool must be ThreadPool::kAuto, kAttune or kOpenMP, got " +
                std::to_string(int(pool)));
  if (pool == ThreadPool::kOpenMP && !detail::gomp_parallel)
    throw Error("attune::set_thread_pool: pool is ThreadPool::kOpenMP, but no OpenMP runtime is loaded in this "
                "process (link the application with OpenMP: -fopenmp, or OpenMP::OpenMP_CXX in CMake)");
  detail::chosen_pool = pool;
  if (!detail::on_openmp()) detail::pool().start(detail::pool_threads());  // now, not in a call
}

ThreadPool thread_pool() { return detail::openmp_now() ? ThreadPool::kOpenMP : ThreadPool::kAttune; }

void set_worker_cpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t n = 0; n < cpus.size(); ++n) {
    if (cpus[n] < 0 || cpus[n] >= CPU_SETSIZE)
      throw Error("attune::set_worker_cpus: cpus[" + std::to_string(n) + "] = " + std::to_string(cpus[n]) +
                  " is not a CPU number (0.." + std::to_string(CPU_SETSIZE - 1) + ")");
    CPU_SET(cpus[n], &set);
  }
  if (!cpus.empty() && !detail::can_run_on(set))
    throw Error("attune::set_worker_cpus: cpus names no CPU this process may run on (online and in its cpuset)");
  std::vector<int> sorted = detail::cpus_of(set);
  {
    std::lock_guard<std::mutex> lock(detail::settings_mutex);
    detail::chosen_cpus() = sorted;  // empty: current_cpus() computes the default again
    detail::cpu_count.store(int(sorted.size()), std::memory_order_relaxed);
  }
  detail::pool().repin();
}

std::vector<int> worker_cpus() { return detail::current_cpus(); }

void set_parallel_for(ParallelFor parallel_for) {
  std::shared_ptr<const ParallelFor> p;
  if (parallel_for) p = std::make_shared<const ParallelFor>(std::move(parallel_for));
  std::atomic_store(&detail::app_parallel_for(), std::move(p));
}

}  // namespace attune
