// conv2d.cc — the 2-D convolution kernels of conv2d.h: forward, and the two
// products of the backward pass, on batched NHWC tensors with any stride and
// (possibly negative) padding.
//
// Layouts: x [n, in_h, in_w, in_c], w [k_h, k_w, in_c, out_c],
// y/dy [n, out_h, out_w, out_c]. With M = n·out_h·out_w output pixels and
// K = k_h·k_w·in_c taps, y viewed as an M×out_c matrix is cols·w, where
// cols (M×K, "im2col") holds for each output pixel the input patch it reads,
// zeros standing in for taps outside the input. So:
//   forward:          y  = cols · w                       (sgemm)
//   backward_input:   dx = col2im(dy · wᵀ)                 (sgemm, scatter-add)
//   backward_filter:  dw = colsᵀ · dy                      (sgemm, beta = 1)
//
// Variants:
//   * 1×1, stride 1, no padding, out = in: x already is cols, so one sgemm.
//   * forward and filter gradient with one input channel and a small filter
//     (a first layer on grey images, K = 9 for 3×3): the direct kernels of
//     conv2d_direct.h, compiled per ISA. The profile of the npm-start CNN
//     showed im2col + packing costing as much as the K = 9 GEMM itself there;
//     measured on Zen 4, batch 32, 28×28×1 → 16: forward 300 → 112 µs.
//   * forward with stride 1, several input channels and out_c a multiple of
//     16, on AVX2/AVX-512: the register-tiled kernel of
//     conv2d_forward_tiled.h, without im2col or packing (same sums as the
//     im2col GEMM, bit for bit where it takes all taps in one k slice).
//   * backward with stride 1 and in_c (data gradient) or out_c (filter
//     gradient) a multiple of 16, on AVX2/AVX-512: the register-tiled
//     kernels of conv2d_backward_direct.h, without im2col, col2im or packing.
//     Zen 4, one thread, the npm-start CNN's 14×14×16 → 32 at batch 32:
//     data gradient 845 → 573 µs (68 → 101 GFLOP/s), filter gradient
//     790 → 533 µs (73 → 108 GFLOP/s), CPU time.
//   * everything else: im2col + sgemm over tiles of at most kMaxTileRows
//     pixels × kMaxKChunk taps, so the column scratch stays bounded (≤ 2 MB per
//     thread) whatever the batch, image or filter size. The simple direct
//     loops below (one pixel at a time) only serve as fallbacks when scratch
//     cannot be allocated.
//
// Threading (threadpool.h): the batch dimension is split, not the GEMMs.
// The cost model (ranges_for, from the call's flops and bytes) decides
// whether a call is split at all and into how many ranges; each range runs
// im2col + serial sgemm tiles over its own samples, so a batch-32 layer makes
// a few large tasks instead of many tiny GEMMs each split again.
//   forward          — ranges of whole samples (of output rows for a single
//                      image); outputs are disjoint.
//   backward_input   — ranges of whole samples, so no two threads ever add
//                      into the same dx element; a single image runs
//                      serially and lets sgemm use the pool instead.
//   backward_filter  — each range sums its samples into a private dw
//                      partial; partials are added in range order, so the
//                      result depends only on the sizes and the thread count,
//                      never on scheduling. With one range (one thread, or
//                      too little work) tiles accumulate straight into dw, a
//                      different summation order: 1 and 2 threads may differ
//                      in the last bits here. Filters too big for per-range
//                      partials are split by rows of dw (chunks of K).
//
// Scratch memory is thread-local, 64-byte aligned, grown on demand and freed
// when its thread exits. If an allocation fails, the tile falls back to a
// direct loop that needs no scratch: no exceptions, no abort.
//
// Every input read goes through a bounds check of its row and column against
// in_h/in_w, so any geometry the binding lets through (sizes < 2^31, output
// larger than the input allows, negative pads) stays inside the buffers.
#include "conv2d.h"

#include <algorithm>
#include <cstdlib>

#include "conv2d_backward_direct.h"
#include "conv2d_direct.h"
#include "conv2d_forward_tiled.h"
#include "gemm.h"
#include "threadpool.h"

#define LW_ALWAYS_INLINE inline __attribute__((always_inline))

