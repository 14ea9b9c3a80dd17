// gemm.h — single-precision matrix product on raw row-major buffers.
//
//   C[m×n] = alpha · op(A) · op(B) + beta · C
//
// op(A) is A (m×k, row stride lda) or, with trans_a, Aᵀ where A is stored k×m.
// op(B) is B (k×n, row stride ldb) or, with trans_b, Bᵀ where B is stored n×k.
// C is m×n with row stride ldc. beta == 0 overwrites C without reading it
// (so NaN garbage in an uninitialised C never leaks into the result).
//
// Sizes are int64 so callers never truncate; the binding checks that every
// buffer holds what these sizes and strides address. C must not alias A or B.
// Large products are split across the addon's thread pool (threadpool.h); the
// instruction-set variant is picked once at load time (cpu.h).
#pragma once
#include <cstdint>

#include "elementwise.h"

namespace lw {

// What sgemm applies to C after the whole product: C = f(C + bias) per row,
// bias [n] (one value per column of C). The tiles of C get it as they are
// stored, while in registers (AVX-512: bias, relu, leaky ReLU) or right after
// each cache block (everything else), instead of in a second pass over C.
// Bit-identical to sgemm followed by bias_activation when alpha is 1.
// With non_finite set, it also stores 1 there when any C + bias (f's
// argument) is NaN or ±Inf, and never stores 0: a dense layer's input row
// holding NaN or ±Inf makes every one of its row's values non-finite, so
// predict can skip its own scan of the input when this stays 0.
struct GemmEpilogue {
  const float* bias;  // nullptr: no epilogue
  Activation f;
  float alpha;        // leaky ReLU's slope
  int* non_finite = nullptr;
};

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc);
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc,
           const GemmEpilogue& epilogue);

// The plain triple loop, kept as the reference the tests compare against.
void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, float alpha, const float* a, int64_t lda,
                     const float* b, int64_t ldb, float beta, float* c,
                     int64_t ldc);

}  // namespace lw
