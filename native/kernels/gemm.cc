// gemm.cc — lw::sgemm: C[m×n] = alpha · op(A) · op(B) + beta · C, fp32,
// row-major, any strides (see gemm.h for the exact contract).
//
// Structure (BLIS / tinyBLAS style):
//   * Matrix-vector-like products (C with ≤ 4 columns, or ≤ 4 rows when B is
//     not transposed) go through a direct loop with no packing
//     (gemm_direct_inl.h, compiled per ISA): packing would read the big
//     operand once more than the product does, and NR/MR padding would waste
//     most of the micro-kernel. Everything down to 4×4×4 is faster packed.
//   * Everything else is cache-blocked. For each NC-wide column block and
//     KC-deep slice, op(B) is packed into NR-wide column panels (one L1-sized
//     KC×NR panel per micro-kernel sweep); for each MC-tall row block op(A) is
//     packed into MR-tall row panels (the MC×KC block lives in L2). Packing
//     resolves trans_a / trans_b, so all four transpose cases run the same
//     micro-kernel. Edge tiles run micro-kernels instantiated for the exact
//     row count and masked (or stack-buffered) columns. Layouts:
//     gemm_internal.h.
//   * C at most one vector wide with B not transposed (a classifier's output
//     layer: forward X·W and its weight update Xᵀ·∂E/∂Y, 10 columns) skips
//     packing where the variant has a narrow kernel (AVX-512): packing B
//     would pad each 10-float row to a 32-wide panel, and neither operand is
//     reused enough to repay its copy. Same k slices and order, same bits.
//   * C = A·Bᵀ at most 16 deep (a dense layer's input gradient ∂E/∂Y·Wᵀ over
//     10 classes) takes an AVX-512 shallow kernel that reads Bᵀ in place, 16
//     rows of B transposed in registers, instead of packing all of Bᵀ for a
//     product of as many flops as the copy has stores. Same bits.
//   * The macro/micro-kernels are per instruction set — gemm_baseline.cc
//     (vector extensions, SSE2 on x86-64), gemm_avx2.cc (6×16 FMA) and
//     gemm_avx512.cc (8×32) — picked per call from lw::active_isa().
//     Packing stays in baseline code: it is shared by all of them and is not
//     where the time goes.
//   * Threads: a big product is cut into rectangular blocks of C (in whole
//     MR/NR units; a few per thread where that packs little more, see
//     choose_task_grid), and each block runs the sequential algorithm as a
//     task of lw::parallel_for with its thread's own packing buffers. Each element of C is computed by
//     one thread in the same k order whatever the thread count, so results do
//     not depend on it.
//   * Packing buffers are per thread, 64-byte aligned, grown once to the
//     block size of the variant in use and then reused. If that allocation
//     fails the block falls back to the direct loop, which needs no memory.
#include "gemm.h"

#include <cstdlib>

