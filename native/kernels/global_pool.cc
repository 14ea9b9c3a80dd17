// global_pool.cc — the kernels of global_pool.h. Each walks an image pixel by
// pixel with the channels innermost (contiguous, so the inner loops
// vectorise), keeping one accumulator per channel.
#include "global_pool.h"

#include <algorithm>
#include <vector>

namespace lw {

void global_avg_pool_forward(const float* x, float* y, int64_t n, int64_t pixels, int64_t c) {
  if (n == 0 || c == 0) return;
  if (pixels == 0) {
    std::fill(y, y + n * c, 0.0f);
    return;
  }
  std::vector<double> sum(static_cast<size_t>(c));
  const double scale = 1.0 / static_cast<double>(pixels);
  for (int64_t b = 0; b < n; ++b) {
    std::fill(sum.begin(), sum.end(), 0.0);
    const float* xb = x + b * pixels * c;
    for (int64_t p = 0; p < pixels; ++p) {
      const float* __restrict xp = xb + p * c;
      double* __restrict s = sum.data();
      for (int64_t ch = 0; ch < c; ++ch) s[ch] += xp[ch];
    }
    float* yb = y + b * c;
    for (int64_t ch = 0; ch < c; ++ch) yb[ch] = static_cast<float>(sum[ch] * scale);
  }
}

void global_avg_pool_backward(const float* dy, float* dx, int64_t n, int64_t pixels, int64_t c) {
  if (n == 0 || c == 0 || pixels == 0) return;
  const float scale = 1.0f / static_cast<float>(pixels);
  std::vector<float> share(static_cast<size_t>(c));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) share[ch] = dy[b * c + ch] * scale;
    float* dxb = dx + b * pixels * c;
    for (int64_t p = 0; p < pixels; ++p) std::copy(share.begin(), share.end(), dxb + p * c);
  }
}

void global_max_pool_forward(const float* x, float* y, int32_t* argmax, int64_t n, int64_t pixels, int64_t c) {
  if (n == 0 || c == 0) return;
  if (pixels == 0) {
    std::fill(y, y + n * c, 0.0f);
    std::fill(argmax, argmax + n * c, int32_t(-1));
    return;
  }
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * pixels * c;
    float* __restrict yb = y + b * c;
    int32_t* __restrict ab = argmax + b * c;
    std::copy(xb, xb + c, yb);
    std::fill(ab, ab + c, int32_t(0));
    for (int64_t p = 1; p < pixels; ++p) {
      const float* __restrict xp = xb + p * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float val = xp[ch], best = yb[ch];
        // Strictly greater keeps the first of equal values; a NaN takes over
        // from any number and is then never replaced (best != best).
        const bool take = (val > best) | ((val != val) & (best == best));
        yb[ch] = take ? val : best;
        ab[ch] = take ? int32_t(p) : ab[ch];
      }
    }
  }
}

void global_max_pool_backward(const float* dy, const int32_t* argmax, float* dx, int64_t n, int64_t pixels, int64_t c) {
  if (n == 0 || c == 0 || pixels == 0) return;
  std::fill(dx, dx + n * pixels * c, 0.0f);
  for (int64_t b = 0; b < n; ++b) {
    float* dxb = dx + b * pixels * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      // Read once into a local: the array may be rewritten by another thread mid-call.
      const int64_t p = argmax[b * c + ch];
      if (p < 0 || p >= pixels) continue;
      dxb[p * c + ch] = dy[b * c + ch];
    }
  }
}

}  // namespace lw
