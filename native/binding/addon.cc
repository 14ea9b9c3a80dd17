// addon.cc — the Node-API surface of layerwise's kernels.
//
// Each export checks its arguments (args.h), takes the raw pointers once and
// calls one kernel synchronously. Small typed-array arguments (geometries) are
// copied once and only the copy is validated and used; scalars are JS numbers,
// immutable by nature; kernels read index arrays (argmax) element by element
// into locals and bound-check each, so a buffer rewritten by another thread
// mid-call can change results but never reach outside a buffer. Nothing here keeps per-call state, so the
// addon is context-aware and loads in any number of worker_threads; the only
// process-wide state is the kernel thread pool and the ISA choice, both
// thread-safe.
#include <napi.h>

#include <cstdint>
#include <string>
#include <initializer_list>
#include <utility>

#include "../kernels/batchnorm.h"
#include "../kernels/conv2d.h"
#include "../kernels/conv2d_pooled_filter.h"
#include "../kernels/cpu.h"
#include "../kernels/elementwise.h"
#include "../kernels/gather.h"
#include "../kernels/gemm.h"
#include "../kernels/global_pool.h"
#include "../kernels/optimizers.h"
#include "../kernels/peak.h"
#include "../kernels/pool2d.h"
#include "../kernels/threadpool.h"
#include "args.h"

namespace lw_binding {
namespace {

// matmul(a, b, c, m, n, k, transA, transB, accumulate, alpha)
//   C[m×n] = alpha·op(A)·op(B) (+ C), A stored m×k (k×m if transA), B stored k×n
//   (n×k if transB), all contiguous row-major.
// The operands of C[m×n] = op(A)·op(B) with A holding m·k and B k·n floats:
// lengths, and C written apart from what it reads.
void RequireProductOperands(Napi::Env env, const Napi::Float32Array& a, const Napi::Float32Array& b,
                            const Napi::Float32Array& c, int64_t m, int64_t n, int64_t k) {
  RequireLength(env, a, Product(env, {m, k}), "a");
  RequireLength(env, b, Product(env, {k, n}), "b");
  RequireLength(env, c, Product(env, {m, n}), "c");
  RequireDisjoint(env, c, a, "c", "a");
  RequireDisjoint(env, c, b, "c", "b");
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 10, "matmul");
  auto a = Floats(info, 0, "a"), b = Floats(info, 1, "b"), c = Floats(info, 2, "c");
  const int64_t m = Size(info, 3, "m"), n = Size(info, 4, "n"), k = Size(info, 5, "k");
  const bool ta = Flag(info, 6, "transA"), tb = Flag(info, 7, "transB");
  const bool acc = Flag(info, 8, "accumulate");
  const float alpha = Scalar(info, 9, "alpha");
  RequireProductOperands(env, a, b, c, m, n, k);
  if (m == 0 || n == 0) return env.Undefined();
  lw::sgemm(ta, tb, m, n, k, alpha, a.Data(), ta ? m : k, b.Data(), tb ? k : n,
            acc ? 1.0f : 0.0f, c.Data(), n);
  return env.Undefined();
}

// Geometry arrives as 13 numbers in the field order of lw::ConvGeometry.
lw::ConvGeometry Geometry(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const std::array<int32_t, 13> s = CopyInts<13>(info, i, "geometry");
  static const char* const names[13] = {
      "n", "inH", "inW", "inC", "kH", "kW", "outC",
      "strideH", "strideW", "padTop", "padLeft", "outH", "outW"};
  for (int f = 0; f < 13; ++f) {
    const bool is_stride = f == 7 || f == 8, is_pad = f == 9 || f == 10;
    // Pads may be negative (that crops); strides must be positive.
    if (!is_pad && s[f] < (is_stride ? 1 : 0))
      ThrowRange(env, std::string("geometry.") + names[f] + " must be " +
                          (is_stride ? "at least 1" : "non-negative") +
                          " but is " + std::to_string(s[f]));
  }
  return lw::ConvGeometry{s[0], s[1], s[2], s[3], s[4], s[5],  s[6],
                          s[7], s[8], s[9], s[10], s[11], s[12]};
}

void CheckConvSizes(Napi::Env env, const lw::ConvGeometry& g) {
  Product(env, {g.n, g.in_h, g.in_w, g.in_c});
  Product(env, {g.k_h, g.k_w, g.in_c, g.out_c});
  Product(env, {g.n, g.out_h, g.out_w, g.out_c});
  // The im2col panel of one output row: out_w · k_h · k_w · in_c.
  Product(env, {g.out_w, g.k_h, g.k_w, g.in_c});
}

// The operands of a convolution's forward pass y = x ⋆ w: sizes, lengths,
// and y written apart from what it reads.
void RequireConvForward(Napi::Env env, const Napi::Float32Array& x, const Napi::Float32Array& w,
                        const Napi::Float32Array& y, const lw::ConvGeometry& g) {
  CheckConvSizes(env, g);
  RequireLength(env, x, lw::conv_input_size(g), "x");
  RequireLength(env, w, lw::conv_filter_size(g), "w");
  RequireLength(env, y, lw::conv_output_size(g), "y");
  RequireDisjoint(env, y, x, "y", "x");
  RequireDisjoint(env, y, w, "y", "w");
}

// conv2dForward(x, w, y, geometry, accumulate)
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 5, "conv2dForward");
  auto x = Floats(info, 0, "x"), w = Floats(info, 1, "w"), y = Floats(info, 2, "y");
  const lw::ConvGeometry g = Geometry(info, 3);
  const bool acc = Flag(info, 4, "accumulate");
  RequireConvForward(env, x, w, y, g);
  lw::conv2d_forward(g, x.Data(), w.Data(), y.Data(), acc);
  return env.Undefined();
}

