#include "workload.h"

#include <nlohmann/json.hpp>

#include "attune/attention.h"
#include "reference/reference.h"

namespace attune::autotune {

Workload Workload::attention(int batch, int num_heads, int num_kv_heads, int seq_q, int seq_kv, int head_dim,
                             bool causal, bool mask) {
  Workload w;
  w.kernel = "sdpa";
  w.batch = batch;
  w.num_heads = num_heads;
  w.num_kv_heads = num_kv_heads;
  w.seq_q = seq_q;
  w.seq_kv = seq_kv;
  w.head_dim = head_dim;
  w.causal = causal;
  w.mask = mask;
  return w;
}

std::string Workload::key() const {
  return kernel + ":b" + std::to_string(batch) + ":h" + std::to_string(num_heads) + ":kv" +
         std::to_string(kv_heads()) + ":q" + std::to_string(seq_q) + ":k" + std::to_string(seq_kv) +
         ":d" + std::to_string(head_dim) + ":causal" + std::to_string(int(causal)) + ":mask" +
         std::to_string(int(mask));
}

std::string Workload::to_json() const {
  nlohmann::json j = {{"kernel", kernel}, {"batch", batch},   {"num_heads", num_heads},
                      {"num_kv_heads", kv_heads()}, {"seq_q", seq_q}, {"seq_kv", seq_kv},
                      {"head_dim", head_dim}, {"causal", causal}, {"mask", mask}};
  return j.dump();
}

Workload Workload::from_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    Workload w;
    w.kernel = j.value("kernel", w.kernel);
    w.batch = j.value("batch", w.batch);
    w.num_heads = j.value("num_heads", w.num_heads);
    w.num_kv_heads = j.value("num_kv_heads", 0);
    w.seq_q = j.value("seq_q", w.seq_q);
    w.seq_kv = j.value("seq_kv", w.seq_kv);
    w.head_dim = j.value("head_dim", w.head_dim);
    w.causal = j.value("causal", false);
    w.mask = j.value("mask", false);
    return w;
  } catch (const std::exception& e) {
    throw Error(std::string("workload: invalid JSON: ") + e.what());
  }
}

double Workload::flops() const {
  if (kernel == "linear") return 2.0 * batch * seq_q * double(num_heads * head_dim) * (num_heads * head_dim);
  return 4.0 * batch * num_heads * reference::visible_pairs(seq_q, seq_kv, causal) * head_dim;
}

}  // namespace attune::autotune