#include "cpu.h"
#include "gemm_internal.h"
#include "threadpool.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace lw {
namespace {

using gemm_detail::KernelSet;
using gemm_detail::MacroArgs;

using Operands = gemm_detail::DirectArgs;

inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// ------------------------------------------------------------------- packing

// dst[p*ldd + r] = src[r*lds + p] for r < rows, p < cols. This is packing for
// the "wrong" orientation: row-major A (rows of A → columns of a panel) and
// transposed B. 4×4 SSE transposes where available.
void pack_transposed(const float* src, int64_t lds, int rows, int64_t cols,
                     float* dst, int ldd) {
  int r = 0;
#if defined(__SSE2__)
  for (; r + 4 <= rows; r += 4) {
    const float* s0 = src + r * lds;
    const float* s1 = s0 + lds;
    const float* s2 = s1 + lds;
    const float* s3 = s2 + lds;
    int64_t p = 0;
    for (; p + 4 <= cols; p += 4) {
      __m128 x0 = _mm_loadu_ps(s0 + p), x1 = _mm_loadu_ps(s1 + p);
      __m128 x2 = _mm_loadu_ps(s2 + p), x3 = _mm_loadu_ps(s3 + p);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      float* d = dst + p * ldd + r;
      _mm_storeu_ps(d, x0);
      _mm_storeu_ps(d + ldd, x1);
      _mm_storeu_ps(d + 2 * ldd, x2);
      _mm_storeu_ps(d + 3 * ldd, x3);
    }
    for (; p < cols; ++p) {
      float* d = dst + p * ldd + r;
      d[0] = s0[p];
      d[1] = s1[p];
      d[2] = s2[p];
      d[3] = s3[p];
    }
  }
#endif
  for (; r < rows; ++r) {
    const float* s = src + r * lds;
    for (int64_t p = 0; p < cols; ++p) dst[p * ldd + r] = s[p];
  }
}

// dst[p*W + j] = src[p*lds + j], j < W: a full-width panel row by row. The
// width is a compile-time constant so each row becomes a few vector moves
// instead of a runtime-length loop or a memcpy call.
template <int W>
void pack_rows_fixed(const float* src, int64_t lds, int64_t rows, float* dst) {
  for (int64_t p = 0; p < rows; ++p) {
    const float* s = src + p * lds;
    float* d = dst + p * W;
    for (int j = 0; j < W; ++j) d[j] = s[j];
  }
}

// dst[p*ldd + j] = src[p*lds + j] for j < w, zero for w <= j < ldd.
void pack_rows(const float* src, int64_t lds, int w, int64_t rows, float* dst,
               int ldd) {
  if (w == ldd) {
    switch (w) {
      case 8: return pack_rows_fixed<8>(src, lds, rows, dst);
      case 16: return pack_rows_fixed<16>(src, lds, rows, dst);
      case 32: return pack_rows_fixed<32>(src, lds, rows, dst);
      default: break;
    }
  }
  for (int64_t p = 0; p < rows; ++p) {
    const float* s = src + p * lds;
    float* d = dst + p * ldd;
    int j = 0;
    for (; j < w; ++j) d[j] = s[j];
    for (; j < ldd; ++j) d[j] = 0.0f;
  }
}

// op(A)(i0..i0+mc, p0..p0+kc) → MR-row panels (last one mr rows, unpadded).
void pack_a(const Operands& o, int mr_full, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* dst) {
  for (int64_t ir = 0; ir < mc; ir += mr_full) {
    const int mr = static_cast<int>(min64(mr_full, mc - ir));
    float* d = dst + ir * kc;
    if (o.ta)  // stored k×m: the mr values for one p are contiguous
      pack_rows(o.a + p0 * o.lda + i0 + ir, o.lda, mr, kc, d, mr);
    else
      pack_transposed(o.a + (i0 + ir) * o.lda + p0, o.lda, mr, kc, d, mr);
  }
}

// op(B)(p0..p0+kc, j0..j0+nc) → NR-column panels, zero-padded to NR.
void pack_b(const Operands& o, int nr_full, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += nr_full) {
    const int nr = static_cast<int>(min64(nr_full, nc - jr));
    float* d = dst + jr * kc;
    if (!o.tb) {
      pack_rows(o.b + p0 * o.ldb + j0 + jr, o.ldb, nr, kc, d, nr_full);
    } else {  // stored n×k: column j of op(B) is row j of b
      pack_transposed(o.b + (j0 + jr) * o.ldb + p0, o.ldb, nr, kc, d, nr_full);
      if (nr < nr_full)
        for (int64_t p = 0; p < kc; ++p)
          for (int j = nr; j < nr_full; ++j) d[p * nr_full + j] = 0.0f;
    }
  }
}

// ----------------------------------------------------------- packing buffers

// One per thread; grown to the largest block size used and kept, so steady
// state allocates nothing. Freed when the thread ends.
struct PackBuffer {
  float* data = nullptr;
  size_t floats = 0;
  ~PackBuffer() { std::free(data); }
  float* get(size_t need) {
    if (need <= floats) return data;
    std::free(data);
    data = nullptr;
    floats = 0;
    void* p = nullptr;
    if (posix_memalign(&p, 64, need * sizeof(float)) != 0) return nullptr;
    data = static_cast<float*>(p);
    floats = need;
    return data;
  }
};
thread_local PackBuffer tl_pack;