// conv2dBackwardInput(dy, w, dx, geometry, accumulate)
Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 5, "conv2dBackwardInput");
  auto dy = Floats(info, 0, "dy"), w = Floats(info, 1, "w"), dx = Floats(info, 2, "dx");
  const lw::ConvGeometry g = Geometry(info, 3);
  const bool acc = Flag(info, 4, "accumulate");
  CheckConvSizes(env, g);
  RequireLength(env, dy, lw::conv_output_size(g), "dy");
  RequireLength(env, w, lw::conv_filter_size(g), "w");
  RequireLength(env, dx, lw::conv_input_size(g), "dx");
  RequireDisjoint(env, dx, dy, "dx", "dy");
  RequireDisjoint(env, dx, w, "dx", "w");
  lw::conv2d_backward_input(g, dy.Data(), w.Data(), dx.Data(), acc);
  return env.Undefined();
}

// conv2dBackwardFilter(x, dy, dw, geometry, accumulate)
Napi::Value Conv2dBackwardFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 5, "conv2dBackwardFilter");
  auto x = Floats(info, 0, "x"), dy = Floats(info, 1, "dy"), dw = Floats(info, 2, "dw");
  const lw::ConvGeometry g = Geometry(info, 3);
  const bool acc = Flag(info, 4, "accumulate");
  CheckConvSizes(env, g);
  RequireLength(env, x, lw::conv_input_size(g), "x");
  RequireLength(env, dy, lw::conv_output_size(g), "dy");
  RequireLength(env, dw, lw::conv_filter_size(g), "dw");
  RequireDisjoint(env, dw, x, "dw", "x");
  RequireDisjoint(env, dw, dy, "dw", "dy");
  lw::conv2d_backward_filter(g, x.Data(), dy.Data(), dw.Data(), acc);
  return env.Undefined();
}

lw::Activation ActivationKind(const Napi::CallbackInfo& info, size_t i) {
  const int64_t kind = Size(info, i, "activation");
  if (kind > static_cast<int64_t>(lw::Activation::kLeakyRelu))
    ThrowRange(info.Env(), "activation must be 0 (linear), 1 (relu), 2 (sigmoid), 3 (tanh) or 4 (leaky relu)");
  return static_cast<lw::Activation>(kind);
}

// conv2dForwardBiasActivation(x, w, bias, y, geometry, kind, alpha): y = f(x ⋆ w + bias)
Napi::Value Conv2dForwardBiasActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 7, "conv2dForwardBiasActivation");
  auto x = Floats(info, 0, "x"), w = Floats(info, 1, "w"), bias = Floats(info, 2, "bias"), y = Floats(info, 3, "y");
  const lw::ConvGeometry g = Geometry(info, 4);
  const lw::Activation f = ActivationKind(info, 5);
  const float alpha = Scalar(info, 6, "alpha");
  RequireConvForward(env, x, w, y, g);
  RequireLength(env, bias, g.out_c, "bias");
  RequireDisjoint(env, y, bias, "y", "bias");
  lw::conv2d_forward_bias_activation(g, x.Data(), w.Data(), bias.Data(), y.Data(), f, alpha);
  return env.Undefined();
}

// matmulBiasActivation(a, b, bias, c, m, n, k, kind, alpha) → boolean
//   C[m×n] = f(A·B + bias), A m×k, B k×n, bias n, contiguous row-major; the
//   GEMM applies bias and activation as it stores each tile. Returns whether
//   every A·B + bias was finite (GemmEpilogue::non_finite).
Napi::Value MatmulBiasActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 9, "matmulBiasActivation");
  auto a = Floats(info, 0, "a"), b = Floats(info, 1, "b"), bias = Floats(info, 2, "bias"), c = Floats(info, 3, "c");
  const int64_t m = Size(info, 4, "m"), n = Size(info, 5, "n"), k = Size(info, 6, "k");
  const lw::Activation f = ActivationKind(info, 7);
  const float alpha = Scalar(info, 8, "alpha");
  RequireProductOperands(env, a, b, c, m, n, k);
  RequireLength(env, bias, n, "bias");
  RequireDisjoint(env, c, bias, "c", "bias");
  if (m == 0 || n == 0) return Napi::Boolean::New(env, true);
  int non_finite = 0;
  lw::sgemm(false, false, m, n, k, 1.0f, a.Data(), k, b.Data(), n, 0.0f, c.Data(), n,
            lw::GemmEpilogue{bias.Data(), f, alpha, &non_finite});
  return Napi::Boolean::New(env, non_finite == 0);
}

// activationForward(kind, x, y, alpha): y = f(x) over x.length elements.
Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 4, "activationForward");
  const lw::Activation f = ActivationKind(info, 0);
  auto x = Floats(info, 1, "x"), y = Floats(info, 2, "y");
  const float alpha = Scalar(info, 3, "alpha");
  const int64_t count = x.ElementLength();
  RequireLength(env, y, count, "y");
  lw::activation_forward(f, x.Data(), y.Data(), count, alpha);
  return env.Undefined();
}

// activationBackward(kind, x, y, dy, dx, alpha): dx = dy · f'(x) over dy.length.
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "activationBackward");
  const lw::Activation f = ActivationKind(info, 0);
  auto x = Floats(info, 1, "x"), y = Floats(info, 2, "y");
  auto dy = Floats(info, 3, "dy"), dx = Floats(info, 4, "dx");
  const float alpha = Scalar(info, 5, "alpha");
  const int64_t count = dy.ElementLength();
  RequireLength(env, x, count, "x");
  RequireLength(env, y, count, "y");
  RequireLength(env, dx, count, "dx");
  lw::activation_backward(f, x.Data(), y.Data(), dy.Data(), dx.Data(), count, alpha);
  return env.Undefined();
}

