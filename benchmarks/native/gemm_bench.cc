// gemm_bench.cc — GFLOP/s of lw::sgemm per instruction-set variant and
// thread count, for square products 64…2048 and the MLP training shapes
// (forward X·W, weight gradient Xᵀ·dY, input gradient dY·Wᵀ with their real
// transposes). Each number is the median of several timed samples; a sample
// repeats the product until it lasts ≥ 20 ms so small sizes are not timer
// noise. Usage: gemm_bench [max_square] (default 2048).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "threadpool.h"

namespace {

struct Case {
  std::string name;
  bool ta, tb;
  int64_t m, n, k;
};

double gflops(const Case& c) {
  const int64_t a_size = c.m * c.k, b_size = c.k * c.n;
  std::vector<float> a(static_cast<size_t>(a_size)), b(static_cast<size_t>(b_size)),
      out(static_cast<size_t>(c.m * c.n));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& x : a) x = d(rng);
  for (float& x : b) x = d(rng);
  const int64_t lda = c.ta ? c.m : c.k, ldb = c.tb ? c.k : c.n;
  auto once = [&] {
    lw::sgemm(c.ta, c.tb, c.m, c.n, c.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, out.data(), c.n);
  };
  using clock = std::chrono::steady_clock;
  once();  // warm-up: pack buffers, pool threads, caches
  int reps = 1;
  for (;;) {
    const auto t0 = clock::now();
    for (int r = 0; r < reps; ++r) once();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (s >= 0.02 || reps >= (1 << 20)) break;
    reps *= 2;
  }
  const double flop = 2.0 * static_cast<double>(c.m) * c.n * c.k;
  const int samples = flop > 4e9 ? 5 : 7;
  std::vector<double> rates;
  for (int s = 0; s < samples; ++s) {
    const auto t0 = clock::now();
    for (int r = 0; r < reps; ++r) once();
    const double sec = std::chrono::duration<double>(clock::now() - t0).count();
    rates.push_back(flop * reps / sec * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t max_square = argc > 1 ? std::atoll(argv[1]) : 2048;
  std::vector<Case> cases;
  for (int64_t s = 64; s <= max_square; s *= 2)
    cases.push_back({std::to_string(s) + "^3", false, false, s, s, s});
  cases.push_back({"fwd 32x784 * 784x128", false, false, 32, 128, 784});
  cases.push_back({"dW  (32x784)T * 32x128", true, false, 784, 128, 32});
  cases.push_back({"dX  32x128 * (784x128)T", false, true, 32, 784, 128});
  cases.push_back({"gemv 1x784 * 784x128", false, false, 1, 128, 784});
  cases.push_back({"small 16x16x16", false, false, 16, 16, 16});

  const lw::Isa isas[] = {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512};
  std::vector<std::pair<lw::Isa, int>> cols;
  for (lw::Isa isa : isas)
    if (lw::cpu_supports(isa))
      for (int t : {1, 2}) cols.push_back({isa, t});

  std::printf("sgemm GFLOP/s (median), C = A*B, beta = 0\n%-26s", "shape");
  for (auto& col : cols) {
    const std::string h = std::string(lw::isa_name(col.first)) + "/" + std::to_string(col.second) + "t";
    std::printf(" %10s", h.c_str());
  }
  std::printf("\n");
  for (const Case& c : cases) {
    std::printf("%-26s", c.name.c_str());
    std::fflush(stdout);
    for (auto& col : cols) {
      lw::set_isa(col.first);
      lw::set_num_threads(col.second);
      std::printf(" %10.1f", gflops(c));
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}
