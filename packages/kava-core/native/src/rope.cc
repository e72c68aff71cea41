#include "rope.h"

namespace kava {

void Rope(const float* x, const float* cos, const float* sin, float* y, int64_t batch, int64_t heads, int64_t seq,
          int64_t d) {
  const int64_t half = d / 2;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t s = 0; s < seq; ++s) {
        const int64_t row = ((b * heads + h) * seq + s) * d;
        const float* xr = x + row;
        float* yr = y + row;
        const float* c = cos + (b * seq + s) * d;
        const float* n = sin + (b * seq + s) * d;
        for (int64_t j = 0; j < half; ++j) yr[j] = xr[j] * c[j] - xr[j + half] * n[j];
        for (int64_t j = half; j < d; ++j) yr[j] = xr[j] * c[j] + xr[j - half] * n[j];
      }
    }
  }
}

void RopeGrad(const float* dy, const float* cos, const float* sin, float* dx, int64_t batch, int64_t heads,
              int64_t seq, int64_t d) {
  const int64_t half = d / 2;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t s = 0; s < seq; ++s) {
        const int64_t row = ((b * heads + h) * seq + s) * d;
        const float* g = dy + row;
        float* out = dx + row;
        const float* c = cos + (b * seq + s) * d;
        const float* n = sin + (b * seq + s) * d;
        for (int64_t j = 0; j < half; ++j) out[j] = g[j] * c[j] + g[j + half] * n[j + half];
        for (int64_t j = half; j < d; ++j) out[j] = g[j] * c[j] - g[j - half] * n[j - half];
      }
    }
  }
}

}  // namespace kava
