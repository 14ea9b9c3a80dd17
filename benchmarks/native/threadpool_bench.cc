// threadpool_bench.cc — what a parallel region of the addon's pool costs, and
// from how much work on one thread splitting it over two starts to pay. The
// constants of the cost model in native/kernels/threadpool.cc come from this.
//
//   threadpool_bench
//
// 1. Hand-off: parallel_for over 2 empty tasks, back to back (workers still
//    spinning) and after a 300 µs pause (workers asleep on the condition
//    variable, so a futex wake-up is paid).
// 2. Break-even: a fixed amount of arithmetic, W µs on one thread, cut into
//    8 tasks and run on 1 and on 2 threads; the ratio for each W.
// Each figure is the median of many samples; run it on an idle machine.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "threadpool.h"

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Dependent multiply-adds the compiler cannot fold away: about 1 ns each.
volatile float g_sink;
void spin_work(int64_t iterations) {
  float x = 1.0f;
  for (int64_t i = 0; i < iterations; ++i) x = x * 0.999999f + 1e-7f;
  g_sink = x;
}

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = clock_type::now();
  fn();
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

int main() {
  lw::set_num_threads(2);
  lw::parallel_for(2, [](int64_t) {});  // start the worker

  std::vector<double> hot, cold;
  for (int i = 0; i < 2000; ++i)
    hot.push_back(seconds_of([] { lw::parallel_for(2, [](int64_t) {}); }));
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    cold.push_back(seconds_of([] { lw::parallel_for(2, [](int64_t) {}); }));
  }
  std::printf("empty region, 2 threads: %.2f us with the worker spinning, %.2f us after it slept\n",
              median(hot) * 1e6, median(cold) * 1e6);

  // Calibrate iterations per microsecond on this thread.
  lw::set_num_threads(1);
  const double per_iter = seconds_of([] { spin_work(20000000); }) / 20000000;
  std::printf("%-10s %-12s %-12s %s\n", "work (us)", "1 thread", "2 threads", "speed-up");
  for (double us : {2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0}) {
    const int64_t iters = static_cast<int64_t>(us * 1e-6 / per_iter);
    const int64_t tasks = 8;
    auto region = [&] {
      lw::parallel_for(tasks, [&](int64_t) { spin_work(iters / tasks); });
    };
    std::vector<double> one, two;
    for (int rep = 0; rep < 400; ++rep) {
      lw::set_num_threads(1);
      one.push_back(seconds_of(region));
      lw::set_num_threads(2);
      two.push_back(seconds_of(region));
    }
    std::printf("%-10.0f %-12.2f %-12.2f %.2f\n", us, median(one) * 1e6, median(two) * 1e6,
                median(one) / median(two));
  }
  return 0;
}
