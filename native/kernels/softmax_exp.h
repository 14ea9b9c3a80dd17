// softmax_exp.h — the exponential pass of softmax_rows (elementwise.cc):
// y[i] = e^x[i] over a flat block, for x ≤ 0 (logits minus their row's
// maximum) or NaN. Compiled for baseline x86-64, AVX2 and AVX-512 with
// function attributes in softmax_exp.cc, which defines no inline or template
// function (nothing built for a wider ISA can reach a baseline caller).
#pragma once
#include <cstdint>

namespace lw {

using ExpBlock = void (*)(float* y, int64_t n);

// The copy for the ISA variant in use (cpu.h). Every copy computes the same
// polynomial; the AVX ones contract its multiply-adds into FMAs, so results
// may differ between variants in the last bit (as the GEMMs' do).
ExpBlock exp_block_for_active_isa();

}  // namespace lw
