// threadpool_test.cc — checks the pool and its cost model (threadpool.cc):
// every task of a region runs exactly once on 1 and 2 threads; the cost model
// keeps small calls on one range and cuts big ones into more ranges than
// threads, with range bounds that tile [0, units) on multiples of the grain;
// and after a helper stalls a region (here: it sleeps, as a helper
// descheduled by a busy machine does), the next regions run on the caller
// alone, with the same tasks; a single short stall does not; and helpers
// found far from the caller split only big calls. Exits non-zero on failure.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "expect.h"
#include "threadpool.h"

namespace {

void every_task_once() {
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    for (int64_t tasks : {1, 2, 3, 17, 129}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
      for (auto& h : hits) h = 0;
      lw::parallel_for(tasks, [&](int64_t t) { hits[static_cast<size_t>(t)]++; });
      for (int64_t t = 0; t < tasks; ++t)
        EXPECT(hits[static_cast<size_t>(t)] == 1, "threads %d, tasks %lld: task %lld ran %d times",
               threads, (long long)tasks, (long long)t, hits[static_cast<size_t>(t)].load());
    }
  }
}

// The caller claims tasks from the front and helpers from the back, so on
// two threads the caller's tasks are a prefix of the region and the helper's
// the rest: consecutive kernels over the same buffer keep each part on the
// same core.
void caller_takes_the_front() {
  lw::set_num_threads(2);
  const std::thread::id caller = std::this_thread::get_id();
  for (int attempt = 0; attempt < 100; ++attempt) {
    constexpr int64_t kTasks = 64;
    std::vector<std::atomic<int>> by_caller(kTasks);
    for (auto& b : by_caller) b = -1;
    lw::parallel_for(kTasks, [&](int64_t t) {
      by_caller[static_cast<size_t>(t)] = std::this_thread::get_id() == caller ? 1 : 0;
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(10);
      while (std::chrono::steady_clock::now() < until) {
      }
    });
    int64_t prefix = 0;
    while (prefix < kTasks && by_caller[static_cast<size_t>(prefix)] == 1) ++prefix;
    for (int64_t t = prefix; t < kTasks; ++t)
      EXPECT(by_caller[static_cast<size_t>(t)] == 0, "task %lld ran on the caller after the helper's task %lld",
             (long long)t, (long long)prefix);
    // Conclusive once the helper ran two tasks (a lone last task would also
    // end the region if both claimed from the front).
    if (kTasks - prefix >= 2) return;
  }
  std::printf("caller_takes_the_front: the helper never ran two tasks (busy machine); inconclusive\n");
}

void cost_model() {
  lw::set_num_threads(1);
  EXPECT(lw::ranges_for(1000, 1e12, 1e12) == 1, "one thread: one range");
  lw::set_num_threads(2);
  EXPECT(lw::threads_for(1e3, 1e3) == 1, "a microsecond of work stays on one thread");
  EXPECT(lw::ranges_for(1000, 1e3, 1e3) == 1, "a microsecond of work is one range");
  EXPECT(lw::threads_for(1e10, 1e9) == 2, "a big call uses both threads");
  const int64_t big = lw::ranges_for(1000, 1e10, 1e9);
  EXPECT(big > 2 && big <= 1000, "a big call is cut finer than the threads (got %lld)", (long long)big);
  EXPECT(lw::ranges_for(3, 1e10, 1e9) == 3, "never more ranges than units");
  for (int64_t units : {1, 5, 17, 129, 1000})
    for (int64_t ranges : {1, 2, 3, 8})
      for (int64_t grain : {1, 16}) {
        int64_t expect_begin = 0;
        for (int64_t r = 0; r < ranges; ++r) {
          int64_t b, e;
          lw::range_bounds(units, ranges, r, grain, &b, &e);
          EXPECT(b == expect_begin && b <= e, "units %lld ranges %lld grain %lld: range %lld is [%lld, %lld)",
                 (long long)units, (long long)ranges, (long long)grain, (long long)r, (long long)b, (long long)e);
          EXPECT(b % grain == 0 || b == units, "range start %lld off the grain %lld", (long long)b, (long long)grain);
          expect_begin = e;
        }
        EXPECT(expect_begin == units, "ranges end at %lld, not %lld", (long long)expect_begin, (long long)units);
      }
}

