// conv2d_test.cc — checks the optimised conv2d kernels (conv2d.cc) against the
// direct-loop references (conv2d_reference.cc) over a sweep of geometries:
// batch, channels, even and odd kernels, strides, 'valid'/'same'/'full',
// symmetric, negative and oversized padding, outputs larger than the input
// allows, accumulate on and off, big batches, K split into chunks, and
// degenerate zero sizes; with one thread and with two. The register-tiled
// forward kernel also against im2col + sgemm, bit for bit.
//
// Every buffer sits between guard zones filled with a sentinel, so a write
// outside the sizes conv_*_size reports is caught even without a sanitizer.
// Tolerance per element is relative to the same sum taken over |terms| (the
// reference run on |x|, |w|), which bounds float rounding whatever the order.
// Exits non-zero on the first failing geometry batch.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "conv2d.h"
#include "conv2d_pooled_filter.h"
#include "cpu.h"
#include "gemm.h"
#include "pool2d.h"
#include "threadpool.h"

using lw::ConvGeometry;
using lw::PoolGeometry;

namespace {

constexpr int64_t kGuard = 64;
constexpr float kSentinel = -12345.678f;
int g_failures = 0;
int64_t g_cases = 0;

// A buffer with guard zones on both sides.
struct Guarded {
  std::vector<float> data;
  int64_t size;
  explicit Guarded(int64_t n) : data(size_t(n + 2 * kGuard), kSentinel), size(n) {}
  float* p() { return data.data() + kGuard; }
  bool guards_intact() const {
    for (int64_t i = 0; i < kGuard; ++i)
      if (std::memcmp(&data[size_t(i)], &kSentinel, 4) != 0 ||
          std::memcmp(&data[size_t(kGuard + size + i)], &kSentinel, 4) != 0)
        return false;
    return true;
  }
};

void fill_random(float* p, int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) p[i] = d(rng);
}

std::string describe(const ConvGeometry& g) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "n=%lld in=%lldx%lldx%lld k=%lldx%lld out_c=%lld s=%lld,%lld "
                "pad=%lld,%lld out=%lldx%lld",
                (long long)g.n, (long long)g.in_h, (long long)g.in_w,
                (long long)g.in_c, (long long)g.k_h, (long long)g.k_w,
                (long long)g.out_c, (long long)g.stride_h, (long long)g.stride_w,
                (long long)g.pad_top, (long long)g.pad_left, (long long)g.out_h,
                (long long)g.out_w);
  return buf;
}

bool compare(const char* what, const ConvGeometry& g, bool acc, const float* got,
             const float* want, const float* scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float tol = 3e-5f * scale[i] + 1e-5f;
    if (!(std::fabs(got[i] - want[i]) <= tol)) {
      std::fprintf(stderr, "FAIL %s acc=%d %s: element %lld got %.8g want %.8g (tol %.3g)\n",
                   what, int(acc), describe(g).c_str(), (long long)i, got[i],
                   want[i], tol);
      ++g_failures;
      return false;
    }
  }
  return true;
}

void abs_copy(std::vector<float>& dst, const float* src, int64_t n) {
  dst.assign(src, src + n);
  for (float& v : dst) v = std::fabs(v);
}

