// peak.h — the machine's fp32 floating-point peak, measured rather than assumed.
//
// Machine types change between sessions (Zen 4 retires one 512-bit FMA per
// cycle, Zen 5 two), so the benchmarks report "% of peak" against a peak that a
// loop of independent FMAs reaches on the running machine, per ISA variant.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lw {

// Runs `rounds` rounds of independent fp32 multiply-adds (FMA instructions in
// the avx2 and avx512 variants; separate multiply and add on baseline x86-64,
// which has no FMA) in `isa`'s widest registers on `threads` threads (the
// addon's pool, the caller taking part) and returns the GFLOP/s reached,
// counting a multiply-add as two flops. Returns 0 if the CPU cannot run `isa`.
double fma_peak_gflops(Isa isa, int64_t rounds, int threads);

}  // namespace lw
