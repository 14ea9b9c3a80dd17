// pool2d.cc — max and average pooling of pool2d.h on NHWC tensors.
//
// Every kernel walks output pixels and, for each, the in-bounds part of its
// window (rows and columns clipped once per pixel, so the inner loops carry no
// bounds checks); the innermost loop runs over the contiguous channels and
// vectorises. Windows are clipped against in_h/in_w before any access, which
// is what keeps oversized outputs and negative pads inside the buffers.
//
// Threading: ranges of whole batch images (threadpool.h), as many as the
// cost model finds worth it for the call's bytes and window taps. Backward
// passes scatter only into their own image's dx, so tasks never share an
// element, and results do not depend on the thread count.
#include "pool2d.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "pool2d_values.h"
#include "threadpool.h"

namespace lw {
namespace {

struct Window {
  int64_t r0, q0, u_lo, u_hi, v_lo, v_hi;
  Window(const PoolGeometry& g, int64_t i, int64_t j) {
    r0 = i * g.stride_h - g.pad_top;
    q0 = j * g.stride_w - g.pad_left;
    u_lo = std::min(std::max(-r0, int64_t(0)), g.pool_h);
    u_hi = std::max(std::min(g.in_h - r0, g.pool_h), u_lo);
    v_lo = std::min(std::max(-q0, int64_t(0)), g.pool_w);
    v_hi = std::max(std::min(g.in_w - q0, g.pool_w), v_lo);
  }
  int64_t taps() const { return (u_hi - u_lo) * (v_hi - v_lo); }
};

// fn(b0, b1) for ranges of images covering the batch. The work: one
// comparison or add per window tap, and the bytes of x, y and (for max
// pooling) the int32 argmax.
template <class Fn>
void per_image_range(const PoolGeometry& g, const Fn& fn) {
  const double out = double(pool_output_size(g));
  const double flops = out * double(g.pool_h * g.pool_w);
  const double bytes = 4.0 * (double(pool_input_size(g)) + 2.0 * out);
  parallel_ranges(g.n, flops, bytes, fn);
}

// fn(b) for every image b, split as per_image_range.
template <class Fn>
void per_image(const PoolGeometry& g, const Fn& fn) {
  per_image_range(g, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b);
  });
}

}  // namespace

// Both forward passes run the per-ISA kernel of pool2d_values.h, split by
// image. Scalar tap loops recording winners were 12% of the npm-start CNN's
// predict and, with winners, about 0.4 ms of its 3.7 ms training step.
void max_pool2d_forward_values(const PoolGeometry& g, const float* x, float* y) {
  if (pool_output_size(g) == 0) return;
  const double out = double(pool_output_size(g));
  parallel_ranges(g.n, out * double(g.pool_h * g.pool_w),
                  4.0 * (double(pool_input_size(g)) + out),
                  [&](int64_t b0, int64_t b1) { max_pool2d_images(g, x, y, nullptr, b0, b1); });
}

void max_pool2d_forward(const PoolGeometry& g, const float* x, float* y,
                        int32_t* argmax) {
  if (pool_output_size(g) == 0) return;
  per_image_range(g, [&](int64_t b0, int64_t b1) { max_pool2d_images(g, x, y, argmax, b0, b1); });
}

// The pool whose backward writes each dx element once (max_pool2d_route_2x2).
bool routes_2x2(const PoolGeometry& g) {
  return g.pool_h == 2 && g.pool_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 &&
         g.pad_left == 0;
}

void max_pool2d_backward(const PoolGeometry& g, const float* dy,
                         const int32_t* argmax, float* dx) {
  const int64_t C = g.c, image = g.in_h * g.in_w * C;
  if (pool_input_size(g) == 0) return;
  const int64_t per_out = g.out_h * g.out_w * C;
  const bool route = routes_2x2(g);
  per_image(g, [&](int64_t b) {
    float* dxb = dx + b * image;
    if (route && max_pool2d_route_2x2(g, dy + b * per_out, argmax + b * per_out, dxb, nullptr)) return;
    std::fill(dxb, dxb + image, 0.0f);
    const float* dyb = dy + b * per_out;
    const int32_t* ab = argmax + b * per_out;
    for (int64_t t = 0; t < per_out; ++t) {
      const int64_t at = ab[t];
      if (at >= 0 && at < image) dxb[at] += dyb[t];
    }
  });
}

