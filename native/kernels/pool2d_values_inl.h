// pool2d_values_inl.h — the body of max_pool2d_forward_values and
// max_pool2d_forward (pool2d.cc), compiled once per instruction set:
// pool2d_values.cc includes it three times with LW_POOL_ATTR set to that ISA's target attribute, LW_POOL_VEC_BYTES to its
// vector width and LW_POOL_NAME to the function's name. Like
// conv2d_direct_inl.h it calls no inline function defined elsewhere (STL
// included), so no copy built for a wider ISA can reach a baseline caller, and
// it spells the select out in each place instead of calling a helper (GCC
// lowered a shared vector helper to scalar code before inlining it).
//
// Images [b0, b1), recording each maximum's offset in its image (argmax)
// unless argmax is null. An interior 2×2 window (the common pool) is four
// vector loads and three selects per channel block (whole vectors, then one
// half vector, so 8 channels still vectorise under AVX-512, then scalars);
// the winners are selected alongside as int32 vectors. Other windows walk
// their in-bounds taps, the first one seeding the maximum so padding never
// wins.
// The select — strictly greater keeps the first of equal values, a NaN takes
// over from any number and is then never replaced — is max_pool2d_forward's,
// so the maxima and winners are identical to a scalar walk in that order.

#ifndef LW_POOL_ATTR
#error "define LW_POOL_ATTR, LW_POOL_VEC_BYTES and LW_POOL_NAME before including pool2d_values_inl.h"
#endif

#define LW_POOL_TAKE(val, best) (((val) > (best)) | (((val) != (val)) & ((best) == (best))))

// One 2×2 window's maxima for the channel blocks [ch, ch + LANES) that fit,
// as vectors of type VT; with winners, IT is the matching int32 vector and
// IOTA holds 0, 1, …, LANES − 1. a00 and a10 are the offsets in the image of
// the window's top-left and bottom-left taps.
#define LW_POOL_2X2_VALUES(VT, LANES)                 \
  for (; ch + (LANES) <= C; ch += (LANES)) {          \
    VT m, t;                                          \
    __builtin_memcpy(&m, p0 + ch, sizeof(VT));        \
    __builtin_memcpy(&t, p0 + C + ch, sizeof(VT));    \
    m = LW_POOL_TAKE(t, m) ? t : m;                   \
    __builtin_memcpy(&t, p1 + ch, sizeof(VT));        \
    m = LW_POOL_TAKE(t, m) ? t : m;                   \
    __builtin_memcpy(&t, p1 + C + ch, sizeof(VT));    \
    m = LW_POOL_TAKE(t, m) ? t : m;                   \
    __builtin_memcpy(yo + ch, &m, sizeof(VT));        \
  }
#define LW_POOL_2X2_WINNERS(VT, IT, LANES, IOTA)                  \
  for (; ch + (LANES) <= C; ch += (LANES)) {                      \
    VT m, t;                                                      \
    IT w = (IOTA) + int32_t(a00 + ch);                            \
    __builtin_memcpy(&m, p0 + ch, sizeof(VT));                    \
    __builtin_memcpy(&t, p0 + C + ch, sizeof(VT));                \
    IT take = LW_POOL_TAKE(t, m);                                 \
    m = take ? t : m;                                             \
    w = take ? (IOTA) + int32_t(a00 + C + ch) : w;                \
    __builtin_memcpy(&t, p1 + ch, sizeof(VT));                    \
    take = LW_POOL_TAKE(t, m);                                    \
    m = take ? t : m;                                             \
    w = take ? (IOTA) + int32_t(a10 + ch) : w;                    \
    __builtin_memcpy(&t, p1 + C + ch, sizeof(VT));                \
    take = LW_POOL_TAKE(t, m);                                    \
    m = take ? t : m;                                             \
    w = take ? (IOTA) + int32_t(a10 + C + ch) : w;                \
    __builtin_memcpy(yo + ch, &m, sizeof(VT));                    \
    __builtin_memcpy(ao + ch, &w, sizeof(IT));                    \
  }

