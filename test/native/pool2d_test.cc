// pool2d_test.cc — checks the pooling kernels (pool2d.cc): hand-computed
// cases (2×2/stride-2 on a 4×4 image, Keras-'same' padding on a 3×3 image,
// negative inputs next to padding, windows entirely in padding, ties, NaN),
// a brute-force reference over a sweep of geometries (negative pads and
// outputs larger than the input allows included, buffers between guard
// zones), the adjoint identity <forward(x), dy> = <x, backward(dy)> and a
// finite-difference check of both backward passes, and the max backward
// through an activation against its definition (max backward, then f' over
// the whole input, then column sums). Exits non-zero on failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "elementwise.h"
#include "expect.h"
#include "cpu.h"
#include "pool2d.h"
#include "threadpool.h"

using lw::PoolGeometry;

namespace {

bool near(float a, float b, float tol = 1e-5f) {
  return std::fabs(a - b) <= tol * (1 + std::fabs(b));
}

void fixed_cases() {
  {  // 4×4 image 0..15, 2×2 pool, stride 2.
    const PoolGeometry g{1, 4, 4, 1, 2, 2, 2, 2, 0, 0, 2, 2};
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[i] = float(i);
    std::vector<float> y(4);
    std::vector<int32_t> am(4);
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    const float ymax[] = {5, 7, 13, 15};
    const int32_t amax[] = {5, 7, 13, 15};
    for (int i = 0; i < 4; ++i) {
      EXPECT(y[i] == ymax[i], "max 4x4: y[%d]=%g want %g", i, y[i], ymax[i]);
      EXPECT(am[i] == amax[i], "max 4x4: argmax[%d]=%d want %d", i, am[i], amax[i]);
    }
    lw::avg_pool2d_forward(g, x.data(), y.data());
    const float yavg[] = {2.5f, 4.5f, 10.5f, 12.5f};
    for (int i = 0; i < 4; ++i) EXPECT(y[i] == yavg[i], "avg 4x4: y[%d]=%g want %g", i, y[i], yavg[i]);

    const std::vector<float> dy = {1, 2, 3, 4};
    std::vector<float> dx(16, 99.0f);
    lw::max_pool2d_backward(g, dy.data(), amax, dx.data());
    for (int i = 0; i < 16; ++i) {
      const float want = i == 5 ? 1 : i == 7 ? 2 : i == 13 ? 3 : i == 15 ? 4 : 0;
      EXPECT(dx[i] == want, "max backward 4x4: dx[%d]=%g want %g", i, dx[i], want);
    }
    lw::avg_pool2d_backward(g, dy.data(), dx.data());
    for (int r = 0; r < 4; ++r)
      for (int q = 0; q < 4; ++q) {
        const float want = dy[(r / 2) * 2 + q / 2] / 4;
        EXPECT(dx[r * 4 + q] == want, "avg backward 4x4: dx[%d,%d]=%g want %g", r, q, dx[r * 4 + q], want);
      }
  }
  {  // Keras 'same': 3×3 image 1..9, 2×2 pool, stride 2 → 2×2, padding bottom/right.
    const PoolGeometry g{1, 3, 3, 1, 2, 2, 2, 2, 0, 0, 2, 2};
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y(4);
    std::vector<int32_t> am(4);
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    const float ymax[] = {5, 6, 8, 9};
    const int32_t amax[] = {4, 5, 7, 8};
    for (int i = 0; i < 4; ++i) {
      EXPECT(y[i] == ymax[i], "max same: y[%d]=%g want %g", i, y[i], ymax[i]);
      EXPECT(am[i] == amax[i], "max same: argmax[%d]=%d", i, am[i]);
    }
    lw::avg_pool2d_forward(g, x.data(), y.data());
    const float yavg[] = {3, 4.5f, 7.5f, 9};  // valid taps only
    for (int i = 0; i < 4; ++i) EXPECT(y[i] == yavg[i], "avg same: y[%d]=%g want %g", i, y[i], yavg[i]);
    const std::vector<float> dy = {4, 2, 2, 1};
    std::vector<float> dx(9);
    lw::avg_pool2d_backward(g, dy.data(), dx.data());
    const float dxw[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 9; ++i) EXPECT(dx[i] == dxw[i], "avg same backward: dx[%d]=%g", i, dx[i]);
  }
  {  // Negative inputs with padding 1, 3×3 pool stride 1, two channels: padding never wins.
    const PoolGeometry g{1, 2, 2, 2, 3, 3, 1, 1, 1, 1, 2, 2};
    std::vector<float> x = {-4, -40, -3, -30, -2, -20, -1, -10}, y(8);
    std::vector<int32_t> am(8);
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    for (int i = 0; i < 8; i += 2) {
      EXPECT(y[i] == -1 && y[i + 1] == -10, "negative: y=%g,%g", y[i], y[i + 1]);
      EXPECT(am[i] == 6 && am[i + 1] == 7, "negative: argmax=%d,%d", am[i], am[i + 1]);
    }
    lw::avg_pool2d_forward(g, x.data(), y.data());
    for (int i = 0; i < 8; i += 2)
      EXPECT(y[i] == -2.5f && y[i + 1] == -25, "negative avg: y=%g,%g", y[i], y[i + 1]);
  }
  {  // Windows entirely in padding: y = 0, argmax = -1; backward leaves dx 0.
    const PoolGeometry g{2, 3, 3, 2, 2, 2, 1, 1, 5, -6, 2, 2};
    std::vector<float> x(36, 7.0f), y(16, 3.0f), dy(16, 1.0f), dx(36, 5.0f);
    std::vector<int32_t> am(16, 42);
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    for (int i = 0; i < 16; ++i) EXPECT(y[i] == 0 && am[i] == -1, "all-padding max: y=%g argmax=%d", y[i], am[i]);
    lw::max_pool2d_backward(g, dy.data(), am.data(), dx.data());
    for (int i = 0; i < 36; ++i) EXPECT(dx[i] == 0, "all-padding max backward: dx=%g", dx[i]);
    std::fill(y.begin(), y.end(), 3.0f);
    lw::avg_pool2d_forward(g, x.data(), y.data());
    for (int i = 0; i < 16; ++i) EXPECT(y[i] == 0, "all-padding avg: y=%g", y[i]);
    std::fill(dx.begin(), dx.end(), 5.0f);
    lw::avg_pool2d_backward(g, dy.data(), dx.data());
    for (int i = 0; i < 36; ++i) EXPECT(dx[i] == 0, "all-padding avg backward: dx=%g", dx[i]);
  }
  {  // Ties keep the first tap; NaN propagates; a bad argmax is ignored.
    const PoolGeometry g{1, 2, 2, 1, 2, 2, 2, 2, 0, 0, 1, 1};
    std::vector<float> x = {3, 3, 3, 1}, y(1);
    std::vector<int32_t> am(1);
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    EXPECT(y[0] == 3 && am[0] == 0, "tie: y=%g argmax=%d", y[0], am[0]);
    x = {1, std::nanf(""), 5, 2};
    lw::max_pool2d_forward(g, x.data(), y.data(), am.data());
    EXPECT(std::isnan(y[0]) && am[0] == 1, "nan: y=%g argmax=%d", y[0], am[0]);
    y[0] = 0;
    lw::max_pool2d_forward_values(g, x.data(), y.data());
    EXPECT(std::isnan(y[0]), "nan without argmax: y=%g", y[0]);
    x = {5, 6, 7, std::nanf("")};  // NaN last, in the 2×2 fast path
    lw::max_pool2d_forward_values(g, x.data(), y.data());
    EXPECT(std::isnan(y[0]), "nan last without argmax: y=%g", y[0]);
    const float dy = 1;
    std::vector<float> dx(4, 9.0f);
    for (int32_t bad : {4, 1000000, -7}) {
      lw::max_pool2d_backward(g, &dy, &bad, dx.data());
      for (float v : dx) EXPECT(v == 0, "bad argmax %d: dx=%g", bad, v);
    }
  }
}

// Brute-force forward over the window, checking bounds tap by tap.
void reference_forward(const PoolGeometry& g, const float* x, float* ymax,
                       int32_t* am, float* yavg) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j)
        for (int64_t c = 0; c < g.c; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t arg = -1, count = 0;
          double sum = 0;
          for (int64_t u = 0; u < g.pool_h; ++u)
            for (int64_t v = 0; v < g.pool_w; ++v) {
              const int64_t r = i * g.stride_h - g.pad_top + u, q = j * g.stride_w - g.pad_left + v;
              if (r < 0 || r >= g.in_h || q < 0 || q >= g.in_w) continue;
              const int64_t at = (r * g.in_w + q) * g.c + c;
              const float val = x[b * g.in_h * g.in_w * g.c + at];
              if (arg < 0 || val > best) { best = val; arg = at; }
              sum += val;
              ++count;
            }
          const int64_t o = ((b * g.out_h + i) * g.out_w + j) * g.c + c;
          ymax[o] = arg < 0 ? 0 : best;
          am[o] = int32_t(arg);
          yavg[o] = count ? float(sum / count) : 0;
        }
}