// Runs all three kernels on one geometry, with and without accumulate.
void check(const ConvGeometry& g, std::mt19937& rng) {
  ++g_cases;
  const int64_t xs = lw::conv_input_size(g), ws = lw::conv_filter_size(g),
                ys = lw::conv_output_size(g);
  std::vector<float> x(static_cast<size_t>(xs)), w(static_cast<size_t>(ws)), dy(static_cast<size_t>(ys));
  fill_random(x.data(), xs, rng);
  fill_random(w.data(), ws, rng);
  fill_random(dy.data(), ys, rng);
  std::vector<float> ax, aw, ady;
  abs_copy(ax, x.data(), xs);
  abs_copy(aw, w.data(), ws);
  abs_copy(ady, dy.data(), ys);

  {  // Bias and activation fused per tile (in the GEMM's and the direct
     // kernel's registers, or after each block): bit-identical to the two
     // passes on every ISA variant.
    std::vector<float> bias(static_cast<size_t>(g.out_c));
    fill_random(bias.data(), g.out_c, rng);
    const lw::Isa initial = lw::active_isa();
    for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512}) {
      if (!lw::set_isa(isa)) continue;
      for (lw::Activation f : {lw::Activation::kRelu, lw::Activation::kTanh, lw::Activation::kLinear,
                               lw::Activation::kLeakyRelu}) {
        const float alpha = f == lw::Activation::kLeakyRelu ? 0.1f : 0.0f;
        std::vector<float> fused(static_cast<size_t>(ys), std::nanf("")), separate(static_cast<size_t>(ys));
        lw::conv2d_forward_bias_activation(g, x.data(), w.data(), bias.data(), fused.data(), f, alpha);
        lw::conv2d_forward(g, x.data(), w.data(), separate.data(), false);
        lw::bias_activation(separate.data(), bias.data(), ys / (g.out_c ? g.out_c : 1), g.out_c, f, alpha);
        if (ys > 0 && std::memcmp(fused.data(), separate.data(), sizeof(float) * size_t(ys)) != 0) {
          std::fprintf(stderr, "FAIL fused bias+activation (%d, %s) differs from the separate passes: %s\n", int(f),
                       lw::isa_name(isa), describe(g).c_str());
          ++g_failures;
        }
      }
    }
    lw::set_isa(initial);
  }

  for (int acc = 0; acc < 2; ++acc) {
    // Initial contents: random for accumulate, NaN otherwise (must be ignored).
    auto init = [&](int64_t n) {
      std::vector<float> v(static_cast<size_t>(n));
      if (acc) fill_random(v.data(), n, rng);
      else std::fill(v.begin(), v.end(), std::nanf(""));
      return v;
    };
    {
      std::vector<float> y0 = init(ys), want = y0, scale(static_cast<size_t>(ys), 0.0f);
      Guarded got(ys);
      std::copy(y0.begin(), y0.end(), got.p());
      lw::conv2d_forward(g, x.data(), w.data(), got.p(), acc);
      lw::conv2d_forward_reference(g, x.data(), w.data(), want.data(), acc);
      lw::conv2d_forward_reference(g, ax.data(), aw.data(), scale.data(), false);
      if (acc) for (int64_t i = 0; i < ys; ++i) scale[i] += std::fabs(y0[i]);
      if (!got.guards_intact()) {
        std::fprintf(stderr, "FAIL forward wrote out of bounds: %s\n", describe(g).c_str());
        ++g_failures;
      }
      compare("forward", g, acc, got.p(), want.data(), scale.data(), ys);
    }
    {
      std::vector<float> d0 = init(xs), want = d0, scale(static_cast<size_t>(xs), 0.0f);
      Guarded got(xs);
      std::copy(d0.begin(), d0.end(), got.p());
      lw::conv2d_backward_input(g, dy.data(), w.data(), got.p(), acc);
      lw::conv2d_backward_input_reference(g, dy.data(), w.data(), want.data(), acc);
      lw::conv2d_backward_input_reference(g, ady.data(), aw.data(), scale.data(), false);
      if (acc) for (int64_t i = 0; i < xs; ++i) scale[i] += std::fabs(d0[i]);
      if (!got.guards_intact()) {
        std::fprintf(stderr, "FAIL backward_input wrote out of bounds: %s\n", describe(g).c_str());
        ++g_failures;
      }
      compare("backward_input", g, acc, got.p(), want.data(), scale.data(), xs);
    }
    {
      std::vector<float> d0 = init(ws), want = d0, scale(static_cast<size_t>(ws), 0.0f);
      Guarded got(ws), again(ws);
      std::copy(d0.begin(), d0.end(), got.p());
      std::copy(d0.begin(), d0.end(), again.p());
      lw::conv2d_backward_filter(g, x.data(), dy.data(), got.p(), acc);
      lw::conv2d_backward_filter(g, x.data(), dy.data(), again.p(), acc);
      lw::conv2d_backward_filter_reference(g, x.data(), dy.data(), want.data(), acc);
      lw::conv2d_backward_filter_reference(g, ax.data(), ady.data(), scale.data(), false);
      if (acc) for (int64_t i = 0; i < ws; ++i) scale[i] += std::fabs(d0[i]);
      if (!got.guards_intact()) {
        std::fprintf(stderr, "FAIL backward_filter wrote out of bounds: %s\n", describe(g).c_str());
        ++g_failures;
      }
      if (ws > 0 && std::memcmp(got.p(), again.p(), size_t(ws) * 4) != 0) {
        std::fprintf(stderr, "FAIL backward_filter not deterministic: %s\n", describe(g).c_str());
        ++g_failures;
      }
      compare("backward_filter", g, acc, got.p(), want.data(), scale.data(), ws);
    }
  }
}

