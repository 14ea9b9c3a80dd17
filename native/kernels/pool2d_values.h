// pool2d_values.h — the per-ISA bodies of max_pool2d_forward_values and
// max_pool2d_forward (pool2d.h): window maxima of images [b0, b1), and their
// winners when argmax is not null; and of the max backward passes on 2×2
// stride-2 pools (one image's dx written once per element), compiled for
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

// One image of a 2×2, stride-2, unpadded max pool (g.n ignored): dx is
// overwritten with grad at each output's winner (argmax, as
// max_pool2d_forward records it) and 0 everywhere else, bit for bit what
// max_pool2d_backward's zero fill and scatter give when every winner lies in
// its own window. When kept is not null it receives grad, or 0 where argmax
// names no element of the image (kept may be grad). Returns false when some
// argmax names an element outside its window (only a corrupted argmax does):
// dx is then not finished and the caller falls back to fill and scatter.
bool max_pool2d_route_2x2(const PoolGeometry& g, const float* grad,
                          const int32_t* argmax, float* dx, float* kept);

}  // namespace lw