constexpr int64_t kGuard = 32;
constexpr float kSentinel = -4242.5f;

bool intact(const std::vector<float>& v) {
  for (int64_t i = 0; i < kGuard; ++i)
    if (v[size_t(i)] != kSentinel || v[v.size() - 1 - size_t(i)] != kSentinel) return false;
  return true;
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

// Both kernels' maxima (and winners), under every ISA variant this CPU runs,
// bit for bit against want / want_am, with guard zones around the outputs.
// False once too many failures piled up.
bool max_forward_every_isa(const PoolGeometry& g, const float* x, const float* want,
                           const int32_t* want_am, int cases) {
  const int64_t ys = lw::pool_output_size(g);
  for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512}) {
    if (!lw::cpu_supports(isa)) continue;
    const lw::Isa before = lw::active_isa();
    lw::set_isa(isa);
    std::vector<float> yv(size_t(ys + 2 * kGuard), kSentinel), ya(size_t(ys + 2 * kGuard), kSentinel);
    std::vector<int32_t> aa(size_t(ys + 2 * kGuard), -99);
    lw::max_pool2d_forward_values(g, x, yv.data() + kGuard);
    lw::max_pool2d_forward(g, x, ya.data() + kGuard, aa.data() + kGuard);
    lw::set_isa(before);
    EXPECT(intact(yv) && intact(ya) && aa[0] == -99 && aa.back() == -99,
           "max forward out of bounds, case %d, %s", cases, lw::isa_name(isa));
    for (int64_t i = 0; i < ys; ++i) {
      EXPECT(std::memcmp(&yv[size_t(kGuard + i)], &want[i], sizeof(float)) == 0,
             "max values case %d element %lld, %s", cases, (long long)i, lw::isa_name(isa));
      EXPECT(std::memcmp(&ya[size_t(kGuard + i)], &want[i], sizeof(float)) == 0 && aa[size_t(kGuard + i)] == want_am[i],
             "max with winners case %d element %lld, %s: argmax %d want %d", cases, (long long)i,
             lw::isa_name(isa), aa[size_t(kGuard + i)], want_am[i]);
      if (g_failures > 20) return false;
    }
  }
  return true;
}