int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t pad_total) {
  const int64_t span = in + pad_total - k;
  return span < 0 ? 0 : span / s + 1;
}

enum Mode { kValid, kSame, kFull, kPad1, kPad2, kNegative, kOversized, kAllPadding, kModes };

// Fills pad/out for one spatial axis.
void axis(Mode m, int64_t in, int64_t k, int64_t s, int64_t& pad, int64_t& out) {
  switch (m) {
    case kValid: pad = 0; out = out_extent(in, k, s, 0); break;
    case kSame: {
      out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
      pad = total / 2;
      break;
    }
    case kFull: pad = k - 1; out = out_extent(in, k, s, 2 * (k - 1)); break;
    case kPad1: pad = 1; out = out_extent(in, k, s, 2); break;
    case kPad2: pad = 2; out = out_extent(in, k, s, 4); break;
    case kNegative: pad = -1; out = out_extent(in, k, s, -2) + 1; break;  // last row reads past the end
    case kOversized: pad = 1; out = in + 4; break;
    case kAllPadding: pad = -3 * in; out = 2; break;  // windows below/right of the input
    default: pad = 0; out = 0;
  }
}

void sweep(std::mt19937& rng) {
  const int64_t kernels[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {3, 1}};
  const int64_t images[][2] = {{5, 7}, {8, 8}};
  for (int64_t n : {1, 2, 3})
    for (int64_t in_c : {1, 2, 3, 8})
      for (int64_t out_c : {1, 4, 16})
        for (const auto& k : kernels)
          for (int64_t s : {1, 2, 3})
            for (const auto& im : images)
              for (int m = 0; m < kModes; ++m) {
                // Keep the sweep quick: only some image/batch combinations.
                if ((n + in_c + out_c + s + m) % 2 == 0 && im[0] == 8) continue;
                ConvGeometry g{n, im[0], im[1], in_c, k[0], k[1], out_c, s, s, 0, 0, 0, 0};
                axis(Mode(m), g.in_h, g.k_h, s, g.pad_top, g.out_h);
                axis(Mode(m), g.in_w, g.k_w, s, g.pad_left, g.out_w);
                check(g, rng);
              }
  // Anisotropic strides and pads, mixed modes per axis.
  for (int mh = 0; mh < kModes; ++mh)
    for (int mw = 0; mw < kModes; ++mw) {
      ConvGeometry g{2, 6, 9, 3, 3, 2, 5, 2, 1, 0, 0, 0, 0};
      axis(Mode(mh), g.in_h, g.k_h, g.stride_h, g.pad_top, g.out_h);
      axis(Mode(mw), g.in_w, g.k_w, g.stride_w, g.pad_left, g.out_w);
      check(g, rng);
    }
}

void special_cases(std::mt19937& rng) {
  const ConvGeometry cases[] = {
      // The brief's big cases: first layer (direct path) and a middle layer.
      {32, 28, 28, 1, 3, 3, 8, 1, 1, 0, 0, 26, 26},
      {32, 14, 14, 8, 3, 3, 16, 1, 1, 1, 1, 14, 14},
      {8, 28, 28, 1, 5, 5, 32, 1, 1, 2, 2, 28, 28},
      {4, 14, 14, 32, 3, 3, 64, 1, 1, 1, 1, 14, 14},
      // Pointwise (plain sgemm) and almost-pointwise.
      {3, 6, 5, 7, 1, 1, 9, 1, 1, 0, 0, 6, 5},
      {3, 6, 5, 7, 1, 1, 9, 1, 1, 0, 0, 5, 5},
      {3, 6, 5, 7, 1, 1, 9, 2, 2, 0, 0, 3, 3},
      // K = 3·3·520 > 4096: split into chunks summed with beta = 1.
      {2, 4, 5, 520, 3, 3, 3, 1, 1, 1, 1, 4, 5},
      // Many pixel tiles with K = 2·2·40 = 160.
      {5, 40, 40, 40, 2, 2, 6, 1, 1, 0, 0, 39, 39},
      // Kernel bigger than the image; stride bigger than the kernel.
      {2, 3, 3, 2, 5, 5, 3, 1, 1, 2, 2, 3, 3},
      {2, 9, 9, 2, 2, 2, 3, 4, 4, 0, 0, 3, 3},
      // Output far larger than the input allows, pads negative and positive.
      {1, 4, 4, 3, 3, 3, 2, 3, 2, -2, 5, 7, 9},
      // Degenerate sizes.
      {0, 5, 5, 2, 3, 3, 4, 1, 1, 1, 1, 5, 5},
      {2, 0, 5, 2, 3, 3, 4, 1, 1, 1, 1, 3, 5},
      {2, 5, 5, 0, 3, 3, 4, 1, 1, 1, 1, 5, 5},
      {2, 5, 5, 2, 0, 3, 4, 1, 1, 0, 1, 5, 5},
      {2, 5, 5, 2, 3, 3, 0, 1, 1, 1, 1, 5, 5},
      {2, 5, 5, 2, 3, 3, 4, 1, 1, 1, 1, 0, 5},
  };
  for (const ConvGeometry& g : cases) check(g, rng);
}

