// global_pool.h — global average and max pooling over batched channels-last
// images, and their backward passes: each channel of each image reduced to
// one value (Keras' GlobalAveragePooling2D / GlobalMaxPooling2D, ONNX's
// GlobalAveragePool / GlobalMaxPool).
//
// Layouts (row-major, channels last). The kernels never need h and w apart,
// so an image is `pixels` = h·w rows of c channels:
//   x, dx       [n, pixels, c]
//   y, dy       [n, c]
//   argmax      [n, c]   int32: the winning pixel (0 ≤ p < pixels)
//
// Average: y[b,ch] = Σ_p x[b,p,ch] / pixels (summed in double, so the result
// does not depend on the order of a long sum); backward spreads dy[b,ch] /
// pixels over every pixel of that channel.
// Max: y[b,ch] = max_p x[b,p,ch]; the first pixel wins ties and a NaN wins
// over any number (NaN propagates, as pool2d.h does). Backward overwrites dx
// with zeros and writes dy[b,ch] at the recorded pixel; an argmax entry that
// is not a valid pixel is skipped, so a corrupted argmax cannot write outside
// dx. With pixels = 0 the outputs are 0 (max: argmax −1).
//
// Threading: none; the kernels run on the calling thread. They make one pass
// over x (or dx) with a few operations per element, so they are bound by
// memory, and the images a global pool sees at the end of a CNN are small:
// waking the pool would cost more than it saves.
#pragma once
#include <cstdint>

namespace lw {

void global_avg_pool_forward(const float* x, float* y, int64_t n, int64_t pixels, int64_t c);
void global_avg_pool_backward(const float* dy, float* dx, int64_t n, int64_t pixels, int64_t c);
void global_max_pool_forward(const float* x, float* y, int32_t* argmax, int64_t n, int64_t pixels, int64_t c);
void global_max_pool_backward(const float* dy, const int32_t* argmax, float* dx, int64_t n, int64_t pixels, int64_t c);

}  // namespace lw