void sweep(std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  int cases = 0;
  for (int64_t n : {1, 3})
    for (int64_t c : {1, 3, 8, 19})
      for (int64_t p : {1, 2, 3})
        for (int64_t s : {1, 2, 3})
          for (int64_t pad : {-2, 0, 1, 2})
            for (int64_t extra : {0, 3}) {
              const int64_t in_h = 7, in_w = 5;
              auto extent = [&](int64_t in) {
                const int64_t span = in + 2 * pad - p;
                return (span < 0 ? 0 : span / s + 1) + extra;
              };
              const PoolGeometry g{n, in_h, in_w, c, p, p + (s == 2), s, s, pad, pad,
                                   extent(in_h), extent(in_w)};
              const int64_t xs = lw::pool_input_size(g), ys = lw::pool_output_size(g);
              std::vector<float> x(static_cast<size_t>(xs)), dy(static_cast<size_t>(ys));
              for (float& v : x) v = d(rng);
              for (float& v : dy) v = d(rng);
              std::vector<float> ymax(static_cast<size_t>(ys)), yavg(static_cast<size_t>(ys));
              std::vector<int32_t> am(static_cast<size_t>(ys));
              reference_forward(g, x.data(), ymax.data(), am.data(), yavg.data());

              std::vector<float> y(size_t(ys + 2 * kGuard), kSentinel), dx(size_t(xs + 2 * kGuard), kSentinel);
              std::vector<int32_t> got_am(size_t(ys + 2 * kGuard), -99);
              lw::max_pool2d_forward(g, x.data(), y.data() + kGuard, got_am.data() + kGuard);
              EXPECT(intact(y) && got_am[0] == -99 && got_am.back() == -99, "max forward out of bounds, case %d", cases);
              for (int64_t i = 0; i < ys; ++i) {
                EXPECT(y[size_t(kGuard + i)] == ymax[size_t(i)] && got_am[size_t(kGuard + i)] == am[size_t(i)],
                       "max forward case %d element %lld", cases, (long long)i);
                if (g_failures > 20) return;
              }
              if (!max_forward_every_isa(g, x.data(), ymax.data(), am.data(), cases)) return;
              // y = x[argmax] exactly, so the adjoint identity is tight.
              lw::max_pool2d_backward(g, dy.data(), got_am.data() + kGuard, dx.data() + kGuard);
              EXPECT(intact(dx), "max backward out of bounds, case %d", cases);
              EXPECT(std::fabs(dot(y.data() + kGuard, dy.data(), ys) - dot(x.data(), dx.data() + kGuard, xs)) < 1e-4,
                     "max adjoint, case %d", cases);

              // Through an activation: the pool's input is f's output.
              for (lw::Activation f : {lw::Activation::kLinear, lw::Activation::kRelu, lw::Activation::kSigmoid,
                                       lw::Activation::kTanh, lw::Activation::kLeakyRelu}) {
                std::vector<float> fx(x.size()), fy(static_cast<size_t>(ys));
                std::vector<int32_t> fam(static_cast<size_t>(ys));
                lw::activation_forward(f, x.data(), fx.data(), xs, 0.1f);
                lw::max_pool2d_forward(g, fx.data(), fy.data(), fam.data());
                std::vector<float> want(static_cast<size_t>(xs));
                lw::max_pool2d_backward(g, dy.data(), fam.data(), want.data());
                lw::activation_backward(f, fx.data(), fx.data(), want.data(), want.data(), xs, 0.1f);
                std::vector<double> want_sums(static_cast<size_t>(c), 0.0);
                for (int64_t i = 0; i < xs; ++i) want_sums[size_t(i % c)] += want[size_t(i)];
                std::vector<float> sums(size_t(c + 2 * kGuard), kSentinel);
                lw::max_pool2d_backward_activation(g, dy.data(), fam.data(), fy.data(), f, 0.1f, dx.data() + kGuard,
                                                   sums.data() + kGuard);
                EXPECT(intact(dx) && intact(sums), "max backward through f%d out of bounds, case %d", int(f), cases);
                for (int64_t i = 0; i < xs; ++i)
                  EXPECT(near(dx[size_t(kGuard + i)], want[size_t(i)]), "max backward through f%d case %d element %lld: %g vs %g",
                         int(f), cases, (long long)i, dx[size_t(kGuard + i)], want[size_t(i)]);
                for (int64_t ch = 0; ch < c; ++ch)
                  EXPECT(near(sums[size_t(kGuard + ch)], float(want_sums[size_t(ch)]), 1e-4f),
                         "max backward through f%d case %d sum %lld: %g vs %g", int(f), cases, (long long)ch,
                         sums[size_t(kGuard + ch)], want_sums[size_t(ch)]);
                lw::max_pool2d_backward_activation(g, dy.data(), fam.data(), fy.data(), f, 0.1f, dx.data() + kGuard, nullptr);
                for (int64_t i = 0; i < xs; ++i)
                  EXPECT(near(dx[size_t(kGuard + i)], want[size_t(i)]), "max backward through f%d (no sums) case %d element %lld",
                         int(f), cases, (long long)i);
                if (g_failures > 20) return;
              }

              lw::avg_pool2d_forward(g, x.data(), y.data() + kGuard);
              EXPECT(intact(y), "avg forward out of bounds, case %d", cases);
              for (int64_t i = 0; i < ys; ++i)
                EXPECT(near(y[size_t(kGuard + i)], yavg[size_t(i)]), "avg forward case %d element %lld", cases, (long long)i);
              lw::avg_pool2d_backward(g, dy.data(), dx.data() + kGuard);
              EXPECT(intact(dx), "avg backward out of bounds, case %d", cases);
              EXPECT(std::fabs(dot(y.data() + kGuard, dy.data(), ys) - dot(x.data(), dx.data() + kGuard, xs)) < 1e-4,
                     "avg adjoint, case %d", cases);
              ++cases;
            }
  std::printf("pool2d: %d reference geometries checked\n", cases);
}

