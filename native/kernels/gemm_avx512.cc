// gemm_avx512.cc — AVX-512 macro- and micro-kernel for lw::sgemm.
//
// Computes C(mc×nc) = alpha · Apacked(mc×kc) · Bpacked(kc×nc) + beta · C for
// one cache block handed over by the driver in gemm.cc (packed layouts are in
// gemm_internal.h). The micro-kernel keeps an MR×32 tile of C in 2·MR zmm
// accumulators: per k step it loads one 32-wide row of the B panel (two zmm)
// and broadcasts MR values of A, i.e. 2·MR FMAs for MR+2 loads. Column edges
// use AVX-512 write masks; row edges use a micro-kernel instantiated for the
// exact row count, so nothing is padded on the A side. The same macro-kernel
// also reads A unpacked: A's own rows (macro_a) or the rows of a stored
// transposed A (macro_at), see ASource.
//
// Zen 4 splits each 512-bit FMA into two 256-bit halves, so peak equals
// AVX2's; the gain is half as many instructions and twice the registers,
// which allows taller tiles (less B traffic per flop) than AVX2's 6×16.
//
// Everything here is compiled with a function-level target attribute (the
// file itself is built for baseline x86-64) and has internal linkage, so no
// AVX-512 code can be picked by the linker for a baseline caller. No STL or
// other header-defined inline function is called from inside these functions.
#include "elementwise.h"
#include "gemm_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LW_GEMM_AVX512 1
#endif

namespace lw {
namespace gemm_detail {

#ifdef LW_GEMM_AVX512

#define LW_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_INLINE_AVX512 LW_TARGET_AVX512 __attribute__((always_inline)) inline

namespace {

constexpr int kNR = 32;
// Rows of a narrow tile (macro_narrow).
constexpr int kNarrowMR = 8;

// The epilogue of a tile (MacroArgs::bias): act(x + bias) on a stored row.
struct TileEpilogue {
  const float* bias;  // the tile's first column, or nullptr
  int act;
  float alpha;
  int* non_finite;    // MacroArgs::non_finite
};

// x + bias, then ReLU (x < 0 → 0, so NaN stays NaN) or leaky ReLU (x > 0 ? x
// : alpha·x): the comparisons and products of bias_activation_serial.
LW_INLINE_AVX512 __m512 epilogue(__m512 x, const TileEpilogue& ep, int v,
                                 __mmask16 mk) {
  x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, ep.bias + 16 * v));
  const __m512 zero = _mm512_setzero_ps();
  // x − x is NaN exactly where x is NaN or ±Inf.
  if (ep.non_finite != nullptr &&
      _mm512_mask_cmp_ps_mask(mk, _mm512_sub_ps(x, x), zero, _CMP_NEQ_UQ) != 0)
    __atomic_store_n(ep.non_finite, 1, __ATOMIC_RELAXED);
  if (ep.act == static_cast<int>(Activation::kRelu))
    return _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), zero);
  if (ep.act == static_cast<int>(Activation::kLeakyRelu))
    return _mm512_mask_mov_ps(_mm512_mul_ps(_mm512_set1_ps(ep.alpha), x),
                              _mm512_cmp_ps_mask(x, zero, _CMP_GT_OQ), x);
  return x;
}

// One vector of a finished tile row: alpha·acc + beta·C (C read through the
// column mask only when beta is not 0), then the tile's epilogue; the value
// to store at cr. Shared by tile() and transposed_tile(), so both round alike.
LW_INLINE_AVX512 __m512 finish(__m512 acc, const float* cr, __mmask16 mk, float alpha,
                               float beta, __m512 va, __m512 vb, const TileEpilogue& ep,
                               int v) {
  __m512 x;
  if (beta == 0.0f)
    x = alpha == 1.0f ? acc : _mm512_mul_ps(acc, va);
  else if (beta == 1.0f)
    x = _mm512_fmadd_ps(acc, va, _mm512_maskz_loadu_ps(mk, cr));
  else
    x = _mm512_fmadd_ps(acc, va, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, cr), vb));
  return ep.bias != nullptr ? epilogue(x, ep, v, mk) : x;
}

// Where a tile's operands come from. A: packed MR-row panels (pa + p·MR +
// r), A's own rows (row r at pa + r·lda: macro_a), or a stored k×m A read in
// place (op(A)(r, p) at pa[p·lda + r]: the narrow products' trans_a). B:
// packed 32-wide panels (pb + p·32), or B's own rows (row p at pb + p·ldb,
// read through the column mask so nothing past the row is touched: narrow).
enum class ASource { kPacked, kRows, kColumns };
enum class BSource { kPacked, kRows };

