// elementwise.h — the per-element and reduction work of activations, losses
// and parameter updates. Plain loops over contiguous float buffers of `count`
// elements (or a rows×cols row-major matrix); the compiler vectorises them.
// Outputs may alias inputs only where a comment says so.
#pragma once
#include <cstdint>

namespace lw {

enum class Activation { kLinear = 0, kRelu = 1, kSigmoid = 2, kTanh = 3, kLeakyRelu = 4 };

// y = f(x). y may alias x. alpha is leaky ReLU's negative slope (else unused).
void activation_forward(Activation f, const float* x, float* y, int64_t count,
                        float alpha);
// dx = dy · f'(x), using y = f(x) where that is cheaper. dx may alias dy.
void activation_backward(Activation f, const float* x, const float* y,
                         const float* dy, float* dx, int64_t count, float alpha);
// The same on the calling thread only, for kernels that apply f' to a piece
// of their own work (already split across the pool).
void activation_backward_serial(Activation f, const float* x, const float* y,
                                const float* dy, float* dx, int64_t count,
                                float alpha);

// Row-wise softmax of a rows×cols matrix, max-subtracted so large logits do
// not overflow. y may alias x.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);
// dx = y ⊙ (dy − Σ_c dy·y) per row: the softmax Jacobian applied to dy.
// dx may alias dy.
void softmax_backward_rows(const float* y, const float* dy, float* dx,
                           int64_t rows, int64_t cols);
// out = a ⊙ b. out may alias a or b.
void multiply(const float* a, const float* b, float* out, int64_t count);

// y[r,c] = f(y[r,c] + bias[c]) in place: a layer's bias and activation in
// one pass over its output. f' is then computable from y alone (see
// activation_backward with x = y), which is why leaky ReLU needs alpha ≥ 0.
void bias_activation(float* y, const float* bias, int64_t rows, int64_t cols,
                     Activation f, float alpha);
// bias_activation on the calling thread only, for kernels that apply it to
// the rows they have just written (conv2d_forward_bias_activation).
void bias_activation_serial(float* y, const float* bias, int64_t rows,
                            int64_t cols, Activation f, float alpha);
// y[r,c] += bias[c] for a rows×cols matrix.
void add_row_vector(float* y, const float* bias, int64_t rows, int64_t cols);
// out[c] = Σ_r x[r,c] (+ out[c] when accumulate). Rows are summed in blocks
// of kSumRowsBlockFloats / cols rows (at least one), the blocks then added in
// order, so the result depends on the sizes only, never on the thread count.
constexpr int64_t kSumRowsBlockFloats = 8192;
void sum_rows(const float* x, float* out, int64_t rows, int64_t cols,
              bool accumulate);
// y += alpha · x.
void axpy(float alpha, const float* x, float* y, int64_t count);
// Index of the first NaN or ±Inf in x, or −1 when every value is finite.
int64_t first_non_finite(const float* x, int64_t count);
// Mean squared error, accumulated in double: Σ (p − t)² / count.
double mse(const float* pred, const float* target, int64_t count);
// grad = 2 (p − t) / count.
void mse_gradient(const float* pred, const float* target, float* grad,
                  int64_t count);

}  // namespace lw
