// RMSNorm over the last axis and its gradient, each in one pass: the composite of tfjs ops is
// ~7 kernels forward and ~15 backward, run for every norm of every pass of a training step.
#pragma once
#include <cstdint>

namespace kava {

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w, for rows r of length d.
void RmsNorm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps);

// With s = 1 / sqrt(mean(x^2) + eps) per row and g = dy * w:
//   dx = s * (g - x * s^2 * mean(g * x)),  dw = sum over rows of dy * x * s.
void RmsNormGrad(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t rows, int64_t d,
                 float eps);

}  // namespace kava
