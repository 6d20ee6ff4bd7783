// Child processes with a wall-clock time-out and a memory cap: how the tuner isolates
// candidate builds and runs (a crash, hang or runaway allocation stays in the child).
#pragma once

#include <string>
#include <vector>

namespace attune::autotune {

struct ProcessResult {
  int exit_code = -1;       // valid when exited
  int signal = 0;           // non-zero when killed by a signal
  bool timed_out = false;
  bool interrupted = false;  // killed because a stop was requested (request_stop)
  std::string out, err;     // captured stdout / stderr (err truncated to its tail)
  double seconds = 0;

  bool ok() const { return !timed_out && !interrupted && signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit 1", "killed by SIGSEGV", "timed out after 10 s", ...
};

struct ProcessLimits {
  double timeout_s = 60;
  long long memory_bytes = 0;  // RLIMIT_AS; 0 = unlimited
};

// Runs argv in its own process group (a time-out or a stop kills its grandchildren too).
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessLimits& limits);

// A stop (Ctrl-C): once requested, running children are killed within 0.1 s, new ones are
// not started, and callers stop instead of recording what was cut short. request_stop() is
// async-signal-safe; stop_on_signals() makes the first SIGINT or SIGTERM request a stop (a
// second one then terminates at once).
void request_stop();
bool stop_requested();
void stop_on_signals();

}  // namespace attune::autotune
