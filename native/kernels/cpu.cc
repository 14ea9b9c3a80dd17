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
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

// "32K", "1024K", "32M" → bytes; 0 when unreadable.
int64_t parse_size(const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || v <= 0) return 0;
  if (*end == 'K') return v << 10;
  if (*end == 'M') return v << 20;
  if (*end == 'G') return v << 30;
  return v;
}

bool read_line(const char* path, char* buf, size_t size) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  const bool ok = std::fgets(buf, static_cast<int>(size), f) != nullptr;
  std::fclose(f);
  return ok;
}

void from_sysfs(CacheSizes& c) {
  for (int i = 0; i < 8; ++i) {
    char path[96], level[16], type[32], size[32];
    std::snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    if (!read_line(path, level, sizeof level)) continue;
    std::snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    if (!read_line(path, type, sizeof type) || std::strncmp(type, "Instruction", 11) == 0) continue;
    std::snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!read_line(path, size, sizeof size)) continue;
    const int64_t bytes = parse_size(size);
    const int lv = std::atoi(level);
    if (lv == 1 && c.l1d == 0) c.l1d = bytes;
    if (lv == 2 && c.l2 == 0) c.l2 = bytes;
    if (lv == 3 && c.l3 == 0) c.l3 = bytes;
  }
}

void from_cpuid(CacheSizes& c) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD), one
  // subleaf per cache; size = ways · partitions · line size · sets.
  unsigned a, b, d, e;
  unsigned leaf = 4;
  if (__get_cpuid(0x80000000, &a, &b, &d, &e) && a >= 0x8000001D) {
    unsigned x, y, z, w;
    if (__get_cpuid_count(0x8000001D, 0, &x, &y, &z, &w) && (x & 0x1f) != 0) leaf = 0x8000001D;
  }
  for (unsigned sub = 0; sub < 8; ++sub) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(leaf, sub, &eax, &ebx, &ecx, &edx)) return;
    const unsigned type = eax & 0x1f;  // 0 none, 1 data, 2 instruction, 3 unified
    if (type == 0) return;
    if (type == 2) continue;
    const int level = (eax >> 5) & 0x7;
    const int64_t bytes = int64_t((ebx >> 22) + 1) * (((ebx >> 12) & 0x3ff) + 1) *
                          ((ebx & 0xfff) + 1) * (int64_t(ecx) + 1);
    if (level == 1 && c.l1d == 0) c.l1d = bytes;
    if (level == 2 && c.l2 == 0) c.l2 = bytes;
    if (level == 3 && c.l3 == 0) c.l3 = bytes;
  }
#endif
}

CacheSizes detect_caches() {
  CacheSizes c = {0, 0, 0};
  from_sysfs(c);
  if (c.l1d == 0 || c.l2 == 0) from_cpuid(c);
  // Anything still unknown (or absurd) gets a size every x86-64 and arm64
  // core of the last decade has at least.
  if (c.l1d < (16 << 10) || c.l1d > (1 << 20)) c.l1d = 32 << 10;
  if (c.l2 < (128 << 10) || c.l2 > (64 << 20)) c.l2 = 512 << 10;
  if (c.l3 < c.l2) c.l3 = c.l2 > (4 << 20) ? c.l2 : (4 << 20);
  return c;
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

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = detect_caches();
  return sizes;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    default: return "baseline";
  }
}

bool make_current_thread_idle_priority() {
#if defined(__linux__) && defined(SCHED_IDLE)
  // Never the process's main thread: it runs the event loop this protects
  // (and a stray call, such as a fuzzer's, must not slow the whole process).
  if (syscall(SYS_gettid) == getpid()) return false;
  // On Linux a pid of 0 names the calling thread, not the whole process.
  sched_param param{};
  param.sched_priority = 0;
  return sched_setscheduler(0, SCHED_IDLE, &param) == 0;
#else
  return false;
#endif
}

}  // namespace lw