// addRowVector(y, bias, rows, cols): y[r,c] += bias[c].
Napi::Value AddRowVector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 4, "addRowVector");
  auto y = Floats(info, 0, "y"), bias = Floats(info, 1, "bias");
  const int64_t rows = Size(info, 2, "rows"), cols = Size(info, 3, "cols");
  RequireLength(env, y, Product(env, {rows, cols}), "y");
  RequireLength(env, bias, cols, "bias");
  RequireDisjoint(env, y, bias, "y", "bias");
  lw::add_row_vector(y.Data(), bias.Data(), rows, cols);
  return env.Undefined();
}

// biasActivation(y, bias, rows, cols, kind, alpha): y = f(y + bias) per row, in place.
Napi::Value BiasActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "biasActivation");
  auto y = Floats(info, 0, "y"), bias = Floats(info, 1, "bias");
  const int64_t rows = Size(info, 2, "rows"), cols = Size(info, 3, "cols");
  const lw::Activation f = ActivationKind(info, 4);
  const float alpha = Scalar(info, 5, "alpha");
  RequireLength(env, y, Product(env, {rows, cols}), "y");
  RequireLength(env, bias, cols, "bias");
  RequireDisjoint(env, y, bias, "y", "bias");
  lw::bias_activation(y.Data(), bias.Data(), rows, cols, f, alpha);
  return env.Undefined();
}

// sumRows(x, out, rows, cols, accumulate): out[c] = Σ_r x[r,c] (+ out[c]).
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 5, "sumRows");
  auto x = Floats(info, 0, "x"), out = Floats(info, 1, "out");
  const int64_t rows = Size(info, 2, "rows"), cols = Size(info, 3, "cols");
  const bool acc = Flag(info, 4, "accumulate");
  RequireLength(env, x, Product(env, {rows, cols}), "x");
  RequireLength(env, out, cols, "out");
  RequireDisjoint(env, out, x, "out", "x");
  lw::sum_rows(x.Data(), out.Data(), rows, cols, acc);
  return env.Undefined();
}

// batchNormTrainForward(x, gamma, beta, y, mean, variance, rows, cols, eps)
Napi::Value BatchNormTrainForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 9, "batchNormTrainForward");
  auto x = Floats(info, 0, "x"), gamma = Floats(info, 1, "gamma"), beta = Floats(info, 2, "beta"), y = Floats(info, 3, "y");
  auto mean = Floats(info, 4, "mean"), variance = Floats(info, 5, "variance");
  const int64_t rows = Size(info, 6, "rows"), cols = Size(info, 7, "cols");
  const float eps = Scalar(info, 8, "eps");
  const int64_t count = Product(env, {rows, cols});
  RequireLength(env, x, count, "x");
  RequireLength(env, y, count, "y");
  RequireLength(env, gamma, cols, "gamma");
  RequireLength(env, beta, cols, "beta");
  RequireLength(env, mean, cols, "mean");
  RequireLength(env, variance, cols, "variance");
  // y may alias x (the statistics are taken before y is written); nothing else may overlap.
  for (const auto* out : {&y, &mean, &variance}) {
    if (out != &y) RequireDisjoint(env, *out, x, "mean/variance", "x");
    RequireDisjoint(env, *out, gamma, "an output", "gamma");
    RequireDisjoint(env, *out, beta, "an output", "beta");
  }
  RequireDisjoint(env, mean, variance, "mean", "variance");
  RequireDisjoint(env, y, mean, "y", "mean");
  RequireDisjoint(env, y, variance, "y", "variance");
  if (!(eps > 0.0f)) ThrowRange(env, "eps must be positive");
  lw::batch_norm_train_forward(x.Data(), gamma.Data(), beta.Data(), y.Data(), mean.Data(), variance.Data(), rows, cols, eps);
  return env.Undefined();
}

// batchNormBackward(x, dy, mean, invStd, gamma, dx, dgamma, dbeta, rows, cols)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 10, "batchNormBackward");
  auto x = Floats(info, 0, "x"), dy = Floats(info, 1, "dy"), mean = Floats(info, 2, "mean"), inv_std = Floats(info, 3, "invStd");
  auto gamma = Floats(info, 4, "gamma"), dx = Floats(info, 5, "dx"), dgamma = Floats(info, 6, "dgamma"), dbeta = Floats(info, 7, "dbeta");
  const int64_t rows = Size(info, 8, "rows"), cols = Size(info, 9, "cols");
  const int64_t count = Product(env, {rows, cols});
  RequireLength(env, x, count, "x");
  RequireLength(env, dy, count, "dy");
  RequireLength(env, dx, count, "dx");
  for (const auto& [a, name] : {std::pair{&mean, "mean"}, {&inv_std, "invStd"}, {&gamma, "gamma"}, {&dgamma, "dgamma"}, {&dbeta, "dbeta"}})
    RequireLength(env, *a, cols, name);
  // dx may alias dy (dy is summed before dx is written); every other output must stand alone.
  for (const auto& [in, name] : {std::pair{&x, "x"}, {&mean, "mean"}, {&inv_std, "invStd"}, {&gamma, "gamma"}}) {
    RequireDisjoint(env, dx, *in, "dx", name);
    RequireDisjoint(env, dgamma, *in, "dgamma", name);
    RequireDisjoint(env, dbeta, *in, "dbeta", name);
  }
  RequireDisjoint(env, dgamma, dy, "dgamma", "dy");
  RequireDisjoint(env, dbeta, dy, "dbeta", "dy");
  RequireDisjoint(env, dgamma, dbeta, "dgamma", "dbeta");
  RequireDisjoint(env, dx, dgamma, "dx", "dgamma");
  RequireDisjoint(env, dx, dbeta, "dx", "dbeta");
  lw::batch_norm_backward(x.Data(), dy.Data(), mean.Data(), inv_std.Data(), gamma.Data(), dx.Data(), dgamma.Data(), dbeta.Data(), rows, cols);
  return env.Undefined();
}

