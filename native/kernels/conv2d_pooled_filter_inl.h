// conv2d_pooled_filter_inl.h — the vectorised body of
// conv2d_backward_filter_pooled (conv2d_pooled_filter.h), compiled once per
// instruction set: conv2d_pooled_filter.cc includes it with LW_PF_ATTR set to
// that ISA's target attribute, LW_PF_VEC_BYTES to its vector width and
// LW_PF_NAME to the function's name. It calls no inline function defined
// elsewhere (STL included), so no copy built for a wider ISA can reach a
// baseline caller.
//
// x arrives zero-padded (xpad: every tap the conv reads, no bounds to check).
// Channels of the pooled gradient go in vectors (then one half vector, then
// scalars). For each window and channel block, each window tap's winner mask
// selects t into a vector that is zero in the other lanes, and every filter
// tap adds that vector times the x value under it (one broadcast per tap):
// the same multiply-adds as the dense filter gradient over the pool's input,
// without that input. Returns the number of winners it found in their own
// window and channel; the caller compares it with the valid argmax entries.

#ifndef LW_PF_NAME
#error "define LW_PF_ATTR, LW_PF_VEC_BYTES and LW_PF_NAME before including conv2d_pooled_filter_inl.h"
#endif

#define LW_PF_BLOCK(VT, IT, LANES, IOTA, FOUND)                                           \
  for (; k0 + (LANES) <= K; k0 += (LANES)) {                                               \
    VT acc[kPooledFilterMaxTaps] = {};                                                     \
    VT a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {}, a8 = {};    \
    IT found = {};                                                                         \
    for (int64_t b = 0; b < n; ++b) {                                                    \
      const float* xb = xpad + b * pad_image;                                              \
      for (int64_t i = 0; i < out_h; ++i)                                                \
        for (int64_t j = 0; j < out_w; ++j) {                                            \
          const int64_t o = ((b * out_h + i) * out_w + j) * K + k0;                    \
          IT a;                                                                            \
          VT tv;                                                                           \
          __builtin_memcpy(&a, argmax + o, sizeof(IT));                                    \
          __builtin_memcpy(&tv, t + o, sizeof(VT));                                        \
          for (int64_t pu = 0; pu < pool_h; ++pu) {                                      \
            const int64_t r = i * pool_h + pu;                                           \
            if (r >= conv_out_h) break;                                                       \
            for (int64_t pv = 0; pv < pool_w; ++pv) {                                    \
              const int64_t q = j * pool_w + pv;                                         \
              if (q >= conv_out_w) break;                                                     \
              const IT hit = a == (IOTA) + int32_t((r * conv_out_w + q) * K + k0);            \
              found -= hit;                                                                \
              const VT zero = {};                                                          \
              const VT gv = hit ? tv : zero;                                               \
              const float* xp = xb + (r * stride_h * pad_w + q * stride_w) * C;        \
              if (three_by_three) {                                                        \
                a0 += gv * xp[0];                                                          \
                a1 += gv * xp[1];                                                          \
                a2 += gv * xp[2];                                                          \
                a3 += gv * xp[pad_w];                                                      \
                a4 += gv * xp[pad_w + 1];                                                  \
                a5 += gv * xp[pad_w + 2];                                                  \
                a6 += gv * xp[2 * pad_w];                                                  \
                a7 += gv * xp[2 * pad_w + 1];                                              \
                a8 += gv * xp[2 * pad_w + 2];                                              \
                continue;                                                                  \
              }                                                                            \
              int64_t tap = 0;                                                             \
              for (int64_t u = 0; u < k_h; ++u)                                          \
                for (int64_t v = 0; v < k_w; ++v, tap += C) {                            \
                  const float* xt = xp + (u * pad_w + v) * C;                              \
                  for (int64_t c = 0; c < C; ++c) acc[tap + c] += gv * xt[c];              \
                }                                                                          \
            }                                                                              \
          }                                                                                \
        }                                                                                  \
    }                                                                                      \
    if (three_by_three) {                                                                  \
      acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4;                     \
      acc[5] = a5, acc[6] = a6, acc[7] = a7, acc[8] = a8;                                  \
    }                                                                                      \
    for (int64_t tp = 0; tp < taps; ++tp) __builtin_memcpy(dw + tp * K + k0, &acc[tp], sizeof(VT)); \
    for (int64_t l = 0; l < (LANES); ++l) FOUND += found[l];                               \
  }

