#include "rms_norm.h"

#include <algorithm>
#include <cmath>

namespace kava {

namespace {

// 1 / sqrt(mean(row^2) + eps), summed in double: the rows are short (hidden size) and this is
// the one reduction the result depends on most.
float InverseRms(const float* row, int64_t d, float eps) {
  double sum = 0.0;
  for (int64_t j = 0; j < d; ++j) sum += static_cast<double>(row[j]) * row[j];
  return static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(d) + eps));
}

}  // namespace

void RmsNorm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float s = InverseRms(xr, d, eps);
    for (int64_t j = 0; j < d; ++j) yr[j] = xr[j] * s * w[j];
  }
}

void RmsNormGrad(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t rows, int64_t d,
                 float eps) {
  std::fill(dw, dw + d, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    const float* dyr = dy + r * d;
    float* dxr = dx + r * d;
    const float s = InverseRms(xr, d, eps);
    double dot = 0.0;  // sum of g * x
    for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(dyr[j]) * w[j] * xr[j];
    const float k = static_cast<float>(dot / static_cast<double>(d)) * s * s;
    for (int64_t j = 0; j < d; ++j) {
      dxr[j] = s * (dyr[j] * w[j] - xr[j] * k);
      dw[j] += dyr[j] * xr[j] * s;
    }
  }
}

}  // namespace kava