// scaleShift(x, scale, shift, y, rows, cols)
Napi::Value ScaleShift(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "scaleShift");
  auto x = Floats(info, 0, "x"), scale = Floats(info, 1, "scale"), shift = Floats(info, 2, "shift"), y = Floats(info, 3, "y");
  const int64_t rows = Size(info, 4, "rows"), cols = Size(info, 5, "cols");
  const int64_t count = Product(env, {rows, cols});
  RequireLength(env, x, count, "x");
  RequireLength(env, y, count, "y");
  RequireLength(env, scale, cols, "scale");
  RequireLength(env, shift, cols, "shift");
  RequireDisjoint(env, y, scale, "y", "scale");
  RequireDisjoint(env, y, shift, "y", "shift");
  lw::scale_shift(x.Data(), scale.Data(), shift.Data(), y.Data(), rows, cols);
  return env.Undefined();
}

// axpy(alpha, x, y): y += alpha·x over x.length elements.
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, "axpy");
  const float alpha = Scalar(info, 0, "alpha");
  auto x = Floats(info, 1, "x"), y = Floats(info, 2, "y");
  const int64_t count = x.ElementLength();
  RequireLength(env, y, count, "y");
  lw::axpy(alpha, x.Data(), y.Data(), count);
  return env.Undefined();
}

// gatherRows(src, rowSize, index, start, end, out[, prefetchStart, prefetchEnd]):
// out row i = src row index[start + i] for i < end − start, rows of rowSize
// floats; then asks the cache for rows index[prefetchStart, prefetchEnd).
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "gatherRows");
  auto src = Floats(info, 0, "src");
  const int64_t row_size = Size(info, 1, "rowSize", 1);
  auto index = Ints(info, 2, "index");
  const int64_t start = Size(info, 3, "start"), end = Size(info, 4, "end");
  auto out = Floats(info, 5, "out");
  if (start > end || end > static_cast<int64_t>(index.ElementLength()))
    ThrowRange(env, "expected 0 ≤ start ≤ end ≤ index.length (" + std::to_string(index.ElementLength()) +
                        ") but got start " + std::to_string(start) + ", end " + std::to_string(end));
  const int64_t count = end - start;
  RequireLength(env, out, Product(env, {count, row_size}), "out");
  RequireDisjoint(env, out, src, "out", "src");
  RequireDisjoint(env, out, index, "out", "index");
  int64_t prefetch_start = 0, prefetch_end = 0;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    RequireCount(info, 8, "gatherRows with a prefetch range");
    prefetch_start = Size(info, 6, "prefetchStart");
    prefetch_end = Size(info, 7, "prefetchEnd");
    if (prefetch_start > prefetch_end || prefetch_end > static_cast<int64_t>(index.ElementLength()))
      ThrowRange(env, "expected 0 ≤ prefetchStart ≤ prefetchEnd ≤ index.length (" + std::to_string(index.ElementLength()) +
                          ") but got prefetchStart " + std::to_string(prefetch_start) + ", prefetchEnd " + std::to_string(prefetch_end));
  }
  const int64_t src_rows = static_cast<int64_t>(src.ElementLength()) / row_size;
  const int64_t bad = lw::gather_rows(src.Data(), src_rows, row_size, index.Data() + start, count, out.Data(),
                                      index.Data() + prefetch_start, prefetch_end - prefetch_start);
  if (bad >= 0)
    ThrowRange(env, "index[" + std::to_string(start + bad) + "] is not a row of src (" +
                        std::to_string(src_rows) + " rows of " + std::to_string(row_size) + ")");
  return env.Undefined();
}

// firstNonFinite(x) → index of the first NaN/±Inf in x, or −1.
Napi::Value FirstNonFinite(const Napi::CallbackInfo& info) {
  RequireCount(info, 1, "firstNonFinite");
  auto x = Floats(info, 0, "x");
  return Napi::Number::New(info.Env(), static_cast<double>(lw::first_non_finite(x.Data(), x.ElementLength())));
}

// misalignment(x) → bytes by which x's first element lies past a 128-byte
// boundary. lib/aligned.ts uses it to start weight and activation buffers on a
// boundary: a product split by columns between two threads then never shares
// a cache line (or an adjacent-line prefetch pair) across its seam.
Napi::Value Misalignment(const Napi::CallbackInfo& info) {
  RequireCount(info, 1, "misalignment");
  auto x = Floats(info, 0, "x");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(x.Data()) % 128));
}

// mse(pred, target) → mean of squared differences over pred.length.
Napi::Value Mse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 2, "mse");
  auto p = Floats(info, 0, "pred"), t = Floats(info, 1, "target");
  const int64_t count = p.ElementLength();
  RequireLength(env, t, count, "target");
  return Napi::Number::New(env, lw::mse(p.Data(), t.Data(), count));
}

// mseGradient(pred, target, grad): grad = 2(pred − target)/pred.length.
Napi::Value MseGradient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, "mseGradient");
  auto p = Floats(info, 0, "pred"), t = Floats(info, 1, "target"), g = Floats(info, 2, "grad");
  const int64_t count = p.ElementLength();
  RequireLength(env, t, count, "target");
  RequireLength(env, g, count, "grad");
  lw::mse_gradient(p.Data(), t.Data(), g.Data(), count);
  return env.Undefined();
}