// ------------------------------------------------------------ blocked path

// Splits `total` into the fewest blocks of at most `cap`, of nearly equal
// size rounded up to `unit`, so a 300-deep k becomes 152+148 instead of
// 256+44 (a thin last block runs the micro-kernel at poor efficiency).
int64_t balanced_block(int64_t total, int64_t cap, int64_t unit) {
  const int64_t blocks = ceil_div(total, cap);
  return min64(cap, ceil_div(ceil_div(total, blocks), unit) * unit);
}

// Column panels of C up to which the micro-kernel reads A in place instead
// of packing it: a row-major A (macro_a), or a transposed one (macro_at),
// whose MR values per k step lie side by side in a row of the stored k×m
// matrix. Packing copies each A block once to save the kernel strided reads
// on every further panel; with a handful of panels (a layer's forward
// product: the MLP's 784→128, a conv's 32 filters) the copy costs more than
// it saves: profiled at 9% of the MLP's predict. For a transposed A (the
// weight updates Xᵀ·∂E/∂Y) the copy was a 4×4 transpose of all of it: one
// thread, in place against packed, 784×128×32 68.6 → 66.6 µs, 72×32×21632
// 1393 → 1119 µs.
constexpr int64_t kInPlaceMaxPanels = 4;

bool reads_a_in_place(const KernelSet& ks, const Operands& o, int64_t nc) {
  // Rows 2 KB apart (or a multiple) share L1 sets: the eight row streams
  // (a transposed A's kc rows) would evict each other there, so such strides
  // keep packing.
  return (o.ta ? ks.macro_at : ks.macro_a) != nullptr && ceil_div(nc, ks.nr) <= kInPlaceMaxPanels &&
         o.lda % 512 != 0;
}

// The epilogue for rows [i0, i1) × columns [j0, j1) of C, after the product.
void epilogue_after(const Operands& o, const GemmEpilogue* ep, int64_t i0,
                    int64_t i1, int64_t j0, int64_t j1) {
  if (ep == nullptr || ep->bias == nullptr) return;
  for (int64_t i = i0; i < i1; ++i) {
    float* row = o.c + i * o.ldc + j0;
    if (ep->non_finite != nullptr) {
      // v − v is 0 for every finite v and NaN for NaN and ±Inf.
      bool bad = false;
      for (int64_t j = 0; j < j1 - j0; ++j) {
        const float v = row[j] + ep->bias[j0 + j];
        bad |= !(v - v == 0.0f);
      }
      if (bad) __atomic_store_n(ep->non_finite, 1, __ATOMIC_RELAXED);
    }
    bias_activation_serial(row, ep->bias + j0, 1, j1 - j0, ep->f, ep->alpha);
  }
}

bool epilogue_in_kernel(const KernelSet& ks, const GemmEpilogue* ep) {
  return ep != nullptr && ep->bias != nullptr &&
         (ks.epilogue_in_kernel >> static_cast<unsigned>(ep->f) & 1u) != 0;
}

// The k slice: KC (from L1, see with_cache_blocking), or the whole depth when
// all of op(B), packed, takes at most half of L2 (the MLP's 784×128: 401 KB).
// Every k slice after the first reads and writes C back, and stores tiles
// that are not final; one slice accumulates each tile in registers from
// start to end. Measured on Zen 4, one thread, 1000×128×784 with a bias and
// ReLU epilogue: 1932 → 1879 µs (median, both in one alternating run).
// Depends only on the whole product's n and k (never on the block, the row
// count or the thread split), so chunked and whole-batch products, and 1 and
// 2 threads, sum every element in the same order. Not for a transposed B:
// A·Bᵀ must sum exactly as (B·Aᵀ)ᵀ does (transposed_product), and n is the
// other operand's row count there.
int64_t depth_block(const KernelSet& ks, const Operands& o) {
  const int64_t packed_b_bytes = ceil_div(o.n, ks.nr) * ks.nr * o.k * int64_t(sizeof(float));
  if (!o.tb && o.k > ks.kc && packed_b_bytes <= cache_sizes().l2 / 2) return o.k;
  return balanced_block(o.k, ks.kc, 1);
}