// One MR×(16·NV) tile: C = alpha·acc + beta·C over the columns selected by
// m0/m1, acc summed over p = 0..kc-1 in order whatever the operands' source.
// NV = 1 serves panels at most 16 wide (narrow C), so they do not pay for
// the zero padding of a packed B panel. lda / ldb: see ASource / BSource.
// B read in place is loaded a whole vector at a time for its first
// kc_in_place rows (the lanes past the row, from the rows after it, are
// zeroed in the register) and from b_tail (16 floats a row) for the rest,
// where a whole vector would reach past the end of B. A masked load instead
// made GCC 12 keep the accumulators in memory, storing all of them every
// k step: twice as slow.
template <int MR, int NV, ASource AS = ASource::kPacked, BSource BS = BSource::kPacked>
LW_INLINE_AVX512 void tile(int64_t kc, const float* __restrict pa,
                           const float* __restrict pb, float* c, int64_t ldc,
                           float alpha, float beta, __mmask16 m0,
                           __mmask16 m1, int64_t lda, int64_t ldb,
                           const TileEpilogue& ep, const float* b_tail = nullptr,
                           int64_t kc_in_place = 0) {
  static_assert(BS == BSource::kPacked || NV == 1, "B read in place is one vector wide");
  __m512 acc[NV][MR];
  for (int v = 0; v < NV; ++v)
    for (int r = 0; r < MR; ++r) acc[v][r] = _mm512_setzero_ps();
  // Start pulling the C tile in while the k loop runs; it is touched only at
  // the end, and otherwise each row would cost a full cache miss there.
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
  const float* __restrict rows[AS == ASource::kRows ? MR : 1];
  if constexpr (AS == ASource::kRows)
    for (int r = 0; r < MR; ++r) rows[r] = pa + r * lda;
  constexpr int phases = BS == BSource::kPacked ? 1 : 2;
  int64_t p = 0;
  for (int phase = 0; phase < phases; ++phase) {
    const int64_t end = BS == BSource::kPacked || phase == 1 ? kc : kc_in_place;
    const int64_t b_step = BS == BSource::kPacked ? kNR : (phase == 0 ? ldb : 16);
    if (phase == 1) pb = b_tail;
#pragma GCC unroll 4
    for (; p < end; ++p) {
      __m512 bv[NV];
      if constexpr (BS == BSource::kPacked) {
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(pb + 16 * v);
      } else {
        bv[0] = _mm512_maskz_mov_ps(m0, _mm512_loadu_ps(pb));
      }
      for (int r = 0; r < MR; ++r) {
        __m512 av;
        if constexpr (AS == ASource::kRows)
          av = _mm512_set1_ps(rows[r][p]);
        else
          av = _mm512_set1_ps(pa[r]);
        for (int v = 0; v < NV; ++v) acc[v][r] = _mm512_fmadd_ps(av, bv[v], acc[v][r]);
      }
      if constexpr (AS == ASource::kPacked) pa += MR;
      if constexpr (AS == ASource::kColumns) pa += lda;
      pb += b_step;
    }
  }
  // A one-vector tile reads every row of C before it stores any: rows
  // narrower than a vector lie within 64 bytes of each other, and a load
  // behind a masked store to the same 64 bytes waits for that store (the
  // 1352×10 weight update: 21 → 15 µs). Two-vector tiles keep load, store,
  // load, store… (measured: storing all at the end made the 32×1352×10
  // product 13.6 → 15.6 µs).
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < NV; ++v) {
      float* cr = c + r * ldc + 16 * v;
      const __mmask16 mk = v == 0 ? m0 : m1;
      const __m512 x = finish(acc[v][r], cr, mk, alpha, beta, va, vb, ep, v);
      if constexpr (NV == 1)
        acc[v][r] = x;
      else
        _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mk, x);
    }
  }
  if constexpr (NV == 1)
    for (int r = 0; r < MR; ++r) _mm512_mask_storeu_ps(c + r * ldc, m0, acc[0][r]);
}

