// conv2d_forward_tiled.cc — drivers for the register-tiled forward kernel of
// conv2d_forward_tiled_inl.h, compiled for AVX2+FMA and AVX-512 with
// function attributes and picked per call from lw::active_isa(). Baseline
// x86-64 (and other architectures) keep conv2d.cc's im2col + GEMM path.
#include "conv2d_forward_tiled.h"

#include "conv2d_padding.h"
#include "cpu.h"
#include "elementwise.h"

namespace lw {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_CFT_HAVE_X86 1

// AVX2: 16 ymm, a 16-float vector is two of them: 6 accumulators.
#define LW_CFT_ATTR __attribute__((target("avx2,fma")))
#define LW_CFT_NS avx2
#define LW_CFT_ACC 6
#include "conv2d_forward_tiled_inl.h"
#undef LW_CFT_ATTR
#undef LW_CFT_NS
#undef LW_CFT_ACC

// AVX-512: 32 zmm; 24 accumulators leave room for the filter vectors and broadcasts.
#define LW_CFT_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_CFT_NS avx512
#define LW_CFT_ACC 24
#include "conv2d_forward_tiled_inl.h"
#undef LW_CFT_ATTR
#undef LW_CFT_NS
#undef LW_CFT_ACC
#endif

// The kernel's act code for an epilogue it applies in registers, or 0 (store the sums).
int act_code(const GemmEpilogue& ep) {
  if (ep.bias == nullptr) return 0;
  switch (ep.f) {
    case Activation::kLinear: return 1;
    case Activation::kRelu: return 2;
    case Activation::kLeakyRelu: return 3;
    default: return 0;
  }
}

}  // namespace

bool conv2d_forward_tiled_applies(const ConvGeometry& g) {
#ifdef LW_CFT_HAVE_X86
  const Isa isa = active_isa();
  return (isa == Isa::kAvx512 || isa == Isa::kAvx2) && g.stride_h == 1 && g.stride_w == 1 &&
         g.n > 0 && g.in_h > 0 && g.in_w > 0 && g.k_h > 0 && g.k_w > 0 && g.out_h > 0 &&
         g.out_w > 0 && g.in_c > 1 && g.out_c > 0 && g.out_c % 16 == 0;
#else
  (void)g;
  return false;
#endif
}

int64_t conv2d_forward_tiled_scratch(const ConvGeometry& g) {
  return (g.out_h + g.k_h - 1) * (g.out_w + g.k_w - 1) * g.in_c;
}

void conv2d_forward_tiled_rows(const ConvGeometry& g, const float* x, const float* w,
                               float* y, int64_t row0, int64_t row1,
                               const GemmEpilogue& ep, float* scratch) {
#ifdef LW_CFT_HAVE_X86
  const int act = act_code(ep);
  const bool after = ep.bias != nullptr && act == 0;
  // Sigmoid and tanh follow each few rows, still in cache.
  const int64_t step = after ? 16 : row1 - row0;
  for (int64_t r = row0; r < row1; r += step) {
    const int64_t e = row1 - r < step ? row1 : r + step;
    if (active_isa() == Isa::kAvx512)
      avx512::forward_rows(g, x, w, y, r, e, ep.bias, act, ep.alpha, scratch);
    else
      avx2::forward_rows(g, x, w, y, r, e, ep.bias, act, ep.alpha, scratch);
    if (after) bias_activation_serial(y + r * g.out_w * g.out_c, ep.bias, (e - r) * g.out_w, g.out_c, ep.f, ep.alpha);
  }
#else
  (void)g, (void)x, (void)w, (void)y, (void)row0, (void)row1, (void)ep, (void)scratch;
#endif
}

}  // namespace lw
