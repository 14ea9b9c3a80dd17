// conv2d_direct_inl.h — the direct forward kernel for a single input channel,
// compiled once per instruction set (conv2d_direct.cc includes it three
// times, each time with LW_CONV_ATTR set to that ISA's target attribute and
// LW_CONV_NAME to the function's name). Like gemm_direct_inl.h it must call
// no inline function defined elsewhere (STL included), so that no copy built
// for a wider ISA can be shared with a baseline caller by the linker.
//
// y[b,i,j,:] (+)= Σ_{u,v} x[b, i·sh + u − pt, j·sw + v − pl] · w[u,v,0,:] for
// the output rows [row0, row1) of the flattened [n, out_h] grid. Each output
// channel sums its taps in (u, v) order, padding taps skipped.
//
// With one input channel im2col makes K = k_h·k_w (9 for 3×3): the packed
// GEMM then spends more on im2col, packing and C-tile epilogues than on its
// 9 FMAs per pixel. Here a pixel is k_h·k_w broadcasts and FMAs on 16-wide
// channel blocks; four neighbouring pixels run side by side so four
// independent accumulator chains hide the FMA latency.

#ifndef LW_CONV_ATTR
#error "define LW_CONV_ATTR and LW_CONV_NAME before including conv2d_direct_inl.h"
#endif
#ifndef LW_CONV_VECTORS
#define LW_CONV_VECTORS
typedef float ConvVec16 __attribute__((vector_size(64)));
typedef float ConvVec8 __attribute__((vector_size(32)));
#endif

