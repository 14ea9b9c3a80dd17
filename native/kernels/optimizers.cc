// optimizers.cc — fused optimizer updates (formulas in optimizers.h).
#include "optimizers.h"

#include <cmath>

namespace lw {

void sgd_momentum_step(float* param, const float* grad, float* velocity,
                       int64_t count, float lr, float momentum, bool nesterov) {
  for (int64_t i = 0; i < count; ++i) {
    const float v = momentum * velocity[i] + grad[i];
    velocity[i] = v;
    param[i] -= lr * (nesterov ? grad[i] + momentum * v : v);
  }
}

void adam_step(float* param, const float* grad, float* m, float* v,
               int64_t count, float step_size, float beta1, float beta2,
               float bias2, float eps) {
  const float inv_bias2 = 1.0f / bias2;
  for (int64_t i = 0; i < count; ++i) {
    const float g = grad[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= step_size * mi / (std::sqrt(vi * inv_bias2) + eps);
  }
}

void rmsprop_step(float* param, const float* grad, float* sq, int64_t count,
                  float lr, float rho, float eps) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = grad[i];
    const float s = rho * sq[i] + (1.0f - rho) * g * g;
    sq[i] = s;
    param[i] -= lr * g / (std::sqrt(s) + eps);
  }
}

}  // namespace lw