void max_pool2d_backward_activation(const PoolGeometry& g, const float* dy,
                                    const int32_t* argmax, const float* y,
                                    Activation f, float alpha, float* dx,
                                    float* sums) {
  const int64_t C = g.c, image = g.in_h * g.in_w * C;
  const int64_t per_out = g.out_h * g.out_w * C;
  if (sums != nullptr)
    for (int64_t ch = 0; ch < C; ++ch) sums[ch] = 0.0f;
  if (pool_input_size(g) == 0 || per_out == 0) {
    if (pool_input_size(g) > 0) std::fill(dx, dx + pool_input_size(g), 0.0f);
    return;
  }
  // Per-image channel sums (float within an image, double across images in
  // image order below).
  std::vector<float> partial(sums != nullptr ? size_t(g.n * C) : 0);
  const bool route = routes_2x2(g);
  per_image(g, [&](int64_t b) {
    float* dxb = dx + b * image;
    const float* dyb = dy + b * per_out;
    const float* yb = y + b * per_out;
    const int32_t* ab = argmax + b * per_out;
    // f' for the whole image first: one vectorised pass (C is often 8, too
    // short to pay a call per pixel), kept in a per-thread buffer. Then dx as
    // max_pool2d_backward writes it (a 2×2 stride-2 pool once per element, in
    // vectors of channels; a scalar write-once loop had been 3× slower than
    // the fill and scatter, by its per-tap overhead).
    thread_local std::vector<float> through;
    if (through.size() < size_t(per_out)) through.resize(size_t(per_out));
    float* tb = through.data();
    activation_backward_serial(f, yb, yb, dyb, tb, per_out, alpha);
    if (!route || !max_pool2d_route_2x2(g, tb, ab, dxb, tb)) {
      std::fill(dxb, dxb + image, 0.0f);
      for (int64_t t = 0; t < per_out; ++t) {
        const int64_t at = ab[t];
        if (at >= 0 && at < image)
          dxb[at] += tb[t];
        else
          tb[t] = 0.0f;  // no winner: counts in no sum either
      }
    }
    if (sums == nullptr) return;
    // Σ over pixels per channel through `span` accumulators (a multiple of C
    // near 64), so the loop runs long enough to vectorise even for C = 8.
    const int64_t span = C >= 64 ? C : C * (64 / C);
    thread_local std::vector<float> lanes;
    lanes.assign(size_t(span), 0.0f);
    float* __restrict acc = lanes.data();
    int64_t t0 = 0;
    for (; t0 + span <= per_out; t0 += span) {
      const float* __restrict src = tb + t0;
      for (int64_t k = 0; k < span; ++k) acc[k] += src[k];
    }
    for (int64_t k = 0; t0 + k < per_out; ++k) acc[k] += tb[t0 + k];
    float* pb = partial.data() + b * C;
    for (int64_t ch = 0; ch < C; ++ch) pb[ch] = 0.0f;
    for (int64_t k = 0; k < span; ++k) pb[k % C] += acc[k];
  });
  if (sums == nullptr) return;
  for (int64_t ch = 0; ch < C; ++ch) {
    double total = 0.0;
    for (int64_t b = 0; b < g.n; ++b) total += double(partial[size_t(b * C + ch)]);
    sums[ch] = static_cast<float>(total);
  }
}

void avg_pool2d_forward(const PoolGeometry& g, const float* x, float* y) {
  if (pool_output_size(g) == 0) return;
  const int64_t C = g.c, image = g.in_h * g.in_w * C;
  per_image(g, [&](int64_t b) {
    const float* xb = x + b * image;
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j) {
        const Window win(g, i, j);
        float* __restrict yo = y + ((b * g.out_h + i) * g.out_w + j) * C;
        std::fill(yo, yo + C, 0.0f);
        const int64_t taps = win.taps();
        if (taps == 0) continue;
        for (int64_t u = win.u_lo; u < win.u_hi; ++u)
          for (int64_t v = win.v_lo; v < win.v_hi; ++v) {
            const float* __restrict xp = xb + ((win.r0 + u) * g.in_w + win.q0 + v) * C;
            for (int64_t ch = 0; ch < C; ++ch) yo[ch] += xp[ch];
          }
        const float scale = 1.0f / float(taps);
        for (int64_t ch = 0; ch < C; ++ch) yo[ch] *= scale;
      }
  });
}

void avg_pool2d_backward(const PoolGeometry& g, const float* dy, float* dx) {
  const int64_t C = g.c, image = g.in_h * g.in_w * C;
  if (pool_input_size(g) == 0) return;
  per_image(g, [&](int64_t b) {
    float* dxb = dx + b * image;
    std::fill(dxb, dxb + image, 0.0f);
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j) {
        const Window win(g, i, j);
        const int64_t taps = win.taps();
        if (taps == 0) continue;
        const float* __restrict dyo = dy + ((b * g.out_h + i) * g.out_w + j) * C;
        const float scale = 1.0f / float(taps);
        for (int64_t u = win.u_lo; u < win.u_hi; ++u)
          for (int64_t v = win.v_lo; v < win.v_hi; ++v) {
            float* __restrict dxp = dxb + ((win.r0 + u) * g.in_w + win.q0 + v) * C;
            for (int64_t ch = 0; ch < C; ++ch) dxp[ch] += dyo[ch] * scale;
          }
      }
  });
}

}  // namespace lw
