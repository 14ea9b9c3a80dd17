// conv2d_backward_direct.cc — drivers for the register-tiled backward kernels
// of conv2d_backward_direct_inl.h, compiled for AVX2+FMA and AVX-512 with
// function attributes and picked per call from lw::active_isa(). Baseline
// x86-64 (and other architectures) keep conv2d.cc's im2col + GEMM path.
#include "conv2d_backward_direct.h"


#include "conv2d_padding.h"
#include "cpu.h"

namespace lw {
namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_CBD_HAVE_X86 1

// AVX2: 16 ymm, a 16-float vector is two of them: 6 accumulators.
#define LW_CBD_ATTR __attribute__((target("avx2,fma")))
#define LW_CBD_NS avx2
#define LW_CBD_ACC 6
#include "conv2d_backward_direct_inl.h"
#undef LW_CBD_ATTR
#undef LW_CBD_NS
#undef LW_CBD_ACC

// AVX-512: 32 zmm; 24 accumulators leave room for the B vectors and broadcasts.
#define LW_CBD_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_CBD_NS avx512
#define LW_CBD_ACC 24
#include "conv2d_backward_direct_inl.h"
#undef LW_CBD_ATTR
#undef LW_CBD_NS
#undef LW_CBD_ACC
#endif

bool vector_isa() {
  const Isa isa = active_isa();
  return isa == Isa::kAvx512 || isa == Isa::kAvx2;
}

// Whether a tiled kernel runs g: a vector ISA, stride 1, no empty extent,
// and the channels it vectorises over (`tiled`: in_c for dx, out_c for dw)
// a multiple of 16.
bool tiled_applies(const ConvGeometry& g, int64_t tiled) {
  return vector_isa() && g.stride_h == 1 && g.stride_w == 1 && g.n > 0 && g.in_h > 0 &&
         g.in_w > 0 && g.k_h > 0 && g.k_w > 0 && g.out_h > 0 && g.out_w > 0 && g.in_c > 0 &&
         g.out_c > 0 && tiled % 16 == 0;
}

}  // namespace

bool conv2d_backward_direct_input_applies(const ConvGeometry& g) {
#ifdef LW_CBD_HAVE_X86
  return tiled_applies(g, g.in_c);
#else
  (void)g;
  return false;
#endif
}

bool conv2d_backward_direct_filter_applies(const ConvGeometry& g) {
#ifdef LW_CBD_HAVE_X86
  return tiled_applies(g, g.out_c);
#else
  (void)g;
  return false;
#endif
}

int64_t conv2d_backward_direct_input_scratch(const ConvGeometry& g) {
  return (g.in_h + g.k_h - 1) * (g.in_w + g.k_w - 1) * g.out_c;
}

int64_t conv2d_backward_direct_filter_scratch(const ConvGeometry& g) {
  return (g.out_h + g.k_h - 1) * (g.out_w + g.k_w - 1) * g.in_c;
}

void conv2d_backward_direct_transpose_filter(const ConvGeometry& g, const float* w, float* wt) {
  const int64_t C = g.in_c, OC = g.out_c, taps = g.k_h * g.k_w;
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t o = 0; o < OC; ++o) wt[(t * OC + o) * C + c] = w[(t * C + c) * OC + o];
}

void conv2d_backward_direct_input_images(const ConvGeometry& g, const float* dy,
                                         const float* wt, float* dx, bool accumulate,
                                         int64_t b0, int64_t b1, float* scratch) {
#ifdef LW_CBD_HAVE_X86
  if (active_isa() == Isa::kAvx512)
    avx512::input_images(g, dy, wt, dx, accumulate, b0, b1, scratch);
  else
    avx2::input_images(g, dy, wt, dx, accumulate, b0, b1, scratch);
#else
  (void)g, (void)dy, (void)wt, (void)dx, (void)accumulate, (void)b0, (void)b1, (void)scratch;
#endif
}

void conv2d_backward_direct_filter_rows(const ConvGeometry& g, const float* x,
                                        const float* dy, float* dst, int64_t row0,
                                        int64_t row1, float* scratch) {
#ifdef LW_CBD_HAVE_X86
  if (active_isa() == Isa::kAvx512)
    avx512::filter_rows(g, x, dy, dst, row0, row1, scratch);
  else
    avx2::filter_rows(g, x, dy, dst, row0, row1, scratch);
#else
  (void)g, (void)x, (void)dy, (void)dst, (void)row0, (void)row1, (void)scratch;
#endif
}

}  // namespace lw
