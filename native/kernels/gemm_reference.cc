// gemm_reference.cc — the obvious triple loop for C = alpha·op(A)·op(B) + beta·C.
// Slow on purpose: it is the yardstick the optimised sgemm is tested against.
#include "gemm.h"

namespace lw {

void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, float alpha, const float* a, int64_t lda,
                     const float* b, int64_t ldb, float beta, float* c,
                     int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += static_cast<double>(av) * bv;
      }
      float& out = c[i * ldc + j];
      out = static_cast<float>(alpha * sum) + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

}  // namespace lw
