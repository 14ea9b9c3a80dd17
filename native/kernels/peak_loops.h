// peak_loops.h — the FMA peak probe's loops (internal to peak.cc).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lw {

// Runs `rounds` rounds of independent multiply-adds in `isa`'s widest
// registers and returns their sum (a value the caller must use).
float peak_loop(Isa isa, int64_t rounds);
// Multiply-adds one round of peak_loop(isa, …) performs.
int64_t peak_multiply_adds_per_round(Isa isa);

}  // namespace lw
