// finite_scan.h — the block test of first_non_finite (elementwise.cc): does
// x[0..n) hold a NaN or ±Inf? Compiled for baseline x86-64 and AVX2 with
// function attributes in finite_scan.cc, which defines no inline or template
// function (nothing built for AVX2 can reach a baseline caller).
#pragma once
#include <cstdint>

namespace lw {

using AnyNonFinite = bool (*)(const float* x, int64_t n);

// The copy for the ISA variant in use (cpu.h: AVX2 wherever it or AVX-512 is).
AnyNonFinite any_non_finite_for_active_isa();

}  // namespace lw