namespace lw {
namespace {

// Taps per GEMM call: K beyond this is split into chunks summed with beta = 1.
constexpr int64_t kMaxKChunk = 4096;
// Column tile aimed for, in floats (256 KB: written by im2col, read back by
// sgemm's packing while still in L2).
constexpr int64_t kColsBudget = 64 * 1024;
constexpr int64_t kMinTileRows = 128;
constexpr int64_t kMaxTileRows = 4096;
// Floats all backward_filter partials together may take (16 MB).
constexpr int64_t kMaxPartialFloats = int64_t(4) << 20;

class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p_); }
  // nullptr when the allocation fails; the caller then takes a path that
  // needs no scratch.
  float* get(int64_t floats) {
    if (floats <= cap_) return p_;
    std::free(p_);
    p_ = nullptr;
    cap_ = 0;
    const size_t bytes = (size_t(floats) * sizeof(float) + 63) & ~size_t(63);
    p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (p_) cap_ = floats;
    return p_;
  }

 private:
  float* p_ = nullptr;
  int64_t cap_ = 0;
};

thread_local Scratch t_cols;      // im2col / col2im tile of this thread
thread_local Scratch t_partials;  // backward_filter partials, backward_input's transposed filter (calling thread)

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Tiling {
  int64_t kc;  // taps per chunk
  int64_t mt;  // pixels per tile
};

Tiling make_tiling(int64_t k, int64_t m) {
  Tiling t;
  t.kc = std::min(k, kMaxKChunk);
  t.mt = std::min(std::max(kColsBudget / t.kc, kMinTileRows), kMaxTileRows);
  t.mt = std::max(int64_t(1), std::min(t.mt, m));
  return t;
}

// Walks the flattened [n, out_h, out_w] pixel grid from pixel p.
struct Pixel {
  int64_t b, i, j;
  Pixel(const ConvGeometry& g, int64_t p) {
    const int64_t hw = g.out_h * g.out_w;
    b = p / hw;
    const int64_t rem = p % hw;
    i = rem / g.out_w;
    j = rem % g.out_w;
  }
  void next(const ConvGeometry& g) {
    if (++j == g.out_w) {
      j = 0;
      if (++i == g.out_h) {
        i = 0;
        ++b;
      }
    }
  }
};

// For output pixel (b,i,j) and the tap range [k0,k1), reports which taps are
// padding (zero(a,e)) and which read a contiguous run of x (copy(a,e,off):
// taps a..e-1 read x[off .. off+e-a)). Within one kernel row u, taps
// v·in_c+c are consecutive floats of x row r, so each kernel row is at most
// one run, clipped against the left and right borders.
template <class Zero, class Copy>
LW_ALWAYS_INLINE void for_each_run(const ConvGeometry& g, const Pixel& px,
                                   int64_t k0, int64_t k1, Zero zero,
                                   Copy copy) {
  const int64_t C = g.in_c, row_len = g.k_w * C;
  const int64_t r0 = px.i * g.stride_h - g.pad_top;
  const int64_t q0 = px.j * g.stride_w - g.pad_left;
  const int64_t v_lo = std::min(std::max(-q0, int64_t(0)), g.k_w);
  const int64_t v_hi = std::max(std::min(g.in_w - q0, g.k_w), v_lo);
  int64_t k = k0;
  while (k < k1) {
    const int64_t u = k / row_len;
    const int64_t row_end = std::min(k1, (u + 1) * row_len);
    const int64_t r = r0 + u;
    const int64_t a = std::max(k, u * row_len + v_lo * C);
    const int64_t e = std::min(row_end, u * row_len + v_hi * C);
    if (r < 0 || r >= g.in_h || a >= e) {
      zero(k, row_end);
    } else {
      if (k < a) zero(k, a);
      // a is tap (v, c) with q0 + v inside the row, so this offset is too.
      const int64_t off = ((px.b * g.in_h + r) * g.in_w) * C + q0 * C + (a - u * row_len);
      copy(a, e, off);
      if (e < row_end) zero(e, row_end);
    }
    k = row_end;
  }
}

