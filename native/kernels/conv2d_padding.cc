// conv2d_padding.cc — see conv2d_padding.h.
#include "conv2d_padding.h"

#include <cstring>

namespace lw {

void pad_image_rows(const ConvGeometry& g, const float* x, int64_t b, int64_t i0, int64_t i1, float* X) {
  const int64_t C = g.in_c, Wx = g.out_w + g.k_w - 1, xrow = Wx * C;
  // Padded column e holds x column e − pad_left (zero outside the image).
  int64_t e_lo = g.pad_left, e_hi = g.pad_left + g.in_w;
  if (e_lo < 0) e_lo = 0;
  if (e_hi > Wx) e_hi = Wx;
  if (e_hi < e_lo) e_hi = e_lo;
  for (int64_t a = i0; a < i1 + g.k_h - 1; ++a) {
    float* dst = X + a * xrow;
    const int64_t r = a - g.pad_top;
    if (r < 0 || r >= g.in_h || e_lo >= e_hi) {
      std::memset(dst, 0, sizeof(float) * xrow);
      continue;
    }
    std::memset(dst, 0, sizeof(float) * e_lo * C);
    std::memcpy(dst + e_lo * C, x + ((b * g.in_h + r) * g.in_w + e_lo - g.pad_left) * C,
                sizeof(float) * (e_hi - e_lo) * C);
    std::memset(dst + e_hi * C, 0, sizeof(float) * (Wx - e_hi) * C);
  }
}

}  // namespace lw
