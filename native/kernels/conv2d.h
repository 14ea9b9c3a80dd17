// conv2d.h — 2-D cross-correlation over batched channels-last tensors, and
// the two products its backward pass needs.
//
// Layouts (row-major, channels last):
//   x  [n, in_h, in_w, in_c]      input
//   w  [k_h, k_w, in_c, out_c]    filters
//   y  [n, out_h, out_w, out_c]   output
//
//   y[b,i,j,o] = Σ_{u,v,c} x[b, i·stride_h + u − pad_top, j·stride_w + v − pad_left, c] · w[u,v,c,o]
//
// Taps that fall outside the input read as zero, so pad_top/pad_left and
// out_h/out_w express 'valid', 'same' and 'full' alike. This is
// scipy.signal.correlate2d generalised to channels and a batch; convolution is
// the same with the filter flipped in both spatial axes.
//
// Backward, with dy shaped like y:
//   conv2d_backward_input:  dx = Σ over taps of dy scattered back through w
//                           (a 'full' convolution of dy with w for stride 1)
//   conv2d_backward_filter: dw[u,v,c,o] = Σ_{b,i,j} x[b, i·s_h+u−pt, j·s_w+v−pl, c] · dy[b,i,j,o]
//                           (a 'valid' correlation of x with dy)
// Buffers never alias one another. accumulate adds to the output instead of
// overwriting it. Work is split across the thread pool by batch and rows.
#pragma once
#include <cstdint>

#include "elementwise.h"

namespace lw {

struct ConvGeometry {
  int64_t n, in_h, in_w, in_c;
  int64_t k_h, k_w, out_c;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;
  int64_t out_h, out_w;
};

// Sizes in floats of each tensor; the binding checks buffers against them.
inline int64_t conv_input_size(const ConvGeometry& g) { return g.n * g.in_h * g.in_w * g.in_c; }
inline int64_t conv_filter_size(const ConvGeometry& g) { return g.k_h * g.k_w * g.in_c * g.out_c; }
inline int64_t conv_output_size(const ConvGeometry& g) { return g.n * g.out_h * g.out_w * g.out_c; }

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w,
                    float* y, bool accumulate);
// y = f(x ⋆ w + bias) (bias [out_c]) in one call: each tile of output rows
// gets its bias and activation right after it is computed, while it is still
// in cache, instead of in a second pass over the whole output. The same
// arithmetic as conv2d_forward followed by bias_activation, so bit-identical.
void conv2d_forward_bias_activation(const ConvGeometry& g, const float* x,
                                    const float* w, const float* bias, float* y,
                                    Activation f, float alpha);
void conv2d_backward_input(const ConvGeometry& g, const float* dy,
                           const float* w, float* dx, bool accumulate);
void conv2d_backward_filter(const ConvGeometry& g, const float* x,
                            const float* dy, float* dw, bool accumulate);

// The plain direct loops (conv2d_reference.cc), single-threaded, each output
// element summed in double: the yardstick the tests and benchmarks compare
// the kernels above against. Same arguments and semantics; strides must be
// at least 1 (the binding guarantees it).
void conv2d_forward_reference(const ConvGeometry& g, const float* x,
                              const float* w, float* y, bool accumulate);
void conv2d_backward_input_reference(const ConvGeometry& g, const float* dy,
                                     const float* w, float* dx,
                                     bool accumulate);
void conv2d_backward_filter_reference(const ConvGeometry& g, const float* x,
                                      const float* dy, float* dw,
                                      bool accumulate);

}  // namespace lw
