#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>

namespace attune::autotune {

namespace {
std::atomic<bool> stop_flag{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
void on_stop_signal(int) { request_stop(); }
}  // namespace

void request_stop() { stop_flag.store(true); }
bool stop_requested() { return stop_flag.load(); }

void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;  // the second signal takes the default action: terminate
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string ProcessResult::describe() const {
  if (interrupted) return "interrupted (stop requested)";
  if (timed_out) return "timed out after " + std::to_string(int(seconds)) + " s";
  if (signal) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  if (exit_code != 0) return "exit code " + std::to_string(exit_code);
  return "ok";
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessLimits& limits) {
  ProcessResult r;
  if (stop_requested()) {
    r.interrupted = true;
    return r;
  }
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    r.err = "pipe failed";
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // own process group: a time-out kills grandchildren too
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]); close(err_pipe[0]); close(out_pipe[1]); close(err_pipe[1]);
    if (limits.memory_bytes > 0) {
      rlimit rl{rlim_t(limits.memory_bytes), rlim_t(limits.memory_bytes)};
      setrlimit(RLIMIT_AS, &rl);
    }
    rlimit core{0, 0};
    setrlimit(RLIMIT_CORE, &core);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.timed_out = elapsed > limits.timeout_s;
    r.interrupted = !r.timed_out && stop_requested();
    if (r.timed_out || r.interrupted) {
      kill(-pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, 100) <= 0) continue;
    for (int n = 0; n < 2; ++n) {
      if (fds[n].fd < 0 || !(fds[n].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t got = read(fds[n].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[n].fd);
        fds[n].fd = -1;
        --open_fds;
      } else {
        (n == 0 ? r.out : r.err).append(buf, size_t(got));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.timed_out && !r.interrupted) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  }
  if (r.err.size() > 4000) r.err = r.err.substr(r.err.size() - 4000);
  return r;
}

}  // namespace attune::autotune