// cols[m][k - k0] for pixels p0..p0+mt and taps k0..k0+kt; row stride kt.
void im2col(const ConvGeometry& g, const float* x, int64_t p0, int64_t mt,
            int64_t k0, int64_t kt, float* cols) {
  const int64_t C = g.in_c, row_len = g.k_w * C;
  const bool whole_patch = k0 == 0 && kt == g.k_h * row_len;
  Pixel px(g, p0);
  for (int64_t m = 0; m < mt; ++m, px.next(g)) {
    float* __restrict dst = cols + m * kt - k0;
    const int64_t r0 = px.i * g.stride_h - g.pad_top;
    const int64_t q0 = px.j * g.stride_w - g.pad_left;
    if (whole_patch && r0 >= 0 && r0 + g.k_h <= g.in_h && q0 >= 0 && q0 + g.k_w <= g.in_w) {
      // The common case, a patch clear of every border: k_h straight copies.
      // It skips the per-run clipping below, which for thin inputs (in_c = 1,
      // 3-wide rows) cost more than the copying itself.
      const float* __restrict src = x + ((px.b * g.in_h + r0) * g.in_w + q0) * C;
      for (int64_t u = 0; u < g.k_h; ++u, src += g.in_w * C, dst += row_len)
        for (int64_t t = 0; t < row_len; ++t) dst[t] = src[t];
      continue;
    }
    for_each_run(
        g, px, k0, k0 + kt,
        [&](int64_t a, int64_t e) { std::fill(dst + a, dst + e, 0.0f); },
        [&](int64_t a, int64_t e, int64_t off) {
          const float* __restrict src = x + off - a;
          for (int64_t t = a; t < e; ++t) dst[t] = src[t];
        });
  }
}

// The adjoint of im2col: dx[...] += cols[m][k - k0] for every in-bounds tap.
void col2im_add(const ConvGeometry& g, const float* cols, int64_t p0,
                int64_t mt, int64_t k0, int64_t kt, float* dx) {
  Pixel px(g, p0);
  for (int64_t m = 0; m < mt; ++m, px.next(g)) {
    const float* __restrict src = cols + m * kt - k0;
    for_each_run(
        g, px, k0, k0 + kt, [](int64_t, int64_t) {},
        [&](int64_t a, int64_t e, int64_t off) {
          float* __restrict dst = dx + off - a;
          for (int64_t t = a; t < e; ++t) dst[t] += src[t];
        });
  }
}

// Range of kernel rows/columns of pixel (i, j) that land inside the input.
struct Window {
  int64_t r0, q0, u_lo, u_hi, v_lo, v_hi;
  Window(const ConvGeometry& g, const Pixel& px) {
    r0 = px.i * g.stride_h - g.pad_top;
    q0 = px.j * g.stride_w - g.pad_left;
    u_lo = std::min(std::max(-r0, int64_t(0)), g.k_h);
    u_hi = std::max(std::min(g.in_h - r0, g.k_h), u_lo);
    v_lo = std::min(std::max(-q0, int64_t(0)), g.k_w);
    v_hi = std::max(std::min(g.in_w - q0, g.k_w), v_lo);
  }
};

// ---- direct kernels: the fallbacks when scratch cannot be allocated --------

// y[p, o0..o0+NB) for one pixel, accumulated in registers across all taps.
template <int NB>
LW_ALWAYS_INLINE void forward_direct_block(const ConvGeometry& g,
                                           const float* x, const float* w,
                                           float* yrow, bool accumulate,
                                           int64_t b, const Window& win,
                                           int64_t o0) {
  const int64_t C = g.in_c, OC = g.out_c;
  float acc[NB];
  for (int l = 0; l < NB; ++l) acc[l] = accumulate ? yrow[o0 + l] : 0.0f;
  for (int64_t u = win.u_lo; u < win.u_hi; ++u) {
    const int64_t xrow = (b * g.in_h + win.r0 + u) * g.in_w + win.q0;
    for (int64_t v = win.v_lo; v < win.v_hi; ++v) {
      const float* xp = x + (xrow + v) * C;
      const float* wp = w + (u * g.k_w + v) * C * OC + o0;
      for (int64_t c = 0; c < C; ++c) {
        const float xv = xp[c];
        const float* wc = wp + c * OC;
        for (int l = 0; l < NB; ++l) acc[l] += xv * wc[l];
      }
    }
  }
  for (int l = 0; l < NB; ++l) yrow[o0 + l] = acc[l];
}

