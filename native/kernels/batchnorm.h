// batchnorm.h — batch normalization over a rows×cols row-major matrix whose
// columns are channels (a Dense output [n, features], or an NHWC image batch
// seen as [n·h·w, channels]). Statistics accumulate in double, by column,
// walking the rows in order so every access is sequential. Single-threaded:
// the passes are memory-bound and small next to the convolutions around them.
#pragma once
#include <cstdint>

namespace lw {

// Training: mean[c] and the biased variance[c] of the batch (the variance in
// a second pass around the mean, for stability), then
// y = gamma·(x − mean)/sqrt(variance + eps) + beta. y may alias x.
void batch_norm_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* variance, int64_t rows, int64_t cols, float eps);

// Backward, with x̂ = (x − mean)·inv_std: dbeta = Σ dy, dgamma = Σ dy·x̂,
// dx = gamma·inv_std/rows · (rows·dy − dbeta − x̂·dgamma). dx may alias dy.
void batch_norm_backward(const float* x, const float* dy, const float* mean, const float* inv_std,
                         const float* gamma, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols);

// Inference with the running statistics folded in: y = x·scale + shift per
// column, one pass. y may alias x.
void scale_shift(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t cols);

}  // namespace lw
