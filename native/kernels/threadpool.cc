// threadpool.cc — the addon's process-wide worker pool (threadpool.h).
//
// Workers are plain std::threads, started lazily by the first parallel
// region that wants them (num_threads() - 1 of them; the caller is the
// remaining thread). A region is published as a pointer to a Region record on
// the caller's stack; tasks are claimed from one atomic word, the caller
// taking them from the front and each worker that joins from the back. Joining happens under the pool mutex and is
// refused once the caller has closed the region, so the caller only waits for
// workers that actually joined — a worker that was asleep or descheduled
// never delays a region it did not take part in.
//
// Only one region runs at a time (try_lock on `region_mu`); a caller finding
// the pool busy (another worker_thread's region) runs its tasks itself, and a
// parallel_for issued from inside a task runs serially, so nothing can
// deadlock. After a helper stalls a region (a busy machine descheduled it),
// regions run on the caller alone for a while (RegionCloser's back-off). Workers spin for a few tens of microseconds after a region before
// sleeping on a condition variable, because training issues many small
// products back to back and a futex wake-up per product would cost more than
// the work it splits.
//
// Lifetime: the pool object is intentionally never destroyed and the threads
// are detached. At process exit they are blocked on the pool's condition
// variable (or spinning on its atomics) and touch nothing else, so no static
// destructor can pull state from under them, and there is no join that could
// hang exit. Tasks must not throw on a worker thread (that would terminate);
// an exception thrown on the caller's thread is propagated after the region
// is closed and every joined worker has left it.
#include "threadpool.h"

#include "cpu.h"
#include "peak_loops.h"

