// conv2d_reference.cc — the obvious direct loops for the three conv2d kernels
// (layouts and semantics in conv2d.h). Slow on purpose and single-threaded:
// they are the yardstick the optimised kernels in conv2d.cc are tested and
// benchmarked against. Every output element is one sum taken in double, so
// the reference is more accurate than what it checks and its rounding does
// not depend on loop order. Taps outside the input are skipped (read as zero),
// which keeps every access in bounds for any geometry.
#include "conv2d.h"

namespace lw {

void conv2d_forward_reference(const ConvGeometry& g, const float* x,
                              const float* w, float* y, bool accumulate) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j)
        for (int64_t o = 0; o < g.out_c; ++o) {
          double s = 0;
          for (int64_t u = 0; u < g.k_h; ++u) {
            const int64_t r = i * g.stride_h + u - g.pad_top;
            if (r < 0 || r >= g.in_h) continue;
            for (int64_t v = 0; v < g.k_w; ++v) {
              const int64_t q = j * g.stride_w + v - g.pad_left;
              if (q < 0 || q >= g.in_w) continue;
              for (int64_t c = 0; c < g.in_c; ++c)
                s += double(x[((b * g.in_h + r) * g.in_w + q) * g.in_c + c]) *
                     w[((u * g.k_w + v) * g.in_c + c) * g.out_c + o];
            }
          }
          float& out = y[((b * g.out_h + i) * g.out_w + j) * g.out_c + o];
          out = accumulate ? float(out + s) : float(s);
        }
}

// Gather form: each dx element sums the (output pixel, tap) pairs that read
// it, so it is written once.
void conv2d_backward_input_reference(const ConvGeometry& g, const float* dy,
                                     const float* w, float* dx,
                                     bool accumulate) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t r = 0; r < g.in_h; ++r)
      for (int64_t q = 0; q < g.in_w; ++q)
        for (int64_t c = 0; c < g.in_c; ++c) {
          double s = 0;
          for (int64_t u = 0; u < g.k_h; ++u) {
            // i · stride_h = r + pad_top − u must have a whole, in-range i.
            const int64_t ti = r + g.pad_top - u;
            if (ti < 0 || ti % g.stride_h != 0) continue;
            const int64_t i = ti / g.stride_h;
            if (i >= g.out_h) continue;
            for (int64_t v = 0; v < g.k_w; ++v) {
              const int64_t tj = q + g.pad_left - v;
              if (tj < 0 || tj % g.stride_w != 0) continue;
              const int64_t j = tj / g.stride_w;
              if (j >= g.out_w) continue;
              for (int64_t o = 0; o < g.out_c; ++o)
                s += double(dy[((b * g.out_h + i) * g.out_w + j) * g.out_c + o]) *
                     w[((u * g.k_w + v) * g.in_c + c) * g.out_c + o];
            }
          }
          float& out = dx[((b * g.in_h + r) * g.in_w + q) * g.in_c + c];
          out = accumulate ? float(out + s) : float(s);
        }
}

void conv2d_backward_filter_reference(const ConvGeometry& g, const float* x,
                                      const float* dy, float* dw,
                                      bool accumulate) {
  for (int64_t u = 0; u < g.k_h; ++u)
    for (int64_t v = 0; v < g.k_w; ++v)
      for (int64_t c = 0; c < g.in_c; ++c)
        for (int64_t o = 0; o < g.out_c; ++o) {
          double s = 0;
          for (int64_t b = 0; b < g.n; ++b)
            for (int64_t i = 0; i < g.out_h; ++i) {
              const int64_t r = i * g.stride_h + u - g.pad_top;
              if (r < 0 || r >= g.in_h) continue;
              for (int64_t j = 0; j < g.out_w; ++j) {
                const int64_t q = j * g.stride_w + v - g.pad_left;
                if (q < 0 || q >= g.in_w) continue;
                s += double(x[((b * g.in_h + r) * g.in_w + q) * g.in_c + c]) *
                     dy[((b * g.out_h + i) * g.out_w + j) * g.out_c + o];
              }
            }
          float& out = dw[((u * g.k_w + v) * g.in_c + c) * g.out_c + o];
          out = accumulate ? float(out + s) : float(s);
        }
}

}  // namespace lw