// Picks the tile instantiation for the actual row count of an edge panel.
template <int R, int NV, ASource AS, BSource BS = BSource::kPacked>
LW_INLINE_AVX512 void tile_rows(int mr, int64_t kc, const float* pa,
                                const float* pb, float* c, int64_t ldc,
                                float alpha, float beta, __mmask16 m0,
                                __mmask16 m1, int64_t lda, int64_t ldb,
                                const TileEpilogue& ep, const float* b_tail = nullptr,
                                int64_t kc_in_place = 0) {
  if (mr == R) {
    tile<R, NV, AS, BS>(kc, pa, pb, c, ldc, alpha, beta, m0, m1, lda, ldb, ep, b_tail,
                        kc_in_place);
  } else if constexpr (R > 1) {
    tile_rows<R - 1, NV, AS, BS>(mr, kc, pa, pb, c, ldc, alpha, beta, m0, m1, lda, ldb, ep,
                                 b_tail, kc_in_place);
  }
}

template <int MR, int NV, ASource AS>
LW_INLINE_AVX512 void column_panel(const MacroArgs& g, int64_t jr,
                                   __mmask16 m0, __mmask16 m1) {
  const float* pb = g.pb + jr * g.kc;
  // Where the panel of rows ir.. starts: packed MR×kc panels, A's own rows,
  // or the columns of a stored k×m A.
  const int64_t a_step = AS == ASource::kRows ? g.lda : (AS == ASource::kColumns ? 1 : g.kc);
  const TileEpilogue ep = {g.bias ? g.bias + jr : nullptr, g.act, g.act_alpha, g.non_finite};
  int64_t ir = 0;
  for (; ir + MR <= g.mc; ir += MR)
    tile<MR, NV, AS>(g.kc, g.pa + ir * a_step, pb, g.c + ir * g.ldc + jr, g.ldc,
                     g.alpha, g.beta, m0, m1, g.lda, 0, ep);
  if (ir < g.mc)
    tile_rows<MR - 1, NV, AS>(static_cast<int>(g.mc - ir), g.kc, g.pa + ir * a_step,
                              pb, g.c + ir * g.ldc + jr, g.ldc, g.alpha, g.beta,
                              m0, m1, g.lda, 0, ep);
}

template <int MR, ASource AS = ASource::kPacked>
LW_TARGET_AVX512 void macro(const MacroArgs& g) {
  // jr outside ir: one KC×32 B panel stays in L1 while the MR-row panels of
  // the A block (sized for L2) stream past it.
  for (int64_t jr = 0; jr < g.nc; jr += kNR) {
    const int64_t nr = g.nc - jr < kNR ? g.nc - jr : kNR;
    const __mmask16 m0 = nr >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nr) - 1u);
    const __mmask16 m1 = nr <= 16 ? 0
                       : nr >= 32 ? 0xFFFF
                                  : static_cast<__mmask16>((1u << (nr - 16)) - 1u);
    if (nr > 16)
      column_panel<MR, 2, AS>(g, jr, m0, m1);
    else
      column_panel<MR, 1, AS>(g, jr, m0, m1);
  }
}

