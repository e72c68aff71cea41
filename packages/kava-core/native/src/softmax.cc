#include "softmax.h"

#include <algorithm>

#include "elementwise.h"

namespace kava {

namespace {

// p = softmax(x * scale + bias) of one row, written to out.
void Row(const float* x, const float* bias, float* out, int64_t cols, float scale) {
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < cols; ++j) {
    out[j] = x[j] * scale + bias[j];
    top = std::max(top, out[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < cols; ++j) {
    out[j] = ExpOne(out[j] - top);
    sum += out[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < cols; ++j) out[j] *= inv;
}

}  // namespace

void MaskedSoftmax(const float* x, const float* bias, float* y, int64_t batch, int64_t heads, int64_t rows,
                   int64_t cols, float scale) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = ((b * heads + h) * rows + r) * cols;
        Row(x + at, bias + (b * rows + r) * cols, y + at, cols, scale);
      }
    }
  }
}

void MaskedSoftmaxGrad(const float* dy, const float* x, const float* bias, float* dx, int64_t batch, int64_t heads,
                       int64_t rows, int64_t cols, float scale) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = ((b * heads + h) * rows + r) * cols;
        float* out = dx + at;
        Row(x + at, bias + (b * rows + r) * cols, out, cols, scale);  // p, overwritten below
        const float* g = dy + at;
        float dot = 0.0f;
        for (int64_t j = 0; j < cols; ++j) dot += g[j] * out[j];
        for (int64_t j = 0; j < cols; ++j) out[j] = scale * out[j] * (g[j] - dot);
      }
    }
  }
}

}  // namespace kava
