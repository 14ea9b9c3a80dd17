// softmax_exp.cc — see softmax_exp.h. std::exp per element (libm, one call
// each) was 52 µs of an MLP's batch-1000 predict (10,000 logits) on one Zen 4
// core, more than its whole second dense layer; this loop is branch-free
// arithmetic the compiler vectorises: Cody–Waite reduction x = n·ln2 + r with
// |r| ≤ ln2/2, the degree-6 Cephes polynomial for e^r (relative error about
// 1e-7, ~1 ulp), and 2^n built in the exponent bits. Arguments below −87.3
// are clamped there (e^−87.3 ≈ 1.2e-38, the smallest normal float) instead of
// running into denormals: beside the row's maximum, whose term is 1, they
// change no sum. NaN stays NaN (comparisons with NaN are false, and NaN
// times anything is NaN). __builtin_memcpy, not std::memcpy: no inline
// function from elsewhere may be compiled here.
#include "softmax_exp.h"

#include "cpu.h"

namespace lw {
namespace {

#define LW_EXP_BLOCK_BODY                                                        \
  for (int64_t i = 0; i < n; ++i) {                                              \
    float x = y[i];                                                              \
    x = x < -87.3f ? -87.3f : x;                                                 \
    /* round(x·log2 e) by the 1.5·2^23 shifter: exact for |values| < 2^22 */     \
    const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;      \
    float r = x - k * 0.693359375f;                                              \
    r = r - k * -2.12194440e-4f;                                                 \
    float p = 1.9875691500e-4f;                                                  \
    p = p * r + 1.3981999507e-3f;                                                \
    p = p * r + 8.3334519073e-3f;                                                \
    p = p * r + 4.1665795894e-2f;                                                \
    p = p * r + 1.6666665459e-1f;                                                \
    p = p * r + 5.0000001201e-1f;                                                \
    p = p * (r * r) + r + 1.0f;                                                  \
    /* 2^k in the exponent bits: k ≥ −126 by the clamp above; k = 128 makes */ \
    /* the bits of +Infinity (e^x overflows), so larger k stop there; NaN,   */ \
    /* whose conversion to an integer is undefined, takes any scale (p is    */ \
    /* NaN already).                                                          */ \
    const float kk = k != k ? 0.0f : (k > 128.0f ? 128.0f : k);                 \
    const int32_t bits = static_cast<int32_t>(                                   \
        static_cast<uint32_t>(static_cast<int32_t>(kk) + 127) << 23);            \
    float scale;                                                                 \
    __builtin_memcpy(&scale, &bits, sizeof scale);                               \
    y[i] = p * scale;                                                            \
  }

// no-trapping-math: lets the compiler turn the clamp's comparison into a
// vector select (with trapping math it keeps a branch and no loop vectorises).
#define LW_EXP_OPT __attribute__((optimize("no-trapping-math")))

LW_EXP_OPT void exp_block_baseline(float* y, int64_t n) { LW_EXP_BLOCK_BODY }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
LW_EXP_OPT __attribute__((target("avx2,fma"))) void exp_block_avx2(float* y, int64_t n) { LW_EXP_BLOCK_BODY }
LW_EXP_OPT __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) void exp_block_avx512(float* y, int64_t n) {
  LW_EXP_BLOCK_BODY
}
#define LW_HAVE_AVX_EXP 1
#endif
#undef LW_EXP_BLOCK_BODY
#undef LW_EXP_OPT

}  // namespace

ExpBlock exp_block_for_active_isa() {
#ifdef LW_HAVE_AVX_EXP
  if (active_isa() == Isa::kAvx512) return &exp_block_avx512;
  if (active_isa() == Isa::kAvx2) return &exp_block_avx2;
#endif
  return &exp_block_baseline;
}

}  // namespace lw
