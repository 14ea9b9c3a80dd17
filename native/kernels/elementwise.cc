// elementwise.cc — activations, bias, reductions, updates and the MSE loss.
//
// Contiguous loops with no cross-iteration dependence (the reductions keep a
// double accumulator per column or in total), so -O3 vectorises them for the
// baseline ISA; they are memory-bound, which makes wider variants pointless.
// softmax's exponential is the exception: compute-bound, it has per-ISA
// copies (softmax_exp.cc).
//
// Threading: the per-element passes (activations and their derivatives, the
// bias epilogue, multiply, axpy, the MSE gradient) cut their elements (rows
// for the bias epilogue) into ranges when the cost model (threadpool.h) finds
// the bytes worth a second thread; each element is computed the same way
// whoever computes it, so results never depend on the thread count. sum_rows
// splits into blocks of rows fixed by its sizes alone and adds them in order;
// the other reductions (mse, softmax rows) stay serial: splitting them would
// change their summation order with the thread count.
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "finite_scan.h"
#include "softmax_exp.h"
#include "threadpool.h"

namespace lw {

namespace {

// Ranges of a pass over `count` elements of `streams` float arrays (read and
// written), `flops_per` operations each; boundaries on 64-byte lines so no
// two threads write the same cache line.
template <class Fn>
void elementwise_ranges(int64_t count, int streams, double flops_per, const Fn& fn) {
  parallel_ranges(count, flops_per * double(count), 4.0 * streams * double(count),
                  [&](int64_t b, int64_t e) { fn(b, e); }, 16);
}

double activation_flops(Activation f) {
  return (f == Activation::kSigmoid || f == Activation::kTanh) ? 20.0 : 1.0;
}

inline float sigmoid(float v) {
  // Split on the sign so exp never overflows to inf/inf.
  if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.0f + e);
}

void activation_forward_serial(Activation f, const float* x, float* y,
                               int64_t count, float alpha) {
  switch (f) {
    case Activation::kLinear:
      for (int64_t i = 0; i < count; ++i) y[i] = x[i];
      break;
    case Activation::kRelu:
      // x < 0 rather than x > 0 so a NaN input stays NaN (as PyTorch's relu):
      // a poisoned value must show in the output, not turn into a confident 0.
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < count; ++i) y[i] = sigmoid(x[i]);
      break;
    case Activation::kTanh:
      for (int64_t i = 0; i < count; ++i) y[i] = std::tanh(x[i]);
      break;
    case Activation::kLeakyRelu:
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
      break;
  }
}

}  // namespace

void activation_backward_serial(Activation f, const float* x, const float* y,
                                const float* dy, float* dx, int64_t count,
                                float alpha) {
  switch (f) {
    case Activation::kLinear:
      for (int64_t i = 0; i < count; ++i) dx[i] = dy[i];
      break;
    case Activation::kRelu:
      // Both operands loaded unconditionally, so this is a vector select,
      // not a branch that mispredicts on every other element.
      for (int64_t i = 0; i < count; ++i) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : 0.0f;
      }
      break;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < count; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case Activation::kTanh:
      for (int64_t i = 0; i < count; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case Activation::kLeakyRelu:
      for (int64_t i = 0; i < count; ++i) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : alpha * g;
      }
      break;
  }
}

void activation_forward(Activation f, const float* x, float* y, int64_t count,
                        float alpha) {
  elementwise_ranges(count, 2, activation_flops(f), [&](int64_t b, int64_t e) {
    activation_forward_serial(f, x + b, y + b, e - b, alpha);
  });
}

void activation_backward(Activation f, const float* x, const float* y,
                         const float* dy, float* dx, int64_t count, float alpha) {
  elementwise_ranges(count, 3, activation_flops(f), [&](int64_t b, int64_t e) {
    activation_backward_serial(f, x + b, y + b, dy + b, dx + b, e - b, alpha);
  });
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  // In blocks of whole rows (about 4K floats, still in L1 between the
  // passes): x − max per row, then the vectorised exponential over the whole
  // block (a 10-class row alone is too short to vectorise), then each row's
  // sum, in order and in double as before, and the scaling.
  const ExpBlock exp_block = exp_block_for_active_isa();
  const int64_t block_rows = cols >= 4096 ? 1 : 4096 / cols;
  for (int64_t r0 = 0; r0 < rows; r0 += block_rows) {
    const int64_t r1 = rows - r0 < block_rows ? rows : r0 + block_rows;
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float max = in[0];
      for (int64_t c = 1; c < cols; ++c) max = in[c] > max ? in[c] : max;
      for (int64_t c = 0; c < cols; ++c) out[c] = in[c] - max;
    }
    exp_block(y + r0 * cols, (r1 - r0) * cols);
    for (int64_t r = r0; r < r1; ++r) {
      float* out = y + r * cols;
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) sum += out[c];
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  }
}

void softmax_backward_rows(const float* y, const float* dy, float* dx,
                           int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    double dot = 0.0;
    for (int64_t c = 0; c < cols; ++c) dot += static_cast<double>(dyr[c]) * yr[c];
    const float d = static_cast<float>(dot);
    for (int64_t c = 0; c < cols; ++c) dxr[c] = yr[c] * (dyr[c] - d);
  }
}

void multiply(const float* a, const float* b, float* out, int64_t count) {
  elementwise_ranges(count, 3, 1.0, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = a[i] * b[i];
  });
}

