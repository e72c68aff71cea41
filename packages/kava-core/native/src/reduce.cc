#include "reduce.h"

#include <algorithm>

namespace kava {

void SumAxes(const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner) {
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * reduced;
      float part[8] = {};
      int64_t r = 0;
      for (; r + 8 <= reduced; r += 8) {
        for (int u = 0; u < 8; ++u) part[u] += row[r + u];
      }
      float total = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      for (; r < reduced; ++r) total += row[r];
      out[o] = total;
    }
    return;
  }
  // Accumulate whole rows into the output: each pass is a contiguous, vectorisable add.
  for (int64_t o = 0; o < outer; ++o) {
    float* dst = out + o * inner;
    const float* src = x + o * reduced * inner;
    std::fill(dst, dst + inner, 0.0f);
    for (int64_t r = 0; r < reduced; ++r) {
      const float* row = src + r * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] += row[j];
    }
  }
}

}  // namespace kava