LW_PF_ATTR int64_t LW_PF_NAME(const ConvGeometry& g, const PoolGeometry& p, const float* xpad,
                              int64_t pad_h, int64_t pad_w, const float* t, const int32_t* argmax,
                              float* dw) {
  typedef float Vec __attribute__((vector_size(LW_PF_VEC_BYTES)));
  typedef float HalfVec __attribute__((vector_size(LW_PF_VEC_BYTES / 2)));
  typedef int32_t IVec __attribute__((vector_size(LW_PF_VEC_BYTES)));
  typedef int32_t HalfIVec __attribute__((vector_size(LW_PF_VEC_BYTES / 2)));
  constexpr int64_t W = LW_PF_VEC_BYTES / sizeof(float);
  IVec iota;
  HalfIVec half_iota;
  for (int32_t l = 0; l < int32_t(W); ++l) iota[l] = l;
  for (int32_t l = 0; l < int32_t(W / 2); ++l) half_iota[l] = l;
  // Geometry in locals: read through the reference, every field would be
  // reloaded inside the loops (dw might alias it as far as the compiler knows).
  const int64_t K = g.out_c, C = g.in_c, taps = g.k_h * g.k_w * C;
  const int64_t n = g.n, conv_out_h = g.out_h, conv_out_w = g.out_w, k_h = g.k_h, k_w = g.k_w;
  const int64_t stride_h = g.stride_h, stride_w = g.stride_w;
  const int64_t out_h = p.out_h, out_w = p.out_w, pool_h = p.pool_h, pool_w = p.pool_w;
  const int64_t pad_image = pad_h * pad_w * C;
  // The npm-start and small CNNs' first conv: nine accumulators in registers.
  const bool three_by_three = g.k_h == 3 && g.k_w == 3 && C == 1;
  int64_t found_total = 0;
  int64_t k0 = 0;
  LW_PF_BLOCK(Vec, IVec, W, iota, found_total)
  LW_PF_BLOCK(HalfVec, HalfIVec, W / 2, half_iota, found_total)
  for (; k0 < K; ++k0) {
    float acc[kPooledFilterMaxTaps] = {};
    for (int64_t b = 0; b < n; ++b) {
      const float* xb = xpad + b * pad_image;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t o = ((b * out_h + i) * out_w + j) * K + k0;
          for (int64_t pu = 0; pu < pool_h; ++pu) {
            const int64_t r = i * pool_h + pu;
            if (r >= conv_out_h) break;
            for (int64_t pv = 0; pv < pool_w; ++pv) {
              const int64_t q = j * pool_w + pv;
              if (q >= conv_out_w) break;
              const bool hit = argmax[o] == int32_t((r * conv_out_w + q) * K + k0);
              found_total += hit;
              const float gv = hit ? t[o] : 0.0f;
              const float* xp = xb + (r * stride_h * pad_w + q * stride_w) * C;
              int64_t tap = 0;
              for (int64_t u = 0; u < k_h; ++u)
                for (int64_t v = 0; v < k_w; ++v, tap += C) {
                  const float* xt = xp + (u * pad_w + v) * C;
                  for (int64_t c = 0; c < C; ++c) acc[tap + c] += gv * xt[c];
                }
            }
          }
        }
    }
    for (int64_t tp = 0; tp < taps; ++tp) dw[tp * K + k0] = acc[tp];
  }
  return found_total;
}

#undef LW_PF_BLOCK
