// global_pool_test.cc — checks the global pooling kernels (global_pool.cc)
// against a brute-force reference over a sweep of sizes (including empty
// images and batches), ties and NaN for the max, a corrupted argmax in the
// max backward pass (skipped, never written through), and the adjoint
// identity <forward(x), dy> = <x, backward(dy)> for the average. Buffers sit
// between guard values that must stay untouched. Exits non-zero on failure.
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "expect.h"
#include "global_pool.h"

namespace {

constexpr float kGuard = 12345.0f;
constexpr int64_t kPad = 8;

// A buffer of `size` values with kPad guard values on both sides.
struct Guarded {
  std::vector<float> all;
  explicit Guarded(int64_t size) : all(size + 2 * kPad, kGuard) {}
  float* data() { return all.data() + kPad; }
  bool guards_intact() const {
    for (int64_t i = 0; i < kPad; ++i)
      if (all[i] != kGuard || all[all.size() - 1 - i] != kGuard) return false;
    return true;
  }
};

void sweep() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t n : {0, 1, 3})
    for (int64_t pixels : {0, 1, 5, 17})
      for (int64_t c : {1, 3, 16}) {
        const int64_t in = n * pixels * c, out = n * c;
        Guarded x(in), y(out), ymax(out), dy(out), dx(in), dxmax(in);
        std::vector<int32_t> argmax(out + 1, 77);
        for (int64_t i = 0; i < in; ++i) x.data()[i] = uniform(rng);
        for (int64_t i = 0; i < out; ++i) dy.data()[i] = uniform(rng);
        lw::global_avg_pool_forward(x.data(), y.data(), n, pixels, c);
        lw::global_max_pool_forward(x.data(), ymax.data(), argmax.data(), n, pixels, c);
        lw::global_avg_pool_backward(dy.data(), dx.data(), n, pixels, c);
        lw::global_max_pool_backward(dy.data(), argmax.data(), dxmax.data(), n, pixels, c);
        EXPECT(argmax[out] == 77, "argmax written past its end (n=%lld pixels=%lld c=%lld)", (long long)n, (long long)pixels, (long long)c);
        for (Guarded* g : {&x, &y, &ymax, &dy, &dx, &dxmax})
          EXPECT(g->guards_intact(), "a guard value changed (n=%lld pixels=%lld c=%lld)", (long long)n, (long long)pixels, (long long)c);
        double lhs = 0, rhs = 0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t ch = 0; ch < c; ++ch) {
            double sum = 0;
            float best = 0;
            int32_t at = -1;
            for (int64_t p = 0; p < pixels; ++p) {
              const float v = x.data()[(b * pixels + p) * c + ch];
              sum += v;
              if (at < 0 || v > best) best = v, at = int32_t(p);
            }
            const float mean = pixels == 0 ? 0.0f : float(sum / pixels);
            EXPECT(std::fabs(y.data()[b * c + ch] - mean) <= 1e-6f, "mean of image %lld channel %lld", (long long)b, (long long)ch);
            EXPECT(ymax.data()[b * c + ch] == best && argmax[b * c + ch] == at, "max of image %lld channel %lld", (long long)b, (long long)ch);
            for (int64_t p = 0; p < pixels; ++p) {
              const float want = p == at ? dy.data()[b * c + ch] : 0.0f;
              EXPECT(dxmax.data()[(b * pixels + p) * c + ch] == want, "max gradient at image %lld pixel %lld", (long long)b, (long long)p);
            }
            lhs += double(y.data()[b * c + ch]) * dy.data()[b * c + ch];
          }
        for (int64_t i = 0; i < in; ++i) rhs += double(x.data()[i]) * dx.data()[i];
        EXPECT(std::fabs(lhs - rhs) <= 1e-4 * (1 + std::fabs(lhs)), "adjoint: %g vs %g", lhs, rhs);
      }
}

void ties_nan_and_hostile_argmax() {
  // One image, 4 pixels, 2 channels: channel 0 ties at pixels 1 and 3; channel 1 has a NaN at pixel 2.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {1, 0, 5, 7, 2, nan, 5, 9};
  float y[2];
  int32_t argmax[2];
  lw::global_max_pool_forward(x, y, argmax, 1, 4, 2);
  EXPECT(y[0] == 5 && argmax[0] == 1, "ties keep the first pixel: %g at %d", y[0], argmax[0]);
  EXPECT(std::isnan(y[1]) && argmax[1] == 2, "NaN wins and stays: %g at %d", y[1], argmax[1]);
  // A corrupted argmax (outside [0, pixels)) is skipped.
  const float dy[] = {3, 4};
  const int32_t bad[] = {-1, 4};
  Guarded dx(8);
  lw::global_max_pool_backward(dy, bad, dx.data(), 1, 4, 2);
  for (int i = 0; i < 8; ++i) EXPECT(dx.data()[i] == 0.0f, "dx[%d] = %g after a skipped argmax", i, dx.data()[i]);
  EXPECT(dx.guards_intact(), "a hostile argmax wrote outside dx");
}

}  // namespace

int main() {
  sweep();
  ties_nan_and_hostile_argmax();
  if (g_failures == 0) std::printf("global_pool_test: all passed\n");
  return g_failures == 0 ? 0 : 1;
}
