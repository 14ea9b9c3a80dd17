// pool2d_values_inl.h — the body of max_pool2d_forward_values and
// max_pool2d_forward (pool2d.cc), and of max_pool2d_route_2x2 (the 2×2
// stride-2 backward), compiled once per instruction set:
// pool2d_values.cc includes it three times with LW_POOL_ATTR set to that ISA's target attribute, LW_POOL_VEC_BYTES to its
// vector width and LW_POOL_NAME / LW_POOL_ROUTE_NAME to the functions' names
// (and, for AVX-512 only, LW_POOL_ROW_PAIRS_C8 to its 8-channel row pass). Like
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
#error "define LW_POOL_ATTR, LW_POOL_VEC_BYTES, LW_POOL_NAME and LW_POOL_ROUTE_NAME before including pool2d_values_inl.h"
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
  for (int64_t j = j_row; j < J; ++j) {                                           \
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
        int64_t j_row = 0;
#ifdef LW_POOL_ROW_PAIRS_C8
        // Eight channels fill half an AVX-512 vector: two output pixels per vector.
        if (C == 8) j_row = LW_POOL_ROW_PAIRS_C8(p0, p1, yrow, arow, J, a00, in_w);
#endif
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

// max_pool2d_route_2x2 (pool2d_values.h) for one image. Each output's
// channel block is compared with the offsets of its window's four taps; each
// tap is stored once, with the gradient where it is the winner and 0
// elsewhere, instead of a zero fill of the image followed by a scattered
// read-modify-write per output. grad + 0.0f stores what 0 + grad stores
// (+0 for a −0 gradient), so dx is bit for bit the fill and scatter's.
#define LW_POOL_ROUTE(VT, IT, LANES, IOTA, STRAY)                                    \
  for (; ch + (LANES) <= C; ch += (LANES)) {                                      \
    IT at;                                                                        \
    VT gv;                                                                        \
    __builtin_memcpy(&at, arow + t + ch, sizeof(IT));                             \
    __builtin_memcpy(&gv, grow + t + ch, sizeof(VT));                             \
    const IT o00 = (IOTA) + int32_t(a00 + ch), o10 = o00 + int32_t(in_w * C);     \
    const IT e00 = at == o00, e01 = at == o00 + int32_t(C);                       \
    const IT e10 = at == o10, e11 = at == o10 + int32_t(C);                       \
    const VT g0 = gv + 0.0f, z = {};                                              \
    const VT s00 = e00 ? g0 : z, s01 = e01 ? g0 : z;                              \
    const VT s10 = e10 ? g0 : z, s11 = e11 ? g0 : z;                              \
    __builtin_memcpy(d0 + ch, &s00, sizeof(VT));                                  \
    __builtin_memcpy(d0 + C + ch, &s01, sizeof(VT));                              \
    __builtin_memcpy(d1 + ch, &s10, sizeof(VT));                                  \
    __builtin_memcpy(d1 + C + ch, &s11, sizeof(VT));                              \
    const IT valid = (at >= 0) & (at < int32_t(image));                           \
    STRAY |= valid & ~(e00 | e01 | e10 | e11);                                    \
    if (krow) {                                                                   \
      const VT k = valid ? gv : z;                                                \
      __builtin_memcpy(krow + t + ch, &k, sizeof(VT));                            \
    }                                                                             \
  }

LW_POOL_ATTR bool LW_POOL_ROUTE_NAME(const PoolGeometry& g, const float* grad,
                                     const int32_t* argmax, float* dx, float* kept) {
  typedef float Vec __attribute__((vector_size(LW_POOL_VEC_BYTES)));
  typedef float HalfVec __attribute__((vector_size(LW_POOL_VEC_BYTES / 2)));
  typedef int32_t IVec __attribute__((vector_size(LW_POOL_VEC_BYTES)));
  typedef int32_t HalfIVec __attribute__((vector_size(LW_POOL_VEC_BYTES / 2)));
  constexpr int64_t W = LW_POOL_VEC_BYTES / sizeof(float);
  IVec iota, stray_v = {};
  HalfIVec half_iota, stray_h = {};
  for (int32_t k = 0; k < int32_t(W); ++k) iota[k] = k;
  for (int32_t k = 0; k < int32_t(W / 2); ++k) half_iota[k] = k;
  const int64_t C = g.c, in_h = g.in_h, in_w = g.in_w, image = in_h * in_w * C;
  // Outputs [0, I) × [0, J) have whole windows; the others are clipped by the
  // image's edge or lie outside it.
  const int64_t I = g.out_h < in_h / 2 ? g.out_h : in_h / 2;
  const int64_t J = g.out_w < in_w / 2 ? g.out_w : in_w / 2;
  bool stray = false;
  for (int64_t i = 0; i < I; ++i) {
    float* row0 = dx + 2 * i * in_w * C;
    float* row1 = row0 + in_w * C;
    const int32_t* arow = argmax + i * g.out_w * C;
    const float* grow = grad + i * g.out_w * C;
    float* krow = kept ? kept + i * g.out_w * C : nullptr;
    for (int64_t j = 0; j < J; ++j) {
      const int64_t a00 = (2 * i * in_w + 2 * j) * C, t = j * C;
      float* d0 = row0 + 2 * j * C;
      float* d1 = row1 + 2 * j * C;
      int64_t ch = 0;
      LW_POOL_ROUTE(Vec, IVec, W, iota, stray_v)
      LW_POOL_ROUTE(HalfVec, HalfIVec, W / 2, half_iota, stray_h)
      for (; ch < C; ++ch) {
        const int32_t at = arow[t + ch];
        const float g0 = grow[t + ch] + 0.0f;
        const int64_t o00 = a00 + ch, o10 = o00 + in_w * C;
        d0[ch] = at == o00 ? g0 : 0.0f;
        d0[C + ch] = at == o00 + C ? g0 : 0.0f;
        d1[ch] = at == o10 ? g0 : 0.0f;
        d1[C + ch] = at == o10 + C ? g0 : 0.0f;
        const bool valid = at >= 0 && at < image;
        stray |= valid && at != o00 && at != o00 + C && at != o10 && at != o10 + C;
        if (krow) krow[t + ch] = valid ? grow[t + ch] : 0.0f;
      }
    }
    // The columns no whole window covers.
    const int64_t rest = (in_w - 2 * J) * C;
    __builtin_memset(row0 + 2 * J * C, 0, sizeof(float) * static_cast<__SIZE_TYPE__>(rest));
    __builtin_memset(row1 + 2 * J * C, 0, sizeof(float) * static_cast<__SIZE_TYPE__>(rest));
  }
  __builtin_memset(dx + 2 * I * in_w * C, 0, sizeof(float) * static_cast<__SIZE_TYPE__>((in_h - 2 * I) * in_w * C));
  for (int64_t k = 0; k < W; ++k) stray |= stray_v[k] != 0;
  for (int64_t k = 0; k < W / 2; ++k) stray |= stray_h[k] != 0;
  // Clipped windows (and windows wholly outside the image): their taps were
  // zeroed above, as the fill would have; scattered as the general pass does.
  for (int64_t i = 0; i < g.out_h; ++i)
    for (int64_t j = (i < I ? J : 0); j < g.out_w; ++j)
      for (int64_t ch = 0; ch < C; ++ch) {
        const int64_t t = (i * g.out_w + j) * C + ch;
        const int32_t at = argmax[t];
        const bool valid = at >= 0 && at < image;
        if (kept) kept[t] = valid ? grad[t] : 0.0f;
        if (!valid) continue;
        const int64_t r = at / (in_w * C), q = at / C % in_w;
        stray |= r < 2 * i || r >= 2 * i + 2 || q < 2 * j || q >= 2 * j + 2 || at % C != ch;
        dx[at] += grad[t];
      }
  return !stray;
}

#undef LW_POOL_ROUTE
#undef LW_POOL_2X2_ROW
#undef LW_POOL_2X2_WINNERS
#undef LW_POOL_2X2_VALUES
#undef LW_POOL_TAKE
