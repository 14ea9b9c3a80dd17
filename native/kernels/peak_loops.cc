// peak_loops.cc — the multiply-add loops of the FMA peak probe (peak.h), one
// per ISA variant, with its target attribute. Kept apart from peak.cc, which
// drives them on the thread pool: a file with AVX code must define no weak
// (inline) symbol the linker could pick for baseline callers, and the pool's
// std::function brings some. Each loop keeps more independent accumulator
// chains than FMA latency × FMA pipes (4 cycles × 2 pipes on Zen 5 = 8), all
// in registers: 16 of the 32 zmm registers, 12 of the 16 ymm/xmm ones (more
// would spill and time loads instead). a·x + b with a < 1 converges to a
// normal number, so no chain runs into denormals or infinities; the chains
// are summed into a value the caller tests so the compiler cannot drop them.
#include "peak_loops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LW_PEAK_X86 1
#endif

namespace lw {
namespace {

constexpr int kWideChains = 16;
constexpr int kNarrowChains = 12;

#ifdef LW_PEAK_X86
__attribute__((target("avx512f"))) float ChainsAvx512(int64_t rounds) {
  __m512 acc[kWideChains];
  for (int c = 0; c < kWideChains; ++c) acc[c] = _mm512_set1_ps(0.001f * static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r)
    for (int c = 0; c < kWideChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  for (int c = 1; c < kWideChains; ++c) acc[0] = _mm512_add_ps(acc[0], acc[c]);
  // Summed through memory: GCC 12's _mm512_reduce_add_ps warns about an
  // uninitialised value inside its own header.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc[0]);
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}

__attribute__((target("avx2,fma"))) float ChainsAvx2(int64_t rounds) {
  __m256 acc[kNarrowChains];
  for (int c = 0; c < kNarrowChains; ++c) acc[c] = _mm256_set1_ps(0.001f * static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r)
    for (int c = 0; c < kNarrowChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  for (int c = 1; c < kNarrowChains; ++c) acc[0] = _mm256_add_ps(acc[0], acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

float ChainsBaseline(int64_t rounds) {
  __m128 acc[kNarrowChains];
  for (int c = 0; c < kNarrowChains; ++c) acc[c] = _mm_set1_ps(0.001f * static_cast<float>(c));
  const __m128 a = _mm_set1_ps(0.9999f), b = _mm_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r)
    for (int c = 0; c < kNarrowChains; ++c) acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], a), b);
  for (int c = 1; c < kNarrowChains; ++c) acc[0] = _mm_add_ps(acc[0], acc[c]);
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, acc[0]);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

}  // namespace

int64_t peak_multiply_adds_per_round(Isa isa) {
#ifdef LW_PEAK_X86
  switch (isa) {
    case Isa::kAvx512: return int64_t{kWideChains} * 16;
    case Isa::kAvx2: return int64_t{kNarrowChains} * 8;
    default: return int64_t{kNarrowChains} * 4;
  }
#else
  (void)isa;
  return kNarrowChains;  // the portable loop below is scalar
#endif
}

float peak_loop(Isa isa, int64_t rounds) {
#ifdef LW_PEAK_X86
  switch (isa) {
    case Isa::kAvx512: return ChainsAvx512(rounds);
    case Isa::kAvx2: return ChainsAvx2(rounds);
    default: return ChainsBaseline(rounds);
  }
#else
  (void)isa;
  float acc[kNarrowChains] = {};
  for (int64_t r = 0; r < rounds; ++r)
    for (float& x : acc) x = x * 0.9999f + 0.0001f;
  float total = 0;
  for (float x : acc) total += x;
  return total;
#endif
}

}  // namespace lw