// Output row i's pixels [0, J) when every one of them is an interior 2×2
// window at stride 2 (no per-pixel clipping) and C is a multiple of LANES:
// a tournament (top pair, bottom pair, then the pairs), which keeps the same
// first-of-equals and first-NaN winner as the row-major walk (a later pair
// takes over only when LW_POOL_TAKE says so) with two independent chains.
#define LW_POOL_2X2_ROW(VT, IT, LANES, IOTA)                                        \
  for (int64_t j = 0; j < J; ++j) {                                               \
    const float* q0p = p0 + 2 * j * C;                                            \
    const float* q1p = p1 + 2 * j * C;                                            \
    float* yo = yrow + j * C;                                                     \
    for (int64_t ch = 0; ch < C; ch += (LANES)) {                                 \
      VT a, b, c, d;                                                              \
      __builtin_memcpy(&a, q0p + ch, sizeof(VT));                                 \
      __builtin_memcpy(&b, q0p + C + ch, sizeof(VT));                             \
      __builtin_memcpy(&c, q1p + ch, sizeof(VT));                                 \
      __builtin_memcpy(&d, q1p + C + ch, sizeof(VT));                             \
      const IT tt = LW_POOL_TAKE(b, a), tb = LW_POOL_TAKE(d, c);                  \
      const VT top = tt ? b : a, bot = tb ? d : c;                                \
      const IT tv = LW_POOL_TAKE(bot, top);                                       \
      const VT m = tv ? bot : top;                                                \
      __builtin_memcpy(yo + ch, &m, sizeof(VT));                                  \
      if (arow) {                                                                 \
        const IT i00 = (IOTA) + int32_t(a00 + 2 * j * C + ch);                    \
        const IT it = tt ? i00 + int32_t(C) : i00;                                \
        const IT ib = (tb ? i00 + int32_t(C) : i00) + int32_t(in_w * C);         \
        const IT w = tv ? ib : it;                                                \
        __builtin_memcpy(arow + j * C + ch, &w, sizeof(IT));                      \
      }                                                                           \
    }                                                                             \
  }

