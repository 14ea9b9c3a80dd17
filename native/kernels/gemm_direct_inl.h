// gemm_direct_inl.h — the unpacked "direct" sgemm loop, compiled once per
// instruction set.
//
// Used for products too small to repay packing and for single-row (GEMV)
// products, where packing would read B once more than the product does. It
// needs no heap memory, so it is also the fallback if a packing buffer cannot
// be allocated. Layout and alpha/beta contract as in gemm.h.
//
// This is plain C++ written so the auto-vectoriser can widen it; each kernel
// file includes it once, inside its own anonymous namespace, after defining
// LW_DIRECT_ATTR as its function attribute (empty for baseline, the
// target(...) attribute for AVX2 / AVX-512), so each copy is compiled for its
// ISA and has internal linkage. It must stay free of #includes and of calls to
// any inline function defined elsewhere (STL included): such a function
// would be instantiated with the ISA's code generation and could be shared
// with baseline callers by the linker.
//
// Accumulation order along k is fixed (the same for every ISA copy), so a
// product's result depends only on its shape, not on which copy ran it.

// Included only from gemm_baseline.cc, gemm_avx2.cc and gemm_avx512.cc.
#ifndef LW_DIRECT_ATTR
#error "define LW_DIRECT_ATTR before including gemm_direct_inl.h"
#endif

constexpr int64_t kDirectStrip = 256;  // columns of C accumulated at once
constexpr int kDirectLanes = 32;       // partial sums of a dot product

LW_DIRECT_ATTR inline void direct_store(float* __restrict cj, const float* __restrict acc,
                                        int64_t w, float alpha, float beta) {
  if (beta == 0.0f) {
    for (int64_t j = 0; j < w; ++j) cj[j] = alpha * acc[j];
  } else {
    for (int64_t j = 0; j < w; ++j) cj[j] = alpha * acc[j] + beta * cj[j];
  }
}

// acc[0..w) = Σ_p A(i,p) · B(p, js..js+w), B not transposed (rows contiguous).
LW_DIRECT_ATTR inline void direct_axpy_rows(const DirectArgs& d, int64_t i,
                                            int64_t js, int64_t w,
                                            float* __restrict acc) {
  for (int64_t j = 0; j < w; ++j) acc[j] = 0.0f;
  const float* __restrict b = d.b + js;
  const int64_t ldb = d.ldb, k = d.k;
  const float* a = d.a;
  const int64_t a_step = d.ta ? d.lda : 1;
  const float* ai = d.ta ? a + i : a + i * d.lda;
  for (int64_t p = 0; p < k; ++p) {
    const float av = ai[p * a_step];
    const float* __restrict br = b + p * ldb;
    for (int64_t j = 0; j < w; ++j) acc[j] += av * br[j];
  }
}

// Σ_p x[p]·y[p] with kDirectLanes interleaved partial sums, reduced pairwise.
LW_DIRECT_ATTR inline float direct_dot(const float* __restrict x,
                                       const float* __restrict y, int64_t k) {
  float s[kDirectLanes];
  for (int q = 0; q < kDirectLanes; ++q) s[q] = 0.0f;
  int64_t p = 0;
  for (; p + kDirectLanes <= k; p += kDirectLanes)
    for (int q = 0; q < kDirectLanes; ++q) s[q] += x[p + q] * y[p + q];
  for (int q = 0; p < k; ++p, ++q) s[q] += x[p] * y[p];
  for (int width = kDirectLanes / 2; width > 0; width /= 2)
    for (int q = 0; q < width; ++q) s[q] += s[q + width];
  return s[0];
}

