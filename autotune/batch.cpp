// Importing an offline batch's results (see prepare_batch in tuner.h): each candidate's
// rounds become one record, its times those of all rounds (they were interleaved, so drift
// hit every candidate alike), its status the first failure if any round failed.
#include <map>

#include "attune/attention.h"
#include "autotune/batch.h"
#include "autotune/tuner.h"

namespace attune::autotune {

ImportSummary import_batch(const std::string& dir, Database& db) {
  if (!std::ifstream(batch_file(dir))) throw Error("attune import: no batch.jsonl in '" + dir + "'");
  const std::vector<nlohmann::json> entries = read_jsonl(batch_file(dir));

  struct Outcome {
    std::string status = "ok", error, machine;
    std::vector<double> times;
    bool ran = false;
  };
  std::map<size_t, Outcome> outcomes;
  for (const nlohmann::json& r : read_jsonl(results_file(dir))) {
    if (r.is_discarded() || !r.contains("line")) continue;  // a torn last line (killed run)
    Outcome& o = outcomes[r["line"].get<size_t>()];
    o.ran = true;
    o.machine = r.value("machine", "");
    const std::string status = r.value("status", "crash");
    if (status != "ok" && o.status == "ok") o.status = status, o.error = r.value("error", "");
    if (r.contains("times_ms"))
      for (double t : r["times_ms"]) o.times.push_back(t);
  }

  ImportSummary s;
  for (size_t n = 0; n < entries.size(); ++n) {
    const nlohmann::json& e = entries[n];
    if (e.is_discarded()) throw Error("attune import: " + batch_file(dir) + ": line " + std::to_string(n + 1) + " is not JSON");
    const auto it = outcomes.find(n);
    if (it == outcomes.end()) {
      ++s.not_run;
      continue;
    }
    const Workload w = Workload::from_json(e["workload"].dump());
    const schedules::Config c = schedules::Config::from_json(e["config"].dump());
    const std::string target = e["target"];
    const Outcome& o = it->second;
    const std::string machine = o.machine.empty() ? "unknown" : o.machine;
    if (db.measured(w.key(), target, c.hash_hex(), machine)) {
      ++s.already;
      continue;
    }
    const bool ok = o.status == "ok";
    Record r = make_record(w, target, machine, c, e.value("strategy", "batch"), o.status, o.error,
                           ok ? o.times : std::vector<double>{});
    r.trial = int(n);
    db.append(r);
    ++(ok ? s.imported : s.failed);
  }
  return s;
}

}  // namespace attune::autotune
