// Attention probabilities softmax(x * scale + bias) over the last axis, and the gradient in x,
// each in one pass: the composite is Multiply, Add and Softmax forward and ~6 kernels backward,
// for every layer of every pass. x [batch, heads, rows, cols]; bias [batch, rows, cols], shared
// by the heads (the causal and padding mask).
#pragma once
#include <cstdint>

namespace kava {

void MaskedSoftmax(const float* x, const float* bias, float* y, int64_t batch, int64_t heads, int64_t rows,
                   int64_t cols, float scale);

// dx = scale * p * (dy - sum(dy * p)), with p recomputed from x and bias.
void MaskedSoftmaxGrad(const float* dy, const float* x, const float* bias, float* dx, int64_t batch, int64_t heads,
                       int64_t rows, int64_t cols, float scale);

}  // namespace kava
