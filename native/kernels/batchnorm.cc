// batchnorm.cc — see batchnorm.h.
#include "batchnorm.h"

#include <cmath>
#include <vector>

namespace lw {

void batch_norm_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* variance, int64_t rows, int64_t cols, float eps) {
  if (cols == 0) return;
  std::vector<double> sum(cols, 0.0), sq(cols, 0.0), inv_std(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    for (int64_t c = 0; c < cols; ++c) sum[c] += xr[c];
  }
  const double n = rows > 0 ? static_cast<double>(rows) : 1.0;
  for (int64_t c = 0; c < cols; ++c) sum[c] /= n;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const double d = xr[c] - sum[c];
      sq[c] += d * d;
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    mean[c] = static_cast<float>(sum[c]);
    variance[c] = static_cast<float>(sq[c] / n);
    inv_std[c] = 1.0 / std::sqrt(sq[c] / n + eps);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (int64_t c = 0; c < cols; ++c)
      yr[c] = static_cast<float>(gamma[c] * ((xr[c] - mean[c]) * inv_std[c]) + beta[c]);
  }
}

void batch_norm_backward(const float* x, const float* dy, const float* mean, const float* inv_std,
                         const float* gamma, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  if (cols == 0) return;
  std::vector<double> sum_dy(cols, 0.0), sum_dy_xhat(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      sum_dy[c] += dyr[c];
      sum_dy_xhat[c] += static_cast<double>(dyr[c]) * ((xr[c] - mean[c]) * inv_std[c]);
    }
  }
  const double n = static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const double xhat = (xr[c] - mean[c]) * inv_std[c];
      dxr[c] = static_cast<float>(gamma[c] * inv_std[c] / n * (n * dyr[c] - sum_dy[c] - xhat * sum_dy_xhat[c]));
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    dgamma[c] = static_cast<float>(sum_dy_xhat[c]);
    dbeta[c] = static_cast<float>(sum_dy[c]);
  }
}

void scale_shift(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (int64_t c = 0; c < cols; ++c) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

}  // namespace lw