// Whether the product takes the narrow kernel (KernelSet::narrow): C no
// wider than one vector, B's rows read where they are, and A read in place
// too (the same L1-set caveat as reads_a_in_place for A's rows).
bool reads_narrow(const KernelSet& ks, const Operands& o) {
  return ks.narrow != nullptr && !o.tb && o.n <= ks.narrow_max_n &&
         (o.ta || o.lda % 512 != 0);
}

// Rows [i0, i1) of a narrow product: no packing, so no buffer. The k slices
// are the blocked path's (depth_block), and each tile sums them in the same
// order, so the results are the blocked path's bits.
void narrow(const KernelSet& ks, const Operands& o, int64_t i0, int64_t i1,
            const GemmEpilogue* ep) {
  const int64_t kc_max = depth_block(ks, o);
  const bool in_kernel = epilogue_in_kernel(ks, ep);
  for (int64_t pc = 0; pc < o.k; pc += kc_max) {
    const int64_t kc = min64(kc_max, o.k - pc);
    const bool last = pc + kc == o.k;
    const float* a = o.ta ? o.a + pc * o.lda + i0 : o.a + i0 * o.lda + pc;
    MacroArgs g = {i1 - i0, o.n, kc, a, o.b + pc * o.ldb, o.c + i0 * o.ldc, o.ldc, o.alpha,
                   pc == 0 ? o.beta : 1.0f, o.lda};
    g.ldb = o.ldb;
    g.narrow_a_trans = o.ta;
    if (last && in_kernel) {
      g.bias = ep->bias;
      g.act = static_cast<int>(ep->f);
      g.act_alpha = ep->alpha;
      g.non_finite = ep->non_finite;
    }
    ks.narrow(g);
    if (last && !in_kernel) epilogue_after(o, ep, i0, i1, 0, o.n);
  }
}

void blocked(const KernelSet& ks, const Operands& o, int64_t i0, int64_t i1,
             int64_t j0, int64_t j1, const GemmEpilogue* ep) {
  if (reads_narrow(ks, o)) return narrow(ks, o, i0, i1, ep);
  const int64_t m = i1 - i0, n = j1 - j0;
  const int64_t kc_max = depth_block(ks, o);
  // A deeper slice takes as many fewer rows, so the packed A block keeps its L2 share.
  const int64_t mc_cap = kc_max > ks.kc ? ks.mc * ks.kc / kc_max / ks.mr * ks.mr : ks.mc;
  const int64_t mc_max = balanced_block(m, mc_cap < ks.mr ? ks.mr : mc_cap, ks.mr);
  const int64_t nc_max = balanced_block(n, ks.nc, ks.nr);
  // A block rounded to 16 floats so the B block after it stays 64-byte aligned.
  const size_t a_floats = static_cast<size_t>((mc_max * kc_max + 15) / 16 * 16);
  const size_t b_floats = static_cast<size_t>(ceil_div(nc_max, ks.nr) * ks.nr * kc_max);
  float* buf = tl_pack.get(a_floats + b_floats);
  if (buf == nullptr) {
    ks.direct(o, i0, i1, j0, j1);
    epilogue_after(o, ep, i0, i1, j0, j1);
    return;
  }
  const bool in_kernel = epilogue_in_kernel(ks, ep);
  float* pa = buf;
  float* pb = buf + a_floats;
  for (int64_t jc = j0; jc < j1; jc += nc_max) {
    const int64_t nc = min64(nc_max, j1 - jc);
    const bool a_in_place = reads_a_in_place(ks, o, nc);
    for (int64_t pc = 0; pc < o.k; pc += kc_max) {
      const int64_t kc = min64(kc_max, o.k - pc);
      pack_b(o, ks.nr, pc, kc, jc, nc, pb);
      // The first k slice applies the caller's beta; later ones accumulate.
      const float beta = pc == 0 ? o.beta : 1.0f;
      const bool last = pc + kc == o.k;
      for (int64_t ic = i0; ic < i1; ic += mc_max) {
        const int64_t mc = min64(mc_max, i1 - ic);
        MacroArgs g = {mc, nc, kc, pa, pb, o.c + ic * o.ldc + jc, o.ldc, o.alpha, beta};
        if (last && in_kernel) {
          g.bias = ep->bias + jc;
          g.act = static_cast<int>(ep->f);
          g.act_alpha = ep->alpha;
          g.non_finite = ep->non_finite;
        }
        if (a_in_place) {
          g.pa = o.ta ? o.a + pc * o.lda + ic : o.a + ic * o.lda + pc;
          g.lda = o.lda;
          (o.ta ? ks.macro_at : ks.macro_a)(g);
        } else {
          pack_a(o, ks.mr, ic, mc, pc, kc, pa);
          ks.macro(g);
        }
        // The block is still in L1/L2: its epilogue costs no trip to memory.
        if (last && !in_kernel) epilogue_after(o, ep, ic, ic + mc, jc, jc + nc);
      }
    }
  }
}

