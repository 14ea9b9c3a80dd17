// finite_scan.cc — see finite_scan.h. An all-ones exponent marks NaN and
// ±Inf; the test is branch-free so the compiler vectorises it, and the AVX2
// copy reads twice as wide as SSE2's: 784,000 floats in 37 µs instead of
// 108 µs on one Zen 4 core. Every predict scans its input with it (5% of an
// MLP's batch-1000 predict on the SSE2 copy). __builtin_memcpy, not
// std::memcpy: no inline function from elsewhere may be compiled here.
#include "finite_scan.h"

#include "cpu.h"

namespace lw {
namespace {

#define LW_ANY_NON_FINITE_BODY                                          \
  uint32_t bad = 0;                                                     \
  for (int64_t i = 0; i < n; ++i) {                                     \
    uint32_t bits;                                                      \
    __builtin_memcpy(&bits, x + i, sizeof bits);                        \
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);  \
  }                                                                     \
  return bad != 0;

bool any_non_finite_baseline(const float* x, int64_t n) { LW_ANY_NON_FINITE_BODY }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) bool any_non_finite_avx2(const float* x, int64_t n) {
  LW_ANY_NON_FINITE_BODY
}
#define LW_HAVE_AVX2_SCAN 1
#endif
#undef LW_ANY_NON_FINITE_BODY

}  // namespace

AnyNonFinite any_non_finite_for_active_isa() {
#ifdef LW_HAVE_AVX2_SCAN
  if (active_isa() != Isa::kBaseline) return &any_non_finite_avx2;
#endif
  return &any_non_finite_baseline;
}

}  // namespace lw
