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
  std::string out, err;     // captured stdout / stderr (err truncated to its tail)
  double seconds = 0;

  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit 1", "killed by SIGSEGV", "timed out after 10 s", ...
};

struct ProcessLimits {
  double timeout_s = 60;
  long long memory_bytes = 0;  // RLIMIT_AS; 0 = unlimited
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessLimits& limits);

}  // namespace attune::autotune