// Transposes a 16×16 block held as 16 rows of 16 lanes (unpack pairs of
// rows, then pairs of pairs, then 128-bit quarters twice). The zero-masking
// forms with every lane selected are the plain instructions; the unmasked
// intrinsics start from _mm512_undefined_ps, which GCC 12 reports as
// possibly uninitialised at every use.
LW_INLINE_AVX512 void transpose16(__m512 (&r)[16]) {
  constexpr __mmask16 all = 0xFFFF;
  constexpr __mmask8 all_pd = 0xFF;
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_ps(all, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_ps(all, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all_pd, _mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all_pd, _mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all_pd, _mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all_pd, _mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_maskz_shuffle_f32x4(all, r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_maskz_shuffle_f32x4(all, r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_maskz_shuffle_f32x4(all, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_maskz_shuffle_f32x4(all, t[i], t[i + 8], 0xdd);
  }
}

// 16 rows × NJ columns of a narrow product with A stored k×m (a weight
// update Xᵀ·∂E/∂Y): computed transposed, NJ accumulators of 16 rows each, so
// that every lane does work (the row tiles fill NJ of 16 lanes: 10 for a
// 10-class layer) and op(A) is read as whole vectors of X's rows. Each
// element is still summed over p in order from zero, then stored as tile()
// stores it: the same bits. 1352×10×32: 15.0 → 10.9 µs on one thread.
template <int NJ>
LW_INLINE_AVX512 void transposed_tile(int64_t kc, const float* __restrict pa,
                                      int64_t lda, const float* __restrict pb,
                                      int64_t ldb, float* c, int64_t ldc, float alpha,
                                      float beta, __mmask16 mk, const TileEpilogue& ep) {
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int i = 0; i < 16; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 av = _mm512_loadu_ps(pa + p * lda);
    const float* bp = pb + p * ldb;
    for (int j = 0; j < NJ; ++j) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(bp[j]), av, acc[j]);
  }
  transpose16(acc);
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  for (int i = 0; i < 16; ++i) {
    float* cr = c + i * ldc;
    acc[i] = finish(acc[i], cr, mk, alpha, beta, va, vb, ep, 0);
  }
  for (int i = 0; i < 16; ++i) _mm512_mask_storeu_ps(c + i * ldc, mk, acc[i]);
}

// transposed_tile for the actual width of C (NJ from 16 down).
template <int NJ>
LW_INLINE_AVX512 void transposed_tile_cols(int nc, int64_t kc, const float* pa, int64_t lda,
                                           const float* pb, int64_t ldb, float* c,
                                           int64_t ldc, float alpha, float beta,
                                           __mmask16 mk, const TileEpilogue& ep) {
  if (nc == NJ) {
    transposed_tile<NJ>(kc, pa, lda, pb, ldb, c, ldc, alpha, beta, mk, ep);
  } else if constexpr (NJ > 1) {
    transposed_tile_cols<NJ - 1>(nc, kc, pa, lda, pb, ldb, c, ldc, alpha, beta, mk, ep);
  }
}

// The narrow product (MacroArgs::narrow_a_trans): C at most 16 wide, A and B
// both read where they are, one vector of a B row per k step.
template <int MR, ASource AS>
LW_INLINE_AVX512 void narrow_rows(const MacroArgs& g) {
  const __mmask16 mk = static_cast<__mmask16>((1u << g.nc) - 1u);
  // The last rows of B, where a whole vector would read past B's end, copied
  // and zero-padded to 16 floats (see tile).
  const int64_t tail_rows = g.kc < (16 + g.ldb - 1) / g.ldb ? g.kc : (16 + g.ldb - 1) / g.ldb;
  const int64_t kc_in_place = g.kc - tail_rows;
  alignas(64) float b_tail[16 * 16];
  for (int64_t t = 0; t < tail_rows; ++t)
    _mm512_store_ps(b_tail + 16 * t, _mm512_maskz_loadu_ps(mk, g.pb + (kc_in_place + t) * g.ldb));
  // op(A)'s next MR rows: MR rows further down A, or MR columns further right.
  const int64_t a_step = AS == ASource::kRows ? MR * g.lda : MR;
  const TileEpilogue ep = {g.bias, g.act, g.act_alpha, g.non_finite};
  const float* pa = g.pa;
  int64_t ir = 0;
  if constexpr (AS == ASource::kColumns)
    for (; ir + 16 <= g.mc; ir += 16, pa += 16)
      transposed_tile_cols<16>(static_cast<int>(g.nc), g.kc, pa, g.lda, g.pb, g.ldb,
                               g.c + ir * g.ldc, g.ldc, g.alpha, g.beta, mk, ep);
  for (; ir + MR <= g.mc; ir += MR, pa += a_step)
    tile<MR, 1, AS, BSource::kRows>(g.kc, pa, g.pb, g.c + ir * g.ldc, g.ldc, g.alpha,
                                    g.beta, mk, 0, g.lda, g.ldb, ep, b_tail, kc_in_place);
  if (ir < g.mc)
    tile_rows<MR - 1, 1, AS, BSource::kRows>(static_cast<int>(g.mc - ir), g.kc, pa, g.pb,
                                             g.c + ir * g.ldc, g.ldc, g.alpha, g.beta, mk,
                                             0, g.lda, g.ldb, ep, b_tail, kc_in_place);
}

template <int MR>
LW_TARGET_AVX512 void macro_narrow(const MacroArgs& g) {
  if (g.narrow_a_trans)
    narrow_rows<MR, ASource::kColumns>(g);
  else
    narrow_rows<MR, ASource::kRows>(g);
}

// R rows of a shallow product against one block of 16 columns whose B rows
// bt holds transposed (bt[p]: B(j0..j0+15, p)). Each element is summed over
// p in order from zero and finished as tile() finishes it, so the result is
// the packed path's bits (its one k slice, from zero, in the same order).
template <int K, int R>
LW_INLINE_AVX512 void shallow_rows(const float* __restrict a, int64_t lda, const __m512 (&bt)[16],
                                   float* c, int64_t ldc, float alpha, float beta, __m512 va,
                                   __m512 vb, __mmask16 mk) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int p = 0; p < K; ++p)
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + p]), bt[p], acc[r]);
  const TileEpilogue none = {nullptr, 0, 0.0f, nullptr};
  for (int r = 0; r < R; ++r)
    _mm512_mask_storeu_ps(c + r * ldc, mk, finish(acc[r], c + r * ldc, mk, alpha, beta, va, vb, none, 0));
}

