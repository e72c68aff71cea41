// Elementwise float32 kernels the wasm backend runs slowly (scalar libm calls).
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace kava {

// Cephes-style expf: exp(x) = 2^k * exp(r), r = x - k ln2 with |r| <= ln2/2, exp(r) by a
// degree-6 polynomial. Branch-free and without libm calls so the compiler vectorises the loop
// (with -fno-trapping-math, set in binding.gyp: nothing here reads floating-point exceptions).
inline float ExpOne(float x) {
  const float hi = 88.3762626647949f;
  const float lo = -87.3365447504f;  // below this exp(x) is denormal; return 0 like a flush
  const bool under = x < lo;
  const bool over = x > hi;
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const float fx = x * 1.44269504088896341f + 0.5f;
  int32_t k = static_cast<int32_t>(fx);
  k -= (static_cast<float>(k) > fx) ? 1 : 0;  // floor for negative values
  const float kf = static_cast<float>(k);
  const float r = x - kf * 0.693359375f + kf * 2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const int32_t bits = (k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float result = y * scale;
  return under ? 0.0f : (over ? std::numeric_limits<float>::infinity() : result);
}

// out[i] = exp(in[i]); within 2 ulp of libm expf, 0 below exp's float range (no denormals).
void Exp(const float* in, float* out, int64_t n);

}  // namespace kava
