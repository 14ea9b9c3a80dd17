// optimizers.h — parameter updates, one fused pass over a parameter, its
// gradient and the optimizer's state (all `count` contiguous floats).
// Formulas follow PyTorch's torch.optim (no weight decay):
//
//   sgd_momentum:  v ← μ·v + g;  p ← p − lr·(g + μ·v) if nesterov else p − lr·v
//   adam:          m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//                  p ← p − step_size · m / (√(v / bias2) + ε)
//                  with step_size = lr / (1 − β1ᵗ), bias2 = 1 − β2ᵗ (the caller
//                  computes both from the step count t)
//   rmsprop:       s ← ρ·s + (1−ρ)·g²;  p ← p − lr · g / (√s + ε)
//
// No buffer aliases another. Memory-bound loops, vectorised by the compiler.
#pragma once
#include <cstdint>

namespace lw {

void sgd_momentum_step(float* param, const float* grad, float* velocity,
                       int64_t count, float lr, float momentum, bool nesterov);
void adam_step(float* param, const float* grad, float* m, float* v,
               int64_t count, float step_size, float beta1, float beta2,
               float bias2, float eps);
void rmsprop_step(float* param, const float* grad, float* sq, int64_t count,
                  float lr, float rho, float eps);

}  // namespace lw