// Central differences of L = Σ dy·pool(x) against the backward passes.
void finite_differences(std::mt19937& rng) {
  const PoolGeometry g{2, 6, 5, 3, 3, 2, 2, 2, 1, 0, 3, 2};
  const int64_t xs = lw::pool_input_size(g), ys = lw::pool_output_size(g);
  std::vector<float> x(static_cast<size_t>(xs)), dy(static_cast<size_t>(ys)), y(static_cast<size_t>(ys)), dx(static_cast<size_t>(xs));
  std::vector<int32_t> am(static_cast<size_t>(ys));
  // Distinct values spaced well apart so a small step never changes argmax.
  for (int64_t i = 0; i < xs; ++i) x[size_t(i)] = float(i) * 0.1f;
  std::shuffle(x.begin(), x.end(), rng);
  std::uniform_real_distribution<float> d(-1, 1);
  for (float& v : dy) v = d(rng);
  for (int avg = 0; avg < 2; ++avg) {
    auto loss = [&](const std::vector<float>& xin) {
      if (avg) lw::avg_pool2d_forward(g, xin.data(), y.data());
      else lw::max_pool2d_forward(g, xin.data(), y.data(), am.data());
      return dot(y.data(), dy.data(), ys);
    };
    loss(x);
    if (avg) lw::avg_pool2d_backward(g, dy.data(), dx.data());
    else lw::max_pool2d_backward(g, dy.data(), am.data(), dx.data());
    const float h = 0.01f;
    for (int64_t i = 0; i < xs; ++i) {
      std::vector<float> xp = x, xm = x;
      xp[size_t(i)] += h;
      xm[size_t(i)] -= h;
      const double fd = (loss(xp) - loss(xm)) / (2 * h);
      EXPECT(std::fabs(fd - dx[size_t(i)]) < 2e-3, "%s finite difference at %lld: %g vs %g",
             avg ? "avg" : "max", (long long)i, fd, dx[size_t(i)]);
    }
  }
}

