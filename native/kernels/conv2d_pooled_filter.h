// conv2d_pooled_filter.h — a convolution's filter gradient taken straight
// from the gradient of the max pool that follows it.
//
// For y = x ⋆ w (conv2d.h) pooled by non-overlapping max windows (stride
// equal to the pool size, no padding), ∂E/∂y is zero except at each window's
// winner, where it is t (the pooled gradient, already through the
// activation between conv and pool). So
//   dw[u, v, c, k] = Σ over pooled elements (b, i, j, k) with a valid winner
//                    p = argmax[b, i, j, k] at conv output (r, q):
//                    t[b, i, j, k] · x[b, r·stride_h − pad_top + u,
//                                       q·stride_w − pad_left + v, c]
// (x = 0 outside the image), without writing ∂E/∂y: for the first conv of a
// CNN that is the largest tensor of the step, written by the pool's backward
// pass only to be read once here.
//
// argmax is max_pool2d_forward's ([n, out_h, out_w, k] indices into the conv
// output image [g.out_h, g.out_w, g.out_c], −1 for no winner); entries that
// are no index into that image are skipped. Winners recorded inside their own
// window and channel (always so for max_pool2d_forward) take a vectorised
// path per instruction set (conv2d_pooled_filter_inl.h) while g.k_h · g.k_w ·
// g.in_c ≤ kPooledFilterMaxTaps; anything else a scalar walk. The vectorised
// path sums parts of kPooledFilterImagesPerPart images on their own (on the
// thread pool) and adds the parts in order, so the result does not depend on
// the thread count; the scalar walk is serial.
#pragma once
#include <cstdint>

#include "conv2d.h"
#include "pool2d.h"

namespace lw {

constexpr int64_t kPooledFilterMaxTaps = 32;
constexpr int64_t kPooledFilterImagesPerPart = 8;

// Whether p pools g's output in non-overlapping windows (what this kernel needs).
bool pooled_filter_applies(const ConvGeometry& g, const PoolGeometry& p);

// dw [k_h, k_w, in_c, out_c] (overwritten); requires pooled_filter_applies.
void conv2d_backward_filter_pooled(const ConvGeometry& g, const PoolGeometry& p,
                                   const float* x, const float* t,
                                   const int32_t* argmax, float* dw);

// The vectorised pass over x zero-padded to [n, pad_h, pad_w, in_c] (every
// tap the conv reads): dw for winners inside their own window and channel;
// returns how many it found (conv2d_pooled_filter_inl.h).
int64_t pooled_filter_vectorised(const ConvGeometry& g, const PoolGeometry& p, const float* xpad,
                                 int64_t pad_h, int64_t pad_w, const float* t, const int32_t* argmax,
                                 float* dw);

}  // namespace lw
