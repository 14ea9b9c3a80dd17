// conv2d_backward_direct_inl.h — the register-tiled backward kernels of
// conv2d_backward_direct.h, compiled once per instruction set:
// conv2d_backward_direct.cc includes it with LW_CBD_ATTR set to the target
// attribute, LW_CBD_NS to a namespace name and LW_CBD_ACC to the number of
// 16-float accumulators the ISA's registers hold. Like conv2d_direct_inl.h
// it calls no inline function defined elsewhere (STL included), so that no
// copy built for a wider ISA can be shared with a baseline caller.
//
// Vectors are GCC vector types of 16 floats (one zmm, or two ymm for AVX2).

#ifndef LW_CBD_ATTR
#error "define LW_CBD_ATTR, LW_CBD_NS and LW_CBD_ACC before including conv2d_backward_direct_inl.h"
#endif
#ifndef LW_CBD_VECTOR
#define LW_CBD_VECTOR
typedef float CbdVec __attribute__((vector_size(64)));
#endif

namespace LW_CBD_NS {

#define LW_CBD_INLINE LW_CBD_ATTR __attribute__((always_inline)) inline

// MR pixels of one dx row × NV·16 channels. d: the padded dy image at the
// tap (0, 0) of the tile's first pixel; tap (u, v) of pixel m is at
// d − u·drow − v·OC + m·OC. wt: the filter as [k_h][k_w][out_c][in_c], at
// the tile's first channel.
template <int MR, int NV>
LW_CBD_INLINE void dx_tile(const float* d, int64_t drow, int64_t OC,
                           const float* wt, int64_t C, int64_t KH, int64_t KW,
                           float* out, bool accumulate) {
  CbdVec acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = CbdVec{};
  for (int64_t u = 0; u < KH; ++u) {
    for (int64_t v = 0; v < KW; ++v) {
      const float* __restrict dp = d - u * drow - v * OC;
      const float* __restrict wp = wt + (u * KW + v) * OC * C;
      for (int64_t o = 0; o < OC; ++o) {
        CbdVec b[NV];
        for (int n = 0; n < NV; ++n) __builtin_memcpy(&b[n], wp + o * C + 16 * n, sizeof(CbdVec));
        for (int m = 0; m < MR; ++m) {
          const float a = dp[m * OC + o];
          for (int n = 0; n < NV; ++n) acc[m][n] += a * b[n];
        }
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NV; ++n) {
      float* p = out + m * C + 16 * n;
      if (accumulate) {
        CbdVec cur;
        __builtin_memcpy(&cur, p, sizeof(CbdVec));
        acc[m][n] += cur;
      }
      __builtin_memcpy(p, &acc[m][n], sizeof(CbdVec));
    }
}

template <int MR, int NV>
LW_CBD_INLINE void dx_tile_rows(int mr, const float* d, int64_t drow, int64_t OC,
                                const float* wt, int64_t C, int64_t KH, int64_t KW,
                                float* out, bool accumulate) {
  if (mr == MR) {
    dx_tile<MR, NV>(d, drow, OC, wt, C, KH, KW, out, accumulate);
  } else if constexpr (MR > 1) {
    dx_tile_rows<MR - 1, NV>(mr, d, drow, OC, wt, C, KH, KW, out, accumulate);
  }
}

constexpr int kMaxTile = 16;
constexpr int mr_max(int nv) { return LW_CBD_ACC / nv < kMaxTile ? LW_CBD_ACC / nv : kMaxTile; }

// dx of images [b0, b1). D: scratch for one padded dy image,
// (in_h + k_h − 1) × (in_w + k_w − 1) × out_c floats.
LW_CBD_ATTR void input_images(const ConvGeometry& g, const float* dy,
                              const float* wt, float* dx, bool accumulate,
                              int64_t b0, int64_t b1, float* D) {
  const int64_t C = g.in_c, OC = g.out_c, KH = g.k_h, KW = g.k_w;
  const int64_t Hd = g.in_h + KH - 1, Wd = g.in_w + KW - 1, drow = Wd * OC;
  // Padded row a holds dy row a + i_min, padded column e dy column e + j_min:
  // dx(r, q) reads tap (u, v) at padded (r + KH−1−u, q + KW−1−v).
  const int64_t i_min = g.pad_top - (KH - 1), j_min = g.pad_left - (KW - 1);
  int64_t e_lo = -j_min, e_hi = g.out_w - j_min;  // padded columns holding dy
  if (e_lo < 0) e_lo = 0;
  if (e_hi > Wd) e_hi = Wd;
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t a = 0; a < Hd; ++a) {
      float* row = D + a * drow;
      const int64_t i = a + i_min;
      if (i < 0 || i >= g.out_h || e_lo >= e_hi) {
        __builtin_memset(row, 0, sizeof(float) * drow);
        continue;
      }
      __builtin_memset(row, 0, sizeof(float) * e_lo * OC);
      __builtin_memcpy(row + e_lo * OC, dy + ((b * g.out_h + i) * g.out_w + e_lo + j_min) * OC,
                       sizeof(float) * (e_hi - e_lo) * OC);
      __builtin_memset(row + e_hi * OC, 0, sizeof(float) * (Wd - e_hi) * OC);
    }
    for (int64_t r = 0; r < g.in_h; ++r) {
      float* dxrow = dx + (b * g.in_h + r) * g.in_w * C;
      for (int64_t c0 = 0; c0 < C;) {
        const int nv = C - c0 >= 32 ? 2 : 1;
        const int64_t cap = nv == 2 ? mr_max(2) : mr_max(1);
        // Columns in balanced chunks (14 → 7 + 7, not 12 + 2).
        const int64_t chunks = (g.in_w + cap - 1) / cap;
        const int64_t step = (g.in_w + chunks - 1) / chunks;
        for (int64_t q = 0; q < g.in_w; q += step) {
          const int mr = static_cast<int>(g.in_w - q < step ? g.in_w - q : step);
          const float* d = D + (r + KH - 1) * drow + (q + KW - 1) * OC;
          float* out = dxrow + q * C + c0;
          if (nv == 2)
            dx_tile_rows<mr_max(2), 2>(mr, d, drow, OC, wt + c0, C, KH, KW, out, accumulate);
          else
            dx_tile_rows<mr_max(1), 1>(mr, d, drow, OC, wt + c0, C, KH, KW, out, accumulate);
        }
        c0 += 16 * nv;
      }
    }
  }
}

// dst rows (u, v, c0..c0+MR) × columns o0..o0+16·NV += Σ over `rows` output
// rows of x (padded) · dy. xp: the padded x at the first row's tap, channel
// c0; dyp: dy at the first row, channel o0. Pixels in row-major order.
template <int MR, int NV>
LW_CBD_INLINE void dw_tile(const float* xp, int64_t xrow, int64_t C,
                           const float* dyp, int64_t OC, int64_t rows,
                           int64_t out_w, float* dst) {
  CbdVec acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NV; ++n) __builtin_memcpy(&acc[m][n], dst + m * OC + 16 * n, sizeof(CbdVec));
  for (int64_t i = 0; i < rows; ++i) {
    const float* __restrict xr = xp + i * xrow;
    const float* __restrict dr = dyp + i * out_w * OC;
    for (int64_t j = 0; j < out_w; ++j) {
      CbdVec b[NV];
      for (int n = 0; n < NV; ++n) __builtin_memcpy(&b[n], dr + j * OC + 16 * n, sizeof(CbdVec));
      for (int m = 0; m < MR; ++m) {
        const float a = xr[j * C + m];
        for (int n = 0; n < NV; ++n) acc[m][n] += a * b[n];
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NV; ++n) __builtin_memcpy(dst + m * OC + 16 * n, &acc[m][n], sizeof(CbdVec));
}

template <int MR, int NV>
LW_CBD_INLINE void dw_tile_rows(int mr, const float* xp, int64_t xrow, int64_t C,
                                const float* dyp, int64_t OC, int64_t rows,
                                int64_t out_w, float* dst) {
  if (mr == MR) {
    dw_tile<MR, NV>(xp, xrow, C, dyp, OC, rows, out_w, dst);
  } else if constexpr (MR > 1) {
    dw_tile_rows<MR - 1, NV>(mr, xp, xrow, C, dyp, OC, rows, out_w, dst);
  }
}

// dst += the filter gradient of output rows [row0, row1) of the flattened
// [n, out_h] grid. X: scratch for one padded x image,
// (out_h + k_h − 1) × (out_w + k_w − 1) × in_c floats.
LW_CBD_ATTR void filter_rows(const ConvGeometry& g, const float* x,
                             const float* dy, float* dst, int64_t row0,
                             int64_t row1, float* X) {
  const int64_t C = g.in_c, OC = g.out_c, KH = g.k_h, KW = g.k_w;
  const int64_t Wx = g.out_w + KW - 1, xrow = Wx * C;
  for (int64_t row = row0; row < row1;) {
    const int64_t b = row / g.out_h, i0 = row % g.out_h;
    const int64_t i1 = row1 - b * g.out_h < g.out_h ? row1 - b * g.out_h : g.out_h;
    pad_image_rows(g, x, b, i0, i1, X);
    const float* dyb = dy + (b * g.out_h + i0) * g.out_w * OC;
    for (int64_t u = 0; u < KH; ++u)
      for (int64_t v = 0; v < KW; ++v)
        for (int64_t o0 = 0; o0 < OC;) {
          const int nv = OC - o0 >= 32 ? 2 : 1;
          const int64_t cap = nv == 2 ? mr_max(2) : mr_max(1);
          const int64_t chunks = (C + cap - 1) / cap;
          const int64_t step = (C + chunks - 1) / chunks;
          for (int64_t c0 = 0; c0 < C; c0 += step) {
            const int mr = static_cast<int>(C - c0 < step ? C - c0 : step);
            const float* xp = X + (i0 + u) * xrow + v * C + c0;
            float* d = dst + ((u * KW + v) * C + c0) * OC + o0;
            if (nv == 2)
              dw_tile_rows<mr_max(2), 2>(mr, xp, xrow, C, dyb + o0, OC, i1 - i0, g.out_w, d);
            else
              dw_tile_rows<mr_max(1), 1>(mr, xp, xrow, C, dyb + o0, OC, i1 - i0, g.out_w, d);
          }
          o0 += 16 * nv;
        }
    row = b * g.out_h + i1;
  }
}

#undef LW_CBD_INLINE

}  // namespace LW_CBD_NS