// Cache blocking from the cache sizes this machine reports (cpu.h), in the
// BLIS scheme (see the top of this file):
//   KC: L1d / 128 bytes, so that the KC×32 B micro-panel of the widest tile
//       (AVX-512's: 128 bytes per k step) fills L1d, reused from L1/L2 across
//       the MC/MR A micro-panels of a block; the narrower variants' panels
//       take a half or a quarter of L1d, leaving room for A and C.
//   MC: MR × ¾·(L2 / L1d) rows: the block of A holds three quarters as many
//       MR×KC micro-panels as L1d-sized pieces fit in L2, so it stays in L2
//       (3·MR/128 of it: 19% for AVX-512's 8-row tile) beside the B panels
//       streaming through and the C tiles.
//   NC: the packed KC×NC block of B takes 1/16 of L3 (shared by every core).
// On the 2-core Zen 4 (32 KB L1d, 1 MB L2, 32 MB L3) this gives KC 256, MC
// 192 (AVX-512, 8×32) and 144 (AVX2, 6×16), NC 2048: exactly the blocking
// that was measured fastest there by hand, so the formula keeps that speed
// and scales with the caches of other machines. (The SSE baseline, hand-set
// to MC 96, now gets 144 too.) Clamped so that a strange report cannot make
// blocks degenerate.
KernelSet with_cache_blocking(const KernelSet& ks) {
  const CacheSizes& caches = cache_sizes();
  KernelSet out = ks;
  const int64_t kc = caches.l1d / (32 * int64_t(sizeof(float)));
  out.kc = kc < 128 ? 128 : (kc > 1024 ? 1024 : kc / 16 * 16);
  const int64_t panels = caches.l2 * 3 / (4 * caches.l1d);
  out.mc = ks.mr * (panels < 4 ? 4 : (panels > 256 ? 256 : panels));
  const int64_t nc = caches.l3 / 16 / (out.kc * int64_t(sizeof(float)));
  out.nc = (nc < 8 * ks.nr ? 8 * ks.nr : (nc > 8192 ? 8192 : nc)) / ks.nr * ks.nr;
  return out;
}

const KernelSet& kernels_for(Isa isa) {
  static const KernelSet* const baseline = gemm_detail::kernels_baseline();
  static const KernelSet* const avx2 = gemm_detail::kernels_avx2();
  static const KernelSet* const avx512 = gemm_detail::kernels_avx512();
  static const KernelSet sets[3] = {
      with_cache_blocking(*baseline),
      with_cache_blocking(avx2 ? *avx2 : *baseline),
      with_cache_blocking(avx512 ? *avx512 : (avx2 ? *avx2 : *baseline)),
  };
  return sets[isa == Isa::kAvx512 ? 2 : (isa == Isa::kAvx2 ? 1 : 0)];
}

// Measured on Zen 4: the direct loop wins only for C with at most 4 columns,
// or at most 4 rows when B's rows are contiguous (a single row always); from
// 4×4×4 up, packing already pays. Whether a second thread pays is the cost
// model's call (threadpool.h), from the product's flops and the bytes of A,
// B and C.
constexpr int64_t kDirectMaxSide = 4;

struct ParallelJob {
  const KernelSet* ks;
  const Operands* o;
  int64_t tm, tn;      // grid of tasks over C
  int64_t um, un;      // MR / NR units along m and n
  const GemmEpilogue* ep;
};

