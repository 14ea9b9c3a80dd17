// gather.cc — gather_rows (gather.h).
//
// fit copies each batch's samples, in shuffled order, out of a data set much
// larger than the caches: every row starts at a random place, so the copy
// waits on memory (a TLB miss and DRAM latency per row) instead of streaming.
// Measured on this Zen 4 VM, 32 rows of 784 floats out of a 188 MB set take
// 22–28 µs on one thread (≈ 5 GB/s, a quarter of a streaming copy) — the
// largest serial piece of an MLP training step. Two threads each keep their
// own misses in flight, so the copy is split like any kernel, by the cost
// model, with the reads described at their real cost: kRandomReadFactor
// times the bytes of a streamed read, plus kRowLatencyBytes per row.
#include "gather.h"

#include <atomic>
#include <cstdint>
#include <cstring>

#include "threadpool.h"

namespace lw {
namespace {
constexpr double kRandomReadFactor = 4.0;
constexpr double kRowLatencyBytes = 2048.0;  // ≈ 0.1 µs of streaming per row

// Asks for the first `lines` cache lines of a row (a valid index only).
// Issued one row ahead for the whole row, the next row's misses overlap the
// current row's copy instead of starting when the copy reaches it. 32 rows of
// 784 floats out of 60,000, one thread, medians of 600 batches with 32 MB of
// other memory touched between batches (Zen 4, load 3): 24.7 → 22.4 µs; two or
// four rows ahead was no better, every row of the batch first was worse (23.3 µs).
inline void prefetch_row(const float* src, int64_t src_rows, int64_t row_size,
                         const int32_t* index, int64_t i, int64_t lines = INT64_MAX / 64) {
  const int64_t row = __atomic_load_n(index + i, __ATOMIC_RELAXED);
  if (row < 0 || row >= src_rows) return;
  const char* p = reinterpret_cast<const char*>(src + row * row_size);
  const char* end = reinterpret_cast<const char*>(src + (row + 1) * row_size);
  if ((end - p) / 64 > lines) end = p + 64 * lines;
  for (; p < end; p += 64) __builtin_prefetch(p, 0, 3);
}

// How much of each of the next call's rows is asked for after the copy. A
// prefetch waits for a free miss buffer, so hinting whole rows only moves the
// misses into this call: in MLP and small-CNN fits (batch 32 of 784-float
// rows, 188 MB set, Zen 4, load 1.5–1.8, medians of 4–5 fits, prefetch on/off alternating in
// one process) whole rows made gatherRows slower (21 → 24 µs), while the first
// 4 lines of each row (its page walk and first DRAM access, after which the
// hardware prefetcher streams the rest) took it from 20–22 to 16–17 µs on one
// thread and from 14–16 to 11–13 µs on two; 1, 2 and 8 lines did no better.
constexpr int64_t kNextRowLines = 4;
}  // namespace

int64_t gather_rows(const float* src, int64_t src_rows, int64_t row_size,
                    const int32_t* index, int64_t count, float* dst,
                    const int32_t* next, int64_t next_count) {
  if (count <= 0) return -1;
  std::atomic<int64_t> first_bad{-1};
  const double row_bytes = 4.0 * double(row_size);
  const double bytes = double(count) * (row_bytes * (kRandomReadFactor + 1.0) + kRowLatencyBytes);
  parallel_ranges(count, 0.0, bytes, [&](int64_t lo, int64_t hi) {
    if (lo < hi) prefetch_row(src, src_rows, row_size, index, lo);
    for (int64_t i = lo; i < hi; ++i) {
      if (i + 1 < hi) prefetch_row(src, src_rows, row_size, index, i + 1);
      const int64_t row = __atomic_load_n(index + i, __ATOMIC_RELAXED);
      if (row < 0 || row >= src_rows) {
        // Keep the smallest bad position whichever range found it first.
        int64_t seen = first_bad.load(std::memory_order_relaxed);
        while ((seen < 0 || i < seen) &&
               !first_bad.compare_exchange_weak(seen, i, std::memory_order_relaxed)) {
        }
        continue;
      }
      std::memcpy(dst + i * row_size, src + row * row_size, sizeof(float) * size_t(row_size));
    }
    if (next_count > 0) {
      const int64_t from = lo * next_count / count, to = hi * next_count / count;
      for (int64_t i = from; i < to; ++i) prefetch_row(src, src_rows, row_size, next, i, kNextRowLines);
    }
  });
  return first_bad.load(std::memory_order_relaxed);
}

}  // namespace lw
