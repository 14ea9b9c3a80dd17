// conv2d_bench.cc — times the conv2d kernels (forward, backward_input,
// backward_filter) on the shapes of a small Fashion-MNIST CNN, optimised
// against the direct-loop reference, and reports ms per call and GFLOP/s
// (2·n·out_h·out_w·out_c·k_h·k_w·in_c flops for each of the three).
//
// Usage: conv2d_bench [threads...]   (default: 1, then every core; 0 = cores)
// The reference is single-threaded whatever the thread count.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "conv2d.h"
#include "cpu.h"
#include "threadpool.h"

namespace {

struct Shape {
  const char* name;
  lw::ConvGeometry g;
};

using Clock = std::chrono::steady_clock;

// Median ms of repeated calls, repeating for at least min_seconds.
template <class Fn>
double time_ms(Fn fn, double min_seconds) {
  fn();  // warm-up: scratch allocation, page faults
  std::vector<double> runs;
  const auto start = Clock::now();
  do {
    const auto t0 = Clock::now();
    fn();
    runs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds ||
           runs.size() < 3);
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts;
  for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  if (thread_counts.empty()) thread_counts = {1, 0};

  const Shape shapes[] = {
      {"28x28x1->8 3x3 valid", {32, 28, 28, 1, 3, 3, 8, 1, 1, 0, 0, 26, 26}},
      {"28x28x1->32 3x3 same", {32, 28, 28, 1, 3, 3, 32, 1, 1, 1, 1, 28, 28}},
      {"14x14x32->64 3x3 same", {32, 14, 14, 32, 3, 3, 64, 1, 1, 1, 1, 14, 14}},
      {"14x14x8->16 3x3 same", {32, 14, 14, 8, 3, 3, 16, 1, 1, 1, 1, 14, 14}},
      {"7x7x64->64 3x3 same", {32, 7, 7, 64, 3, 3, 64, 1, 1, 1, 1, 7, 7}},
  };
  std::printf("isa %s, n = 32\n", lw::isa_name(lw::active_isa()));

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  bool reference_done[sizeof shapes / sizeof shapes[0]][3] = {};
  double reference_ms[sizeof shapes / sizeof shapes[0]][3] = {};

  for (int threads : thread_counts) {
    lw::set_num_threads(threads);
    std::printf("\nthreads %d\n", lw::num_threads());
    std::printf("%-24s %-16s %10s %9s %12s %9s %8s\n", "shape", "kernel", "opt ms",
                "GFLOP/s", "ref ms", "GFLOP/s", "speedup");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
      const lw::ConvGeometry& g = shapes[s].g;
      std::vector<float> x(size_t(lw::conv_input_size(g))), w(size_t(lw::conv_filter_size(g))),
          y(size_t(lw::conv_output_size(g))), dx(x.size()), dw(w.size());
      for (float& v : x) v = d(rng);
      for (float& v : w) v = d(rng);
      for (float& v : y) v = d(rng);
      const double gflop = 2.0 * g.n * g.out_h * g.out_w * g.out_c * g.k_h * g.k_w * g.in_c / 1e9;
      const char* names[3] = {"forward", "backward_input", "backward_filter"};
      for (int k = 0; k < 3; ++k) {
        auto opt = [&] {
          if (k == 0) lw::conv2d_forward(g, x.data(), w.data(), y.data(), false);
          if (k == 1) lw::conv2d_backward_input(g, y.data(), w.data(), dx.data(), false);
          if (k == 2) lw::conv2d_backward_filter(g, x.data(), y.data(), dw.data(), false);
        };
        auto ref = [&] {
          if (k == 0) lw::conv2d_forward_reference(g, x.data(), w.data(), y.data(), false);
          if (k == 1) lw::conv2d_backward_input_reference(g, y.data(), w.data(), dx.data(), false);
          if (k == 2) lw::conv2d_backward_filter_reference(g, x.data(), y.data(), dw.data(), false);
        };
        const double ms = time_ms(opt, 0.5);
        if (!reference_done[s][k]) {
          reference_ms[s][k] = time_ms(ref, 0.2);
          reference_done[s][k] = true;
        }
        const double rms = reference_ms[s][k];
        std::printf("%-24s %-16s %10.3f %9.1f %12.3f %9.2f %7.0fx\n", shapes[s].name, names[k],
                    ms, gflop / (ms / 1e3), rms, gflop / (rms / 1e3), rms / ms);
      }
    }
  }
  return 0;
}
