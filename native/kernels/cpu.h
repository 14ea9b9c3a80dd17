// cpu.h — which instruction-set variant the kernels use.
//
// The shipped binary is compiled for baseline x86-64 (SSE2). Hot kernels also
// have AVX2+FMA and AVX-512 variants compiled with function-level target
// attributes; one is chosen on first use from what the CPU reports, or forced
// with LAYERWISE_ISA=baseline|avx2|avx512 (a forced variant the CPU cannot run
// falls back to the best one it can, so a bad setting never raises SIGILL).
#pragma once
#include <cstdint>

namespace lw {

// Per-core data cache sizes in bytes, read once at first use: Linux's sysfs
// (/sys/devices/system/cpu/cpu0/cache), else cpuid's cache-parameter leaves
// on x86, else 32 KB / 512 KB / 4 MB. The GEMM derives its blocking from
// them (gemm.cc) instead of constants tuned on one machine.
struct CacheSizes {
  int64_t l1d, l2, l3;
};
const CacheSizes& cache_sizes();

enum class Isa { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

Isa active_isa();                 // variant in use
bool cpu_supports(Isa isa);       // whether this CPU can run the variant
bool set_isa(Isa isa);            // false (and unchanged) if unsupported
const char* isa_name(Isa isa);    // "baseline" | "avx2" | "avx512"

// Moves the calling thread (only it) to the OS's idle scheduling class, so
// any normal thread that wakes on a busy core runs at once instead of waiting
// for a time slice. For inference workers whose caller's event loop must stay
// responsive. Linux only (SCHED_IDLE); false where unavailable or refused,
// and on the process's main thread, which it never moves.
bool make_current_thread_idle_priority();

}  // namespace lw
