// conv2d_forward_tiled.h — the forward convolution of stride-1 layers with
// several input channels as a register-tiled direct loop ("implicit GEMM"):
// no im2col matrix, no packing. conv2d.cc takes it when
// conv2d_forward_tiled_applies(g) and drives it (threads, scratch); the
// semantics are conv2d_forward's (conv2d.h) without accumulate.
//
// Why: through im2col a 3×3 layer first writes a column matrix 9× its input
// (113 KB for one 14×14×16 image, the npm-start CNN's second conv) that the
// GEMM then reads back; that was ~3 µs of a ~47 µs single-image predict, and
// the matrix pushed the next dense layer's 800 KB of weights out of L2. Here
// each image's rows are copied once into a zero-bordered scratch image, so
// every tap is an in-bounds read, and the FMAs run on tiles of output held in
// registers. Each output sums its taps in the im2col order (kernel row,
// kernel column, input channel) from zero, one FMA each, then adds the bias
// and applies the activation as the GEMM's epilogue does: bit-identical to
// the im2col path wherever its GEMM takes all taps in one k slice (K ≤ KC,
// 256 on Zen 4: 3×3×16 = 144), and the same sums otherwise up to where the
// GEMM splits them.
#pragma once
#include <cstdint>

#include "conv2d.h"
#include "gemm.h"

namespace lw {

// A vector ISA (AVX2 or AVX-512), stride 1, more than one input channel (one
// channel: conv2d_direct.h), out_c a multiple of 16, nothing empty.
bool conv2d_forward_tiled_applies(const ConvGeometry& g);

// Floats of scratch one call needs (one zero-bordered image).
int64_t conv2d_forward_tiled_scratch(const ConvGeometry& g);

// y for output rows [row0, row1) of the flattened [n, out_h] grid,
// overwritten; with ep.bias, y = f(sum + bias) (relu and leaky ReLU in
// registers, other activations by bias_activation_serial on each row).
void conv2d_forward_tiled_rows(const ConvGeometry& g, const float* x, const float* w,
                               float* y, int64_t row0, int64_t row1,
                               const GemmEpilogue& ep, float* scratch);

}  // namespace lw
