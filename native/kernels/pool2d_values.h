// pool2d_values.h — the per-ISA body of max_pool2d_forward_values and
// max_pool2d_forward (pool2d.h): window maxima of images [b0, b1), and their
// winners when argmax is not null, compiled for
// baseline x86-64, AVX2 and AVX-512 with function attributes
// (pool2d_values_inl.h) and picked per call from lw::active_isa(). In a file
// of its own, free of STL and exceptions, so that the AVX code defines no weak
// symbol a baseline caller could be linked to.
#pragma once
#include <cstdint>

#include "pool2d.h"

namespace lw {

void max_pool2d_images(const PoolGeometry& g, const float* x, float* y,
                       int32_t* argmax, int64_t b0, int64_t b1);

}  // namespace lw