// softmaxRows(x, y, rows, cols): row-wise softmax; y may be x.
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 4, "softmaxRows");
  auto x = Floats(info, 0, "x"), y = Floats(info, 1, "y");
  const int64_t rows = Size(info, 2, "rows"), cols = Size(info, 3, "cols", 1);
  const int64_t count = Product(env, {rows, cols});
  RequireLength(env, x, count, "x");
  RequireLength(env, y, count, "y");
  lw::softmax_rows(x.Data(), y.Data(), rows, cols);
  return env.Undefined();
}

// softmaxBackwardRows(y, dy, dx, rows, cols): dx = y ⊙ (dy − Σ dy·y) per row.
Napi::Value SoftmaxBackwardRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 5, "softmaxBackwardRows");
  auto y = Floats(info, 0, "y"), dy = Floats(info, 1, "dy"), dx = Floats(info, 2, "dx");
  const int64_t rows = Size(info, 3, "rows"), cols = Size(info, 4, "cols", 1);
  const int64_t count = Product(env, {rows, cols});
  RequireLength(env, y, count, "y");
  RequireLength(env, dy, count, "dy");
  RequireLength(env, dx, count, "dx");
  RequireDisjoint(env, dx, y, "dx", "y");
  lw::softmax_backward_rows(y.Data(), dy.Data(), dx.Data(), rows, cols);
  return env.Undefined();
}

// multiply(a, b, out): out = a ⊙ b over a.length; out may be a or b.
Napi::Value Multiply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, "multiply");
  auto a = Floats(info, 0, "a"), b = Floats(info, 1, "b"), out = Floats(info, 2, "out");
  const int64_t count = a.ElementLength();
  RequireLength(env, b, count, "b");
  RequireLength(env, out, count, "out");
  lw::multiply(a.Data(), b.Data(), out.Data(), count);
  return env.Undefined();
}

// Pool geometry arrives as 12 numbers in the field order of lw::PoolGeometry.
lw::PoolGeometry PoolGeometryArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const std::array<int32_t, 12> s = CopyInts<12>(info, i, "geometry");
  static const char* const names[12] = {"n", "inH", "inW", "c", "poolH", "poolW",
                                        "strideH", "strideW", "padTop", "padLeft", "outH", "outW"};
  for (int f = 0; f < 12; ++f) {
    const bool at_least_one = f >= 4 && f <= 7, is_pad = f == 8 || f == 9;
    if (!is_pad && s[f] < (at_least_one ? 1 : 0))
      ThrowRange(env, std::string("geometry.") + names[f] + " must be " +
                          (at_least_one ? "at least 1" : "non-negative") + " but is " +
                          std::to_string(s[f]));
  }
  lw::PoolGeometry g{s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11]};
  Product(env, {g.n, g.in_h, g.in_w, g.c});
  Product(env, {g.n, g.out_h, g.out_w, g.c});
  // argmax holds in-image indices as int32.
  if (Product(env, {g.in_h, g.in_w, g.c}) > INT32_MAX)
    ThrowRange(env, "one image of a pooling input must hold fewer than 2^31 values");
  return g;
}

// maxPool2dForward(x, y, argmax, geometry)
Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 4, "maxPool2dForward");
  auto x = Floats(info, 0, "x"), y = Floats(info, 1, "y");
  auto argmax = Ints(info, 2, "argmax");
  const lw::PoolGeometry g = PoolGeometryArg(info, 3);
  RequireLength(env, x, lw::pool_input_size(g), "x");
  RequireLength(env, y, lw::pool_output_size(g), "y");
  RequireLength(env, argmax, lw::pool_output_size(g), "argmax");
  RequireDisjoint(env, y, x, "y", "x");
  RequireDisjoint(env, argmax, x, "argmax", "x");
  RequireDisjoint(env, argmax, y, "argmax", "y");
  lw::max_pool2d_forward(g, x.Data(), y.Data(), argmax.Data());
  return env.Undefined();
}

// A pool forward pass that records nothing but its output: name(x, y, geometry).
Napi::Value PoolForward(const Napi::CallbackInfo& info, const char* name,
                        void (*kernel)(const lw::PoolGeometry&, const float*, float*)) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, name);
  auto x = Floats(info, 0, "x"), y = Floats(info, 1, "y");
  const lw::PoolGeometry g = PoolGeometryArg(info, 2);
  RequireLength(env, x, lw::pool_input_size(g), "x");
  RequireLength(env, y, lw::pool_output_size(g), "y");
  RequireDisjoint(env, y, x, "y", "x");
  kernel(g, x.Data(), y.Data());
  return env.Undefined();
}

// maxPool2dValues(x, y, geometry): maxima only, for inference
Napi::Value MaxPool2dValues(const Napi::CallbackInfo& info) {
  return PoolForward(info, "maxPool2dValues", lw::max_pool2d_forward_values);
}

// The checks both max-pool backward passes share.
void RequireMaxPoolBackward(Napi::Env env, const Napi::Float32Array& dy, const Napi::Int32Array& argmax,
                            const Napi::Float32Array& dx, const lw::PoolGeometry& g) {
  RequireLength(env, dy, lw::pool_output_size(g), "dy");
  RequireLength(env, argmax, lw::pool_output_size(g), "argmax");
  RequireLength(env, dx, lw::pool_input_size(g), "dx");
  RequireDisjoint(env, dx, dy, "dx", "dy");
  RequireDisjoint(env, dx, argmax, "dx", "argmax");
}

// maxPool2dBackward(dy, argmax, dx, geometry)
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 4, "maxPool2dBackward");
  auto dy = Floats(info, 0, "dy");
  auto argmax = Ints(info, 1, "argmax");
  auto dx = Floats(info, 2, "dx");
  const lw::PoolGeometry g = PoolGeometryArg(info, 3);
  RequireMaxPoolBackward(env, dy, argmax, dx, g);
  lw::max_pool2d_backward(g, dy.Data(), argmax.Data(), dx.Data());
  return env.Undefined();
}