LW_POOL_ATTR void LW_POOL_NAME(const PoolGeometry& g, const float* x, float* y,
                               int32_t* argmax, int64_t b0, int64_t b1) {
  typedef float Vec __attribute__((vector_size(LW_POOL_VEC_BYTES)));
  typedef float HalfVec __attribute__((vector_size(LW_POOL_VEC_BYTES / 2)));
  typedef int32_t IVec __attribute__((vector_size(LW_POOL_VEC_BYTES)));
  typedef int32_t HalfIVec __attribute__((vector_size(LW_POOL_VEC_BYTES / 2)));
  constexpr int64_t W = LW_POOL_VEC_BYTES / sizeof(float);
  IVec iota;
  HalfIVec half_iota;
  for (int32_t k = 0; k < int32_t(W); ++k) iota[k] = k;
  for (int32_t k = 0; k < int32_t(W / 2); ++k) half_iota[k] = k;
  const int64_t C = g.c, in_w = g.in_w, image = g.in_h * in_w * C;
  const bool two_by_two = g.pool_h == 2 && g.pool_w == 2;
  const bool row_pairs = two_by_two && g.stride_w == 2 && g.pad_left == 0 && C % (W / 2) == 0;
  for (int64_t b = b0; b < b1; ++b) {
    const float* xb = x + b * image;
    for (int64_t i = 0; i < g.out_h; ++i) {
      const int64_t r0 = i * g.stride_h - g.pad_top;
      int64_t u_lo = r0 < 0 ? -r0 : 0, u_hi = g.in_h - r0 < g.pool_h ? g.in_h - r0 : g.pool_h;
      if (u_lo > g.pool_h) u_lo = g.pool_h;
      if (u_hi < u_lo) u_hi = u_lo;
      const int64_t row_start = (b * g.out_h + i) * g.out_w * C;
      float* yrow = y + row_start;
      int32_t* arow = argmax ? argmax + row_start : nullptr;
      int64_t j_start = 0;
      if (row_pairs && u_lo == 0 && u_hi == 2) {
        // The usual pool: this row's windows as one tight loop (per-pixel
        // clipping cost more than the maxima themselves).
        const int64_t J = g.out_w < in_w / 2 ? g.out_w : in_w / 2;
        const int64_t a00 = r0 * in_w * C;
        const float* p0 = xb + a00;
        const float* p1 = p0 + in_w * C;
        if (C % W == 0) {
          LW_POOL_2X2_ROW(Vec, IVec, W, iota)
        } else {
          LW_POOL_2X2_ROW(HalfVec, HalfIVec, W / 2, half_iota)
        }
        j_start = J;
      }
      for (int64_t j = j_start; j < g.out_w; ++j) {
        const int64_t q0 = j * g.stride_w - g.pad_left;
        int64_t v_lo = q0 < 0 ? -q0 : 0, v_hi = in_w - q0 < g.pool_w ? in_w - q0 : g.pool_w;
        if (v_lo > g.pool_w) v_lo = g.pool_w;
        if (v_hi < v_lo) v_hi = v_lo;
        float* yo = yrow + j * C;
        int32_t* ao = arow ? arow + j * C : nullptr;
        if (u_lo == u_hi || v_lo == v_hi) {
          for (int64_t ch = 0; ch < C; ++ch) yo[ch] = 0.0f;
          if (ao)
            for (int64_t ch = 0; ch < C; ++ch) ao[ch] = -1;
          continue;
        }
        const int64_t a00 = ((r0 + u_lo) * in_w + q0 + v_lo) * C;
        const float* p0 = xb + a00;
        if (two_by_two && u_hi - u_lo == 2 && v_hi - v_lo == 2) {
          const int64_t a10 = a00 + in_w * C;
          const float* p1 = xb + a10;
          int64_t ch = 0;
          if (ao) {
            LW_POOL_2X2_WINNERS(Vec, IVec, W, iota)
            LW_POOL_2X2_WINNERS(HalfVec, HalfIVec, W / 2, half_iota)
            for (; ch < C; ++ch) {
              float m = p0[ch], t = p0[C + ch];
              int32_t w = int32_t(a00 + ch);
              if (LW_POOL_TAKE(t, m)) m = t, w = int32_t(a00 + C + ch);
              t = p1[ch];
              if (LW_POOL_TAKE(t, m)) m = t, w = int32_t(a10 + ch);
              t = p1[C + ch];
              if (LW_POOL_TAKE(t, m)) m = t, w = int32_t(a10 + C + ch);
              yo[ch] = m;
              ao[ch] = w;
            }
          } else {
            LW_POOL_2X2_VALUES(Vec, W)
            LW_POOL_2X2_VALUES(HalfVec, W / 2)
            for (; ch < C; ++ch) {
              float m = p0[ch], t = p0[C + ch];
              m = LW_POOL_TAKE(t, m) ? t : m;
              t = p1[ch];
              m = LW_POOL_TAKE(t, m) ? t : m;
              t = p1[C + ch];
              yo[ch] = LW_POOL_TAKE(t, m) ? t : m;
            }
          }
          continue;
        }
        // Any other window: taps in row-major order, the first seeding the maximum.
        for (int64_t ch = 0; ch < C; ++ch) yo[ch] = p0[ch];
        if (ao)
          for (int64_t ch = 0; ch < C; ++ch) ao[ch] = int32_t(a00 + ch);
        for (int64_t u = u_lo; u < u_hi; ++u) {
          const int64_t row = ((r0 + u) * in_w + q0) * C;
          for (int64_t v = (u == u_lo ? v_lo + 1 : v_lo); v < v_hi; ++v) {
            const int64_t at = row + v * C;
            const float* xp = xb + at;
            if (ao) {
              for (int64_t ch = 0; ch < C; ++ch) {
                const float t = xp[ch], m = yo[ch];
                const bool take = LW_POOL_TAKE(t, m);
                yo[ch] = take ? t : m;
                ao[ch] = take ? int32_t(at + ch) : ao[ch];
              }
            } else {
              for (int64_t ch = 0; ch < C; ++ch) {
                const float t = xp[ch], m = yo[ch];
                yo[ch] = LW_POOL_TAKE(t, m) ? t : m;
              }
            }
          }
        }
      }
    }
  }
}

#undef LW_POOL_2X2_ROW
#undef LW_POOL_2X2_WINNERS
#undef LW_POOL_2X2_VALUES
#undef LW_POOL_TAKE
