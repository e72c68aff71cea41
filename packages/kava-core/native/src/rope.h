// Rotary position embedding, y = x * cos + rotate_half(x) * sin with rotate_half(x) = [-x2, x1],
// and its gradient in x, for x [B, H, S, d] and cos/sin [B, 1, S, d] (shared by the heads).
#pragma once
#include <cstdint>

namespace kava {

void Rope(const float* x, const float* cos, const float* sin, float* y, int64_t batch, int64_t heads, int64_t seq,
          int64_t d);

// dx = dy * cos + rotate_half^T(dy * sin), rotate_half^T(z) = [z2, -z1].
void RopeGrad(const float* dy, const float* cos, const float* sin, float* dx, int64_t batch, int64_t heads,
              int64_t seq, int64_t d);

}  // namespace kava
