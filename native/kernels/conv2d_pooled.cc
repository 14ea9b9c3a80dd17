// conv2d_pooled.cc — conv2d_backward_filter_pooled (conv2d_pooled_filter.h):
// x zero-padded once, the per-ISA vectorised pass
// (conv2d_pooled_filter.cc), and the scalar walk for any other argmax.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "conv2d_pooled_filter.h"
#include "threadpool.h"

namespace lw {
namespace {

// Any argmax: each valid winner decoded to its conv output pixel and channel.
void pooled_filter_scalar(const ConvGeometry& g, const PoolGeometry& p, const float* x,
                          const float* t, const int32_t* argmax, float* dw) {
  const int64_t K = g.out_c, C = g.in_c, image = g.out_h * g.out_w * K;
  const int64_t per_out = p.out_h * p.out_w * p.c;
  for (int64_t e = 0; e < g.k_h * g.k_w * C * K; ++e) dw[e] = 0.0f;
  for (int64_t b = 0; b < g.n; ++b) {
    const float* xb = x + b * g.in_h * g.in_w * C;
    for (int64_t o = 0; o < per_out; ++o) {
      const int64_t at = argmax[b * per_out + o];
      if (at < 0 || at >= image) continue;
      const float gv = t[b * per_out + o];
      const int64_t k = at % K, q = (at / K) % g.out_w, r = at / K / g.out_w;
      for (int64_t u = 0; u < g.k_h; ++u) {
        const int64_t xr = r * g.stride_h - g.pad_top + u;
        if (xr < 0 || xr >= g.in_h) continue;
        for (int64_t v = 0; v < g.k_w; ++v) {
          const int64_t xq = q * g.stride_w - g.pad_left + v;
          if (xq < 0 || xq >= g.in_w) continue;
          for (int64_t c = 0; c < C; ++c)
            dw[((u * g.k_w + v) * C + c) * K + k] += gv * xb[(xr * g.in_w + xq) * C + c];
        }
      }
    }
  }
}

}  // namespace

bool pooled_filter_applies(const ConvGeometry& g, const PoolGeometry& p) {
  return p.n == g.n && p.in_h == g.out_h && p.in_w == g.out_w && p.c == g.out_c &&
         p.stride_h == p.pool_h && p.stride_w == p.pool_w && p.pad_top == 0 && p.pad_left == 0;
}

void conv2d_backward_filter_pooled(const ConvGeometry& g, const PoolGeometry& p,
                                   const float* x, const float* t,
                                   const int32_t* argmax, float* dw) {
  const int64_t image = g.out_h * g.out_w * g.out_c, count = pool_output_size(p);
  if (g.k_h * g.k_w * g.in_c <= kPooledFilterMaxTaps && g.out_h > 0 && g.out_w > 0 && g.n > 0) {
    // Every input tap any output reads, zero outside the image.
    const int64_t pad_h = (g.out_h - 1) * g.stride_h + g.k_h, pad_w = (g.out_w - 1) * g.stride_w + g.k_w;
    const int64_t C = g.in_c, pad_image = pad_h * pad_w * C, ws = conv_filter_size(g);
    const int64_t per_out = p.out_h * p.out_w * p.c;
    // Columns of the padded rows that hold image pixels.
    const int64_t q_lo = g.pad_left > 0 ? g.pad_left : 0;
    const int64_t q_hi = g.in_w + g.pad_left < pad_w ? g.in_w + g.pad_left : pad_w;
    // Images in parts of a fixed size, each padded, checked and summed on its
    // own and the parts then added in order: the same sums whichever thread
    // takes which part. Nothing but that last sum runs serially (zero-filling
    // the whole padded batch and counting the valid winners on the caller
    // first held two threads to 1.2×).
    const int64_t parts = (g.n + kPooledFilterImagesPerPart - 1) / kPooledFilterImagesPerPart;
    std::unique_ptr<float[]> padded(new float[std::size_t(g.n * pad_image)]);
    std::vector<float> partial(std::size_t(parts * ws));
    std::vector<int64_t> missing(static_cast<std::size_t>(parts));
    const double flops = 2.0 * double(count) * double(p.pool_h * p.pool_w * g.k_h * g.k_w * C);
    const double bytes = 4.0 * (double(conv_input_size(g)) + 2.0 * double(count));
    parallel_ranges(parts, flops, bytes, [&](int64_t lo, int64_t hi) {
      for (int64_t part = lo; part < hi; ++part) {
        const int64_t b0 = part * kPooledFilterImagesPerPart;
        const int64_t b1 = b0 + kPooledFilterImagesPerPart < g.n ? b0 + kPooledFilterImagesPerPart : g.n;
        float* pad_part = padded.get() + b0 * pad_image;
        std::fill(pad_part, pad_part + (b1 - b0) * pad_image, 0.0f);
        for (int64_t b = b0; b < b1; ++b)
          for (int64_t rr = 0; rr < pad_h; ++rr) {
            const int64_t r = rr - g.pad_top;
            if (r < 0 || r >= g.in_h || q_hi <= q_lo) continue;
            const float* src = x + ((b * g.in_h + r) * g.in_w + q_lo - g.pad_left) * C;
            std::copy(src, src + (q_hi - q_lo) * C, padded.get() + ((b * pad_h + rr) * pad_w + q_lo) * C);
          }
        // One unsigned comparison (negatives wrap above `image`), so it vectorises.
        const int32_t* am = argmax + b0 * per_out;
        int64_t valid = 0;
        for (int64_t e = 0; e < (b1 - b0) * per_out; ++e) valid += uint32_t(am[e]) < uint64_t(image);
        ConvGeometry gp = g;
        PoolGeometry pp = p;
        gp.n = pp.n = b1 - b0;
        missing[std::size_t(part)] = valid - pooled_filter_vectorised(gp, pp, pad_part, pad_h, pad_w,
                                                                      t + b0 * per_out, am,
                                                                      partial.data() + part * ws);
      }
    });
    bool all_found = true;
    for (int64_t m : missing) all_found = all_found && m == 0;
    if (all_found) {
      std::copy(partial.begin(), partial.begin() + ws, dw);
      for (int64_t part = 1; part < parts; ++part)
        for (int64_t e = 0; e < ws; ++e) dw[e] += partial[std::size_t(part * ws + e)];
      return;
    }
  }
  pooled_filter_scalar(g, p, x, t, argmax, dw);
}

}  // namespace lw