// maxPool2dBackwardActivation(dy, argmax, y, dx, geometry, kind, alpha, sums | null)
Napi::Value MaxPool2dBackwardActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 8, "maxPool2dBackwardActivation");
  auto dy = Floats(info, 0, "dy");
  auto argmax = Ints(info, 1, "argmax");
  auto y = Floats(info, 2, "y");
  auto dx = Floats(info, 3, "dx");
  const lw::PoolGeometry g = PoolGeometryArg(info, 4);
  const lw::Activation f = ActivationKind(info, 5);
  const float alpha = Scalar(info, 6, "alpha");
  RequireMaxPoolBackward(env, dy, argmax, dx, g);
  RequireLength(env, y, lw::pool_output_size(g), "y");
  RequireDisjoint(env, dx, y, "dx", "y");
  float* sums = nullptr;
  if (!info[7].IsNull()) {
    auto s = Floats(info, 7, "sums");
    RequireLength(env, s, g.c, "sums");
    RequireDisjoint(env, s, dx, "sums", "dx");
    RequireDisjoint(env, s, dy, "sums", "dy");
    RequireDisjoint(env, s, y, "sums", "y");
    RequireDisjoint(env, s, argmax, "sums", "argmax");
    sums = s.Data();
  }
  lw::max_pool2d_backward_activation(g, dy.Data(), argmax.Data(), y.Data(), f, alpha, dx.Data(), sums);
  return env.Undefined();
}

// conv2dBackwardFilterPooled(x, t, argmax, dw, convGeometry, poolGeometry)
//   dw = the conv's filter gradient for ∂E/∂y = t scattered to the winners
//   of the non-overlapping max pool over the conv's output.
Napi::Value Conv2dBackwardFilterPooled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "conv2dBackwardFilterPooled");
  auto x = Floats(info, 0, "x"), t = Floats(info, 1, "t");
  auto argmax = Ints(info, 2, "argmax");
  auto dw = Floats(info, 3, "dw");
  const lw::ConvGeometry g = Geometry(info, 4);
  const lw::PoolGeometry p = PoolGeometryArg(info, 5);
  CheckConvSizes(env, g);
  if (!lw::pooled_filter_applies(g, p))
    ThrowRange(env, "the pool geometry must pool the conv output [n, outH, outW, outC] in non-overlapping windows (stride = pool size, no padding)");
  RequireLength(env, x, lw::conv_input_size(g), "x");
  RequireLength(env, t, lw::pool_output_size(p), "t");
  RequireLength(env, argmax, lw::pool_output_size(p), "argmax");
  RequireLength(env, dw, lw::conv_filter_size(g), "dw");
  RequireDisjoint(env, dw, x, "dw", "x");
  RequireDisjoint(env, dw, t, "dw", "t");
  RequireDisjoint(env, dw, argmax, "dw", "argmax");
  lw::conv2d_backward_filter_pooled(g, p, x.Data(), t.Data(), argmax.Data(), dw.Data());
  return env.Undefined();
}

// avgPool2dForward(x, y, geometry)
Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  return PoolForward(info, "avgPool2dForward", lw::avg_pool2d_forward);
}

// avgPool2dBackward(dy, dx, geometry)
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, "avgPool2dBackward");
  auto dy = Floats(info, 0, "dy"), dx = Floats(info, 1, "dx");
  const lw::PoolGeometry g = PoolGeometryArg(info, 2);
  RequireLength(env, dy, lw::pool_output_size(g), "dy");
  RequireLength(env, dx, lw::pool_input_size(g), "dx");
  RequireDisjoint(env, dx, dy, "dx", "dy");
  lw::avg_pool2d_backward(g, dy.Data(), dx.Data());
  return env.Undefined();
}

// Global pooling: sizes n, pixels (h·w), c; x and dx hold n·pixels·c floats,
// y, dy and argmax n·c.
struct GlobalPoolSizes {
  int64_t n, pixels, c, input, output;
};

GlobalPoolSizes GlobalPoolSizesArg(const Napi::CallbackInfo& info, size_t first) {
  Napi::Env env = info.Env();
  const int64_t n = Size(info, first, "n"), pixels = Size(info, first + 1, "pixels"), c = Size(info, first + 2, "c");
  return {n, pixels, c, Product(env, {n, pixels, c}), Product(env, {n, c})};
}

// globalAvgPoolForward(x, y, n, pixels, c) and globalAvgPoolBackward(dy, dx,
// n, pixels, c): one buffer in, one out; the direction decides which of them
// holds the images and which the [n, c] values.
template <bool kBackward>
Napi::Value GlobalAvgPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* in_name = kBackward ? "dy" : "x";
  const char* out_name = kBackward ? "dx" : "y";
  RequireCount(info, 5, kBackward ? "globalAvgPoolBackward" : "globalAvgPoolForward");
  auto in = Floats(info, 0, in_name), out = Floats(info, 1, out_name);
  const GlobalPoolSizes s = GlobalPoolSizesArg(info, 2);
  RequireLength(env, in, kBackward ? s.output : s.input, in_name);
  RequireLength(env, out, kBackward ? s.input : s.output, out_name);
  RequireDisjoint(env, out, in, out_name, in_name);
  if (kBackward) lw::global_avg_pool_backward(in.Data(), out.Data(), s.n, s.pixels, s.c);
  else lw::global_avg_pool_forward(in.Data(), out.Data(), s.n, s.pixels, s.c);
  return env.Undefined();
}