void forward_direct(const ConvGeometry& g, const float* x, const float* w,
                    float* y, bool accumulate, int64_t p0, int64_t p1) {
  Pixel px(g, p0);
  for (int64_t p = p0; p < p1; ++p, px.next(g)) {
    const Window win(g, px);
    float* yrow = y + p * g.out_c;
    int64_t o = 0;
    for (; o + 16 <= g.out_c; o += 16)
      forward_direct_block<16>(g, x, w, yrow, accumulate, px.b, win, o);
    for (; o + 8 <= g.out_c; o += 8)
      forward_direct_block<8>(g, x, w, yrow, accumulate, px.b, win, o);
    for (; o < g.out_c; ++o)
      forward_direct_block<1>(g, x, w, yrow, accumulate, px.b, win, o);
  }
}

// dst[k, o] += Σ_p cols[p, k] · dy[p, o] for pixels p0..p1, cols implied.
void filter_direct(const ConvGeometry& g, const float* x, const float* dy,
                   float* dst, int64_t p0, int64_t p1) {
  const int64_t C = g.in_c, OC = g.out_c;
  Pixel px(g, p0);
  for (int64_t p = p0; p < p1; ++p, px.next(g)) {
    const Window win(g, px);
    const float* __restrict dyrow = dy + p * OC;
    for (int64_t u = win.u_lo; u < win.u_hi; ++u) {
      const int64_t xrow = (px.b * g.in_h + win.r0 + u) * g.in_w + win.q0;
      for (int64_t v = win.v_lo; v < win.v_hi; ++v) {
        const float* xp = x + (xrow + v) * C;
        float* dp = dst + (u * g.k_w + v) * C * OC;
        for (int64_t c = 0; c < C; ++c) {
          const float xv = xp[c];
          float* __restrict d = dp + c * OC;
          for (int64_t o = 0; o < OC; ++o) d[o] += xv * dyrow[o];
        }
      }
    }
  }
}

// dx of one image: col2im(dy · wᵀ) one (pixel, tap) at a time, so no column
// buffer is needed.
void backward_input_direct(const ConvGeometry& g, const float* dy,
                           const float* w, float* dx, int64_t b) {
  const int64_t C = g.in_c, OC = g.out_c, hw = g.out_h * g.out_w;
  Pixel px(g, b * hw);
  for (int64_t p = b * hw; p < (b + 1) * hw; ++p, px.next(g)) {
    const Window win(g, px);
    const float* dyrow = dy + p * OC;
    for (int64_t u = win.u_lo; u < win.u_hi; ++u) {
      const int64_t xrow = (b * g.in_h + win.r0 + u) * g.in_w + win.q0;
      for (int64_t v = win.v_lo; v < win.v_hi; ++v) {
        float* dxp = dx + (xrow + v) * C;
        const float* wp = w + (u * g.k_w + v) * C * OC;
        for (int64_t c = 0; c < C; ++c) {
          float s = 0;
          for (int64_t o = 0; o < OC; ++o) s += dyrow[o] * wp[c * OC + o];
          dxp[c] += s;
        }
      }
    }
  }
}

bool is_pointwise(const ConvGeometry& g) {
  return g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h &&
         g.out_w == g.in_w;
}

// Work of one call for the cost model: the GEMM's flops, and the bytes of x,
// w, y and the column tiles written by im2col and read back by sgemm.
double conv_flops(const ConvGeometry& g) {
  return 2.0 * double(g.n * g.out_h * g.out_w) * double(g.k_h * g.k_w * g.in_c) * double(g.out_c);
}
double conv_bytes(const ConvGeometry& g) {
  const double M = double(g.n * g.out_h * g.out_w), K = double(g.k_h * g.k_w * g.in_c);
  return 4.0 * (double(conv_input_size(g)) + 2.0 * M * K + M * double(g.out_c) +
                K * double(g.out_c));
}

// The output pixels cut into ranges of whole output rows — of whole samples
// when the batch has more than one (whole_samples forces that) — as many as
// the cost model wants for this call.
struct PixelRanges {
  int64_t rows, grain, out_w, count;
  PixelRanges(const ConvGeometry& g, bool whole_samples) {
    rows = g.n * g.out_h;
    out_w = g.out_w;
    grain = (g.n > 1 || whole_samples) ? g.out_h : 1;
    count = ranges_for(ceil_div(rows, grain), conv_flops(g), conv_bytes(g));
  }
  void pixels(int64_t r, int64_t* p0, int64_t* p1) const {
    int64_t b, e;
    range_bounds(rows, count, r, grain, &b, &e);
    *p0 = b * out_w;
    *p1 = e * out_w;
  }
};

