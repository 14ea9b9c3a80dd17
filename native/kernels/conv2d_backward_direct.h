// conv2d_backward_direct.h — the two backward products of a stride-1
// convolution as register-tiled direct loops ("implicit GEMM"): no im2col
// matrix, no col2im scatter, no packing. conv2d.cc takes them when the
// _applies functions say so and drives them (threads, scratch); the
// semantics are conv2d_backward_input's and conv2d_backward_filter's
// (conv2d.h).
//
// Why: through im2col the data gradient is a GEMM with K = out_c (32 for the
// npm-start CNN's second conv) followed by a scatter-add of a 9× larger
// column matrix, and the filter gradient re-builds the im2col matrix the
// forward pass already built; both ran at 55–65% of the FMA peak. Here each
// image's dy (or x) is copied once into a zero-bordered scratch image, so
// every tap of every pixel is an in-bounds read, and the FMAs run on tiles of
// C held in registers.
#pragma once
#include <cstdint>

#include "conv2d.h"

namespace lw {

// Which calls the kernels take: stride 1, in_c (data gradient) or out_c
// (filter gradient) a multiple of 16, AVX2 or AVX-512 active.
bool conv2d_backward_direct_input_applies(const ConvGeometry& g);
bool conv2d_backward_direct_filter_applies(const ConvGeometry& g);

// Floats of scratch one call of each kernel needs (one zero-bordered image).
int64_t conv2d_backward_direct_input_scratch(const ConvGeometry& g);
int64_t conv2d_backward_direct_filter_scratch(const ConvGeometry& g);

// wt [k_h][k_w][out_c][in_c] from w [k_h][k_w][in_c][out_c]: the data
// gradient loads 16 input channels of one output channel as one vector.
void conv2d_backward_direct_transpose_filter(const ConvGeometry& g, const float* w, float* wt);

// dx of images [b0, b1), overwritten (or added to with accumulate), from the
// transposed filter wt. Images are independent: tasks may split them.
void conv2d_backward_direct_input_images(const ConvGeometry& g, const float* dy,
                                         const float* wt, float* dx, bool accumulate,
                                         int64_t b0, int64_t b1, float* scratch);

// dst (a [k_h, k_w, in_c, out_c] filter gradient, or a partial of it) += the
// contribution of output rows [row0, row1) of the flattened [n, out_h] grid.
// Each element sums its pixels in row-major order (images in order), so the
// result depends only on the range.
void conv2d_backward_direct_filter_rows(const ConvGeometry& g, const float* x,
                                        const float* dy, float* dst, int64_t row0,
                                        int64_t row1, float* scratch);

}  // namespace lw
