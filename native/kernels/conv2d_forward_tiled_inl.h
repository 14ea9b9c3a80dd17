// conv2d_forward_tiled_inl.h — the register-tiled forward kernel of
// conv2d_forward_tiled.h, compiled once per instruction set:
// conv2d_forward_tiled.cc includes it with LW_CFT_ATTR set to the target
// attribute, LW_CFT_NS to a namespace name and LW_CFT_ACC to the number of
// 16-float accumulators the ISA's registers hold. It calls no inline
// function defined elsewhere (STL included), so that no copy built for a
// wider ISA can be shared with a baseline caller.
//
// Vectors are GCC vector types of 16 floats (one zmm, or two ymm for AVX2).

#ifndef LW_CFT_ATTR
#error "define LW_CFT_ATTR, LW_CFT_NS and LW_CFT_ACC before including conv2d_forward_tiled_inl.h"
#endif
#ifndef LW_CFT_VECTOR
#define LW_CFT_VECTOR
typedef float CftVec __attribute__((vector_size(64)));
#endif

namespace LW_CFT_NS {

#define LW_CFT_INLINE LW_CFT_ATTR __attribute__((always_inline)) inline

// MR pixels of one output row × NV·16 channels. xp: the padded image at the
// tile's first pixel's tap (0, 0), channel 0; tap (u, v), channel c of pixel
// m is at xp + u·xrow + (m + v)·C + c. w: the filter [k_h][k_w][in_c][out_c]
// at the tile's first output channel. act: 0 none (store the sums), 1 the
// bias alone, 2 bias and ReLU, 3 bias and leaky ReLU (slope alpha).
template <int MR, int NV>
LW_CFT_INLINE void y_tile(const float* xp, int64_t xrow, int64_t C, const float* w,
                          int64_t OC, int64_t KH, int64_t KW, float* out,
                          const float* bias, int act, float alpha) {
  CftVec acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NV; ++n) acc[m][n] = CftVec{};
  for (int64_t u = 0; u < KH; ++u) {
    for (int64_t v = 0; v < KW; ++v) {
      const float* __restrict xs = xp + u * xrow + v * C;
      const float* __restrict ws = w + (u * KW + v) * C * OC;
      for (int64_t c = 0; c < C; ++c) {
        CftVec b[NV];
        for (int n = 0; n < NV; ++n) __builtin_memcpy(&b[n], ws + c * OC + 16 * n, sizeof(CftVec));
        for (int m = 0; m < MR; ++m) {
          const float a = xs[m * C + c];
          for (int n = 0; n < NV; ++n) acc[m][n] += a * b[n];
        }
      }
    }
  }
  CftVec bv[NV];
  for (int n = 0; n < NV; ++n) {
    if (act != 0) __builtin_memcpy(&bv[n], bias + 16 * n, sizeof(CftVec));
    else bv[n] = CftVec{};
  }
  const CftVec zero = CftVec{};
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NV; ++n) {
      CftVec y = acc[m][n];
      if (act != 0) y = y + bv[n];
      // The GEMM epilogue's comparisons: x < 0 → 0 keeps NaN; x > 0 ? x : alpha·x.
      if (act == 2) y = y < zero ? zero : y;
      if (act == 3) y = y > zero ? y : alpha * y;
      __builtin_memcpy(out + m * OC + 16 * n, &y, sizeof(CftVec));
    }
}

template <int MR, int NV>
LW_CFT_INLINE void y_tile_rows(int mr, const float* xp, int64_t xrow, int64_t C, const float* w,
                               int64_t OC, int64_t KH, int64_t KW, float* out,
                               const float* bias, int act, float alpha) {
  if (mr == MR) {
    y_tile<MR, NV>(xp, xrow, C, w, OC, KH, KW, out, bias, act, alpha);
  } else if constexpr (MR > 1) {
    y_tile_rows<MR - 1, NV>(mr, xp, xrow, C, w, OC, KH, KW, out, bias, act, alpha);
  }
}

constexpr int kMaxTile = 16;
constexpr int mr_max(int nv) { return LW_CFT_ACC / nv < kMaxTile ? LW_CFT_ACC / nv : kMaxTile; }

// Output rows [row0, row1) of the flattened [n, out_h] grid. X: scratch for
// one padded image, (out_h + k_h − 1) × (out_w + k_w − 1) × in_c floats.
LW_CFT_ATTR void forward_rows(const ConvGeometry& g, const float* x, const float* w,
                              float* y, int64_t row0, int64_t row1, const float* bias,
                              int act, float alpha, float* X) {
  const int64_t C = g.in_c, OC = g.out_c, KH = g.k_h, KW = g.k_w;
  const int64_t Wx = g.out_w + KW - 1, xrow = Wx * C;
  for (int64_t row = row0; row < row1;) {
    const int64_t b = row / g.out_h, i0 = row % g.out_h;
    const int64_t i1 = row1 - b * g.out_h < g.out_h ? row1 - b * g.out_h : g.out_h;
    pad_image_rows(g, x, b, i0, i1, X);
    for (int64_t i = i0; i < i1; ++i) {
      float* yrow = y + (b * g.out_h + i) * g.out_w * OC;
      for (int64_t o0 = 0; o0 < OC;) {
        const int nv = OC - o0 >= 32 ? 2 : 1;
        const int64_t cap = nv == 2 ? mr_max(2) : mr_max(1);
        // Pixels in balanced chunks (14 → 7 + 7, not 12 + 2).
        const int64_t chunks = (g.out_w + cap - 1) / cap;
        const int64_t step = (g.out_w + chunks - 1) / chunks;
        const float* bo = act != 0 ? bias + o0 : nullptr;
        for (int64_t q = 0; q < g.out_w; q += step) {
          const int mr = static_cast<int>(g.out_w - q < step ? g.out_w - q : step);
          const float* xp = X + i * xrow + q * C;
          float* out = yrow + q * OC + o0;
          if (nv == 2)
            y_tile_rows<mr_max(2), 2>(mr, xp, xrow, C, w + o0, OC, KH, KW, out, bo, act, alpha);
          else
            y_tile_rows<mr_max(1), 1>(mr, xp, xrow, C, w + o0, OC, KH, KW, out, bo, act, alpha);
        }
        o0 += 16 * nv;
      }
    }
    row += i1 - i0;
  }
}

#undef LW_CFT_INLINE

}  // namespace LW_CFT_NS
