// gemm_avx512.cc — AVX-512 macro- and micro-kernel for lw::sgemm.
//
// Computes C(mc×nc) = alpha · Apacked(mc×kc) · Bpacked(kc×nc) + beta · C for
// one cache block handed over by the driver in gemm.cc (packed layouts are in
// gemm_internal.h). The micro-kernel keeps an MR×32 tile of C in 2·MR zmm
// accumulators: per k step it loads one 32-wide row of the B panel (two zmm)
// and broadcasts MR values of A, i.e. 2·MR FMAs for MR+2 loads. Column edges
// use AVX-512 write masks; row edges use a micro-kernel instantiated for the
// exact row count, so nothing is padded on the A side.
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

// One MR×(16·NV) tile: C = alpha·acc + beta·C over the columns selected by
// m0/m1. NV = 1 serves panels at most 16 wide (narrow C), so they do not pay
// for the zero padding of the packed B panel.
// InPlace: A is read from its own rows (row r at pa + r·lda) instead of a
// packed panel (pa + p·MR + r); the k loop is the same.
template <int MR, int NV, bool InPlace = false>
LW_INLINE_AVX512 void tile(int64_t kc, const float* __restrict pa,
                           const float* __restrict pb, float* c, int64_t ldc,
                           float alpha, float beta, __mmask16 m0,
                           __mmask16 m1, int64_t lda, const TileEpilogue& ep) {
  __m512 acc[NV][MR];
  for (int v = 0; v < NV; ++v)
    for (int r = 0; r < MR; ++r) acc[v][r] = _mm512_setzero_ps();
  // Start pulling the C tile in while the k loop runs; it is touched only at
  // the end, and otherwise each row would cost a full cache miss there.
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
  if constexpr (InPlace) {
    const float* __restrict rows[MR];
    for (int r = 0; r < MR; ++r) rows[r] = pa + r * lda;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      __m512 bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(pb + 16 * v);
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(rows[r][p]);
        for (int v = 0; v < NV; ++v) acc[v][r] = _mm512_fmadd_ps(av, bv[v], acc[v][r]);
      }
      pb += kNR;
    }
  } else {
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      __m512 bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(pb + 16 * v);
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(pa[r]);
        for (int v = 0; v < NV; ++v) acc[v][r] = _mm512_fmadd_ps(av, bv[v], acc[v][r]);
      }
      pa += MR;
      pb += kNR;
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < NV; ++v) {
      float* cr = c + r * ldc + 16 * v;
      const __mmask16 mk = v == 0 ? m0 : m1;
      __m512 x;
      if (beta == 0.0f)
        x = alpha == 1.0f ? acc[v][r] : _mm512_mul_ps(acc[v][r], va);
      else if (beta == 1.0f)
        x = _mm512_fmadd_ps(acc[v][r], va, _mm512_maskz_loadu_ps(mk, cr));
      else
        x = _mm512_fmadd_ps(acc[v][r], va, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, cr), vb));
      if (ep.bias != nullptr) x = epilogue(x, ep, v, mk);
      _mm512_mask_storeu_ps(cr, mk, x);
    }
  }
}

// Picks the tile instantiation for the actual row count of an edge panel.
template <int R, int NV, bool InPlace>
LW_INLINE_AVX512 void tile_rows(int mr, int64_t kc, const float* pa,
                                const float* pb, float* c, int64_t ldc,
                                float alpha, float beta, __mmask16 m0,
                                __mmask16 m1, int64_t lda, const TileEpilogue& ep) {
  if (mr == R) {
    tile<R, NV, InPlace>(kc, pa, pb, c, ldc, alpha, beta, m0, m1, lda, ep);
  } else if constexpr (R > 1) {
    tile_rows<R - 1, NV, InPlace>(mr, kc, pa, pb, c, ldc, alpha, beta, m0, m1, lda, ep);
  }
}

template <int MR, int NV, bool InPlace>
LW_INLINE_AVX512 void column_panel(const MacroArgs& g, int64_t jr,
                                   __mmask16 m0, __mmask16 m1) {
  const float* pb = g.pb + jr * g.kc;
  // Where the panel of rows ir.. starts: packed MR×kc panels, or A's own rows.
  const int64_t a_step = InPlace ? g.lda : g.kc;
  const TileEpilogue ep = {g.bias ? g.bias + jr : nullptr, g.act, g.act_alpha, g.non_finite};
  int64_t ir = 0;
  for (; ir + MR <= g.mc; ir += MR)
    tile<MR, NV, InPlace>(g.kc, g.pa + ir * a_step, pb, g.c + ir * g.ldc + jr, g.ldc,
                          g.alpha, g.beta, m0, m1, g.lda, ep);
  if (ir < g.mc)
    tile_rows<MR - 1, NV, InPlace>(static_cast<int>(g.mc - ir), g.kc, g.pa + ir * a_step,
                                   pb, g.c + ir * g.ldc + jr, g.ldc, g.alpha, g.beta,
                                   m0, m1, g.lda, ep);
}

template <int MR, bool InPlace = false>
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
      column_panel<MR, 2, InPlace>(g, jr, m0, m1);
    else
      column_panel<MR, 1, InPlace>(g, jr, m0, m1);
  }
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
                              "avx512 8x32", &macro<8, true>,
                              1u << static_cast<unsigned>(Activation::kLinear) |
                                  1u << static_cast<unsigned>(Activation::kRelu) |
                                  1u << static_cast<unsigned>(Activation::kLeakyRelu)};
  return &k;
}

#else

const KernelSet* kernels_avx512() { return nullptr; }

#endif

}  // namespace gemm_detail
}  // namespace lw
