// threadpool.h — the addon's own worker threads for splitting big kernels.
//
// One process-wide pool (libuv's four threads are shared with fs, dns and
// crypto, so kernels never borrow them). parallel_for(tasks, fn) calls
// fn(task_index) for every index in [0, tasks), the caller taking part. Only
// one parallel region runs at a time; a caller that finds the pool busy (another
// worker_thread is using it) runs its tasks serially itself, so concurrent
// callers never deadlock and never see each other's work.
#pragma once
#include <cstdint>
#include <functional>

namespace lw {

// Number of threads a parallel region may use (including the caller).
int num_threads();
// Sets it; n < 1 means the number of cores. Takes effect for the next region.
void set_num_threads(int n);

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);
// The same, told the whole call's work as the cost model below takes it:
// with helpers found far from the caller (threadpool.cc) a call too small to
// repay the traffic between the cores runs on the caller alone, with the same
// tasks, so with the same results. Without it the call counts as big. With the
// helper found on the caller's own core, every call runs on the caller alone.
void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn, double flops, double bytes);

// What the pool has done since the process started (for benchmarks): regions
// asked for on more than one thread, those it ran on the caller alone (a
// back-off, or far helpers), stalls (and the short ones forgiven), and the caller waiting for
// a core (threadpool.cc).
struct PoolStats {
  int64_t regions = 0;
  int64_t serial_regions = 0;
  int64_t stalls = 0;
  int64_t stalls_forgiven = 0;
  int64_t starved = 0;
  // Cross-core probes, and those that found the helpers far (threadpool.cc).
  int64_t probes = 0;
  int64_t far_probes = 0;
  int64_t far_serial_regions = 0;  // regions run on the caller alone for far helpers
  // The fastest round trip of the latest answered probe, in nanoseconds (0 before one).
  int64_t last_round_trip_ns = 0;
  // Shared-core probes (threadpool.cc probe_shared_core), those that found the
  // helper on the caller's core, the regions run on the caller alone for it,
  // and the latest probe's burst time beside the helper over alone.
  int64_t shared_probes = 0;
  int64_t shared_core_probes = 0;
  int64_t shared_serial_regions = 0;
  double last_twin_slowdown = 0;
};
PoolStats pool_stats();


// ---- The cost model: how many threads a kernel call is worth (threadpool.cc)
//
// Every kernel describes its call by the work of the whole call, in floating-
// point operations and bytes moved, and the number of independent units it
// can be cut into (samples, rows, elements). From those alone (never from
// timing) the model picks how many threads to use and into how many ranges
// to cut, so the same sizes and thread count always split the same way.

// Threads worth using for a call of this much work (1 ≤ result ≤ num_threads()).
int threads_for(double flops, double bytes);
// How far the pool's helpers run from the caller: measured by the pool (the
// default; probe_distance and probe_shared_core in threadpool.cc), or fixed,
// for tests and benchmarks that compare the policies. With far helpers
// parallel_for runs only big calls split; with a helper on the caller's own
// core (two hardware threads of one core) it splits none.
enum class CoreDistance { kMeasured, kNear, kFar, kShared };
void set_core_distance(CoreDistance distance);
// Ranges to cut `units` units into: 1 means run serially; more than the
// threads chosen, so that a worker that joins late (woken from sleep, or
// descheduled on a busy machine) leaves its share to the caller.
int64_t ranges_for(int64_t units, double flops, double bytes);
// [begin, end) of range r of `ranges` over `units`, boundaries rounded to
// multiples of `grain` (the last range ends at `units`).
void range_bounds(int64_t units, int64_t ranges, int64_t r, int64_t grain,
                  int64_t* begin, int64_t* end);
// fn(begin, end) over ranges covering [0, units) as ranges_for() decides,
// on the pool when there is more than one range. Tasks must write disjoint
// outputs (or reduce in range order) for results to be deterministic.
void parallel_ranges(int64_t units, double flops, double bytes,
                     const std::function<void(int64_t, int64_t)>& fn,
                     int64_t grain = 1);

}  // namespace lw