// The register-tiled backward kernels (conv2d_backward_direct.h: stride 1,
// in_c or out_c a multiple of 16) on every vector ISA this CPU runs: column
// counts that split into uneven pixel tiles, channel counts that mix
// two-vector and one-vector tiles, 'same', 'valid', 'full', negative and
// oversized pads, kernels larger than the image.
void tiled_backward_cases(std::mt19937& rng) {
  const ConvGeometry cases[] = {
      {2, 14, 14, 16, 3, 3, 32, 1, 1, 1, 1, 14, 14},  // the npm-start CNN's second conv
      {3, 7, 9, 16, 3, 3, 32, 1, 1, 1, 1, 7, 9},
      {2, 6, 5, 32, 3, 3, 16, 1, 1, 0, 0, 4, 3},
      {2, 5, 6, 48, 3, 3, 48, 1, 1, 2, 2, 7, 8},
      {1, 4, 4, 16, 2, 3, 16, 1, 1, -1, 1, 5, 9},
      {2, 9, 30, 64, 5, 5, 16, 1, 1, 2, 2, 9, 30},
      {1, 3, 3, 16, 5, 5, 16, 1, 1, 2, 2, 3, 3},
      {2, 6, 7, 3, 3, 3, 16, 1, 1, 1, 1, 6, 7},   // filter gradient only (in_c 3)
      {2, 6, 7, 16, 1, 3, 5, 1, 1, 0, 1, 6, 7},   // data gradient only (out_c 5)
      {1, 5, 5, 16, 3, 3, 16, 1, 1, 0, 0, 9, 9},  // output larger than the input allows
  };
  for (lw::Isa isa : {lw::Isa::kAvx2, lw::Isa::kAvx512}) {
    if (!lw::cpu_supports(isa)) continue;
    const lw::Isa before = lw::active_isa();
    lw::set_isa(isa);
    for (const ConvGeometry& g : cases) check(g, rng);
    lw::set_isa(before);
  }
}