// ---- tile workers ----------------------------------------------------------

// Output pixels [p0, p0+mt); the last tap chunk's GEMM applies ep (none:
// ep.bias null) to its tiles as it stores them.
void forward_tile(const ConvGeometry& g, const float* x, const float* w,
                  float* y, bool accumulate, const Tiling& t, int64_t p0,
                  int64_t mt, const GemmEpilogue& ep) {
  const int64_t K = g.k_h * g.k_w * g.in_c;
  float* cols = t_cols.get(mt * t.kc);
  if (!cols) {
    forward_direct(g, x, w, y, accumulate, p0, p0 + mt);
    if (ep.bias) bias_activation_serial(y + p0 * g.out_c, ep.bias, mt, g.out_c, ep.f, ep.alpha);
    return;
  }
  const GemmEpilogue none = {nullptr, Activation::kLinear, 0.0f};
  for (int64_t k0 = 0; k0 < K; k0 += t.kc) {
    const int64_t kt = std::min(t.kc, K - k0);
    im2col(g, x, p0, mt, k0, kt, cols);
    sgemm(false, false, mt, g.out_c, kt, 1.0f, cols, kt, w + k0 * g.out_c,
          g.out_c, (k0 == 0 && !accumulate) ? 0.0f : 1.0f, y + p0 * g.out_c,
          g.out_c, k0 + kt == K ? ep : none);
  }
}

// dst (K×out_c rows k_begin..k_end) += colsᵀ·dy over pixels p0..p0+mt.
void filter_tile(const ConvGeometry& g, const float* x, const float* dy,
                 float* dw, const Tiling& t, int64_t p0, int64_t mt,
                 int64_t k_begin, int64_t k_end) {
  const int64_t K = g.k_h * g.k_w * g.in_c;
  float* cols = t_cols.get(mt * t.kc);
  if (!cols && k_begin == 0 && k_end == K)
    return filter_direct(g, x, dy, dw, p0, p0 + mt);
  if (!cols) {
    // Out of memory on the K-split path: one pixel's patch at a time.
    for (int64_t p = p0; p < p0 + mt; ++p) {
      float patch[256];
      for (int64_t k0 = k_begin; k0 < k_end; k0 += 256) {
        const int64_t kt = std::min<int64_t>(256, k_end - k0);
        im2col(g, x, p, 1, k0, kt, patch);
        for (int64_t k = 0; k < kt; ++k)
          for (int64_t o = 0; o < g.out_c; ++o)
            dw[(k0 + k) * g.out_c + o] += patch[k] * dy[p * g.out_c + o];
      }
    }
    return;
  }
  for (int64_t k0 = k_begin; k0 < k_end; k0 += t.kc) {
    const int64_t kt = std::min(t.kc, k_end - k0);
    im2col(g, x, p0, mt, k0, kt, cols);
    sgemm(true, false, kt, g.out_c, mt, 1.0f, cols, kt, dy + p0 * g.out_c,
          g.out_c, 1.0f, dw + k0 * g.out_c, g.out_c);
  }
}

void backward_input_image(const ConvGeometry& g, const float* dy,
                          const float* w, float* dx, bool accumulate,
                          const Tiling& t, int64_t b) {
  const int64_t K = g.k_h * g.k_w * g.in_c, hw = g.out_h * g.out_w;
  const int64_t image = g.in_h * g.in_w * g.in_c;
  if (!accumulate) std::fill(dx + b * image, dx + (b + 1) * image, 0.0f);
  float* cols = t_cols.get(t.mt * t.kc);
  if (!cols) return backward_input_direct(g, dy, w, dx, b);
  for (int64_t p0 = b * hw; p0 < (b + 1) * hw; p0 += t.mt) {
    const int64_t mt = std::min(t.mt, (b + 1) * hw - p0);
    for (int64_t k0 = 0; k0 < K; k0 += t.kc) {
      const int64_t kt = std::min(t.kc, K - k0);
      sgemm(false, true, mt, kt, g.out_c, 1.0f, dy + p0 * g.out_c, g.out_c,
            w + k0 * g.out_c, g.out_c, 0.0f, cols, kt);
      col2im_add(g, cols, p0, mt, k0, kt, dx);
    }
  }
}

}  // namespace

