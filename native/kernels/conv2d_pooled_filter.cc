// conv2d_pooled_filter.cc — the vectorised body of
// conv2d_backward_filter_pooled (conv2d_pooled_filter.h) once per
// instruction set, picked per call from lw::active_isa(). Free of STL, so the
// AVX code defines no weak symbol a baseline caller could be linked to; the
// driver is in conv2d_pooled.cc.
#include "conv2d_pooled_filter.h"

#include "cpu.h"

namespace lw {
namespace {

#define LW_PF_ATTR
#define LW_PF_VEC_BYTES 16
#define LW_PF_NAME pooled_filter_baseline
#include "conv2d_pooled_filter_inl.h"
#undef LW_PF_NAME
#undef LW_PF_VEC_BYTES
#undef LW_PF_ATTR

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_PF_HAVE_X86 1
#define LW_PF_ATTR __attribute__((target("avx2,fma")))
#define LW_PF_VEC_BYTES 32
#define LW_PF_NAME pooled_filter_avx2
#include "conv2d_pooled_filter_inl.h"
#undef LW_PF_NAME
#undef LW_PF_VEC_BYTES
#undef LW_PF_ATTR

#define LW_PF_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_PF_VEC_BYTES 64
#define LW_PF_NAME pooled_filter_avx512
#include "conv2d_pooled_filter_inl.h"
#undef LW_PF_NAME
#undef LW_PF_VEC_BYTES
#undef LW_PF_ATTR
#endif

}  // namespace

int64_t pooled_filter_vectorised(const ConvGeometry& g, const PoolGeometry& p, const float* xpad,
                                 int64_t pad_h, int64_t pad_w, const float* t, const int32_t* argmax,
                                 float* dw) {
#ifdef LW_PF_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return pooled_filter_avx512(g, p, xpad, pad_h, pad_w, t, argmax, dw);
    case Isa::kAvx2: return pooled_filter_avx2(g, p, xpad, pad_h, pad_w, t, argmax, dw);
    default: break;
  }
#endif
  return pooled_filter_baseline(g, p, xpad, pad_h, pad_w, t, argmax, dw);
}

}  // namespace lw