LW_CONV_ATTR void LW_CONV_NAME(const ConvGeometry& g, const float* x,
                               const float* w, float* y, bool accumulate,
                               int64_t row0, int64_t row1,
                               const GemmEpilogue& ep) {
  const int64_t OC = g.out_c, KH = g.k_h, KW = g.k_w;
  // The epilogue (bias, then ReLU / leaky ReLU or nothing) on the registers
  // about to be stored: what bias_activation_serial computes, element for
  // element, without a second pass over the output.
  const float* const bias = ep.bias;
  const bool relu = ep.f == Activation::kRelu, leaky = ep.f == Activation::kLeakyRelu;
  const float slope = ep.alpha;
#define LW_CONV_FINISH(VEC, A, O)                                              \
  if (bias) {                                                                  \
    VEC bv_;                                                                   \
    __builtin_memcpy(&bv_, bias + (O), sizeof(VEC));                           \
    A += bv_;                                                                  \
    if (relu) A = A < 0.0f ? VEC{} : A;                                        \
    else if (leaky) A = A > 0.0f ? A : slope * A;                              \
  }
#define LW_CONV_FINISH_SCALAR(A, O)                                            \
  if (bias) {                                                                  \
    A += bias[O];                                                              \
    if (relu) A = A < 0.0f ? 0.0f : A;                                         \
    else if (leaky) A = A > 0.0f ? A : slope * A;                              \
  }
  const int64_t in_w = g.in_w, sw = g.stride_w;
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t b = row / g.out_h, i = row % g.out_h;
    const float* xb = x + b * g.in_h * in_w;
    float* yrow = y + row * g.out_w * OC;
    const int64_t r0 = i * g.stride_h - g.pad_top;
    int64_t u_lo = r0 < 0 ? -r0 : 0;
    int64_t u_hi = g.in_h - r0 < KH ? g.in_h - r0 : KH;
    if (u_lo > KH) u_lo = KH;
    if (u_hi < u_lo) u_hi = u_lo;
    // Columns whose window lies wholly inside the row: [j_lo, j_hi).
    int64_t j_lo = g.pad_left <= 0 ? 0 : (g.pad_left + sw - 1) / sw;
    int64_t j_hi = in_w + g.pad_left - KW < 0 ? 0 : (in_w + g.pad_left - KW) / sw + 1;
    if (j_lo > g.out_w) j_lo = g.out_w;
    if (j_hi > g.out_w) j_hi = g.out_w;
    if (j_hi < j_lo) j_hi = j_lo;

    int64_t j = 0;
    auto edge_pixel = [&](int64_t jj) __attribute__((always_inline)) {
      const int64_t q0 = jj * sw - g.pad_left;
      int64_t v_lo = q0 < 0 ? -q0 : 0;
      int64_t v_hi = in_w - q0 < KW ? in_w - q0 : KW;
      if (v_lo > KW) v_lo = KW;
      if (v_hi < v_lo) v_hi = v_lo;
      float* yp = yrow + jj * OC;
      int64_t o = 0;
#define LW_CONV_EDGE_BLOCK(VEC, WIDTH)                                         \
  for (; o + WIDTH <= OC; o += WIDTH) {                                        \
    VEC acc = {};                                                              \
    if (accumulate) __builtin_memcpy(&acc, yp + o, sizeof(VEC));               \
    for (int64_t u = u_lo; u < u_hi; ++u)                                      \
      for (int64_t v = v_lo; v < v_hi; ++v) {                                  \
        VEC wv;                                                                \
        __builtin_memcpy(&wv, w + (u * KW + v) * OC + o, sizeof(VEC));         \
        acc += xb[(r0 + u) * in_w + q0 + v] * wv;                              \
      }                                                                        \
    LW_CONV_FINISH(VEC, acc, o)                                                \
    __builtin_memcpy(yp + o, &acc, sizeof(VEC));                               \
  }
      LW_CONV_EDGE_BLOCK(ConvVec16, 16)
      LW_CONV_EDGE_BLOCK(ConvVec8, 8)
#undef LW_CONV_EDGE_BLOCK
      for (; o < OC; ++o) {
        float acc = accumulate ? yp[o] : 0.0f;
        for (int64_t u = u_lo; u < u_hi; ++u)
          for (int64_t v = v_lo; v < v_hi; ++v)
            acc += xb[(r0 + u) * in_w + q0 + v] * w[(u * KW + v) * OC + o];
        LW_CONV_FINISH_SCALAR(acc, o)
        yp[o] = acc;
      }
    };
    for (; j < j_lo; ++j) edge_pixel(j);
    // Four pixels at a time; channels in blocks of 16 and 8 held in vector
    // registers (GCC vector types: one zmm, two ymm or four xmm per block of
    // 16, whatever the ISA of this copy), the rest one by one.
    for (; j + 4 <= j_hi; j += 4) {
      const int64_t q0 = j * sw - g.pad_left;
      float* yp = yrow + j * OC;
      int64_t o = 0;
#define LW_CONV_BLOCK(VEC, WIDTH)                                              \
  for (; o + WIDTH <= OC; o += WIDTH) {                                        \
    VEC a0 = {}, a1 = {}, a2 = {}, a3 = {};                                    \
    if (accumulate) {                                                          \
      __builtin_memcpy(&a0, yp + o, sizeof(VEC));                              \
      __builtin_memcpy(&a1, yp + OC + o, sizeof(VEC));                         \
      __builtin_memcpy(&a2, yp + 2 * OC + o, sizeof(VEC));                     \
      __builtin_memcpy(&a3, yp + 3 * OC + o, sizeof(VEC));                     \
    }                                                                          \
    for (int64_t u = u_lo; u < u_hi; ++u) {                                    \
      const float* xr = xb + (r0 + u) * in_w + q0;                             \
      const float* wr = w + u * KW * OC + o;                                   \
      for (int64_t v = 0; v < KW; ++v) {                                       \
        VEC wv;                                                                \
        __builtin_memcpy(&wv, wr + v * OC, sizeof(VEC));                       \
        a0 += xr[v] * wv;                                                      \
        a1 += xr[sw + v] * wv;                                                 \
        a2 += xr[2 * sw + v] * wv;                                             \
        a3 += xr[3 * sw + v] * wv;                                             \
      }                                                                        \
    }                                                                          \
    LW_CONV_FINISH(VEC, a0, o)                                                 \
    LW_CONV_FINISH(VEC, a1, o)                                                 \
    LW_CONV_FINISH(VEC, a2, o)                                                 \
    LW_CONV_FINISH(VEC, a3, o)                                                 \
    __builtin_memcpy(yp + o, &a0, sizeof(VEC));                                \
    __builtin_memcpy(yp + OC + o, &a1, sizeof(VEC));                           \
    __builtin_memcpy(yp + 2 * OC + o, &a2, sizeof(VEC));                       \
    __builtin_memcpy(yp + 3 * OC + o, &a3, sizeof(VEC));                       \
  }
      LW_CONV_BLOCK(ConvVec16, 16)
      LW_CONV_BLOCK(ConvVec8, 8)
#undef LW_CONV_BLOCK
      for (; o < OC; ++o) {
        for (int64_t k = 0; k < 4; ++k) {
          float acc = accumulate ? yp[k * OC + o] : 0.0f;
          for (int64_t u = u_lo; u < u_hi; ++u)
            for (int64_t v = 0; v < KW; ++v)
              acc += xb[(r0 + u) * in_w + q0 + k * sw + v] * w[(u * KW + v) * OC + o];
          LW_CONV_FINISH_SCALAR(acc, o)
          yp[k * OC + o] = acc;
        }
      }
    }
    for (; j < g.out_w; ++j) edge_pixel(j);
  }