namespace {

// Output rows per direct-kernel call when an epilogue follows it (sigmoid,
// tanh), so what it reads back is still in cache.
constexpr int64_t kEpilogueRows = 16;

// ep (bias null: none) is applied to every output pixel after its sum.
void forward(const ConvGeometry& g, const float* x, const float* w, float* y,
             bool accumulate, const GemmEpilogue& ep) {
  const int64_t M = g.n * g.out_h * g.out_w, K = g.k_h * g.k_w * g.in_c;
  if (M == 0 || g.out_c == 0) return;
  if (K == 0 || g.in_h == 0 || g.in_w == 0) {
    // Every tap is padding (or there are none).
    if (!accumulate) std::fill(y, y + M * g.out_c, 0.0f);
    if (ep.bias) bias_activation(y, ep.bias, M, g.out_c, ep.f, ep.alpha);
    return;
  }
  if (is_pointwise(g)) {
    sgemm(false, false, M, g.out_c, g.in_c, 1.0f, x, g.in_c, w, g.out_c,
          accumulate ? 1.0f : 0.0f, y, g.out_c, ep);
    return;
  }
  const Tiling t = make_tiling(K, M);
  const bool direct = conv2d_direct_applies(g);
  const bool tiled = !direct && !accumulate && conv2d_forward_tiled_applies(g);
  // Ranges are whole output rows (PixelRanges), which the direct kernels take.
  auto run = [&](int64_t p0, int64_t p1) {
    if (tiled) {
      // Without scratch, the im2col tiles below (they need more).
      if (float* scratch = t_cols.get(conv2d_forward_tiled_scratch(g)))
        return conv2d_forward_tiled_rows(g, x, w, y, p0 / g.out_w, p1 / g.out_w, ep, scratch);
    }
    if (direct) {
      const int64_t r1 = p1 / g.out_w;
      if (!ep.bias || conv2d_direct_fuses(ep.f))
        return conv2d_forward_direct_rows(g, x, w, y, accumulate, p0 / g.out_w, r1, ep);
      const GemmEpilogue none = {nullptr, Activation::kLinear, 0.0f};
      for (int64_t r = p0 / g.out_w; r < r1; r += kEpilogueRows) {
        const int64_t e = std::min(r1, r + kEpilogueRows);
        conv2d_forward_direct_rows(g, x, w, y, accumulate, r, e, none);
        bias_activation_serial(y + r * g.out_w * g.out_c, ep.bias, (e - r) * g.out_w, g.out_c, ep.f, ep.alpha);
      }
      return;
    }
    for (int64_t p = p0; p < p1; p += t.mt)
      forward_tile(g, x, w, y, accumulate, t, p, std::min(t.mt, p1 - p), ep);
  };
  const PixelRanges ranges(g, false);
  if (ranges.count <= 1) return run(0, M);
  parallel_for(
      ranges.count,
      [&](int64_t r) {
        int64_t p0, p1;
        ranges.pixels(r, &p0, &p1);
        run(p0, p1);
      },
      conv_flops(g), conv_bytes(g));
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w,
                    float* y, bool accumulate) {
  forward(g, x, w, y, accumulate, GemmEpilogue{nullptr, Activation::kLinear, 0.0f});
}

void conv2d_forward_bias_activation(const ConvGeometry& g, const float* x,
                                    const float* w, const float* bias, float* y,
                                    Activation f, float alpha) {
  forward(g, x, w, y, false, GemmEpilogue{bias, f, alpha});
}

void conv2d_backward_input(const ConvGeometry& g, const float* dy,
                           const float* w, float* dx, bool accumulate) {
  const int64_t M = g.n * g.out_h * g.out_w, K = g.k_h * g.k_w * g.in_c;
  const int64_t in_size = conv_input_size(g);
  if (in_size == 0) return;
  if (M == 0 || K == 0 || g.out_c == 0) {
    if (!accumulate) std::fill(dx, dx + in_size, 0.0f);
    return;
  }
  if (is_pointwise(g)) {
    sgemm(false, true, M, g.in_c, g.out_c, 1.0f, dy, g.out_c, w, g.out_c,
          accumulate ? 1.0f : 0.0f, dx, g.in_c);
    return;
  }
  const Tiling t = make_tiling(K, g.out_h * g.out_w);
  // The register-tiled kernel reads the filter transposed (made once, on the
  // calling thread) and one zero-bordered dy image per thread.
  float* wt = conv2d_backward_direct_input_applies(g) ? t_partials.get(K * g.out_c) : nullptr;
  if (wt) conv2d_backward_direct_transpose_filter(g, w, wt);
  const int64_t padded = wt ? conv2d_backward_direct_input_scratch(g) : 0;
  parallel_ranges(g.n, conv_flops(g), conv_bytes(g), [&](int64_t b0, int64_t b1) {
    float* image = wt ? t_cols.get(padded) : nullptr;
    if (image)
      return conv2d_backward_direct_input_images(g, dy, wt, dx, accumulate, b0, b1, image);
    for (int64_t b = b0; b < b1; ++b) backward_input_image(g, dy, w, dx, accumulate, t, b);
  });
}

void conv2d_backward_filter(const ConvGeometry& g, const float* x,
                            const float* dy, float* dw, bool accumulate) {
  const int64_t M = g.n * g.out_h * g.out_w, K = g.k_h * g.k_w * g.in_c;
  const int64_t F = K * g.out_c;
  if (F == 0) return;
  if (!accumulate) std::fill(dw, dw + F, 0.0f);
  if (M == 0 || g.in_h == 0 || g.in_w == 0) return;
  if (is_pointwise(g)) {
    sgemm(true, false, g.in_c, g.out_c, M, 1.0f, x, g.in_c, dy, g.out_c, 1.0f,
          dw, g.out_c);
    return;
  }
  const Tiling t = make_tiling(K, M);
  const bool direct = conv2d_direct_applies(g);
  const bool tiled = !direct && conv2d_backward_direct_filter_applies(g);
  // Ranges are whole output rows (PixelRanges), which the direct kernels take.
  auto pixel_range = [&](int64_t p0, int64_t p1, float* dst, int64_t k_begin,
                         int64_t k_end) {
    if (direct && k_begin == 0 && k_end == K)
      return conv2d_backward_filter_direct_rows(g, x, dy, dst, p0 / g.out_w, p1 / g.out_w);
    float* image = tiled && k_begin == 0 && k_end == K
                       ? t_cols.get(conv2d_backward_direct_filter_scratch(g)) : nullptr;
    if (image)
      return conv2d_backward_direct_filter_rows(g, x, dy, dst, p0 / g.out_w, p1 / g.out_w, image);
    for (int64_t p = p0; p < p1; p += t.mt)
      filter_tile(g, x, dy, dst, t, p, std::min(t.mt, p1 - p), k_begin, k_end);
  };
  const PixelRanges ranges(g, false);
  if (ranges.count > 1 && F * ranges.count <= kMaxPartialFloats) {
    float* partials = t_partials.get(ranges.count * F);
    if (partials) {
      parallel_for(
          ranges.count,
          [&](int64_t r) {
            float* part = partials + r * F;
            std::fill(part, part + F, 0.0f);
            int64_t p0, p1;
            ranges.pixels(r, &p0, &p1);
            pixel_range(p0, p1, part, 0, K);
          },
          conv_flops(g), conv_bytes(g));
      // Element e always sums dw[e] + part0[e] + part1[e] + … in that order,
      // however the elements are cut among threads.
      const int64_t n_parts = ranges.count;
      parallel_ranges(F, double(F * n_parts), 4.0 * double(F * (n_parts + 2)),
                      [&](int64_t e0, int64_t e1) {
                        for (int64_t r = 0; r < n_parts; ++r) {
                          const float* __restrict part = partials + r * F;
                          float* __restrict d = dw;
                          for (int64_t e = e0; e < e1; ++e) d[e] += part[e];
                        }
                      },
                      16);
      return;
    }
  }
  if (ranges.count > 1 && K > t.kc) {
    // Big filter: tasks own disjoint rows of dw, each visiting every pixel.
    parallel_for(
        ceil_div(K, t.kc),
        [&](int64_t c) {
          const int64_t k0 = c * t.kc;
          pixel_range(0, M, dw, k0, std::min(K, k0 + t.kc));
        },
        conv_flops(g), conv_bytes(g));
    return;
  }
  pixel_range(0, M, dw, 0, K);
}

}  // namespace lw