void run_task(const ParallelJob& job, int64_t t) {
  const KernelSet& ks = *job.ks;
  const Operands& o = *job.o;
  const int64_t a = t / job.tn, b = t % job.tn;
  const int64_t i0 = min64(o.m, a * job.um / job.tm * ks.mr);
  const int64_t i1 = min64(o.m, (a + 1) * job.um / job.tm * ks.mr);
  const int64_t j0 = min64(o.n, b * job.un / job.tn * ks.nr);
  const int64_t j1 = min64(o.n, (b + 1) * job.un / job.tn * ks.nr);
  if (i0 < i1 && j0 < j1) blocked(ks, o, i0, i1, j0, j1, job.ep);
}

// C = A·Bᵀ with few rows and a wide B (a dense layer's data gradient dY·Wᵀ,
// the batch's rows against a [n×k] weight matrix): packing Bᵀ transposes the
// whole weight matrix on every call, which cost as much as the product (the
// npm-start CNN's 32×1568×128: 158 µs). Cᵀ = B·Aᵀ instead reads B in place
// (macro_a) and packs only the small A; then Cᵀ is transposed into C. Every
// element is the same products summed in the same k order, scaled the same
// way, so the result is bit-identical to the direct orientation (more than
// kDirectMaxSide rows, so that Cᵀ does not take the direct loop, whose order
// differs).
// Below a depth of 64 the transpose out costs more than the packing it saves
// (32×1352×10, the small CNN's: 11.4 → 14.2 µs).
constexpr int64_t kTransposedMaxRows = 128;
constexpr int64_t kTransposedMinDepth = 64;
thread_local PackBuffer tl_transposed;

bool transposed_product(const Operands& o) {
  float* ct = tl_transposed.get(static_cast<size_t>(o.n * o.m));
  if (ct == nullptr) return false;
  if (o.beta != 0.0f)
    for (int64_t i = 0; i < o.m; ++i)
      for (int64_t j = 0; j < o.n; ++j) ct[j * o.m + i] = o.c[i * o.ldc + j];
  sgemm(false, true, o.n, o.m, o.k, o.alpha, o.b, o.ldb, o.a, o.lda, o.beta, ct, o.m);
  pack_transposed(ct, o.m, static_cast<int>(o.n), o.m, o.c, static_cast<int>(o.ldc));
  return true;
}

// The grid of tasks tm×tn over C for a split product. Every task packs op(B)
// for its columns and, unless it reads A in place, op(A) for its rows, so a
// grid packs tm copies of B's n columns and tn copies of A's m rows; the grid
// that packs least is the baseline. More tasks than threads (up to
// `max_tasks`, from the cost model's ranges) are taken when they pack at most
// kExtraPackingShare of the product's work more: tasks are claimed
// dynamically, so a helper that joins late — woken from its futex, which takes
// 20–100 µs on this VM, longer than half of a batch-32 product — takes one
// small task and leaves the rest to the caller, where with one task per
// thread it took half the product and the caller waited for it (measured on
// the MLP's 32×128×784 and 784×128×32: the caller waited 50–70 µs after its
// own 40 µs, a stall that sent the pool into its back-off).
// One packed float costs about as much time as kFlopsPerPackedFloat flops
// (the small operands of training products, packed from L2). Products of
// more than kFinerSplitMaxFlops per thread keep one task per thread: a late
// join costs them little, and their operands, packed again from L3 or
// memory, cost more than that estimate.
constexpr double kFlopsPerPackedFloat = 25.0;
constexpr double kExtraPackingShare = 0.05;
constexpr double kFinerSplitMaxFlops = 50e6;