// The register-tiled forward kernel (conv2d_forward_tiled.h) sums each
// output's taps in the im2col order, from zero, as the GEMM does when it
// takes all K taps in one k slice (K ≤ 256 here), and applies the same
// epilogue: so it equals im2col (built here from the definition) + sgemm
// with that epilogue bit for bit, on every vector ISA and activation, 1 and
// 2 threads (one image split by rows, several split by images).
void tiled_forward_matches_gemm(std::mt19937& rng) {
  const int threads_before = lw::num_threads();
  const ConvGeometry cases[] = {
      {1, 14, 14, 16, 3, 3, 32, 1, 1, 1, 1, 14, 14},  // the npm-start CNN's second conv, one image
      {5, 14, 14, 16, 3, 3, 32, 1, 1, 1, 1, 14, 14},
      {2, 7, 9, 5, 3, 3, 48, 1, 1, 1, 1, 7, 9},
      {2, 6, 5, 8, 3, 2, 16, 1, 1, 0, 0, 4, 4},
      {1, 4, 4, 16, 2, 3, 16, 1, 1, -1, 1, 5, 9},
      {1, 5, 5, 4, 3, 3, 16, 1, 1, 0, 0, 9, 9},  // output larger than the input allows
  };
  for (lw::Isa isa : {lw::Isa::kAvx2, lw::Isa::kAvx512}) {
    if (!lw::cpu_supports(isa)) continue;
    const lw::Isa before = lw::active_isa();
    lw::set_isa(isa);
    for (const ConvGeometry& g : cases) {
      ++g_cases;
      const int64_t K = g.k_h * g.k_w * g.in_c, M = g.n * g.out_h * g.out_w;
      std::vector<float> x(static_cast<size_t>(lw::conv_input_size(g))), w(static_cast<size_t>(lw::conv_filter_size(g)));
      std::vector<float> bias(static_cast<size_t>(g.out_c)), cols(static_cast<size_t>(M * K));
      fill_random(x.data(), int64_t(x.size()), rng);
      fill_random(w.data(), int64_t(w.size()), rng);
      fill_random(bias.data(), g.out_c, rng);
      for (int64_t b = 0, m = 0; b < g.n; ++b)
        for (int64_t i = 0; i < g.out_h; ++i)
          for (int64_t j = 0; j < g.out_w; ++j, ++m)
            for (int64_t u = 0; u < g.k_h; ++u)
              for (int64_t v = 0; v < g.k_w; ++v)
                for (int64_t c = 0; c < g.in_c; ++c) {
                  const int64_t r = i - g.pad_top + u, q = j - g.pad_left + v;
                  const bool inside = r >= 0 && r < g.in_h && q >= 0 && q < g.in_w;
                  cols[size_t(m * K + (u * g.k_w + v) * g.in_c + c)] =
                      inside ? x[size_t(((b * g.in_h + r) * g.in_w + q) * g.in_c + c)] : 0.0f;
                }
      for (lw::Activation f : {lw::Activation::kRelu, lw::Activation::kLinear, lw::Activation::kLeakyRelu,
                               lw::Activation::kSigmoid}) {
        const float alpha = f == lw::Activation::kLeakyRelu ? 0.1f : 0.0f;
        std::vector<float> want(static_cast<size_t>(M * g.out_c));
        lw::set_num_threads(1);
        lw::sgemm(false, false, M, g.out_c, K, 1.0f, cols.data(), K, w.data(), g.out_c, 0.0f, want.data(), g.out_c,
                  lw::GemmEpilogue{bias.data(), f, alpha});
        for (int threads : {1, 2}) {
          lw::set_num_threads(threads);
          std::vector<float> got(want.size(), std::nanf(""));
          lw::conv2d_forward_bias_activation(g, x.data(), w.data(), bias.data(), got.data(), f, alpha);
          if (std::memcmp(got.data(), want.data(), sizeof(float) * want.size()) != 0) {
            std::fprintf(stderr, "FAIL tiled forward (activation %d, %s, %d threads) differs from im2col + sgemm: %s\n",
                         int(f), lw::isa_name(isa), threads, describe(g).c_str());
            ++g_failures;
          }
        }
      }
    }
    lw::set_isa(before);
  }
  lw::set_num_threads(threads_before);
}

