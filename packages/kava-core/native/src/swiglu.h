// SwiGLU's gating, silu(gate) * up, and its gradient, elementwise in one pass each.
#pragma once
#include <cstdint>

namespace kava {

// y = gate * sigmoid(gate) * up
void Swiglu(const float* gate, const float* up, float* y, int64_t n);

// With s = sigmoid(gate): dgate = dy * up * s * (1 + gate * (1 - s)), dup = dy * gate * s.
void SwigluGrad(const float* dy, const float* gate, const float* up, float* dgate, float* dup, int64_t n);

}  // namespace kava