// Row form, for few rows of C: C(i, strip) from rows of B (B not
// transposed) or from dot products with rows of the stored n×k B.
LW_DIRECT_ATTR void direct_rows(const DirectArgs& d, int64_t i0, int64_t i1,
                                int64_t j0, int64_t j1) {
  alignas(64) float acc[kDirectStrip];
  alignas(64) float arow[kDirectStrip];  // a strided row of op(A), gathered
  for (int64_t i = i0; i < i1; ++i) {
    for (int64_t js = j0; js < j1; js += kDirectStrip) {
      const int64_t w = j1 - js < kDirectStrip ? j1 - js : kDirectStrip;
      if (!d.tb) {
        direct_axpy_rows(d, i, js, w, acc);
      } else {
        for (int64_t j = 0; j < w; ++j) acc[j] = 0.0f;
        for (int64_t p0 = 0; p0 < d.k; p0 += kDirectStrip) {
          const int64_t kc = d.k - p0 < kDirectStrip ? d.k - p0 : kDirectStrip;
          const float* ai = d.a + i * d.lda + p0;
          if (d.ta) {  // op(A) row i is a column of the stored k×m A
            for (int64_t p = 0; p < kc; ++p) arow[p] = d.a[(p0 + p) * d.lda + i];
            ai = arow;
          }
          for (int64_t j = 0; j < w; ++j)
            acc[j] += direct_dot(ai, d.b + (js + j) * d.ldb + p0, kc);
        }
      }
      direct_store(d.c + i * d.ldc + js, acc, w, d.alpha, d.beta);
    }
  }
}

// Column form, for few columns of C: the mirror image of direct_rows, reading
// rows of the stored k×m A (trans_a) or dot products with rows of A.
LW_DIRECT_ATTR void direct_cols(const DirectArgs& d, int64_t i0, int64_t i1,
                                int64_t j0, int64_t j1) {
  alignas(64) float acc[kDirectStrip];
  alignas(64) float bcol[kDirectStrip];  // a strided column of op(B), gathered
  for (int64_t j = j0; j < j1; ++j) {
    for (int64_t is = i0; is < i1; is += kDirectStrip) {
      const int64_t h = i1 - is < kDirectStrip ? i1 - is : kDirectStrip;
      for (int64_t i = 0; i < h; ++i) acc[i] = 0.0f;
      if (d.ta) {
        const float* bj = d.tb ? d.b + j * d.ldb : d.b + j;
        const int64_t b_step = d.tb ? 1 : d.ldb;
        for (int64_t p = 0; p < d.k; ++p) {
          const float bv = bj[p * b_step];
          const float* __restrict ar = d.a + p * d.lda + is;
          for (int64_t i = 0; i < h; ++i) acc[i] += bv * ar[i];
        }
      } else {
        for (int64_t p0 = 0; p0 < d.k; p0 += kDirectStrip) {
          const int64_t kc = d.k - p0 < kDirectStrip ? d.k - p0 : kDirectStrip;
          const float* bj = d.b + j * d.ldb + p0;
          if (!d.tb) {  // op(B) column j is a column of the stored k×n B
            for (int64_t p = 0; p < kc; ++p) bcol[p] = d.b[(p0 + p) * d.ldb + j];
            bj = bcol;
          }
          for (int64_t i = 0; i < h; ++i)
            acc[i] += direct_dot(d.a + (is + i) * d.lda + p0, bj, kc);
        }
      }
      float* cj = d.c + is * d.ldc + j;
      if (d.beta == 0.0f) {
        for (int64_t i = 0; i < h; ++i) cj[i * d.ldc] = d.alpha * acc[i];
      } else {
        for (int64_t i = 0; i < h; ++i) cj[i * d.ldc] = d.alpha * acc[i] + d.beta * cj[i * d.ldc];
      }
    }
  }
}

// C rows [i0, i1) × columns [j0, j1): row form when C is wide, column form
// when it is tall, so the long side is the one read contiguously.
LW_DIRECT_ATTR void direct_kernel(const DirectArgs& d, int64_t i0, int64_t i1,
                                  int64_t j0, int64_t j1) {
  if (i1 - i0 <= j1 - j0)
    direct_rows(d, i0, i1, j0, j1);
  else
    direct_cols(d, i0, i1, j0, j1);
}
