// softmax_test.cc — checks softmax_rows (elementwise.cc) with its vectorised
// exponential (softmax_exp.cc) on every instruction-set variant this CPU
// runs: against a double-precision reference over row widths that cross the
// exponential's vector and block edges (1 … 4097 columns, up to 3 blocks of
// rows), logits from −100 to 100 and beside ±1e30; rows sum to 1; in place
// equals out of place; a NaN anywhere makes its row (and only its row) NaN;
// −∞ beside finite logits gives 0 to the last place that matters (≤ 1.3e-38);
// the exponential pass alone against std::exp over [−87, 0]. Exits non-zero
// on failure.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu.h"
#include "elementwise.h"
#include "expect.h"
#include "softmax_exp.h"

namespace {

const char* isa_label(lw::Isa isa) { return lw::isa_name(isa); }

void reference(const std::vector<float>& x, std::vector<double>& y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    double max = x[r * cols];
    for (int64_t c = 1; c < cols; ++c) max = std::max(max, double(x[r * cols + c]));
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(double(x[r * cols + c]) - max);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = std::exp(double(x[r * cols + c]) - max) / sum;
  }
}

void against_reference(lw::Isa isa) {
  std::mt19937 rng(11);
  for (int64_t cols : {1, 2, 7, 10, 15, 16, 17, 33, 100, 4095, 4096, 4097}) {
    for (int64_t rows : {1, 3, 409, 1000}) {
      if (rows * cols > 2000000) continue;
      std::uniform_real_distribution<float> d(cols % 2 ? -100.0f : -20.0f, cols % 2 ? 100.0f : 20.0f);
      std::vector<float> x(size_t(rows * cols)), y(x.size()), inplace;
      for (float& v : x) v = d(rng);
      if (rows > 2) x[size_t(cols)] = 1e30f, x[size_t(2 * cols)] = -1e30f;  // rows 1 and 2: one huge and one hugely negative logit
      std::vector<double> want(x.size());
      reference(x, want, rows, cols);
      lw::softmax_rows(x.data(), y.data(), rows, cols);
      inplace = x;
      lw::softmax_rows(inplace.data(), inplace.data(), rows, cols);
      double worst = 0;
      for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - want[i]) / (want[i] + 1e-30));
      EXPECT(worst <= 4e-6 || [&] {  // relative error where the value is not tiny
               for (size_t i = 0; i < y.size(); ++i)
                 if (want[i] > 1e-30 && std::fabs(y[i] - want[i]) > 4e-6 * want[i]) return false;
               return true;
             }(),
             "%s %lldx%lld: relative error %g", isa_label(isa), (long long)rows, (long long)cols, worst);
      EXPECT(std::memcmp(y.data(), inplace.data(), y.size() * sizeof(float)) == 0, "%s %lldx%lld: in place differs",
             isa_label(isa), (long long)rows, (long long)cols);
      for (int64_t r = 0; r < rows; ++r) {
        double sum = 0;
        for (int64_t c = 0; c < cols; ++c) sum += y[r * cols + c];
        EXPECT(std::fabs(sum - 1) < 1e-5, "%s %lldx%lld: row %lld sums to %.9g", isa_label(isa), (long long)rows,
               (long long)cols, (long long)r, sum);
      }
    }
  }
}

void special_values(lw::Isa isa) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const int64_t rows = 5, cols = 10;
  std::vector<float> x(rows * cols), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3;
  x[0 * cols + 0] = nan;      // row 0: NaN first (it is the running maximum)
  x[1 * cols + 6] = nan;      // row 1: NaN later
  x[3 * cols + 4] = -inf;     // row 3: −∞ beside finite logits
  x[4 * cols + 9] = inf;      // row 4: +∞: ∞ − ∞ is NaN, as std::exp gives
  lw::softmax_rows(x.data(), y.data(), rows, cols);
  for (int64_t c = 0; c < cols; ++c) {
    EXPECT(std::isnan(y[0 * cols + c]), "%s NaN first: column %lld is %g", isa_label(isa), (long long)c, y[c]);
    EXPECT(std::isnan(y[1 * cols + c]), "%s NaN later: column %lld is %g", isa_label(isa), (long long)c, y[cols + c]);
    EXPECT(std::isfinite(y[2 * cols + c]) && y[2 * cols + c] > 0, "%s clean row: column %lld is %g", isa_label(isa),
           (long long)c, y[2 * cols + c]);
    EXPECT(std::isnan(y[4 * cols + c]), "%s +inf row: column %lld is %g", isa_label(isa), (long long)c, y[4 * cols + c]);
  }
  EXPECT(y[3 * cols + 4] >= 0 && y[3 * cols + 4] <= 1.3e-38f, "%s -inf logit gives %g", isa_label(isa), y[3 * cols + 4]);
}

void exp_pass(lw::Isa isa) {
  const lw::ExpBlock exp_block = lw::exp_block_for_active_isa();
  std::vector<float> x;
  for (float v = -87.0f; v <= 0.0f; v += 0.0137f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(-0.0f);
  std::vector<float> y = x;
  exp_block(y.data(), int64_t(y.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(y[i] - std::exp(double(x[i]))) / std::exp(double(x[i])));
  EXPECT(worst < 3e-7, "%s exp over [-87, 0]: relative error %g", isa_label(isa), worst);
  EXPECT(y[y.size() - 1] == 1.0f && y[y.size() - 2] == 1.0f, "%s exp(±0) = %g, %g", isa_label(isa), y[y.size() - 2], y.back());
  float far[3] = {-200.0f, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  exp_block(far, 3);
  EXPECT(far[0] >= 0 && far[0] <= 1.3e-38f && far[1] >= 0 && far[1] <= 1.3e-38f, "%s exp(-200), exp(-inf) = %g, %g",
         isa_label(isa), far[0], far[1]);
  EXPECT(std::isnan(far[2]), "%s exp(NaN) = %g", isa_label(isa), far[2]);
}

}  // namespace

int main() {
  const lw::Isa initial = lw::active_isa();
  for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512}) {
    if (!lw::cpu_supports(isa)) {
      std::printf("skip %s (not supported by this CPU)\n", isa_label(isa));
      continue;
    }
    lw::set_isa(isa);
    against_reference(isa);
    special_values(isa);
    exp_pass(isa);
    std::printf("%s: softmax and its exponential checked\n", isa_label(isa));
  }
  lw::set_isa(initial);
  std::printf("softmax_test: %s\n", g_failures ? "FAILED" : "passed");
  return g_failures ? 1 : 0;
}
