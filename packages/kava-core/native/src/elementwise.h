// Elementwise float32 kernels the wasm backend runs slowly (scalar libm calls).
#pragma once
#include <cstdint>

namespace kava {

// out[i] = exp(in[i]); within 2 ulp of libm expf, 0 below exp's float range (no denormals).
void Exp(const float* in, float* out, int64_t n);

}  // namespace kava