// The shipped binary must load wherever Node 20 does (glibc 2.28, and the
// libstdc++ of GCC 8). Built on a newer system, std::mutex::try_lock binds
// to pthread_mutex_trylock@GLIBC_2.34 and condition_variable::wait to
// GLIBCXX_3.4.30; both libraries still export the original versions of the
// same functions, so the references are pinned to those. Only this file uses
// either symbol (test/package.test.ts reads the binary's symbol versions).
// The original version is each architecture's first glibc: 2.2.5 on x86-64,
// 2.17 on aarch64.
#if defined(__x86_64__) && defined(__GLIBC__)
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@GLIBC_2.2.5");
#elif defined(__aarch64__) && defined(__GLIBC__)
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@GLIBC_2.17");
#endif
#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__GLIBC__)
__asm__(".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__linux__)
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>
#endif

namespace lw {
namespace {

constexpr int kMaxThreads = 256;

inline void cpu_relax() {
#if defined(__SSE2__)
  _mm_pause();
#endif
}

int hardware_threads() {
  const unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : (h > kMaxThreads ? kMaxThreads : static_cast<int>(h));
}

int clamp_threads(long n) {
  if (n < 1) return hardware_threads();
  return n > kMaxThreads ? kMaxThreads : static_cast<int>(n);
}

int initial_threads() {
  const char* env = std::getenv("LAYERWISE_NUM_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1) return clamp_threads(v);
  }
  return hardware_threads();
}

std::atomic<int> g_threads{0};  // 0: not settled yet

struct Region {
  const std::function<void(int64_t)>* fn;
  // Unclaimed tasks [front, back) packed into one word (front in the low 32
  // bits): the caller claims from the front, helpers from the back. Kernels
  // cut their data into ranges in order, so the caller keeps working on the
  // first part of every buffer and a helper on the last part, whichever
  // kernel runs: consecutive passes over the same data (a gradient product,
  // then the update reading its result) find it in their own core's cache
  // instead of pulling it across from the other core's, which made a split
  // elementwise pass slower than one thread.
  std::atomic<uint64_t> unclaimed{0};
  int max_helpers;               // guarded by Pool::mu
  // Whether every helper it may take was parked on the condition variable
  // when the region was published (guarded by Pool::mu; see RegionCloser).
  bool helpers_parked = false;
  int joined = 0;                // guarded by Pool::mu
  std::atomic<int> active{0};    // helpers that joined and have not left
};

using Clock = std::chrono::steady_clock;

// What a cross-core probe (probe_distance, probe_shared_core) last found:
// when it found its condition (steady_clock nanoseconds), or 0 when it did
// not; and when the next probe is due.
struct Verdict {
  std::atomic<int64_t> since_ns{0};
  Clock::time_point next_probe{};  // guarded by region_mu
};

struct Pool {
  std::mutex region_mu;   // held by the thread that owns the current region
  // Guarded by region_mu: regions started before serial_until run on the
  // caller alone (see RegionCloser), and the back-off that set it.
  Clock::time_point serial_until{};
  std::chrono::microseconds backoff{0};
  int misses = 0;  // regions in a row that no helper joined, weighted (RegionCloser)
  Clock::time_point last_short_stall{};  // guarded by region_mu (RegionCloser)
  struct {
    std::atomic<int64_t> regions{0}, serial_regions{0}, stalls{0}, stalls_forgiven{0}, starved{0};
    std::atomic<int64_t> probes{0}, far_probes{0}, far_serial_regions{0};
    std::atomic<int64_t> last_round_trip_ns{0};
    std::atomic<int64_t> shared_probes{0}, shared_core_probes{0}, shared_serial_regions{0};
    std::atomic<double> last_twin_slowdown{0};
  } stats;
  std::mutex mu;          // guards `current`, Region::joined, `workers`
  std::condition_variable wake;
  std::condition_variable done;
  Region* current = nullptr;
  std::atomic<uint64_t> generation{0};
  int workers = 0;        // started (detached) worker threads
  int parked = 0;         // workers blocked on `wake` or not started yet; guarded by `mu`
  // The cross-core probe (probe_distance): the caller makes the word odd, a
  // spinning helper makes it even again. Alone on its cache line, so the
  // round trip is one line's.
  alignas(64) std::atomic<uint32_t> probe{0};
  char probe_pad[64 - sizeof(std::atomic<uint32_t>)];
  Verdict far;  // the helpers far from the caller
  // The shared-core probe (probe_shared_core): the caller makes `twin` odd to
  // ask for a burst, the helper that takes it makes it even and runs one,
  // then stores that even value in twin_done.
  alignas(64) std::atomic<uint32_t> twin{0};
  std::atomic<uint32_t> twin_done{0};
  Verdict shared_core;  // the helper on the caller's own core
};

Pool& pool() {
  static Pool* p = new Pool;  // never freed: detached workers may outlive statics
  return *p;
}

// True on worker threads always, and on a caller while it owns a region:
// parallel_for from inside a task then runs serially.
thread_local bool tl_in_region = false;

uint64_t pack_range(uint64_t front, uint64_t back) { return front | (back << 32); }

// Claims the next task from the front (the caller) or the back (helpers);
// -1 when none is left.
int64_t claim(Region& r, bool from_front) {
  uint64_t cur = r.unclaimed.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t front = cur & 0xffffffffu, back = cur >> 32;
    if (front >= back) return -1;
    const uint64_t next = from_front ? pack_range(front + 1, back) : pack_range(front, back - 1);
    if (r.unclaimed.compare_exchange_weak(cur, next, std::memory_order_relaxed))
      return static_cast<int64_t>(from_front ? front : back - 1);
  }
}

void run_tasks(Region& r, bool from_front) {
  for (int64_t t; (t = claim(r, from_front)) >= 0;) (*r.fn)(t);
}

template <typename Pred>
void spin_until(Pred ready, std::chrono::microseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int i = 1;; ++i) {
    if (ready()) return;
    cpu_relax();
    // A spinning thread that shares its core with a runnable one (on a busy
    // machine: often the caller it waits for, or the helper it waits on) would
    // take half that core; yielding hands it over and costs well under a
    // microsecond when nothing else wants the core.
    if ((i & 15) == 0) std::this_thread::yield();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) return;
  }
}

// A spinning helper's half of probe_distance. A compare-exchange, so an
// answer that comes after the caller gave up on it changes nothing.
inline void answer_probe(Pool& p) {
  uint32_t v = p.probe.load(std::memory_order_acquire);
  if (v & 1u) p.probe.compare_exchange_strong(v, v + 1, std::memory_order_acq_rel);
}

float twin_burst();  // below, beside probe_shared_core
std::atomic<float> g_twin_sink{0};

// A spinning helper's half of probe_shared_core: one burst when asked.
inline void answer_twin(Pool& p) {
  uint32_t v = p.twin.load(std::memory_order_acquire);
  if ((v & 1u) && p.twin.compare_exchange_strong(v, v + 1, std::memory_order_acq_rel)) {
    g_twin_sink.store(twin_burst(), std::memory_order_relaxed);
    p.twin_done.store(v + 1, std::memory_order_release);
  }
}

