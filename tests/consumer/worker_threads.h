// The CPU sets of attune's worker threads, read from /proc (Linux): tests check that a pinned
// caller does not confine them, and that they leave the caller's CPU to the caller. Shared by
// the in-tree tests and the outside consumer apps.
#pragma once

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// "0-2,5" -> {0, 1, 2, 5}
inline std::vector<int> parse_cpu_list(const std::string& list) {
  std::vector<int> cpus;
  std::stringstream ss(list);
  for (std::string range; std::getline(ss, range, ',');) {
    range.erase(0, range.find_first_not_of(" \t"));
    if (range.empty()) continue;
    const size_t dash = range.find('-');
    const int lo = std::stoi(range.substr(0, dash)), hi = dash == std::string::npos ? lo : std::stoi(range.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
  }
  return cpus;
}

// The /proc/self/task/<tid> directories of this process's threads named `name`
// (pthread_setname_np).
inline std::vector<std::string> threads_named(const std::string& name) {
  std::vector<std::string> tasks;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return tasks;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + e->d_name;
    std::string comm;
    std::getline(std::ifstream(task + "/comm"), comm);
    if (comm == name) tasks.push_back(task);
  }
  closedir(dir);
  return tasks;
}

// Cpus_allowed_list of every thread of this process named "attune-worker".
inline std::vector<std::vector<int>> attune_worker_cpu_sets() {
  std::vector<std::vector<int>> sets;
  for (const std::string& task : threads_named("attune-worker")) {
    std::ifstream status(task + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) sets.push_back(parse_cpu_list(line.substr(line.find(':') + 1)));
  }
  return sets;
}

// `cpus` less `cpu` (unless that would leave none): where attune's workers run while a thread on
// `cpu` posts its loops.
inline std::vector<int> cpus_without(std::vector<int> cpus, int cpu) {
  const auto it = std::find(cpus.begin(), cpus.end(), cpu);
  if (it != cpus.end() && cpus.size() > 1) cpus.erase(it);
  return cpus;
}