// One stall and the region right after it; false when inconclusive (the
// helper never joined, or the caller was descheduled between the two regions
// for longer than the shortest back-off, so the back-off may have run out).
bool stall_then_region(int* elsewhere_out) {
  using clock = std::chrono::steady_clock;
  const std::thread::id caller = std::this_thread::get_id();
  // The caller keeps its task until the helper has claimed the other one;
  // the helper then sleeps for twice the caller's time so far (at least
  // 5 ms), so the caller waits longer than it worked: a stall.
  std::atomic<bool> helper_claimed{false};
  clock::time_point helper_done{};
  const auto start = clock::now();
  lw::parallel_for(2, [&](int64_t) {
    if (std::this_thread::get_id() != caller) {
      helper_claimed = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5) + 2 * (clock::now() - start));
      helper_done = clock::now();
      return;
    }
    const auto deadline = clock::now() + std::chrono::milliseconds(200);
    while (!helper_claimed && clock::now() < deadline) std::this_thread::yield();
  });
  if (!helper_claimed) return false;
  std::atomic<int> elsewhere{0}, ran{0};
  clock::time_point first_task{};
  std::atomic<bool> first{true};
  // Tasks of ~50 µs each: long enough that an idle helper would join.
  lw::parallel_for(64, [&](int64_t) {
    if (first.exchange(false)) first_task = clock::now();
    ++ran;
    if (std::this_thread::get_id() != caller) ++elsewhere;
    const auto until = clock::now() + std::chrono::microseconds(50);
    while (clock::now() < until) {
    }
  });
  EXPECT(ran == 64, "%d of 64 tasks ran after the stall", ran.load());
  *elsewhere_out = elsewhere;
  // The region started after first_task at the latest, and the stall was
  // recorded after helper_done: under 1 ms apart, the back-off was on.
  return first_task - helper_done < std::chrono::microseconds(900);
}