void choose_task_grid(const KernelSet& ks, const Operands& o, int64_t um,
                      int64_t un, int64_t threads, int64_t max_tasks,
                      int64_t* tm_out, int64_t* tn_out) {
  const double product_flops = 2.0 * double(o.m) * double(o.n) * double(o.k);
  const bool packs = !reads_narrow(ks, o);
  const auto packed_floats = [&](int64_t tm, int64_t tn) {
    if (!packs) return 0.0;
    const int64_t task_cols = ceil_div(un, tn) * ks.nr;
    // A transposed A read in place is charged as if packed: a task reads
    // the rows of op(A) it needs strided from X's rows, so a grid of tn column
    // ranges reads A tn times as a packing grid would copy it. (Weight
    // updates take column ranges all the same, see below.)
    const bool a_in_place = !o.ta && reads_a_in_place(ks, o, task_cols < o.n ? task_cols : o.n);
    return double(o.k) * (double(tm) * double(o.n) + (a_in_place ? 0.0 : double(tn) * double(o.m)));
  };
  const bool finer = product_flops / double(threads) <= kFinerSplitMaxFlops;
  const int64_t most_tasks = finer && max_tasks > threads ? max_tasks : threads;
  // Calls fn(tm, tn) for every grid of a multiple of `threads` tasks.
  const auto for_each_grid = [&](auto fn) {
    for (int64_t tasks = threads; tasks <= most_tasks; tasks += threads)
      for (int64_t tm = 1; tm <= tasks && tm <= um; ++tm)
        if (tasks % tm == 0 && tasks / tm <= un) fn(tm, tasks / tm);
  };
  // A weight update Xᵀ·∂E/∂Y with X read in place splits by W's columns, as
  // the forward product X·W does (X in place, each task packing its columns
  // of W): the caller takes the first columns and the helper the last in
  // both, so each core updates the weights it read and W does not cross
  // between the cores twice a step. Row ranges packed less but made the MLP
  // step pass 200 KB of W each way: two threads vs one, paired medians over
  // 85-91 rounds (bench, 00:03-00:08 UTC), MLP 1.20x -> 1.31x, npm-start CNN
  // 1.60x -> 1.74x; in spells with the cores far apart (probe_distance,
  // threadpool.cc) the MLP went from 0.71x to 1.02x.
  if (o.ta && packs && reads_a_in_place(ks, o, ks.nr) && un >= 2 * threads) {
    *tm_out = 1;
    *tn_out = un < most_tasks ? un : most_tasks;
    return;
  }
  double least = -1.0;
  for_each_grid([&](int64_t tm, int64_t tn) {
    const double cost = packed_floats(tm, tn);
    if (least < 0.0 || cost < least) least = cost;
  });
  const double allowed = least + kExtraPackingShare * product_flops / kFlopsPerPackedFloat;
  double chosen_cost = 0.0;
  *tm_out = *tn_out = 1;
  for_each_grid([&](int64_t tm, int64_t tn) {
    const double cost = packed_floats(tm, tn);
    if (cost > allowed) return;
    const int64_t tasks = tm * tn, chosen = *tm_out * *tn_out;
    if (chosen == 1 || tasks > chosen || (tasks == chosen && cost < chosen_cost)) {
      *tm_out = tm;
      *tn_out = tn;
      chosen_cost = cost;
    }
  });
}

// C = A·Bᵀ at most KernelSet::shallow_max_k deep (a dense layer's input
// gradient ∂E/∂Y·Wᵀ over 10 classes) takes the shallow kernel, which reads W
// in place. Same k order from zero as the packed path's one k slice, and
// the same finish: the same bits.
bool reads_shallow(const KernelSet& ks, const Operands& o, const GemmEpilogue* ep) {
  return ks.shallow != nullptr && ep == nullptr && !o.ta && o.tb && o.k <= ks.shallow_max_k;
}

struct ShallowJob {
  const KernelSet* ks;
  const Operands* o;
  int64_t tm, tn;  // grid of tasks: row ranges × ranges of 16-column blocks
};

void shallow_task(const ShallowJob& job, int64_t t) {
  const Operands& o = *job.o;
  int64_t i0, i1, j0, j1;
  range_bounds(o.m, job.tm, t / job.tn, 1, &i0, &i1);
  range_bounds(o.n, job.tn, t % job.tn, 16, &j0, &j1);
  if (i0 >= i1 || j0 >= j1) return;
  MacroArgs g = {i1 - i0, j1 - j0, o.k, o.a + i0 * o.lda, o.b + j0 * o.ldb, o.c + i0 * o.ldc + j0,
                 o.ldc, o.alpha, o.beta, o.lda};
  g.ldb = o.ldb;
  job.ks->shallow(g);
}