#undef LW_CONV_FINISH
#undef LW_CONV_FINISH_SCALAR
}

// dst[u,v,0,:] += Σ x[b, i·sh + u − pt, j·sw + v − pl] · dy[b,i,j,:] over the
// output rows [row0, row1): the filter gradient for one input channel. One
// vector of dy per pixel is multiplied by each of the pixel's k_h·k_w input
// taps into that tap's accumulator (channels in blocks of 16 and 8, the rest
// one by one); padding taps are skipped. Each tap sums its pixels in row-major
// order, so a range's result depends only on the range.
LW_CONV_ATTR void LW_CONV_FILTER_NAME(const ConvGeometry& g, const float* x,
                                      const float* dy, float* dst,
                                      int64_t row0, int64_t row1) {
  const int64_t OC = g.out_c, KH = g.k_h, KW = g.k_w, in_w = g.in_w;
  int64_t o = 0;
#define LW_CONV_FILTER_BLOCK(VEC, WIDTH)                                       \
  for (; o + WIDTH <= OC; o += WIDTH) {                                        \
    VEC acc[25];                                                               \
    for (int64_t t = 0; t < KH * KW; ++t) acc[t] = VEC{};                      \
    for (int64_t row = row0; row < row1; ++row) {                              \
      const int64_t b = row / g.out_h, i = row % g.out_h;                      \
      const float* xb = x + b * g.in_h * in_w;                                 \
      const float* dyrow = dy + row * g.out_w * OC + o;                        \
      const int64_t r0 = i * g.stride_h - g.pad_top;                           \
      int64_t u_lo = r0 < 0 ? -r0 : 0;                                         \
      int64_t u_hi = g.in_h - r0 < KH ? g.in_h - r0 : KH;                      \
      if (u_lo > KH) u_lo = KH;                                                \
      if (u_hi < u_lo) u_hi = u_lo;                                            \
      /* 3×3 windows wholly inside the image, columns [j_lo, j_hi): the     \
         nine accumulators live in registers for the run (indexed by a     \
         runtime tap they stay in memory, a store-to-load chain per tap);  \
         same pixel order per tap, so the same sums. */                    \
      const bool whole_rows = KH == 3 && KW == 3 && u_lo == 0 && u_hi == 3;   \
      const int64_t sw = g.stride_w, pl = g.pad_left;                          \
      const int64_t j_lo = pl <= 0 ? 0 : (pl + sw - 1) / sw;                   \
      const int64_t j_hi = in_w + pl - 3 < 0 ? 0 : (in_w + pl - 3) / sw + 1;   \
      int64_t j = 0;                                                           \
      while (j < g.out_w) {                                                    \
        if (whole_rows && j == j_lo && j_lo < j_hi) {                          \
          const int64_t stop = j_hi < g.out_w ? j_hi : g.out_w;                \
          VEC c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3], c4 = acc[4]; \
          VEC c5 = acc[5], c6 = acc[6], c7 = acc[7], c8 = acc[8];              \
          const float* x0 = xb + r0 * in_w;                                    \
          const float* x1 = x0 + in_w;                                         \
          const float* x2 = x1 + in_w;                                         \
          for (; j < stop; ++j) {                                              \
            const int64_t q = j * sw - pl;                                     \
            VEC d;                                                             \
            __builtin_memcpy(&d, dyrow + j * OC, sizeof(VEC));                 \
            c0 += x0[q] * d; c1 += x0[q + 1] * d; c2 += x0[q + 2] * d;         \
            c3 += x1[q] * d; c4 += x1[q + 1] * d; c5 += x1[q + 2] * d;         \
            c6 += x2[q] * d; c7 += x2[q + 1] * d; c8 += x2[q + 2] * d;         \
          }                                                                    \
          acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3; acc[4] = c4;     \
          acc[5] = c5; acc[6] = c6; acc[7] = c7; acc[8] = c8;                  \
          continue;                                                            \
        }                                                                      \
        const int64_t q0 = j * g.stride_w - g.pad_left;                        \
        int64_t v_lo = q0 < 0 ? -q0 : 0;                                       \
        int64_t v_hi = in_w - q0 < KW ? in_w - q0 : KW;                        \
        if (v_lo > KW) v_lo = KW;                                              \
        if (v_hi < v_lo) v_hi = v_lo;                                          \
        VEC d;                                                                 \
        __builtin_memcpy(&d, dyrow + j * OC, sizeof(VEC));                     \
        for (int64_t u = u_lo; u < u_hi; ++u) {                                \
          const float* xr = xb + (r0 + u) * in_w + q0;                         \
          for (int64_t v = v_lo; v < v_hi; ++v) acc[u * KW + v] += xr[v] * d;  \
        }                                                                      \
        ++j;                                                                   \
      }                                                                        \
    }                                                                          \
    for (int64_t t = 0; t < KH * KW; ++t) {                                    \
      VEC cur;                                                                 \
      __builtin_memcpy(&cur, dst + t * OC + o, sizeof(VEC));                   \
      cur += acc[t];                                                           \
      __builtin_memcpy(dst + t * OC + o, &cur, sizeof(VEC));                   \
    }                                                                          \
  }
  LW_CONV_FILTER_BLOCK(ConvVec16, 16)
  LW_CONV_FILTER_BLOCK(ConvVec8, 8)
#undef LW_CONV_FILTER_BLOCK
  for (; o < OC; ++o) {
    float acc[25] = {};
    for (int64_t row = row0; row < row1; ++row) {
      const int64_t b = row / g.out_h, i = row % g.out_h;
      const float* xb = x + b * g.in_h * in_w;
      const int64_t r0 = i * g.stride_h - g.pad_top;
      for (int64_t j = 0; j < g.out_w; ++j) {
        const int64_t q0 = j * g.stride_w - g.pad_left;
        const float d = dy[(row * g.out_w + j) * OC + o];
        for (int64_t u = 0; u < KH; ++u) {
          if (r0 + u < 0 || r0 + u >= g.in_h) continue;
          for (int64_t v = 0; v < KW; ++v)
            if (q0 + v >= 0 && q0 + v < in_w) acc[u * KW + v] += xb[(r0 + u) * in_w + q0 + v] * d;
        }
      }
    }
    for (int64_t t = 0; t < KH * KW; ++t) dst[t * OC + o] += acc[t];
  }
}