void bias_activation(float* y, const float* bias, int64_t rows, int64_t cols,
                     Activation f, float alpha) {
  // Empty rows would still be walked one by one, up to 2^31 of them.
  if (rows == 0 || cols == 0) return;
  // Blocks of about 4K floats: still in L1 when the activation reads them
  // back, yet long enough that the activation's dispatch is paid rarely
  // (per row, a conv layer with 8 channels spent more on it than on the math).
  const double count = double(rows) * double(cols);
  parallel_ranges(rows, count * (1.0 + activation_flops(f)), 8.0 * count,
                  [&](int64_t lo, int64_t hi) {
    bias_activation_serial(y + lo * cols, bias, hi - lo, cols, f, alpha);
  });
}

void bias_activation_serial(float* y, const float* bias, int64_t rows,
                            int64_t cols, Activation f, float alpha) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t block_rows = cols >= 4096 ? 1 : 4096 / cols;
  for (int64_t r0 = 0; r0 < rows; r0 += block_rows) {
    const int64_t r1 = r0 + block_rows < rows ? r0 + block_rows : rows;
    float* block = y + r0 * cols;
    for (int64_t r = r0; r < r1; ++r) {
      float* row = y + r * cols;
      for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
    }
    activation_forward_serial(f, block, block, (r1 - r0) * cols, alpha);
  }
}

void add_row_vector(float* y, const float* bias, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  const double count = double(rows) * double(cols);
  parallel_ranges(rows, count, 8.0 * count, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      float* row = y + r * cols;
      for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
    }
  });
}

namespace {

// Σ of src[0, n) into 32 lanes, acc[k] = Σ src[k + 32m], in eight
// baseline vectors (one per register, so the adds never wait on memory).
void sum_lanes32(const float* __restrict src, int64_t n, float* __restrict acc_out) {
  typedef float V4 __attribute__((vector_size(16)));
  V4 a[8] = {};
  int64_t t0 = 0;
  for (; t0 + 32 <= n; t0 += 32)
    for (int k = 0; k < 8; ++k) {
      V4 v;
      __builtin_memcpy(&v, src + t0 + 4 * k, sizeof v);
      a[k] += v;
    }
  __builtin_memcpy(acc_out, a, sizeof a);
  for (int64_t k = 0; t0 + k < n; ++k) acc_out[k] += src[t0 + k];
}

}  // namespace

void sum_rows(const float* x, float* out, int64_t rows, int64_t cols,
              bool accumulate) {
  if (!accumulate)
    for (int64_t c = 0; c < cols; ++c) out[c] = 0.0f;
  if (cols == 0 || rows == 0) return;
  // Rows in blocks of a fixed size (independent of the thread count), each
  // summed on its own, then the blocks added in order: the same result on any
  // thread count, and blocks the pool can share. When cols divides 32 a block
  // is summed through 32 register lanes over its flattened rows (a row of 8
  // or 16 is too short to vectorise, and accumulating it into out row by row
  // chained every add through a store and a reload: the npm-start CNN's conv
  // bias gradient, 6272 rows × 16, took 20 µs); otherwise row by row.
  const bool lanes32 = 32 % cols == 0;
  const int64_t block_rows = kSumRowsBlockFloats / cols > 0 ? kSumRowsBlockFloats / cols : 1;
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  // The block sums live in the calling thread's scratch, grown once and
  // reused: sum_rows runs several times in every training step.
  thread_local std::vector<float> scratch;
  if (scratch.size() < size_t(blocks * cols)) scratch.resize(size_t(blocks * cols));
  float* const partial = scratch.data();
  std::fill(partial, partial + blocks * cols, 0.0f);
  const double count = double(rows) * double(cols);
  parallel_ranges(blocks, count, 4.0 * count, [&](int64_t lo, int64_t hi) {
    for (int64_t blk = lo; blk < hi; ++blk) {
      const int64_t r0 = blk * block_rows, r1 = r0 + block_rows < rows ? r0 + block_rows : rows;
      const float* src = x + r0 * cols;
      float* pb = partial + blk * cols;
      if (lanes32) {
        float acc[32];
        sum_lanes32(src, (r1 - r0) * cols, acc);
        for (int64_t c = 0; c < cols; ++c) pb[c] = acc[c];
        for (int64_t k = cols; k < 32; ++k) pb[k % cols] += acc[k];
        continue;
      }
      for (int64_t r = r0; r < r1; ++r, src += cols)
        for (int64_t c = 0; c < cols; ++c) pb[c] += src[c];
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    float total = partial[size_t(c)];
    for (int64_t blk = 1; blk < blocks; ++blk) total += partial[size_t(blk * cols + c)];
    out[c] += total;
  }
}

void axpy(float alpha, const float* x, float* y, int64_t count) {
  elementwise_ranges(count, 3, 2.0, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] += alpha * x[i];
  });
}

int64_t first_non_finite(const float* x, int64_t count) {
  // Scan in blocks and locate the culprit only in a block that has one:
  // training data is checked once per fit, and is large.
  constexpr int64_t kBlock = 1024;
  const AnyNonFinite any_non_finite = any_non_finite_for_active_isa();
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t end = start + kBlock < count ? start + kBlock : count;
    if (any_non_finite(x + start, end - start))
      for (int64_t i = start; i < end; ++i)
        if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

double mse(const float* pred, const float* target, int64_t count) {
  if (count == 0) return 0.0;
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(pred[i]) - target[i];
    sum += d * d;
  }
  return sum / static_cast<double>(count);
}

void mse_gradient(const float* pred, const float* target, float* grad,
                  int64_t count) {
  if (count == 0) return;
  const float scale = 2.0f / static_cast<float>(count);
  elementwise_ranges(count, 3, 2.0, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) grad[i] = scale * (pred[i] - target[i]);
  });
}

}  // namespace lw
