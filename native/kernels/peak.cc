// peak.cc — see peak.h; the loops themselves are in peak_loops.cc.
#include "peak.h"

#include <atomic>
#include <chrono>

#include "peak_loops.h"
#include "threadpool.h"

namespace lw {
namespace {

constexpr int64_t kTasksPerThread = 16;

}  // namespace

double fma_peak_gflops(Isa isa, int64_t rounds, int threads) {
  if (!cpu_supports(isa) || rounds <= 0) return 0;
  if (threads < 1) threads = 1;
  // Counts results the compiler cannot know to be false, so the loops stay.
  std::atomic<int> impossible{0};
  const auto start = std::chrono::steady_clock::now();
  if (threads == 1) {
    impossible += peak_loop(isa, rounds) > 1e30f;
  } else {
    const int previous = num_threads();
    set_num_threads(threads);
    // Many short tasks, not one per thread: the pool's caller claims tasks at
    // once while a sleeping worker is still waking up, and with one task each
    // it could take both and time a single core.
    const int64_t pieces = int64_t{threads} * kTasksPerThread;
    parallel_for(pieces, [&](int64_t piece) {
      const int64_t share = rounds / kTasksPerThread + (piece % kTasksPerThread < rounds % kTasksPerThread);
      impossible += peak_loop(isa, share) > 1e30f;
    });
    set_num_threads(previous);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (impossible.load() != 0 || seconds <= 0) return 0;
  const double flops = 2.0 * static_cast<double>(rounds) * static_cast<double>(peak_multiply_adds_per_round(isa)) * threads;
  return flops / seconds / 1e9;
}

}  // namespace lw