// The split goes by rows first, one row range per thread: these rows are
// samples, written by the layer before's split (the pool's caller takes the
// first images, its helper the last, threadpool.cc) and read next by the
// backward pass of that layer, split the same way, so each core keeps its
// own samples' rows of ∂E/∂X in its cache. A split by columns made each core
// read the other's half of ∂E/∂X in the max-pool backward that follows
// (the small CNN, two threads: 37 → 28 µs there). Each row range is then
// cut into column ranges, so that a helper that joins late takes a share.
void shallow(const KernelSet& ks, const Operands& o, double flops, double bytes) {
  const int64_t col_blocks = ceil_div(o.n, 16);
  int64_t threads = threads_for(flops, bytes);
  if (threads > o.m) threads = o.m;
  const int64_t tasks = threads > 1 ? ranges_for(o.m * col_blocks, flops, bytes) : 1;
  if (tasks <= 1) {
    const ShallowJob job = {&ks, &o, 1, 1};
    return shallow_task(job, 0);
  }
  const int64_t tn = tasks / threads < col_blocks ? tasks / threads : col_blocks;
  const ShallowJob job = {&ks, &o, threads, tn < 1 ? 1 : tn};
  const ShallowJob* jp = &job;
  parallel_for(job.tm * job.tn, [jp](int64_t t) { shallow_task(*jp, t); }, flops, bytes);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
        GemmEpilogue{nullptr, Activation::kLinear, 0.0f});
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc,
           const GemmEpilogue& epilogue) {
  if (m <= 0 || n <= 0) return;
  const GemmEpilogue* ep = epilogue.bias != nullptr ? &epilogue : nullptr;
  if (k <= 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < m; ++i) {
      float* cr = c + i * ldc;
      if (beta == 0.0f) {
        for (int64_t j = 0; j < n; ++j) cr[j] = 0.0f;
      } else if (beta != 1.0f) {
        for (int64_t j = 0; j < n; ++j) cr[j] *= beta;
      }
    }
    epilogue_after(Operands{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}, ep, 0, m, 0, n);
    return;
  }
  const Operands o = {trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  // A single row of A (or of op(A)ᵀ·…) is a matrix-vector product: packing B
  // would touch every element of B once more than the product itself does.
  const KernelSet& ks = kernels_for(active_isa());
  if (n <= kDirectMaxSide || (m <= kDirectMaxSide && (!trans_b || m == 1))) {
    ks.direct(o, 0, m, 0, n);
    epilogue_after(o, ep, 0, m, 0, n);
    return;
  }
  const double bytes = 4.0 * (static_cast<double>(m) * k + static_cast<double>(k) * n +
                              static_cast<double>(m) * n);
  if (reads_shallow(ks, o, ep)) return shallow(ks, o, flops, bytes);
  if (ep == nullptr && !trans_a && trans_b && ks.macro_a != nullptr && m > kDirectMaxSide &&
      m <= kTransposedMaxRows && k >= kTransposedMinDepth && n >= 4 * m && transposed_product(o))
    return;
  const int64_t um = ceil_div(m, ks.mr), un = ceil_div(n, ks.nr);
  int64_t threads = threads_for(flops, bytes);
  if (threads > um * un) threads = um * un;
  if (threads <= 1) {
    blocked(ks, o, 0, m, 0, n, ep);
    return;
  }
  int64_t tm = 1, tn = 1;
  choose_task_grid(ks, o, um, un, threads, ranges_for(um * un, flops, bytes), &tm, &tn);
  if (tm * tn <= 1) {
    blocked(ks, o, 0, m, 0, n, ep);
    return;
  }
  const ParallelJob job = {&ks, &o, tm, tn, um, un, ep};
  const ParallelJob* jp = &job;
  // Captures one pointer so std::function keeps it inline (no allocation).
  parallel_for(tm * tn, [jp](int64_t t) { run_task(*jp, t); }, flops, bytes);
}

}  // namespace lw