// globalMaxPoolForward(x, y, argmax, n, pixels, c)
Napi::Value GlobalMaxPoolForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "globalMaxPoolForward");
  auto x = Floats(info, 0, "x"), y = Floats(info, 1, "y");
  auto argmax = Ints(info, 2, "argmax");
  const GlobalPoolSizes s = GlobalPoolSizesArg(info, 3);
  RequireLength(env, x, s.input, "x");
  RequireLength(env, y, s.output, "y");
  RequireLength(env, argmax, s.output, "argmax");
  RequireDisjoint(env, y, x, "y", "x");
  RequireDisjoint(env, argmax, x, "argmax", "x");
  RequireDisjoint(env, argmax, y, "argmax", "y");
  lw::global_max_pool_forward(x.Data(), y.Data(), argmax.Data(), s.n, s.pixels, s.c);
  return env.Undefined();
}

// globalMaxPoolBackward(dy, argmax, dx, n, pixels, c)
Napi::Value GlobalMaxPoolBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "globalMaxPoolBackward");
  auto dy = Floats(info, 0, "dy");
  auto argmax = Ints(info, 1, "argmax");
  auto dx = Floats(info, 2, "dx");
  const GlobalPoolSizes s = GlobalPoolSizesArg(info, 3);
  RequireLength(env, dy, s.output, "dy");
  RequireLength(env, argmax, s.output, "argmax");
  RequireLength(env, dx, s.input, "dx");
  RequireDisjoint(env, dx, dy, "dx", "dy");
  RequireDisjoint(env, dx, argmax, "dx", "argmax");
  lw::global_max_pool_backward(dy.Data(), argmax.Data(), dx.Data(), s.n, s.pixels, s.c);
  return env.Undefined();
}

// Optimizer steps: every state buffer must match the parameter's length and
// none may share memory with another.
void RequireStepBuffers(Napi::Env env, std::initializer_list<std::pair<const Napi::Float32Array*, const char*>> bufs) {
  const auto& [param, param_name] = *bufs.begin();
  const int64_t count = param->ElementLength();
  for (const auto& [buf, name] : bufs) {
    if (static_cast<int64_t>(buf->ElementLength()) != count)
      ThrowRange(env, std::string(name) + " holds " + std::to_string(buf->ElementLength()) +
                          " floats but " + param_name + " holds " + std::to_string(count));
  }
  for (auto a = bufs.begin(); a != bufs.end(); ++a)
    for (auto b = a + 1; b != bufs.end(); ++b) RequireDisjoint(env, *a->first, *b->first, a->second, b->second);
}

// sgdMomentumStep(param, grad, velocity, lr, momentum, nesterov)
Napi::Value SgdMomentumStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "sgdMomentumStep");
  auto p = Floats(info, 0, "param"), g = Floats(info, 1, "grad"), v = Floats(info, 2, "velocity");
  const float lr = Scalar(info, 3, "lr"), momentum = Scalar(info, 4, "momentum");
  const bool nesterov = Flag(info, 5, "nesterov");
  RequireStepBuffers(env, {{&p, "param"}, {&g, "grad"}, {&v, "velocity"}});
  lw::sgd_momentum_step(p.Data(), g.Data(), v.Data(), p.ElementLength(), lr, momentum, nesterov);
  return env.Undefined();
}

// adamStep(param, grad, m, v, stepSize, beta1, beta2, bias2, eps)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 9, "adamStep");
  auto p = Floats(info, 0, "param"), g = Floats(info, 1, "grad");
  auto m = Floats(info, 2, "m"), v = Floats(info, 3, "v");
  const float step = Scalar(info, 4, "stepSize"), b1 = Scalar(info, 5, "beta1");
  const float b2 = Scalar(info, 6, "beta2"), bias2 = Scalar(info, 7, "bias2"), eps = Scalar(info, 8, "eps");
  RequireStepBuffers(env, {{&p, "param"}, {&g, "grad"}, {&m, "m"}, {&v, "v"}});
  lw::adam_step(p.Data(), g.Data(), m.Data(), v.Data(), p.ElementLength(), step, b1, b2, bias2, eps);
  return env.Undefined();
}

// rmspropStep(param, grad, sq, lr, rho, eps)
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 6, "rmspropStep");
  auto p = Floats(info, 0, "param"), g = Floats(info, 1, "grad"), sq = Floats(info, 2, "sq");
  const float lr = Scalar(info, 3, "lr"), rho = Scalar(info, 4, "rho"), eps = Scalar(info, 5, "eps");
  RequireStepBuffers(env, {{&p, "param"}, {&g, "grad"}, {&sq, "sq"}});
  lw::rmsprop_step(p.Data(), g.Data(), sq.Data(), p.ElementLength(), lr, rho, eps);
  return env.Undefined();
}

lw::Isa ParseIsa(Napi::Env env, const std::string& name) {
  if (name == "baseline") return lw::Isa::kBaseline;
  if (name == "avx2") return lw::Isa::kAvx2;
  if (name == "avx512") return lw::Isa::kAvx512;
  ThrowRange(env, "isa must be 'baseline', 'avx2' or 'avx512' but got '" + name + "'");
}

// info() → { isa, threads, supported: string[], caches: { l1d, l2, l3 } (bytes, as the GEMM blocking reads them) }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", lw::isa_name(lw::active_isa()));
  out.Set("threads", lw::num_threads());
  const lw::CacheSizes& cache = lw::cache_sizes();
  Napi::Object caches = Napi::Object::New(env);
  caches.Set("l1d", static_cast<double>(cache.l1d));
  caches.Set("l2", static_cast<double>(cache.l2));
  caches.Set("l3", static_cast<double>(cache.l3));
  out.Set("caches", caches);
  Napi::Array supported = Napi::Array::New(env);
  uint32_t i = 0;
  for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512})
    if (lw::cpu_supports(isa)) supported.Set(i++, lw::isa_name(isa));
  out.Set("supported", supported);
  return out;
}

