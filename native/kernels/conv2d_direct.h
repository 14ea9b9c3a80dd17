// conv2d_direct.h — a direct forward convolution for the shapes im2col turns
// into a poor GEMM: one input channel (a network's first layer on grey
// images), where K = k_h·k_w is only 9 for a 3×3 filter. conv2d_forward
// (conv2d.cc) takes it when conv2d_forward_direct_applies(g); the semantics
// are conv2d_forward's (conv2d.h), over output rows [row0, row1) of the
// flattened [n, out_h] grid.
#pragma once
#include <cstdint>

#include "conv2d.h"

namespace lw {

bool conv2d_forward_direct_applies(const ConvGeometry& g);
void conv2d_forward_direct_rows(const ConvGeometry& g, const float* x,
                                const float* w, float* y, bool accumulate,
                                int64_t row0, int64_t row1);

}  // namespace lw
