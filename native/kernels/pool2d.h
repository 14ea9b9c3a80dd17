// pool2d.h — 2-D max and average pooling over batched channels-last tensors,
// and their backward passes.
//
// Layouts (row-major, channels last):
//   x, dx       [n, in_h, in_w, c]
//   y, dy       [n, out_h, out_w, c]
//   argmax      [n, out_h, out_w, c]   int32
//
// Output pixel (i, j) pools the window of input rows i·stride_h − pad_top + u
// (0 ≤ u < pool_h) and columns j·stride_w − pad_left + v (0 ≤ v < pool_w),
// each channel on its own. Taps outside the input are padding, so pads (which
// may be negative) and out_h/out_w express 'valid' and 'same' alike, and any
// geometry reads and writes only inside the buffers.
//
// Max pooling: padding never wins (it counts as −∞). argmax records the winner
// as its flat index inside its image's [in_h, in_w, c] block,
// (r·in_w + q)·c + channel, the first one in row-major window order on ties;
// a NaN tap wins over any number (NaN propagates). A window that sees only
// padding gives y = 0 and argmax = −1.
// Average pooling divides by the number of in-bounds taps only
// (count_include_pad = false, as Keras' 'same' padding); a window with no
// in-bounds tap gives 0.
//
// The backward passes overwrite dx: zero it, then scatter-add dy through the
// windows. max_pool2d_backward skips argmax entries that are −1 or not a valid
// index into the image, so a corrupted argmax can never write out of bounds.
// Work is split across the thread pool (threadpool.h) by batch image, so no
// two threads write the same dx element.
#pragma once
#include <cstdint>

#include "elementwise.h"

namespace lw {

struct PoolGeometry {
  int64_t n, in_h, in_w, c;
  int64_t pool_h, pool_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;
  int64_t out_h, out_w;
};

// Sizes in floats (argmax: int32s) of each tensor.
inline int64_t pool_input_size(const PoolGeometry& g) { return g.n * g.in_h * g.in_w * g.c; }
inline int64_t pool_output_size(const PoolGeometry& g) { return g.n * g.out_h * g.out_w * g.c; }

void max_pool2d_forward(const PoolGeometry& g, const float* x, float* y,
                        int32_t* argmax);
// The same maxima without recording winners, for inference, where no
// backward pass follows: y is bit-identical to max_pool2d_forward's.
void max_pool2d_forward_values(const PoolGeometry& g, const float* x, float* y);
void max_pool2d_backward(const PoolGeometry& g, const float* dy,
                         const int32_t* argmax, float* dx);
// max_pool2d_backward through the elementwise activation f that produced x
// (f' a function of f's output, as in bias_activation): the gradient every
// winner receives is dy · f'(y), y being the pool's own output, which is
// exactly f's output at the winner. So the layer before the pool need not
// apply f' over all of x; the pool does it over its 1/(pool area) as many
// outputs. When `sums` is not null it receives, per channel, the sum of
// what was scattered (Σ dx over the batch, the bias gradient of the layer
// that f ends), summed per image in double and then over images in order,
// so it does not depend on the thread count.
void max_pool2d_backward_activation(const PoolGeometry& g, const float* dy,
                                    const int32_t* argmax, const float* y,
                                    Activation f, float alpha, float* dx,
                                    float* sums);
void avg_pool2d_forward(const PoolGeometry& g, const float* x, float* y);
void avg_pool2d_backward(const PoolGeometry& g, const float* dy, float* dx);

}  // namespace lw
