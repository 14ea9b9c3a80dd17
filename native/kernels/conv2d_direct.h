// conv2d_direct.h — a direct forward convolution for the shapes im2col turns
// into a poor GEMM: one input channel (a network's first layer on grey
// images), where K = k_h·k_w is only 9 for a 3×3 filter: the forward pass
// and the filter gradient. conv2d.cc takes them when conv2d_direct_applies(g);
// the semantics are conv2d_forward's and conv2d_backward_filter's (conv2d.h),
// over output rows [row0, row1) of the flattened [n, out_h] grid.
#pragma once
#include <cstdint>

#include "conv2d.h"
#include "gemm.h"

namespace lw {

bool conv2d_direct_applies(const ConvGeometry& g);
// With ep.bias, each pixel's channels get the bias and ReLU or leaky ReLU
// (conv2d_direct_fuses) before they are stored.
void conv2d_forward_direct_rows(const ConvGeometry& g, const float* x,
                                const float* w, float* y, bool accumulate,
                                int64_t row0, int64_t row1,
                                const GemmEpilogue& ep);
// Whether conv2d_forward_direct_rows applies this activation itself.
inline bool conv2d_direct_fuses(Activation f) {
  return f == Activation::kLinear || f == Activation::kRelu || f == Activation::kLeakyRelu;
}
// dst (a [k_h, k_w, 1, out_c] filter gradient, or a partial of it) += the
// contribution of output rows [row0, row1), as conv2d_backward_filter sums.
void conv2d_backward_filter_direct_rows(const ConvGeometry& g, const float* x,
                                        const float* dy, float* dst,
                                        int64_t row0, int64_t row1);

}  // namespace lw