// The filter gradient through a max pool (conv2d_pooled_filter.h) under
// every ISA variant: equal, within rounding, to the pool's backward pass
// written out and the dense filter gradient over it; for winners from the
// forward pass (the vectorised path: whole, half and single channel lanes,
// the 3×3 one-channel registers) and for corrupted ones (the scalar walk).
void pooled_filter_cases(std::mt19937& rng) {
  struct Case { ConvGeometry g; int64_t pool; };
  const Case cases[] = {
      {{3, 28, 28, 1, 3, 3, 16, 1, 1, 1, 1, 28, 28}, 2},  // the npm-start CNN's first conv
      {{2, 26, 26, 1, 3, 3, 8, 1, 1, 0, 0, 24, 24}, 2},   // the small CNN's shape, half lanes
      {{2, 9, 9, 3, 3, 3, 19, 1, 1, 0, 0, 7, 7}, 2},       // 3 input channels, 16 + 3 lanes
      {{2, 11, 10, 2, 2, 3, 5, 2, 2, 1, 0, 6, 4}, 3},      // stride 2, leftover rows and columns
      {{1, 12, 12, 1, 5, 5, 33, 1, 1, 2, 2, 12, 12}, 1},   // 1×1 pool: every tap a winner
      {{20, 10, 10, 1, 3, 3, 16, 1, 1, 1, 1, 10, 10}, 2},  // three parts of images, the last one short
      {{1, 13, 13, 1, 3, 3, 32, 1, 1, 1, 1, 13, 13}, 2},  // one image, odd size: a row and column in no window
      {{9, 15, 12, 1, 3, 3, 24, 1, 1, 0, 0, 13, 10}, 2},   // 3×3 selects on 16 + 8 lanes, odd rows left over
  };
  for (const Case& c : cases) {
    const ConvGeometry& g = c.g;
    const PoolGeometry p{g.n, g.out_h, g.out_w, g.out_c, c.pool, c.pool, c.pool, c.pool, 0, 0,
                         g.out_h / c.pool, g.out_w / c.pool};
    const int64_t xs = lw::conv_input_size(g), ys = lw::conv_output_size(g), ws = lw::conv_filter_size(g);
    const int64_t ps = lw::pool_output_size(p);
    std::vector<float> x(static_cast<size_t>(xs)), conv_out(static_cast<size_t>(ys)), t(static_cast<size_t>(ps)), pooled(static_cast<size_t>(ps));
    fill_random(x.data(), xs, rng);
    fill_random(conv_out.data(), ys, rng);
    fill_random(t.data(), ps, rng);
    std::vector<int32_t> argmax(static_cast<size_t>(ps));
    lw::max_pool2d_forward(p, conv_out.data(), pooled.data(), argmax.data());
    for (bool corrupt : {false, true}) {
      ++g_cases;
      if (corrupt && ps > 2) argmax[1] = argmax[0], argmax[size_t(ps - 1)] = argmax[0];
      std::vector<float> dy(static_cast<size_t>(ys)), want(static_cast<size_t>(ws)), scale;
      lw::max_pool2d_backward(p, t.data(), argmax.data(), dy.data());
      lw::conv2d_backward_filter_reference(g, x.data(), dy.data(), want.data(), false);
      std::vector<float> ax, ady;
      abs_copy(ax, x.data(), xs);
      abs_copy(ady, dy.data(), ys);
      scale.resize(size_t(ws));
      lw::conv2d_backward_filter_reference(g, ax.data(), ady.data(), scale.data(), false);
      for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512}) {
        if (!lw::cpu_supports(isa)) continue;
        const lw::Isa before = lw::active_isa();
        lw::set_isa(isa);
        Guarded dw(ws);
        lw::conv2d_backward_filter_pooled(g, p, x.data(), t.data(), argmax.data(), dw.p());
        lw::set_isa(before);
        if (!dw.guards_intact()) {
          std::fprintf(stderr, "FAIL pooled filter wrote outside dw, %s\n", describe(g).c_str());
          ++g_failures;
        }
        compare(corrupt ? "pooled filter (corrupted argmax)" : "pooled filter", g, false, dw.p(), want.data(), scale.data(), ws);
      }
      // Bit for bit the same on one thread and on two.
      const int threads = lw::num_threads();
      std::vector<float> one(static_cast<size_t>(ws)), two(static_cast<size_t>(ws));
      lw::set_num_threads(1);
      lw::conv2d_backward_filter_pooled(g, p, x.data(), t.data(), argmax.data(), one.data());
      lw::set_num_threads(2);
      lw::conv2d_backward_filter_pooled(g, p, x.data(), t.data(), argmax.data(), two.data());
      lw::set_num_threads(threads);
      if (std::memcmp(one.data(), two.data(), sizeof(float) * size_t(ws)) != 0) {
        std::fprintf(stderr, "FAIL pooled filter differs between 1 and 2 threads, %s\n", describe(g).c_str());
        ++g_failures;
      }
    }
  }
}

}  // namespace

int main() {
  // The two-thread checks must split whatever the machine is doing (a far
  // helper makes small calls run on the caller, threadpool.cc).
  lw::set_core_distance(lw::CoreDistance::kNear);
  std::mt19937 rng(12345);
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    const int before = g_failures;
    sweep(rng);
    special_cases(rng);
    tiled_backward_cases(rng);
    tiled_forward_matches_gemm(rng);
    pooled_filter_cases(rng);
    std::printf("conv2d: %lld geometries checked with %d thread(s) (pool reports %d), %d failures\n",
                (long long)g_cases, threads, lw::num_threads(), g_failures - before);
    g_cases = 0;
    if (g_failures > 20) break;
  }
  if (g_failures) {
    std::printf("conv2d_test FAILED (%d)\n", g_failures);
    return 1;
  }
  std::printf("conv2d_test passed\n");
  return 0;
}
