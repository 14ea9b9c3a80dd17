// pool2d_values_inl.h — the body of max_pool2d_forward_values (pool2d.cc),
// compiled once per instruction set: pool2d.cc includes it three times with
// LW_POOL_ATTR set to that ISA's target attribute, LW_POOL_VEC_BYTES to its
// vector width and LW_POOL_NAME to the function's name. Like
// conv2d_direct_inl.h it calls no inline function defined elsewhere (STL
// included), so no copy built for a wider ISA can reach a baseline caller, and
// it spells the select out in each place instead of calling a helper (GCC
// lowered a shared vector helper to scalar code before inlining it).
//
// Images [b0, b1). An interior 2×2 window (the common pool) is four vector
// loads and three selects per channel block; other windows walk their
// in-bounds taps, the first one seeding the maximum so padding never wins.
// The select — strictly greater keeps the first of equal values, a NaN takes
// over from any number and is then never replaced — is max_pool2d_forward's,
// so the maxima are bit-identical to it.

#ifndef LW_POOL_ATTR
#error "define LW_POOL_ATTR, LW_POOL_VEC_BYTES and LW_POOL_NAME before including pool2d_values_inl.h"
#endif

#define LW_POOL_TAKE(val, best) (((val) > (best)) | (((val) != (val)) & ((best) == (best))))

LW_POOL_ATTR void LW_POOL_NAME(const PoolGeometry& g, const float* x, float* y,
                               int64_t b0, int64_t b1) {
  typedef float Vec __attribute__((vector_size(LW_POOL_VEC_BYTES)));
  constexpr int64_t W = LW_POOL_VEC_BYTES / sizeof(float);
  const int64_t C = g.c, in_w = g.in_w, image = g.in_h * in_w * C;
  const bool two_by_two = g.pool_h == 2 && g.pool_w == 2;
  for (int64_t b = b0; b < b1; ++b) {
    const float* xb = x + b * image;
    for (int64_t i = 0; i < g.out_h; ++i) {
      const int64_t r0 = i * g.stride_h - g.pad_top;
      int64_t u_lo = r0 < 0 ? -r0 : 0, u_hi = g.in_h - r0 < g.pool_h ? g.in_h - r0 : g.pool_h;
      if (u_lo > g.pool_h) u_lo = g.pool_h;
      if (u_hi < u_lo) u_hi = u_lo;
      float* yrow = y + (b * g.out_h + i) * g.out_w * C;
      for (int64_t j = 0; j < g.out_w; ++j) {
        const int64_t q0 = j * g.stride_w - g.pad_left;
        int64_t v_lo = q0 < 0 ? -q0 : 0, v_hi = in_w - q0 < g.pool_w ? in_w - q0 : g.pool_w;
        if (v_lo > g.pool_w) v_lo = g.pool_w;
        if (v_hi < v_lo) v_hi = v_lo;
        float* yo = yrow + j * C;
        if (u_lo == u_hi || v_lo == v_hi) {
          for (int64_t ch = 0; ch < C; ++ch) yo[ch] = 0.0f;
          continue;
        }
        const float* p0 = xb + ((r0 + u_lo) * in_w + q0 + v_lo) * C;
        if (two_by_two && u_hi - u_lo == 2 && v_hi - v_lo == 2) {
          const float* p1 = p0 + in_w * C;
          int64_t ch = 0;
          for (; ch + W <= C; ch += W) {
            Vec m, t;
            __builtin_memcpy(&m, p0 + ch, sizeof(Vec));
            __builtin_memcpy(&t, p0 + C + ch, sizeof(Vec));
            m = LW_POOL_TAKE(t, m) ? t : m;
            __builtin_memcpy(&t, p1 + ch, sizeof(Vec));
            m = LW_POOL_TAKE(t, m) ? t : m;
            __builtin_memcpy(&t, p1 + C + ch, sizeof(Vec));
            m = LW_POOL_TAKE(t, m) ? t : m;
            __builtin_memcpy(yo + ch, &m, sizeof(Vec));
          }
          for (; ch < C; ++ch) {
            float m = p0[ch], t = p0[C + ch];
            m = LW_POOL_TAKE(t, m) ? t : m;
            t = p1[ch];
            m = LW_POOL_TAKE(t, m) ? t : m;
            t = p1[C + ch];
            yo[ch] = LW_POOL_TAKE(t, m) ? t : m;
          }
          continue;
        }
        for (int64_t ch = 0; ch < C; ++ch) yo[ch] = p0[ch];
        for (int64_t u = u_lo; u < u_hi; ++u) {
          const float* row = xb + ((r0 + u) * in_w + q0) * C;
          for (int64_t v = (u == u_lo ? v_lo + 1 : v_lo); v < v_hi; ++v) {
            const float* xp = row + v * C;
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

#undef LW_POOL_TAKE