void worker_main() {
  Pool& p = pool();
  tl_in_region = true;
#if defined(__linux__)
  // A name of its own (top -H, /proc/<pid>/task/*/comm) tells the pool's
  // helpers apart from Node's and V8's threads: bench:threads reads their
  // run-queue wait to tell which blocks the machine disturbed. prctl rather
  // than pthread_setname_np, which binds to GLIBC_2.34 when built here.
  prctl(PR_SET_NAME, "layerwise-pool", 0, 0, 0);
#endif
  uint64_t seen;
  {
    // Counted as parked from its creation (ensure_workers) until here: a
    // region published meanwhile must not take this thread for an awake one.
    std::lock_guard<std::mutex> lk(p.mu);
    --p.parked;
    seen = p.generation.load(std::memory_order_acquire);
  }
  for (;;) {
    spin_until([&] {
                 answer_probe(p);
                 answer_twin(p);
                 return p.generation.load(std::memory_order_acquire) != seen;
               },
               std::chrono::microseconds(100));
    Region* r = nullptr;
    {
      std::unique_lock<std::mutex> lk(p.mu);
      ++p.parked;
      p.wake.wait(lk, [&] { return p.generation.load(std::memory_order_relaxed) != seen; });
      --p.parked;
      seen = p.generation.load(std::memory_order_relaxed);
      if (p.current != nullptr && p.current->joined < p.current->max_helpers) {
        r = p.current;
        ++r->joined;
        r->active.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (r == nullptr) continue;
    run_tasks(*r, false);
    // After this decrement the caller may return and free *r: touch only the
    // pool from here on.
    if (r->active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(p.mu);
      p.done.notify_all();
    }
  }
}

// Starts workers until `want` exist; called with region_mu held. A thread
// that cannot be created just means fewer helpers.
int ensure_workers(Pool& p, int want) {
  std::lock_guard<std::mutex> lk(p.mu);
  while (p.workers < want) {
#if defined(__cpp_exceptions)
    try {
      std::thread(worker_main).detach();
    } catch (...) {
      break;
    }
#else
    std::thread(worker_main).detach();
#endif
    ++p.workers;
    ++p.parked;  // until the thread reaches its loop (worker_main)
  }
  return p.workers < want ? p.workers : want;
}

// A helper stalled a region when the caller, done with every task it could
// claim, waited for the helper longer than it had worked itself (and more
// than kStallFloor). With tasks cut finer than threads, that does not happen
// on a machine with a free core: the wait is at most one task. It happens
// when the helper's core is taken by other processes and the helper is
// descheduled holding a task — then a second thread is slower than one, for
// as long as the machine stays busy: measured with other processes keeping
// both cores busy, each stall cost the caller about 2.5 ms (a scheduler
// time slice), 40–60 stalls in 1,200 MLP steps, a 2× slower fit.
//
// So after a stall, regions run on the caller alone for a back-off that
// doubles with each stall (from kBackoffMin up to kBackoffMax). It shrinks
// only on evidence that a second thread works again: a region a helper
// joined and finished without stalling halves it. A region no helper joined
// at all (the caller took every task before one arrived) is the same busy
// machine seen from the other side — the helper is not getting a core — and
// kMissesBeforeBackoff of them in a row back off like a stall; counting them
// as clean, as before, let the back-off run down to nothing between stalls.
// Helpers that were parked when the region began count a quarter (their
// futex wake-up takes 20–100 µs on this VM: missing a short region then says
// nothing about the machine).
// A short stall (the caller waited less than kLongStall) starts no back-off
// unless another one came within kStallPairWindow: on a quiet machine a
// helper is now and then preempted for 50–110 µs (V8's background threads,
// kernel work), 5–25 times an MLP epoch, and backing off for a millisecond
// or more after each ran 4–15% of the epoch's regions on one thread. A
// helper descheduled by other busy processes stalls for a time slice
// (milliseconds) and again soon after, so it still backs off at once.
// The tasks, and so the results, are the same either way.
constexpr std::chrono::microseconds kStallFloor{50};
constexpr std::chrono::microseconds kBackoffMin{1000};
constexpr std::chrono::microseconds kBackoffMax{256000};
constexpr int kMissesBeforeBackoff = 8;
constexpr int kAwakeMissWeight = 4;  // a miss by parked helpers weighs 1
constexpr std::chrono::microseconds kLongStall{500};
constexpr std::chrono::milliseconds kStallPairWindow{20};

// Starts (or lengthens) a back-off at `now`; called with region_mu held.
void back_off(Pool& p, Clock::time_point now) {
  p.backoff = p.backoff < kBackoffMin ? kBackoffMin
              : (2 * p.backoff > kBackoffMax ? kBackoffMax : 2 * p.backoff);
  p.serial_until = now + p.backoff;
  p.misses = 0;
}

// The other sign of a busy machine, seen before a region rather than after
// one: the caller itself waiting for a core. Linux counts, per thread, the
// time spent runnable but not running (/proc/thread-self/schedstat, second
// field); when that is more than kStarvedShare of the wall time since the
// thread's previous probe (at most one probe per kProbeInterval, a 3–5 µs
// read), every core was taken while the caller wanted one, so a helper would
// wait too — and with the process's threads sharing one scheduler group
// (autogroup), a helper spinning beside the caller takes the caller's share.
// Sleeping (an idle event loop) is not waiting, so idle time does not count.
constexpr std::chrono::microseconds kProbeInterval{2000};
constexpr double kStarvedShare = 0.25;

// Nanoseconds the calling thread has spent waiting on a run queue, or −1
// where the kernel does not say.
int64_t runqueue_wait_ns() {
#if defined(__linux__)
  const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[96];
  const ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return -1;
  buf[got] = '\0';
  const char* c = buf;
  while (*c >= '0' && *c <= '9') ++c;  // run time
  if (*c != ' ') return -1;
  ++c;
  int64_t wait = 0;
  const char* digits = c;
  while (*c >= '0' && *c <= '9') wait = wait * 10 + (*c++ - '0');
  return c == digits ? -1 : wait;
#else
  return -1;
#endif
}

thread_local Clock::time_point tl_probed_at{};
thread_local int64_t tl_probed_wait = -1;

bool caller_starved(Clock::time_point now) {
  if (tl_probed_wait >= 0 && now - tl_probed_at < kProbeInterval) return false;
  const int64_t wait = runqueue_wait_ns();
  if (wait < 0) return false;
  const double wall = std::chrono::duration<double, std::nano>(now - tl_probed_at).count();
  const bool starved = tl_probed_wait >= 0 && double(wait - tl_probed_wait) > kStarvedShare * wall;
  tl_probed_at = now;
  tl_probed_wait = wait;
  return starved;
}

// Far helpers. The two vCPUs of this VM are now and then placed far apart
// (on different CCDs or sockets of the host, for seconds to minutes): a
// cache line's round trip between the caller and a helper then takes
// 315–360 ns instead of 50–80, and 256 KB written by one thread reach the
// other in 125–180 µs instead of 33–47. An FMA loop still runs twice as fast
// on two threads (the cores are free; only what they share got dear), but a
// batch-32 training step hands every layer's output and the weights between
// the cores, and two threads then ran the MLP at 299–336 µs a step against
// 182–229 on one (bench, 23:27–23:35 UTC). The npm-start CNN's big
// convolutions still gained (2.3–2.7 ms a step against 3.2–3.6). A multi-CCD
// server whose scheduler puts the two threads on different CCDs is in the
// same place.
// So each kFarProbeEvery the caller times kProbeRoundTrips round trips of
// one cache line with a helper that is spinning (a parked one cannot answer:
// the probe waits for a region that finds one awake), keeps the fastest, and
// above kFarRoundTrip calls the helpers far: parallel_for then runs a call
// of less than kFarMinSecondsPerThread a thread on the caller alone (the
// cost model below), with the same tasks, so the same results. The
// verdict lapses after the same interval, so a pool that splits nothing any
// more still gets regions to probe with, and a brief far spell costs at most
// that long. Where a call runs never changes its results, so neither does
// the verdict.
constexpr std::chrono::milliseconds kFarProbeEvery{20};
constexpr int kProbeRoundTrips = 8;
constexpr int kProbeSpinLimit = 4000;  // pauses (~100 µs) before a round trip is given up
constexpr std::chrono::nanoseconds kFarRoundTrip{200};

int64_t steady_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Whether every started helper is awake (spinning for the next region), so a probe gets an answer.
bool helpers_spinning(Pool& p) {
  std::lock_guard<std::mutex> lk(p.mu);
  return p.workers > 0 && p.parked == 0;
}

// Whether a probe of `verdict`, due every `every`, runs now: due, and the
// helpers spinning to answer it. If so, the next one is due `every` from now.
bool probe_due(Pool& p, Verdict& verdict, Clock::time_point now, std::chrono::nanoseconds every) {
  if (now < verdict.next_probe || !helpers_spinning(p)) return false;
  verdict.next_probe = now + every;
  return true;
}

void record(Verdict& verdict, bool found, Clock::time_point now) {
  verdict.since_ns.store(found ? steady_ns(now) : 0, std::memory_order_relaxed);
}

// Whether `verdict` found its condition less than `lapse` ago.
bool holds(const Verdict& verdict, std::chrono::nanoseconds lapse) {
  const int64_t since = verdict.since_ns.load(std::memory_order_relaxed);
  return since != 0 && steady_ns(Clock::now()) - since < lapse.count();
}

// Makes `word` odd (v + 1, v even) and waits for a spinning helper to make it
// v + 2. False when none did within kProbeSpinLimit pauses (the helper was
// descheduled or stopped spinning); the word is then put at v + 2 here, a
// compare-exchange, so an answer that comes later changes nothing.
bool helper_answered(std::atomic<uint32_t>& word, uint32_t v) {
  word.store(v + 1, std::memory_order_release);
  int spins = 0;
  while (word.load(std::memory_order_acquire) != v + 2 && ++spins < kProbeSpinLimit) cpu_relax();
  uint32_t unanswered = v + 1;
  return spins < kProbeSpinLimit || !word.compare_exchange_strong(unanswered, v + 2, std::memory_order_acq_rel);
}

// Called by a region's caller with region_mu held, before it publishes the region.
void probe_distance(Pool& p, Clock::time_point now) {
  if (!probe_due(p, p.far, now, kFarProbeEvery)) return;
  p.stats.probes.fetch_add(1, std::memory_order_relaxed);
  // Even here: only this thread makes it odd, and each round trip below
  // leaves it even.
  uint32_t v = p.probe.load(std::memory_order_acquire);
  auto fastest = std::chrono::nanoseconds::max();
  for (int i = 0; i < kProbeRoundTrips; ++i, v += 2) {
    const Clock::time_point t0 = Clock::now();
    if (!helper_answered(p.probe, v)) return;  // no answer: no verdict
    const auto took = Clock::now() - t0;
    if (took < fastest) fastest = took;
  }
  const bool far = fastest > kFarRoundTrip;
  p.stats.last_round_trip_ns.store(fastest.count(), std::memory_order_relaxed);
  if (far) p.stats.far_probes.fetch_add(1, std::memory_order_relaxed);
  record(p.far, far, now);
}

// Whether a far verdict (probe_distance) holds now.
bool helpers_far() { return holds(pool().far, kFarProbeEvery); }

// A helper on the caller's own core. Now and then this VM runs its two vCPUs
// on the two hardware threads of one physical core, for one to several
// seconds at a time (57 of 978 and 35 of 773 samples a few hundred
// milliseconds apart, 04:43–04:51 UTC on 2026-11-30): an FMA loop then runs
// no faster on two threads than on one (0.97–1.03×), nor does the MLP's
// forward product (66 µs on either, against 34–44 µs on two threads with two
// cores), while the cache line's round trip gets shorter, not longer (50–70
// ns, against 100–130 between two cores), so probe_distance cannot see it.
// Every split then only adds its hand-over: two threads ran the MLP and the
// small CNN 0.91–0.97× as fast as one in such spells. So every
// kSharedProbeEvery the caller also times a short burst of its FMA loop alone
// and then with the helper running the same burst at the same moment, best
// of kTwinBursts each. Two threads of one core share its FMA units: the burst
// took 1.94–1.97× as long beside the helper in those spells, and 0.81–1.20×
// (nearly always 1.00×) with two cores. Above kSharedSlowdown the helper
// counts as sharing the caller's core and every region runs on the caller
// alone, with the same tasks, so the same results, until the verdict lapses
// (kSharedProbeEvery later, so that a split region wakes the helper for the
// next probe). Only with exactly two threads: with more, the helper that
// answers says nothing of the others.
constexpr std::chrono::milliseconds kSharedProbeEvery{100};
constexpr int kTwinBursts = 3;
constexpr int64_t kTwinBurstRounds = 512;  // ≈ 2.5 µs of the avx512 loop on Zen 4
constexpr double kSharedSlowdown = 1.5;
constexpr int kTwinWaitLimit = 40000;  // pauses (~1 ms) before a helper's burst is given up

float twin_burst() { return peak_loop(active_isa(), kTwinBurstRounds); }

// Called by a region's caller with region_mu held, helpers spinning (after probe_distance).
void probe_shared_core(Pool& p, Clock::time_point now) {
  if (num_threads() != 2 || !probe_due(p, p.shared_core, now, kSharedProbeEvery)) return;
  auto solo = std::chrono::nanoseconds::max(), twin = std::chrono::nanoseconds::max();
  float sink = 0;
  uint32_t v = p.twin.load(std::memory_order_acquire);
  for (int i = 0; i < kTwinBursts; ++i, v += 2) {
    Clock::time_point t0 = Clock::now();
    sink += twin_burst();
    solo = std::min<std::chrono::nanoseconds>(solo, Clock::now() - t0);
    if (!helper_answered(p.twin, v)) return;  // no helper took it: no verdict
    t0 = Clock::now();
    sink += twin_burst();
    twin = std::min<std::chrono::nanoseconds>(twin, Clock::now() - t0);
    // The helper's burst ends before the next one, or the region, starts.
    int spins = 0;
    while (p.twin_done.load(std::memory_order_acquire) != v + 2 && ++spins < kTwinWaitLimit) cpu_relax();
    if (spins >= kTwinWaitLimit) return;
  }
  g_twin_sink.store(sink, std::memory_order_relaxed);
  const double slowdown = double(twin.count()) / double(solo.count() > 0 ? solo.count() : 1);
  const bool shared = slowdown > kSharedSlowdown;
  p.stats.shared_probes.fetch_add(1, std::memory_order_relaxed);
  p.stats.last_twin_slowdown.store(slowdown, std::memory_order_relaxed);
  if (shared) p.stats.shared_core_probes.fetch_add(1, std::memory_order_relaxed);
  record(p.shared_core, shared, now);
}

// Whether a shared-core verdict (probe_shared_core) holds now.
bool helper_shares_core() { return holds(pool().shared_core, kSharedProbeEvery); }

// Closes the region and waits for the helpers that joined it, also when the
// caller's own task throws.
struct RegionCloser {
  Pool& p;
  Region& r;
  Clock::time_point started;
  ~RegionCloser() {
    int joined;
    {
      std::lock_guard<std::mutex> lk(p.mu);
      p.current = nullptr;
      joined = r.joined;  // final: no helper joins a closed region
    }
    const Clock::time_point own_done = Clock::now();
    spin_until([&] { return r.active.load(std::memory_order_acquire) == 0; },
               std::chrono::microseconds(200));
    {
      std::unique_lock<std::mutex> lk(p.mu);
      p.done.wait(lk, [&] { return r.active.load(std::memory_order_acquire) == 0; });
    }
    const Clock::time_point end = Clock::now();
    const auto waited = end - own_done;
    const bool stalled = waited > kStallFloor && waited > own_done - started;
    // A miss by helpers that were all parked is mostly their wake-up
    // latency (tens of microseconds on a VM, longer than a small product),
    // which every region after a back-off or an idle spell meets: it weighs
    // a quarter of a miss by a helper that was awake and did not get a core.
    p.misses = joined > 0 ? 0 : p.misses + (r.helpers_parked ? 1 : kAwakeMissWeight);
    if (stalled) p.stats.stalls.fetch_add(1, std::memory_order_relaxed);
    const bool forgiven = stalled && waited < kLongStall && end - p.last_short_stall >= kStallPairWindow;
    if (forgiven) {
      p.last_short_stall = end;
      p.stats.stalls_forgiven.fetch_add(1, std::memory_order_relaxed);
    }
    if ((stalled && !forgiven) || p.misses >= kMissesBeforeBackoff * kAwakeMissWeight) {
      back_off(p, end);
    } else if (joined > 0 && !stalled) {
      p.backoff /= 2;
    }
    tl_in_region = false;
    p.region_mu.unlock();
  }
};

// Releases region_mu after a region run on the caller alone.
struct SerialRegion {
  Pool& p;
  ~SerialRegion() {
    tl_in_region = false;
    p.region_mu.unlock();
  }
};

}  // namespace

int num_threads() {
  int n = g_threads.load(std::memory_order_acquire);
  if (n == 0) {
    int expected = 0;
    g_threads.compare_exchange_strong(expected, initial_threads(),
                                      std::memory_order_acq_rel);
    n = g_threads.load(std::memory_order_acquire);
  }
  return n;
}

void set_num_threads(int n) {
  g_threads.store(clamp_threads(n), std::memory_order_release);
}

namespace {
bool too_small_for_far_helpers(double flops, double bytes, int threads);
bool alone_on_shared_core();
}  // namespace

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn) {
  parallel_for(tasks, fn, HUGE_VAL, HUGE_VAL);
}

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn, double flops, double bytes) {
  if (tasks <= 0) return;
  const int threads = num_threads();
  Pool& p = pool();
  // (Task indices are claimed as 32-bit halves of one word; kernels issue a
  // few ranges per thread, so more than 2^32 tasks only ever runs serially.)
  if (tasks == 1 || threads <= 1 || tl_in_region || tasks > int64_t(0xffffffff) || !p.region_mu.try_lock()) {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
  const Clock::time_point started = Clock::now();
  tl_in_region = true;
  p.stats.regions.fetch_add(1, std::memory_order_relaxed);
  // Helpers start with the first region that wants them, also one that then
  // runs serially below: a process that begins on a busy machine still has
  // its (parked) helpers, and their names, from its first split.
  const int64_t want = (tasks < threads ? tasks : threads) - 1;
  const int helpers = ensure_workers(p, static_cast<int>(want));
  bool serial = started < p.serial_until;  // a back-off (RegionCloser, caller_starved)
  if (!serial && too_small_for_far_helpers(flops, bytes, threads)) {
    p.stats.far_serial_regions.fetch_add(1, std::memory_order_relaxed);
    serial = true;
  }
  if (!serial && alone_on_shared_core()) {
    p.stats.shared_serial_regions.fetch_add(1, std::memory_order_relaxed);
    serial = true;
  }
  if (!serial && caller_starved(started)) {
    p.stats.starved.fetch_add(1, std::memory_order_relaxed);
    back_off(p, started);
    serial = true;
  }
  if (serial) {
    p.stats.serial_regions.fetch_add(1, std::memory_order_relaxed);
    SerialRegion serial_region{p};
    for (int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
  probe_distance(p, started);
  probe_shared_core(p, started);
  Region r;
  r.fn = &fn;
  r.unclaimed.store(pack_range(0, static_cast<uint64_t>(tasks)), std::memory_order_relaxed);
  r.max_helpers = helpers;
  RegionCloser closer{p, r, started};
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.current = &r;
    r.helpers_parked = p.parked >= helpers;
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.wake.notify_all();
  run_tasks(r, true);
}

PoolStats pool_stats() {
  const Pool& p = pool();
  PoolStats s;
  s.regions = p.stats.regions.load(std::memory_order_relaxed);
  s.serial_regions = p.stats.serial_regions.load(std::memory_order_relaxed);
  s.stalls = p.stats.stalls.load(std::memory_order_relaxed);
  s.stalls_forgiven = p.stats.stalls_forgiven.load(std::memory_order_relaxed);
  s.starved = p.stats.starved.load(std::memory_order_relaxed);
  s.probes = p.stats.probes.load(std::memory_order_relaxed);
  s.far_probes = p.stats.far_probes.load(std::memory_order_relaxed);
  s.far_serial_regions = p.stats.far_serial_regions.load(std::memory_order_relaxed);
  s.last_round_trip_ns = p.stats.last_round_trip_ns.load(std::memory_order_relaxed);
  s.shared_probes = p.stats.shared_probes.load(std::memory_order_relaxed);
  s.shared_core_probes = p.stats.shared_core_probes.load(std::memory_order_relaxed);
  s.shared_serial_regions = p.stats.shared_serial_regions.load(std::memory_order_relaxed);
  s.last_twin_slowdown = p.stats.last_twin_slowdown.load(std::memory_order_relaxed);
  return s;
}

// ------------------------------------------------------------- cost model
//
// A call's time on one thread is estimated as flops / kFlopRate + bytes /
// kByteRate. The rates are what one core sustains on the kernels' mid-size
// work (Zen 4: the packed GEMM runs 90–110 GFLOP/s on big products but 40–60
// on the batch-32 shapes training issues; L2-to-memory streaming ≈ 20 GB/s),
// taken low so that the estimate errs towards "big enough to split" only
// when the work really is.
//
// What a split costs was measured with benchmarks/native/threadpool_bench.cc
// on this Zen 4 machine: an empty two-thread region takes ≈ 0.2 µs while the
// worker still spins and 2–3 µs when it must be woken from its futex; 8 tasks
// of arithmetic totalling 5 µs already run 1.6× faster on two threads, 10 µs
// 1.75× (workers spin between the back-to-back kernels of a training step, so
// the cheap hand-off is the usual one). The real risk is larger and cannot be
// measured once: on a loaded machine the worker may join tens of
// microseconds late, or be descheduled inside its task, while the caller
// waits at the end of the region (the stall back-off above). Hence:
//   * a thread is added only for at least kMinSecondsPerThread of estimated
//     work each (8 µs: even a 3 µs futex wake-up leaves a 1.45× gain on the
//     smallest split call; 20 µs kept the small CNN's 1352→10 dense layer,
//     about 10 µs a product, serial);
//   * the call is cut into up to kRangesPerThread ranges per thread, none
//     below kMinSecondsPerRange (2.5 µs, against ≈ 0.05 µs to claim one), a
//     multiple of the threads so that prompt threads end together, claimed
//     dynamically, so a late worker finds most ranges already taken by the
//     caller instead of holding half the work hostage;
//   * with far helpers (probe_distance above) a region runs split only for
//     at least kFarMinSecondsPerThread each (100 µs): the MLP's and the small
//     CNN's products and passes (a step's biggest is about 180 µs of
//     estimated work) then run on one thread, the npm-start CNN's
//     convolutions and dense products still split. In far spells (bench,
//     00:03-00:08 UTC, paired medians of two threads vs one) that took the
//     small CNN from 0.72x to 0.95x and the MLP from 0.71x to 1.00x, and
//     cost the npm-start CNN, whose pools and passes then run serially
//     between split convolutions: 1.40x -> 1.07x. Splitting everything there
//     made two threads slower than one on the small CNN, which the
//     cost model must never do;
//   * with the helper on the caller's own core (probe_shared_core above)
//     nothing splits: a second hardware thread of the same core adds no
//     multiply-adds, only the hand-over.
namespace {
constexpr double kFlopRate = 50e9;
constexpr double kByteRate = 20e9;
constexpr double kMinSecondsPerThread = 8e-6;
constexpr double kFarMinSecondsPerThread = 100e-6;
// LAYERWISE_CORE_DISTANCE=near|far|shared fixes the distance from the start (the
// test suites pin near, so that their two-thread checks split whatever the
// machine is doing); anything else leaves it measured.
CoreDistance initial_distance() {
  const char* env = std::getenv("LAYERWISE_CORE_DISTANCE");
  if (env == nullptr) return CoreDistance::kMeasured;
  const std::string v(env);
  return v == "near" ? CoreDistance::kNear : v == "far" ? CoreDistance::kFar : v == "shared" ? CoreDistance::kShared : CoreDistance::kMeasured;
}
std::atomic<int> g_distance{-1};  // a CoreDistance; -1 until first asked

CoreDistance core_distance() {
  int d = g_distance.load(std::memory_order_relaxed);
  if (d < 0) {
    g_distance.compare_exchange_strong(d, static_cast<int>(initial_distance()), std::memory_order_relaxed);
    d = g_distance.load(std::memory_order_relaxed);
  }
  return static_cast<CoreDistance>(d);
}
constexpr double kMinSecondsPerRange = 2.5e-6;
constexpr int64_t kRangesPerThread = 4;

double estimated_seconds(double flops, double bytes) {
  return flops / kFlopRate + bytes / kByteRate;
}

bool too_small_for_far_helpers(double flops, double bytes, int threads) {
  const CoreDistance distance = core_distance();
  if (distance == CoreDistance::kNear || (distance == CoreDistance::kMeasured && !helpers_far())) return false;
  return estimated_seconds(flops, bytes) < kFarMinSecondsPerThread * threads;
}

// Regions run on the caller alone while the helper shares its core (probe_shared_core).
bool alone_on_shared_core() {
  const CoreDistance distance = core_distance();
  return distance == CoreDistance::kShared || (distance == CoreDistance::kMeasured && helper_shares_core());
}
}  // namespace

int threads_for(double flops, double bytes) {
  const int threads = num_threads();
  if (threads <= 1) return 1;
  const double worth = estimated_seconds(flops, bytes) / kMinSecondsPerThread;
  if (worth < 2.0) return 1;
  return worth >= threads ? threads : static_cast<int>(worth);
}

void set_core_distance(CoreDistance distance) {
  g_distance.store(static_cast<int>(distance), std::memory_order_relaxed);
}

int64_t ranges_for(int64_t units, double flops, double bytes) {
  if (units <= 1) return 1;
  const int threads = threads_for(flops, bytes);
  if (threads <= 1) return 1;
  int64_t ranges = threads * kRangesPerThread;
  const double by_size = estimated_seconds(flops, bytes) / kMinSecondsPerRange;
  if (by_size < static_cast<double>(ranges)) ranges = static_cast<int64_t>(by_size) / threads * threads;
  if (ranges < threads) ranges = threads;
  return ranges < units ? ranges : units;
}

void range_bounds(int64_t units, int64_t ranges, int64_t r, int64_t grain,
                  int64_t* begin, int64_t* end) {
  const int64_t blocks = (units + grain - 1) / grain;
  const int64_t b0 = r * blocks / ranges, b1 = (r + 1) * blocks / ranges;
  *begin = b0 * grain < units ? b0 * grain : units;
  *end = (r + 1 == ranges || b1 * grain > units) ? units : b1 * grain;
}

void parallel_ranges(int64_t units, double flops, double bytes,
                     const std::function<void(int64_t, int64_t)>& fn,
                     int64_t grain) {
  if (units <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t blocks = (units + grain - 1) / grain;
  const int64_t ranges = ranges_for(blocks, flops, bytes);
  if (ranges <= 1) {
    fn(0, units);
    return;
  }
  parallel_for(
      ranges,
      [&](int64_t r) {
        int64_t b, e;
        range_bounds(units, ranges, r, grain, &b, &e);
        if (b < e) fn(b, e);
      },
      flops, bytes);
}

}  // namespace lw
