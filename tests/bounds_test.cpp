// Kernels never touch memory outside the tensors they are given: every tensor (q, k, v, mask,
// out/probs) is placed flush against an inaccessible guard page — at its end in one run, at
// its start in the other — so a vector load or store one element past either edge faults.
// Also checks that inputs are left unchanged and the results are still correct, at every
// compiled ISA level (vector widths 16, 8 and 4 overrun differently).
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "test_util.h"

namespace attune::testing {
namespace {

// `count` elements of T with a PROT_NONE page right before and right after the mapping's
// data pages; the elements sit flush against the trailing (or the leading) guard page.
template <typename T>
class Guarded {
 public:
  Guarded(size_t count, bool flush_end) : count_(count) {
    page_ = size_t(sysconf(_SC_PAGESIZE));
    const size_t bytes = count * sizeof(T);
    data_pages_ = (bytes + page_ - 1) / page_ * page_;
    total_ = data_pages_ + 2 * page_;
    void* base = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(base);
    if (mprotect(base_, page_, PROT_NONE) != 0 || mprotect(base_ + page_ + data_pages_, page_, PROT_NONE) != 0)
      throw std::runtime_error("mprotect failed");
    data_ = reinterpret_cast<T*>(base_ + page_ + (flush_end ? data_pages_ - bytes : 0));
  }
  ~Guarded() { munmap(base_, total_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;

  T* data() { return data_; }
  void assign(const std::vector<T>& values) { std::memcpy(data_, values.data(), count_ * sizeof(T)); }
  std::vector<T> values() const { return std::vector<T>(data_, data_ + count_); }

 private:
  size_t count_, page_, data_pages_, total_;
  char* base_;
  T* data_;
};

struct Param {
  Case c;
  bool flush_end;
  std::string isa;  // the ISA level the dispatch is capped at (every compiled level is checked)
  std::string name() const { return c.name() + (flush_end ? "_end_" : "_start_") + isa; }
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.name(); }

class BoundsTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (!host_supports(GetParam().isa)) GTEST_SKIP() << "this CPU supports up to " << max_isa();
    set_max_isa(GetParam().isa);
    ASSERT_EQ(max_isa(), GetParam().isa);
  }
  void TearDown() override { set_max_isa(""); }
};

TEST_P(BoundsTest, SdpaStaysInsideItsTensors) {
  const Case c = GetParam().c;
  const bool flush_end = GetParam().flush_end;
  const Tensors t = make_tensors(c);
  Guarded<float> q(t.q.size(), flush_end), k(t.k.size(), flush_end), v(t.v.size(), flush_end),
      out(t.q.size(), flush_end);
  Guarded<std::uint8_t> mask(c.mask ? t.mask.size() : 1, flush_end);
  q.assign(t.q);
  k.assign(t.k);
  v.assign(t.v);
  if (c.mask) mask.assign(t.mask);
  out.assign(std::vector<float>(t.q.size(), -3.0f));
  SdpaOptions o = options_for(c, t);
  if (c.mask) o.key_padding_mask = mask.data();
  sdpa(q.data(), k.data(), v.data(), out.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim, o);

  EXPECT_EQ(q.values(), t.q) << "q modified";
  EXPECT_EQ(k.values(), t.k) << "k modified";
  EXPECT_EQ(v.values(), t.v) << "v modified";
  if (c.mask) EXPECT_EQ(mask.values(), t.mask) << "mask modified";
  std::vector<double> expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), expected);
  EXPECT_LE(reference::relative_max_error(out.data(), expected), kTolerance);
}

TEST_P(BoundsTest, ProbsStayInsideTheirTensors) {
  const Case c = GetParam().c;
  const bool flush_end = GetParam().flush_end;
  const Tensors t = make_tensors(c);
  const size_t n_probs = size_t(c.batch) * c.heads * c.seq_q * c.seq_kv;
  Guarded<float> q(t.q.size(), flush_end), k(t.k.size(), flush_end), probs(n_probs, flush_end);
  Guarded<std::uint8_t> mask(c.mask ? t.mask.size() : 1, flush_end);
  q.assign(t.q);
  k.assign(t.k);
  if (c.mask) mask.assign(t.mask);
  SdpaOptions o = options_for(c, t);
  if (c.mask) o.key_padding_mask = mask.data();
  attention_probs(q.data(), k.data(), probs.data(), c.batch, c.heads, c.seq_q, c.seq_kv, c.head_dim, o);

  EXPECT_EQ(q.values(), t.q) << "q modified";
  EXPECT_EQ(k.values(), t.k) << "k modified";
  std::vector<double> out, expected;
  reference::sdpa(problem_for(c, t), t.q.data(), t.k.data(), t.v.data(), out, &expected);
  EXPECT_LE(reference::relative_max_error(probs.data(), expected), kTolerance);
}

Case make(int b, int h, int kvh, int sq, int skv, int d, bool causal = false, bool mask = false) {
  Case c;
  c.batch = b; c.heads = h; c.kv_heads = kvh; c.seq_q = sq; c.seq_kv = skv; c.head_dim = d;
  c.causal = causal; c.mask = mask;
  c.seed = unsigned(1000 + b * 7 + h * 13 + sq * 31 + skv * 17 + d);
  return c;
}

// Odd sizes everywhere: partial tiles in every dimension, decode (seq_q <= 16) and prefill
// kernels, head_dim-specialised and generic kernels, causal, masked, GQA.
const Case kCases[] = {
    make(1, 1, 0, 1, 1, 64),          make(1, 1, 0, 1, 1, 1),
    make(2, 3, 0, 17, 33, 64),        make(1, 2, 0, 65, 19, 128),
    make(2, 4, 2, 7, 131, 64),        make(1, 2, 1, 3, 45, 128, true, true),
    make(1, 2, 0, 129, 129, 64, true), make(1, 2, 0, 30, 70, 80, true),
    make(2, 2, 0, 41, 23, 96, false, true), make(1, 1, 0, 20, 37, 256),
    make(2, 2, 0, 33, 21, 17),        make(1, 3, 0, 70, 50, 32, true, true),
};

std::vector<Param> params() {
  std::vector<Param> p;
  for (const char* isa : {"avx512", "avx2", "sse41"})
    for (const Case& c : kCases)
      for (bool flush_end : {true, false}) p.push_back({c, flush_end, isa});
  return p;
}

INSTANTIATE_TEST_SUITE_P(GuardPages, BoundsTest, ::testing::ValuesIn(params()),
                         [](const auto& info) { return info.param.name(); });

}  // namespace
}  // namespace attune::testing
