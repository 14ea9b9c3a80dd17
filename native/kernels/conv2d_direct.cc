// conv2d_direct.cc — the single-input-channel forward kernel of
// conv2d_direct_inl.h, compiled for baseline x86-64, AVX2+FMA and AVX-512
// with function attributes, and picked per call from lw::active_isa().
#include "conv2d_direct.h"

#include "cpu.h"

namespace lw {
namespace {

#define LW_CONV_ATTR
#define LW_CONV_NAME forward_one_channel_baseline
#define LW_CONV_FILTER_NAME filter_one_channel_baseline
#include "conv2d_direct_inl.h"
#undef LW_CONV_NAME
#undef LW_CONV_FILTER_NAME
#undef LW_CONV_ATTR

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_CONV_ATTR __attribute__((target("avx2,fma")))
#define LW_CONV_NAME forward_one_channel_avx2
#define LW_CONV_FILTER_NAME filter_one_channel_avx2
#include "conv2d_direct_inl.h"
#undef LW_CONV_NAME
#undef LW_CONV_FILTER_NAME
#undef LW_CONV_ATTR

#define LW_CONV_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_CONV_NAME forward_one_channel_avx512
#define LW_CONV_FILTER_NAME filter_one_channel_avx512
#include "conv2d_direct_inl.h"
#undef LW_CONV_NAME
#undef LW_CONV_FILTER_NAME
#undef LW_CONV_ATTR
#define LW_CONV_HAVE_X86 1
#endif

}  // namespace

bool conv2d_direct_applies(const ConvGeometry& g) {
  // Small filters only (at most 25 taps, one accumulator each): with more
  // taps per pixel the GEMM's K stops being poor and its blocking wins.
  return g.in_c == 1 && g.k_h * g.k_w <= 25 && g.out_c >= 8;
}

void conv2d_forward_direct_rows(const ConvGeometry& g, const float* x,
                                const float* w, float* y, bool accumulate,
                                int64_t row0, int64_t row1,
                                const GemmEpilogue& ep) {
#ifdef LW_CONV_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return forward_one_channel_avx512(g, x, w, y, accumulate, row0, row1, ep);
    case Isa::kAvx2: return forward_one_channel_avx2(g, x, w, y, accumulate, row0, row1, ep);
    default: break;
  }
#endif
  forward_one_channel_baseline(g, x, w, y, accumulate, row0, row1, ep);
}

void conv2d_backward_filter_direct_rows(const ConvGeometry& g, const float* x,
                                        const float* dy, float* dst,
                                        int64_t row0, int64_t row1) {
#ifdef LW_CONV_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return filter_one_channel_avx512(g, x, dy, dst, row0, row1);
    case Isa::kAvx2: return filter_one_channel_avx2(g, x, dy, dst, row0, row1);
    default: break;
  }
#endif
  filter_one_channel_baseline(g, x, dy, dst, row0, row1);
}

}  // namespace lw
