// pool2d_values.cc — max_pool2d_images and max_pool2d_route_2x2 (pool2d_values.h): the body in
// pool2d_values_inl.h, compiled once per instruction set.
#include "pool2d_values.h"

#include "cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace lw {
namespace {

#define LW_POOL_ATTR
#define LW_POOL_VEC_BYTES 16
#define LW_POOL_NAME max_values_baseline
#define LW_POOL_ROUTE_NAME route_2x2_baseline
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_POOL_HAVE_X86 1
#define LW_POOL_ATTR __attribute__((target("avx2,fma")))
#define LW_POOL_VEC_BYTES 32
#define LW_POOL_NAME max_values_avx2
#define LW_POOL_ROUTE_NAME route_2x2_avx2
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR

#define LW_POOL_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

// An interior row of a 2×2 stride-2 pool over 8 channels, pixels [0, J):
// two output pixels per 16-lane vector. Each input row's 32 floats under a
// pixel pair are regrouped (a 256-bit lane shuffle each way) into the pair's
// left taps and right taps, and the tournament of LW_POOL_2X2_ROW runs on
// whole vectors; an odd last pixel runs the same code with zeros for the
// missing pixel and stores only its 8 lanes. A select is two
// compares, the second masked by the first: t is taken when t > m or t is
// NaN (NLE_UQ), unless m is NaN (ORD) — LW_POOL_TAKE exactly, so the same
// maxima and winners. 26×26×8 at batch 32 with winners, one thread, Zen 4,
// C++ loop over the same warm batch: 25.7 → 17.6 µs with x 16 bytes past a
// 64-byte boundary (as fit's buffers are), 26.2 → 14.4 µs with x aligned;
// two threads 13.3 → 9.2 µs. The pixel-at-a-time half vectors had spent
// three compares and a mask OR per select on 8 lanes; this pass is now
// bounded by L2 traffic (a 4-image batch in L1/L2: 3.4 ns per pixel pair).
// (GCC 12 warns that _mm512_shuffle_f32x4's unused merge source, which its
// header leaves undefined on purpose, may be uninitialized.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Output pixels j and j + 1 of the row (Two), or pixel j alone: the second
// pixel's lanes then come from zeros and are not stored.
template <bool Two>
__attribute__((always_inline)) inline LW_POOL_ATTR void pixels_c8_avx512(
    const float* p0, const float* p1, float* yrow, int32_t* arow, int64_t j, __m512i i00, int64_t in_w) {
  const __mmask16 keep = Two ? 0xFFFF : 0x00FF;
  const __m512 r0j = _mm512_loadu_ps(p0 + 16 * j), r0k = Two ? _mm512_loadu_ps(p0 + 16 * j + 16) : _mm512_setzero_ps();
  const __m512 r1j = _mm512_loadu_ps(p1 + 16 * j), r1k = Two ? _mm512_loadu_ps(p1 + 16 * j + 16) : _mm512_setzero_ps();
  const __m512 a = _mm512_shuffle_f32x4(r0j, r0k, 0x44), b = _mm512_shuffle_f32x4(r0j, r0k, 0xee);
  const __m512 c = _mm512_shuffle_f32x4(r1j, r1k, 0x44), d = _mm512_shuffle_f32x4(r1j, r1k, 0xee);
  const __mmask16 tt = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(a, a, _CMP_ORD_Q), b, a, _CMP_NLE_UQ);
  const __mmask16 tb = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(c, c, _CMP_ORD_Q), d, c, _CMP_NLE_UQ);
  const __m512 top = _mm512_mask_blend_ps(tt, a, b), bot = _mm512_mask_blend_ps(tb, c, d);
  const __mmask16 tv = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(top, top, _CMP_ORD_Q), bot, top, _CMP_NLE_UQ);
  _mm512_mask_storeu_ps(yrow + 8 * j, keep, _mm512_mask_blend_ps(tv, top, bot));
  if (arow) {
    const __m512i right = _mm512_set1_epi32(8);
    const __m512i it = _mm512_mask_add_epi32(i00, tt, i00, right);
    const __m512i i10 = _mm512_add_epi32(i00, _mm512_set1_epi32(int32_t(in_w * 8)));
    const __m512i ib = _mm512_mask_add_epi32(i10, tb, i10, right);
    _mm512_mask_storeu_epi32(arow + 8 * j, keep, _mm512_mask_blend_epi32(tv, it, ib));
  }
}

__attribute__((always_inline)) inline LW_POOL_ATTR int64_t row_c8_avx512(
    const float* p0, const float* p1, float* yrow, int32_t* arow, int64_t J, int64_t a00, int64_t in_w) {
  // Top-left tap of lane k: channel k of pixel j (lanes 0-7), of j + 1 (8-15).
  __m512i i00 = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                                 _mm512_set1_epi32(int32_t(a00)));
  const __m512i step = _mm512_set1_epi32(32);
  int64_t j = 0;
  for (; j + 2 <= J; j += 2, i00 = _mm512_add_epi32(i00, step)) pixels_c8_avx512<true>(p0, p1, yrow, arow, j, i00, in_w);
  if (j < J) pixels_c8_avx512<false>(p0, p1, yrow, arow, j, i00, in_w);
  return J;
}
#pragma GCC diagnostic pop
#define LW_POOL_ROW_PAIRS_C8 row_c8_avx512

#define LW_POOL_VEC_BYTES 64
#define LW_POOL_NAME max_values_avx512
#define LW_POOL_ROUTE_NAME route_2x2_avx512
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR
#undef LW_POOL_ROW_PAIRS_C8
#endif

}  // namespace

void max_pool2d_images(const PoolGeometry& g, const float* x, float* y,
                       int32_t* argmax, int64_t b0, int64_t b1) {
#ifdef LW_POOL_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return max_values_avx512(g, x, y, argmax, b0, b1);
    case Isa::kAvx2: return max_values_avx2(g, x, y, argmax, b0, b1);
    default: break;
  }
#endif
  max_values_baseline(g, x, y, argmax, b0, b1);
}

bool max_pool2d_route_2x2(const PoolGeometry& g, const float* grad,
                          const int32_t* argmax, float* dx, float* kept) {
#ifdef LW_POOL_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return route_2x2_avx512(g, grad, argmax, dx, kept);
    case Isa::kAvx2: return route_2x2_avx2(g, grad, argmax, dx, kept);
    default: break;
  }
#endif
  return route_2x2_baseline(g, grad, argmax, dx, kept);
}

}  // namespace lw