void stall_backs_off() {
  lw::set_num_threads(2);
  int conclusive = 0;
  for (int attempt = 0; attempt < 30 && conclusive < 3; ++attempt) {
    int elsewhere = 0;
    if (!stall_then_region(&elsewhere)) continue;
    ++conclusive;
    EXPECT(elsewhere == 0, "%d tasks ran on a helper right after a stall", elsewhere);
    // Let the back-off run out before the next attempt.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  EXPECT(conclusive > 0, "no conclusive attempt: the helper never joined, or the caller was always descheduled");
}

// A region whose helper keeps its task `hold` longer than the caller's
// (a helper preempted for a moment); false when the helper never joined.
bool region_with_slow_helper(std::chrono::microseconds hold) {
  using clock = std::chrono::steady_clock;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> helper_claimed{false};
  lw::parallel_for(2, [&](int64_t) {
    if (std::this_thread::get_id() != caller) {
      helper_claimed = true;
      const auto until = clock::now() + hold;
      while (clock::now() < until) {
      }
      return;
    }
    const auto deadline = clock::now() + std::chrono::milliseconds(20);
    while (!helper_claimed && clock::now() < deadline) {
    }
  });
  return helper_claimed;
}

// Whether a helper ran any of 64 tasks of ~20 µs.
bool helper_takes_part() {
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  lw::parallel_for(64, [&](int64_t) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
  return elsewhere > 0;
}

// A single short stall leaves the next region on two threads; a second one
// soon after backs off like a long stall. Conclusive only when the pool
// counted the first stall as forgiven (a busy machine makes it long) and
// nothing else (the caller waiting for a core) decided how the next regions
// ran.
void short_stall_forgiven_once() {
  using clock = std::chrono::steady_clock;
  lw::set_num_threads(2);
  int conclusive = 0;
  for (int attempt = 0; attempt < 100 && conclusive < 3; ++attempt) {
    // Past the window of an earlier short stall; then regions on two threads
    // until one is (an earlier back-off has run out, the helper is awake).
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    for (int i = 0; i < 20 && !helper_takes_part(); ++i) {
    }
    const lw::PoolStats s0 = lw::pool_stats();
    if (!region_with_slow_helper(std::chrono::microseconds(200))) continue;
    const lw::PoolStats s1 = lw::pool_stats();
    if (s1.stalls_forgiven != s0.stalls_forgiven + 1) continue;
    helper_takes_part();
    const lw::PoolStats s2 = lw::pool_stats();
    if (s2.starved != s1.starved) continue;
    EXPECT(s2.serial_regions == s1.serial_regions, "the region after a single short stall ran on one thread");
    if (!region_with_slow_helper(std::chrono::microseconds(200))) continue;
    const clock::time_point second_stall = clock::now();
    const lw::PoolStats s3 = lw::pool_stats();
    if (s3.stalls != s2.stalls + 1) continue;
    EXPECT(s3.stalls_forgiven == s2.stalls_forgiven, "a second short stall 20 ms after the first was forgiven");
    helper_takes_part();
    const lw::PoolStats s4 = lw::pool_stats();
    // The shortest back-off is 1 ms: conclusive if the region began before it ran out.
    if (clock::now() - second_stall > std::chrono::microseconds(900) + std::chrono::microseconds(64 * 20)) continue;
    EXPECT(s4.serial_regions == s3.serial_regions + 1, "the region right after a second short stall ran on two threads");
    ++conclusive;
  }
  if (conclusive == 0) std::printf("short_stall_forgiven_once: no conclusive attempt (busy machine)\n");
}

// Far helpers (threadpool.cc, probe_distance) make parallel_for run calls
// below kFarMinSecondsPerThread a thread on the caller alone, every task
// there and once; big calls still split. A helper on the caller's own core
// (probe_shared_core) makes every call run there. The verdicts are measured
// by the pool, so here they are fixed each way; then the pool's own probes
// must have run on back-to-back regions.
void far_helpers_split_only_big_calls() {
  lw::set_num_threads(2);
  const std::thread::id caller = std::this_thread::get_id();
  const auto far_serial = [] { return lw::pool_stats().far_serial_regions; };
  const auto run = [&](double flops, bool* all_on_caller) {
    std::vector<std::atomic<int>> hits(16);
    for (auto& h : hits) h = 0;
    std::atomic<bool> elsewhere{false};
    lw::parallel_for(
        16,
        [&](int64_t t) {
          hits[static_cast<size_t>(t)]++;
          if (std::this_thread::get_id() != caller) elsewhere = true;
        },
        flops, 4e5);
    for (auto& h : hits) EXPECT(h == 1, "every task once (flops %g)", flops);
    *all_on_caller = !elsewhere;
  };
  bool on_caller = false;
  lw::set_core_distance(lw::CoreDistance::kFar);
  int64_t before = far_serial();
  run(3e6, &on_caller);  // about 60 µs of estimated work
  EXPECT(far_serial() == before + 1 && on_caller, "far: a 60 µs call runs on the caller alone");
  before = far_serial();
  run(1e9, &on_caller);  // about 20 ms
  EXPECT(far_serial() == before, "far: a 20 ms call is still offered to the helper");
  lw::set_core_distance(lw::CoreDistance::kNear);
  before = far_serial();
  run(3e6, &on_caller);
  EXPECT(far_serial() == before, "near: a 60 µs call is offered to the helper");
  const auto shared_serial = [] { return lw::pool_stats().shared_serial_regions; };
  lw::set_core_distance(lw::CoreDistance::kShared);
  before = shared_serial();
  run(1e9, &on_caller);
  EXPECT(shared_serial() == before + 1 && on_caller, "shared core: a 20 ms call runs on the caller alone");
  lw::set_core_distance(lw::CoreDistance::kNear);
  before = shared_serial();
  run(1e9, &on_caller);
  EXPECT(shared_serial() == before, "near: a 20 ms call is offered to the helper");
  lw::set_core_distance(lw::CoreDistance::kMeasured);

  // Bounded by time, not by a count of regions: the stall tests above leave
  // the pool backing off (regions on the caller alone, up to kBackoffMax,
  // 256 ms), and 200,000 regions under ASan once ended inside that back-off
  // (195,100 of them serial, no probe). Nothing here is timed: the bound only
  // ends a loop that would otherwise wait for a probe forever.
  const lw::PoolStats stats_before = lw::pool_stats();
  std::atomic<uint64_t> sink{0};
  const auto loop_start = std::chrono::steady_clock::now();
  int regions = 0;
  const auto both_probed = [&] {
    const lw::PoolStats s = lw::pool_stats();
    return s.probes > stats_before.probes && s.shared_probes > stats_before.shared_probes;
  };
  for (; std::chrono::steady_clock::now() - loop_start < std::chrono::seconds(10) && !both_probed(); ++regions)
    lw::parallel_for(8, [&](int64_t t) {
      uint64_t x = static_cast<uint64_t>(t);
      for (uint64_t i = 0; i < 200; ++i) x = x * 31 + i;
      sink += x;
    });
  const lw::PoolStats after = lw::pool_stats();
  if (!both_probed())
    std::printf("no probe of each kind (%lld distance, %lld shared-core) after %d regions in %.1f ms: %lld split regions, %lld of them serial, %lld stalls (%lld forgiven), %lld starved\n",
                (long long)(after.probes - stats_before.probes), (long long)(after.shared_probes - stats_before.shared_probes), regions,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loop_start).count(),
                (long long)(after.regions - stats_before.regions), (long long)(after.serial_regions - stats_before.serial_regions),
                (long long)(after.stalls - stats_before.stalls), (long long)(after.stalls_forgiven - stats_before.stalls_forgiven),
                (long long)(after.starved - stats_before.starved));
  EXPECT(after.probes > stats_before.probes, "back-to-back regions on two threads probed the helpers' distance");
  EXPECT(after.far_probes - stats_before.far_probes <= after.probes - stats_before.probes, "far probes are a subset of the probes");
  EXPECT(after.shared_probes > stats_before.shared_probes, "back-to-back regions on two threads probed for a shared core");
  EXPECT(after.shared_core_probes - stats_before.shared_core_probes <= after.shared_probes - stats_before.shared_probes,
         "shared-core verdicts are a subset of the shared-core probes");
  EXPECT(after.last_twin_slowdown > 0, "a shared-core probe recorded the burst's slowdown beside the helper");
}

}  // namespace

int main() {
  // The machine's own verdicts (a helper far away, or on the caller's core)
  // would run regions serially at random moments; the tests of the back-off
  // count serial regions, so the distance is pinned until the test of the verdicts.
  lw::set_core_distance(lw::CoreDistance::kNear);
  every_task_once();
  caller_takes_the_front();
  cost_model();
  stall_backs_off();
  short_stall_forgiven_once();
  far_helpers_split_only_big_calls();
  if (g_failures) {
    std::printf("threadpool_test FAILED (%d)\n", g_failures);
    return 1;
  }
  std::printf("threadpool_test passed\n");
  return 0;
}
