// conv2d_padding.h — the zero-padded copy of an image's rows that the
// register-tiled stride-1 conv kernels (conv2d_forward_tiled_inl.h,
// conv2d_backward_direct_inl.h) read instead of testing bounds per tap.
#ifndef LAYERWISE_CONV2D_PADDING_H
#define LAYERWISE_CONV2D_PADDING_H

#include <cstdint>

#include "conv2d.h"

namespace lw {

// Fills rows [i0, i1 + k_h − 1) of X, the padded image b of x that output
// rows [i0, i1) of a stride-1 conv read: X row a is x row a − pad_top shifted
// right by pad_left columns, zero outside the image, (out_w + k_w − 1) · in_c
// floats long. Plain baseline code, called out of line by the per-ISA
// kernels, which share no inline function with other code.
void pad_image_rows(const ConvGeometry& g, const float* x, int64_t b, int64_t i0, int64_t i1, float* X);

}  // namespace lw

#endif  // LAYERWISE_CONV2D_PADDING_H