// The 2×2 stride-2 rows (pool2d_values_inl.h's tight row loop, taken when
// the channels fill whole half vectors): channel counts 2 to 40, odd sizes
// with a leftover row and column, 'same' padding's extra outputs, batch 1 and
// 3, on values drawn from {−1, 0, 1, NaN} so that ties and NaNs (the first
// in row-major window order wins both) occur in every window shape, under
// every ISA, against a walk of the window in order.
void two_by_two_rows(std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int cases = 0;
  for (int64_t n : {1, 3})
    for (int64_t c : {2, 4, 8, 16, 24, 32, 40})
      for (auto [in_h, in_w] : {std::pair<int64_t, int64_t>{4, 4}, {7, 5}, {6, 9}, {28, 28}, {1, 6}, {5, 26}, {4, 2}})
        for (int64_t extra : {0, 1}) {
          const PoolGeometry g{n, in_h, in_w, c, 2, 2, 2, 2, 0, 0, in_h / 2 + extra, in_w / 2 + extra};
          const int64_t xs = lw::pool_input_size(g), ys = lw::pool_output_size(g);
          std::vector<float> x(static_cast<size_t>(xs));
          for (float& v : x) {
            const int k = pick(rng);
            v = k == 0 ? nan : float(k % 3 - 1);
          }
          std::vector<float> want(static_cast<size_t>(ys));
          std::vector<int32_t> want_am(static_cast<size_t>(ys));
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < g.out_h; ++i)
              for (int64_t j = 0; j < g.out_w; ++j)
                for (int64_t ch = 0; ch < c; ++ch) {
                  float best = 0;
                  int64_t arg = -1;
                  for (int64_t u = 0; u < 2; ++u)
                    for (int64_t v = 0; v < 2; ++v) {
                      const int64_t r = 2 * i + u, q = 2 * j + v;
                      if (r >= in_h || q >= in_w) continue;
                      const int64_t at = (r * in_w + q) * c + ch;
                      const float val = x[size_t(b * in_h * in_w * c + at)];
                      if (arg < 0 || val > best || (val != val && best == best)) best = val, arg = at;
                    }
                  const size_t o = size_t(((b * g.out_h + i) * g.out_w + j) * c + ch);
                  want[o] = arg < 0 ? 0 : best;
                  want_am[o] = int32_t(arg);
                }
          if (!max_forward_every_isa(g, x.data(), want.data(), want_am.data(), cases)) return;
          // Backward (dx written once per element on this pool, in vectors
          // of channels under each ISA), with the winners as found, with one
          // moved to another window (the general scatter then) and with one
          // erased (−1: no winner, in no sum), against a zero fill and
          // scatter; −0 gradients included (the scatter stores +0 for them).
          std::uniform_real_distribution<float> d(-1, 1);
          std::vector<float> dy(static_cast<size_t>(ys));
          for (float& v : dy) v = pick(rng) == 0 ? -0.0f : d(rng);
          for (int corrupt : {0, 1, 2}) {
            std::vector<int32_t> am = want_am;
            if (corrupt == 1 && ys > c) am[0] = am[size_t(ys - 1)] % int32_t(in_h * in_w * c);
            if (corrupt == 2 && ys > 0) am[size_t(ys / 2)] = -1;
            std::vector<float> ref(static_cast<size_t>(xs), 0.0f);
            std::vector<double> ref_sums(static_cast<size_t>(c), 0.0);
            for (int64_t e = 0; e < ys; ++e) {
              const int64_t b = e / (ys / n);
              if (am[size_t(e)] < 0) continue;  // a window of padding only
              ref[size_t(b * in_h * in_w * c + am[size_t(e)])] += dy[size_t(e)];
              ref_sums[size_t(e % c)] += dy[size_t(e)];
            }
            for (lw::Isa isa : {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512}) {
              if (!lw::cpu_supports(isa)) continue;
              const lw::Isa before = lw::active_isa();
              lw::set_isa(isa);
              std::vector<float> dx(size_t(xs + 2 * kGuard), kSentinel), dxa(size_t(xs + 2 * kGuard), kSentinel);
              std::vector<float> sums(static_cast<size_t>(c));
              lw::max_pool2d_backward(g, dy.data(), am.data(), dx.data() + kGuard);
              lw::max_pool2d_backward_activation(g, dy.data(), am.data(), want.data(), lw::Activation::kLinear, 0.0f,
                                                 dxa.data() + kGuard, sums.data());
              lw::set_isa(before);
              EXPECT(intact(dx) && intact(dxa), "2x2 backward out of bounds, case %d, %s", cases, lw::isa_name(isa));
              EXPECT(std::memcmp(dx.data() + kGuard, ref.data(), sizeof(float) * size_t(xs)) == 0 &&
                         std::memcmp(dxa.data() + kGuard, ref.data(), sizeof(float) * size_t(xs)) == 0,
                     "2x2 backward case %d (n %lld, %lldx%lldx%lld, extra %lld, corrupt %d, %s) differs from the scatter",
                     cases, (long long)n, (long long)in_h, (long long)in_w, (long long)c, (long long)extra, corrupt,
                     lw::isa_name(isa));
              for (int64_t ch = 0; ch < c; ++ch)
                EXPECT(near(sums[size_t(ch)], float(ref_sums[size_t(ch)]), 1e-4f), "2x2 backward sums case %d channel %lld, %s",
                       cases, (long long)ch, lw::isa_name(isa));
              if (g_failures > 20) return;
            }
          }
          ++cases;
        }
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    fixed_cases();
    sweep(rng);
    two_by_two_rows(rng);
    finite_differences(rng);
  }
  if (g_failures) {
    std::printf("pool2d_test FAILED (%d)\n", g_failures);
    return 1;
  }
  std::printf("pool2d_test passed\n");
  return 0;
}
