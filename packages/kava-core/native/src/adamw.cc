#include "adamw.h"

#include <cmath>

namespace kava {

void AdamW(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWArgs& a) {
  // The same operations in the same order as the composite in train/adamw.ts, in float32.
  for (int64_t i = 0; i < n; ++i) {
    const float mi = m[i] * a.beta1 + g[i] * a.oneMinusBeta1;
    const float vi = v[i] * a.beta2 + (g[i] * g[i]) * a.oneMinusBeta2;
    const float update = (mi / a.c1) / (std::sqrt(vi / a.c2) + a.epsilon);
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = p[i] * a.decay - update * a.lr;
  }
}

}  // namespace kava
