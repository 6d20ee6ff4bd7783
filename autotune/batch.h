// The files of an offline batch (prepare_batch and import_batch in tuner.h, attune-runner
// --batch): DIR/batch.jsonl, one built candidate per line (its line number is its id), and
// DIR/results.jsonl, one run of a candidate per line. No Halide here: the runner reads them.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attune::autotune {

inline std::string batch_file(const std::string& dir) { return dir + "/batch.jsonl"; }
inline std::string results_file(const std::string& dir) { return dir + "/results.jsonl"; }

// The non-empty lines of a JSONL file, parsed; a line that does not parse (the torn last line
// of a killed writer) stays in place as a discarded value, so line numbers stay ids. A missing
// file reads as empty.
inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return lines;
}

}  // namespace attune::autotune
