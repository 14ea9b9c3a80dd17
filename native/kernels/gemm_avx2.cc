// gemm_avx2.cc — AVX2+FMA macro- and micro-kernel for lw::sgemm.
//
// Computes C(mc×nc) = alpha · Apacked(mc×kc) · Bpacked(kc×nc) + beta · C for
// one cache block handed over by the driver in gemm.cc (packed layouts are in
// gemm_internal.h). The micro-kernel is the classic 6×16: twelve ymm
// accumulators, per k step two B loads and six A broadcasts feeding twelve
// FMAs, which leaves 2 of the 16 ymm registers for B and 1 for the broadcast.
// Row edges use a micro-kernel instantiated for the exact row count; a column
// edge (nc not a multiple of 16) is computed into a small stack tile and then
// merged, since AVX2 has no cheap per-lane write mask for that case.
//
// Compiled with a function-level target attribute (the file is built for
// baseline x86-64) and kept to internal linkage, so the linker can never hand
// this code to a baseline caller. No STL or header inline function is used
// inside the target functions.
#include "gemm_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LW_GEMM_AVX2 1
#endif

namespace lw {
namespace gemm_detail {

#ifdef LW_GEMM_AVX2

#define LW_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define LW_INLINE_AVX2 LW_TARGET_AVX2 __attribute__((always_inline)) inline

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

template <int MR>
LW_INLINE_AVX2 void tile(int64_t kc, const float* __restrict pa,
                         const float* __restrict pb, float* c, int64_t ldc,
                         float alpha, float beta) {
  __m256 acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) {
    acc0[r] = _mm256_setzero_ps();
    acc1[r] = _mm256_setzero_ps();
  }
  for (int r = 0; r < MR; ++r)
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(pb);
    const __m256 b1 = _mm256_loadu_ps(pb + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(pa + r);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
    pa += MR;
    pb += kNR;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
    for (int r = 0; r < MR; ++r) {
      _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(acc0[r], va));
      _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(acc1[r], va));
    }
  } else if (beta == 1.0f) {
    for (int r = 0; r < MR; ++r) {
      float* cr = c + r * ldc;
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(acc0[r], va, _mm256_loadu_ps(cr)));
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(acc1[r], va, _mm256_loadu_ps(cr + 8)));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
    for (int r = 0; r < MR; ++r) {
      float* cr = c + r * ldc;
      const __m256 c0 = _mm256_mul_ps(_mm256_loadu_ps(cr), vb);
      const __m256 c1 = _mm256_mul_ps(_mm256_loadu_ps(cr + 8), vb);
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(acc0[r], va, c0));
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(acc1[r], va, c1));
    }
  }
}

// Column edge: full 16-wide tile into a stack buffer (the packed B panel is
// zero-padded, so the extra lanes are harmless), then merge the nr live ones.
template <int MR>
LW_INLINE_AVX2 void tile_edge(int nr, int64_t kc, const float* pa,
                              const float* pb, float* c, int64_t ldc,
                              float alpha, float beta) {
  alignas(32) float t[MR * kNR];
  tile<MR>(kc, pa, pb, t, kNR, 1.0f, 0.0f);
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) cr[j] = alpha * t[r * kNR + j];
    } else {
      for (int j = 0; j < nr; ++j) cr[j] = alpha * t[r * kNR + j] + beta * cr[j];
    }
  }
}

template <int R>
LW_INLINE_AVX2 void tile_any(int mr, int nr, int64_t kc, const float* pa,
                             const float* pb, float* c, int64_t ldc,
                             float alpha, float beta) {
  if (mr == R) {
    if (nr == kNR)
      tile<R>(kc, pa, pb, c, ldc, alpha, beta);
    else
      tile_edge<R>(nr, kc, pa, pb, c, ldc, alpha, beta);
  } else if constexpr (R > 1) {
    tile_any<R - 1>(mr, nr, kc, pa, pb, c, ldc, alpha, beta);
  }
}

LW_TARGET_AVX2 void macro(const MacroArgs& g) {
  // jr outside ir: a KC×16 B panel stays in L1 while the A panels stream.
  for (int64_t jr = 0; jr < g.nc; jr += kNR) {
    const int nr = static_cast<int>(g.nc - jr < kNR ? g.nc - jr : kNR);
    const float* pb = g.pb + jr * g.kc;
    int64_t ir = 0;
    if (nr == kNR) {
      for (; ir + kMR <= g.mc; ir += kMR)
        tile<kMR>(g.kc, g.pa + ir * g.kc, pb, g.c + ir * g.ldc + jr, g.ldc,
                  g.alpha, g.beta);
    }
    for (; ir < g.mc; ir += kMR) {
      const int mr = static_cast<int>(g.mc - ir < kMR ? g.mc - ir : kMR);
      tile_any<kMR>(mr, nr, g.kc, g.pa + ir * g.kc, pb, g.c + ir * g.ldc + jr,
                    g.ldc, g.alpha, g.beta);
    }
  }
}

#define LW_DIRECT_ATTR LW_TARGET_AVX2
#include "gemm_direct_inl.h"
#undef LW_DIRECT_ATTR

}  // namespace

#undef LW_INLINE_AVX2
#undef LW_TARGET_AVX2

const KernelSet* kernels_avx2() {
  static const KernelSet k = {kMR, kNR, 0, 0, 0, &macro, &direct_kernel,
                              "avx2 6x16"};
  return &k;
}

#else

const KernelSet* kernels_avx2() { return nullptr; }

#endif

}  // namespace gemm_detail
}  // namespace lw