// C = alpha·A·Bᵀ + beta·C for a depth K ≤ 16 (KernelSet::shallow). Every 16
// rows of B are loaded as they lie (K floats each) and transposed in
// registers, then serve all rows of A: the packed path copied Bᵀ into
// 32-wide panels first, as many stores as the product has FMAs.
// 32×1352×10 (the small CNN's ∂E/∂Y·Wᵀ), one thread: 14.7 → 8.9 µs.
template <int K>
LW_TARGET_AVX512 void shallow_k(const MacroArgs& g) {
  const __mmask16 kmask = static_cast<__mmask16>((1u << K) - 1u);
  const __m512 va = _mm512_set1_ps(g.alpha);
  const __m512 vb = _mm512_set1_ps(g.beta);
  for (int64_t j0 = 0; j0 < g.nc; j0 += 16) {
    const int cols = g.nc - j0 < 16 ? static_cast<int>(g.nc - j0) : 16;
    __m512 bt[16];
    for (int j = 0; j < 16; ++j)
      bt[j] = j < cols ? _mm512_maskz_loadu_ps(kmask, g.pb + (j0 + j) * g.ldb) : _mm512_setzero_ps();
    transpose16(bt);
    const __mmask16 mk = static_cast<__mmask16>(cols == 16 ? 0xFFFFu : (1u << cols) - 1u);
    float* c = g.c + j0;
    int64_t i = 0;
    for (; i + 4 <= g.mc; i += 4)
      shallow_rows<K, 4>(g.pa + i * g.lda, g.lda, bt, c + i * g.ldc, g.ldc, g.alpha, g.beta, va, vb, mk);
    for (; i < g.mc; ++i)
      shallow_rows<K, 1>(g.pa + i * g.lda, g.lda, bt, c + i * g.ldc, g.ldc, g.alpha, g.beta, va, vb, mk);
  }
}

LW_TARGET_AVX512 void macro_shallow(const MacroArgs& g) {
  using Kernel = void (*)(const MacroArgs&);
  static constexpr Kernel by_depth[17] = {
      nullptr,        &shallow_k<1>,  &shallow_k<2>,  &shallow_k<3>,  &shallow_k<4>,  &shallow_k<5>,
      &shallow_k<6>,  &shallow_k<7>,  &shallow_k<8>,  &shallow_k<9>,  &shallow_k<10>, &shallow_k<11>,
      &shallow_k<12>, &shallow_k<13>, &shallow_k<14>, &shallow_k<15>, &shallow_k<16>};
  by_depth[g.kc](g);
}

#define LW_DIRECT_ATTR LW_TARGET_AVX512
#include "gemm_direct_inl.h"
#undef LW_DIRECT_ATTR

}  // namespace

#undef LW_INLINE_AVX512
#undef LW_TARGET_AVX512

const KernelSet* kernels_avx512() {
  // 8×32 measured fastest here (6×32: fewer FMAs in flight per B load; 12×32
  // and 14×32: A panels and C tiles grow without gaining throughput). The
  // cache blocking (MC, KC, NC) comes from the cache sizes (gemm.cc).
  static const KernelSet k = {8, kNR, 0, 0, 0, &macro<8>, &direct_kernel,
                              "avx512 8x32", &macro<8, ASource::kRows>,
                              1u << static_cast<unsigned>(Activation::kLinear) |
                                  1u << static_cast<unsigned>(Activation::kRelu) |
                                  1u << static_cast<unsigned>(Activation::kLeakyRelu),
                              &macro_narrow<kNarrowMR>, 16, &macro_shallow, 16,
                              &macro<8, ASource::kColumns>};
  return &k;
}

#else

const KernelSet* kernels_avx512() { return nullptr; }

#endif

}  // namespace gemm_detail
}  // namespace lw
