// gemm_baseline.cc — portable macro- and micro-kernel for lw::sgemm.
//
// Computes C(mc×nc) = alpha · Apacked(mc×kc) · Bpacked(kc×nc) + beta · C for
// one cache block handed over by the driver in gemm.cc (packed layouts are in
// gemm_internal.h). Runs on any CPU the addon is built for: it uses GCC/Clang
// vector extensions (4 floats = one SSE register on x86-64, one NEON register
// on arm64) rather than intrinsics, so the same source serves both. The 6×8
// tile keeps 12 accumulators + 2 B vectors + 1 broadcast in the 16 SSE
// registers. Row and column edges are handled like the AVX2 kernel: an exact
// row-count instantiation, and a stack tile for a partial column panel.
#include <cstring>

#include "gemm_internal.h"

namespace lw {
namespace gemm_detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 8;

#if defined(__GNUC__) || defined(__clang__)
typedef float v4sf __attribute__((vector_size(16)));

inline v4sf load4(const float* p) {
  v4sf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, v4sf v) { std::memcpy(p, &v, sizeof v); }

template <int MR>
inline void tile(int64_t kc, const float* __restrict pa,
                 const float* __restrict pb, float* c, int64_t ldc,
                 float alpha, float beta) {
  v4sf acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) {
    acc0[r] = v4sf{0, 0, 0, 0};
    acc1[r] = v4sf{0, 0, 0, 0};
  }
  for (int64_t p = 0; p < kc; ++p) {
    const v4sf b0 = load4(pb), b1 = load4(pb + 4);
    for (int r = 0; r < MR; ++r) {
      const float av = pa[r];
      acc0[r] += av * b0;
      acc1[r] += av * b1;
    }
    pa += MR;
    pb += kNR;
  }
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    v4sf x0 = alpha * acc0[r], x1 = alpha * acc1[r];
    if (beta != 0.0f) {
      x0 += beta * load4(cr);
      x1 += beta * load4(cr + 4);
    }
    store4(cr, x0);
    store4(cr + 4, x1);
  }
}
#else
// Plain scalar fallback for compilers without vector extensions.
template <int MR>
inline void tile(int64_t kc, const float* pa, const float* pb, float* c,
                 int64_t ldc, float alpha, float beta) {
  float acc[MR][kNR] = {};
  for (int64_t p = 0; p < kc; ++p, pa += MR, pb += kNR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNR; ++j) acc[r][j] += pa[r] * pb[j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < kNR; ++j)
      c[r * ldc + j] = alpha * acc[r][j] + (beta != 0.0f ? beta * c[r * ldc + j] : 0.0f);
}
#endif

template <int MR>
inline void tile_edge(int nr, int64_t kc, const float* pa, const float* pb,
                      float* c, int64_t ldc, float alpha, float beta) {
  alignas(16) float t[MR * kNR];
  tile<MR>(kc, pa, pb, t, kNR, 1.0f, 0.0f);
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    for (int j = 0; j < nr; ++j)
      cr[j] = alpha * t[r * kNR + j] + (beta != 0.0f ? beta * cr[j] : 0.0f);
  }
}

template <int R>
inline void tile_any(int mr, int nr, int64_t kc, const float* pa,
                     const float* pb, float* c, int64_t ldc, float alpha,
                     float beta) {
  if (mr == R) {
    if (nr == kNR)
      tile<R>(kc, pa, pb, c, ldc, alpha, beta);
    else
      tile_edge<R>(nr, kc, pa, pb, c, ldc, alpha, beta);
  } else if constexpr (R > 1) {
    tile_any<R - 1>(mr, nr, kc, pa, pb, c, ldc, alpha, beta);
  }
}

void macro(const MacroArgs& g) {
  for (int64_t jr = 0; jr < g.nc; jr += kNR) {
    const int nr = static_cast<int>(g.nc - jr < kNR ? g.nc - jr : kNR);
    const float* pb = g.pb + jr * g.kc;
    int64_t ir = 0;
    if (nr == kNR) {
      for (; ir + kMR <= g.mc; ir += kMR)
        tile<kMR>(g.kc, g.pa + ir * g.kc, pb, g.c + ir * g.ldc + jr, g.ldc,
                  g.alpha, g.beta);
    }
    for (; ir < g.mc; ir += kMR) {
      const int mr = static_cast<int>(g.mc - ir < kMR ? g.mc - ir : kMR);
      tile_any<kMR>(mr, nr, g.kc, g.pa + ir * g.kc, pb, g.c + ir * g.ldc + jr,
                    g.ldc, g.alpha, g.beta);
    }
  }
}

#define LW_DIRECT_ATTR
#include "gemm_direct_inl.h"
#undef LW_DIRECT_ATTR

}  // namespace

const KernelSet* kernels_baseline() {
  static const KernelSet k = {kMR, kNR, 0, 0, 0, &macro, &direct_kernel,
                              "baseline 6x8"};
  return &k;
}

}  // namespace gemm_detail
}  // namespace lw