// setIsa(name): throws if this CPU cannot run it.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 1, "setIsa");
  if (!info[0].IsString()) ThrowType(env, "isa must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!lw::set_isa(ParseIsa(env, name)))
    ThrowRange(env, "this CPU cannot run the '" + name + "' kernels");
  return env.Undefined();
}

// setNumThreads(n): n = 0 means one per core.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  RequireCount(info, 1, "setNumThreads");
  const int64_t n = Size(info, 0, "threads");
  if (n > 1024) ThrowRange(info.Env(), "threads must be at most 1024");
  lw::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// makeThreadIdlePriority() → whether the calling thread now runs in the OS's
// idle class (createPredictor's workers: see cpu.h).
Napi::Value MakeThreadIdlePriority(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), lw::make_current_thread_idle_priority());
}

// fmaPeak(isa, rounds, threads) → GFLOP/s of independent multiply-adds in that
// variant (0 if the CPU cannot run it), for the benchmarks' "% of peak". Both
// counts are capped so a stray call cannot occupy the machine for long.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireCount(info, 3, "fmaPeak");
  if (!info[0].IsString()) ThrowType(env, "isa must be a string");
  const lw::Isa isa = ParseIsa(env, info[0].As<Napi::String>().Utf8Value());
  const int64_t rounds = Size(info, 1, "rounds");
  const int64_t threads = Size(info, 2, "threads", 1);
  if (rounds > (int64_t{1} << 24)) ThrowRange(env, "rounds must be at most 2^24");
  if (threads > 64) ThrowRange(env, "threads must be at most 64");
  return Napi::Number::New(env, lw::fma_peak_gflops(isa, rounds, static_cast<int>(threads)));
}

// poolStats() → the thread pool's counters since the process started
// (threadpool.h PoolStats), for the benchmarks to say how often two-thread
// work ran on one thread and why.
Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const lw::PoolStats s = lw::pool_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("regions", Napi::Number::New(env, static_cast<double>(s.regions)));
  o.Set("serialRegions", Napi::Number::New(env, static_cast<double>(s.serial_regions)));
  o.Set("stalls", Napi::Number::New(env, static_cast<double>(s.stalls)));
  o.Set("stallsForgiven", Napi::Number::New(env, static_cast<double>(s.stalls_forgiven)));
  o.Set("starved", Napi::Number::New(env, static_cast<double>(s.starved)));
  o.Set("probes", Napi::Number::New(env, static_cast<double>(s.probes)));
  o.Set("farProbes", Napi::Number::New(env, static_cast<double>(s.far_probes)));
  o.Set("lastRoundTripNs", Napi::Number::New(env, static_cast<double>(s.last_round_trip_ns)));
  o.Set("sharedProbes", Napi::Number::New(env, static_cast<double>(s.shared_probes)));
  o.Set("sharedCoreProbes", Napi::Number::New(env, static_cast<double>(s.shared_core_probes)));
  o.Set("sharedSerialRegions", Napi::Number::New(env, static_cast<double>(s.shared_serial_regions)));
  o.Set("lastTwinSlowdown", Napi::Number::New(env, s.last_twin_slowdown));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
      {"matmul", Matmul},
      {"matmulBiasActivation", MatmulBiasActivation},
      {"conv2dForward", Conv2dForward},
      {"conv2dForwardBiasActivation", Conv2dForwardBiasActivation},
      {"conv2dBackwardInput", Conv2dBackwardInput},
      {"conv2dBackwardFilter", Conv2dBackwardFilter},
      {"conv2dBackwardFilterPooled", Conv2dBackwardFilterPooled},
      {"activationForward", ActivationForward},
      {"activationBackward", ActivationBackward},
      {"addRowVector", AddRowVector},
      {"sumRows", SumRows},
      {"batchNormTrainForward", BatchNormTrainForward},
      {"batchNormBackward", BatchNormBackward},
      {"scaleShift", ScaleShift},
      {"biasActivation", BiasActivation},
      {"axpy", Axpy},
      {"mse", Mse},
      {"firstNonFinite", FirstNonFinite},
      {"misalignment", Misalignment},
      {"gatherRows", GatherRows},
      {"mseGradient", MseGradient},
      {"softmaxRows", SoftmaxRows},
      {"softmaxBackwardRows", SoftmaxBackwardRows},
      {"multiply", Multiply},
      {"maxPool2dForward", MaxPool2dForward},
      {"maxPool2dValues", MaxPool2dValues},
      {"maxPool2dBackward", MaxPool2dBackward},
      {"maxPool2dBackwardActivation", MaxPool2dBackwardActivation},
      {"avgPool2dForward", AvgPool2dForward},
      {"avgPool2dBackward", AvgPool2dBackward},
      {"globalAvgPoolForward", GlobalAvgPool<false>},
      {"globalAvgPoolBackward", GlobalAvgPool<true>},
      {"globalMaxPoolForward", GlobalMaxPoolForward},
      {"globalMaxPoolBackward", GlobalMaxPoolBackward},
      {"sgdMomentumStep", SgdMomentumStep},
      {"adamStep", AdamStep},
      {"rmspropStep", RmspropStep},
      {"info", Info},
      {"setIsa", SetIsa},
      {"setNumThreads", SetNumThreads},
      {"fmaPeak", FmaPeak},
      {"poolStats", PoolStats},
      {"makeThreadIdlePriority", MakeThreadIdlePriority},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
  return exports;
}

}  // namespace
}  // namespace lw_binding

// Node-API modules are context-aware: this Init runs once per environment
// (main thread and each worker_thread) and holds no state of its own.
static Napi::Object InitLayerwise(Napi::Env env, Napi::Object exports) {
  return lw_binding::Init(env, exports);
}
NODE_API_MODULE(layerwise, InitLayerwise)
