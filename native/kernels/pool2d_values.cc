// pool2d_values.cc — max_pool2d_images and max_pool2d_route_2x2 (pool2d_values.h): the body in
// pool2d_values_inl.h, compiled once per instruction set.
#include "pool2d_values.h"

#include "cpu.h"

namespace lw {
namespace {

#define LW_POOL_ATTR
#define LW_POOL_VEC_BYTES 16
#define LW_POOL_NAME max_values_baseline
#define LW_POOL_ROUTE_NAME route_2x2_baseline
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LW_POOL_HAVE_X86 1
#define LW_POOL_ATTR __attribute__((target("avx2,fma")))
#define LW_POOL_VEC_BYTES 32
#define LW_POOL_NAME max_values_avx2
#define LW_POOL_ROUTE_NAME route_2x2_avx2
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR

#define LW_POOL_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LW_POOL_VEC_BYTES 64
#define LW_POOL_NAME max_values_avx512
#define LW_POOL_ROUTE_NAME route_2x2_avx512
#include "pool2d_values_inl.h"
#undef LW_POOL_NAME
#undef LW_POOL_ROUTE_NAME
#undef LW_POOL_VEC_BYTES
#undef LW_POOL_ATTR
#endif

}  // namespace

void max_pool2d_images(const PoolGeometry& g, const float* x, float* y,
                       int32_t* argmax, int64_t b0, int64_t b1) {
#ifdef LW_POOL_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return max_values_avx512(g, x, y, argmax, b0, b1);
    case Isa::kAvx2: return max_values_avx2(g, x, y, argmax, b0, b1);
    default: break;
  }
#endif
  max_values_baseline(g, x, y, argmax, b0, b1);
}

bool max_pool2d_route_2x2(const PoolGeometry& g, const float* grad,
                          const int32_t* argmax, float* dx, float* kept) {
#ifdef LW_POOL_HAVE_X86
  switch (active_isa()) {
    case Isa::kAvx512: return route_2x2_avx512(g, grad, argmax, dx, kept);
    case Isa::kAvx2: return route_2x2_avx2(g, grad, argmax, dx, kept);
    default: break;
  }
#endif
  return route_2x2_baseline(g, grad, argmax, dx, kept);
}

}  // namespace lw
