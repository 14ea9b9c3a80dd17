// cpu.cc — picks the instruction-set variant of the kernels (cpu.h).
//
// What the CPU (and OS: GCC's __builtin_cpu_supports checks XGETBV, so a
// kernel that does not save zmm state reports no AVX-512) can run is detected
// once. The active variant lives in one atomic: the first call to
// active_isa() settles it from LAYERWISE_ISA (baseline|avx2|avx512; unknown
// or unsupported values fall back to the best supported one, so a bad
// setting can never raise SIGILL), and set_isa() replaces it at any time.
// Non-x86 builds only ever report the baseline variant.
#include "cpu.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace lw {
namespace {

bool detect(Isa isa) {
  if (isa == Isa::kBaseline) return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Needed when this runs before libgcc's own constructor has (e.g. from
  // another library's static initialiser); idempotent and cheap.
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == Isa::kAvx2) return avx2;
  if (isa == Isa::kAvx512)
    return avx2 && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#endif
  return false;
}

Isa best_supported() {
  if (detect(Isa::kAvx512)) return Isa::kAvx512;
  if (detect(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kBaseline;
}

Isa initial_isa() {
  const char* env = std::getenv("LAYERWISE_ISA");
  if (env != nullptr) {
    Isa wanted;
    bool known = true;
    if (std::strcmp(env, "baseline") == 0) wanted = Isa::kBaseline;
    else if (std::strcmp(env, "avx2") == 0) wanted = Isa::kAvx2;
    else if (std::strcmp(env, "avx512") == 0) wanted = Isa::kAvx512;
    else known = false;
    if (known && detect(wanted)) return wanted;
  }
  return best_supported();
}

constexpr int kUnset = -1;
std::atomic<int> g_isa{kUnset};

}  // namespace

Isa active_isa() {
  int v = g_isa.load(std::memory_order_acquire);
  if (v == kUnset) {
    // Racing first callers compute the same value; whoever stores first wins,
    // and a set_isa() that got in before us is kept.
    int expected = kUnset;
    g_isa.compare_exchange_strong(expected, static_cast<int>(initial_isa()),
                                  std::memory_order_acq_rel);
    v = g_isa.load(std::memory_order_acquire);
  }
  return static_cast<Isa>(v);
}

bool cpu_supports(Isa isa) {
  // Cached: the answer cannot change during a process's life.
  static const bool supported[3] = {true, detect(Isa::kAvx2), detect(Isa::kAvx512)};
  const int i = static_cast<int>(isa);
  return i >= 0 && i < 3 && supported[i];
}

bool set_isa(Isa isa) {
  if (!cpu_supports(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_release);
  return true;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    default: return "baseline";
  }
}

}  // namespace lw
