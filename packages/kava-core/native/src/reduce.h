// Sums over a contiguous block of axes, without the transpose tfjs's wasm Sum does first.
#pragma once
#include <cstdint>

namespace kava {

// x viewed as [outer, reduced, inner]: out[o * inner + j] = sum over r of x[(o * reduced + r) * inner + j].
// Gradients of broadcast ops reduce the leading axes (inner > 1); softmax-style sums the last one
// (inner = 1). Accumulates in float32 like tfjs, but in 8-wide partial sums when inner = 1.
void SumAxes(const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner);

}  // namespace kava
