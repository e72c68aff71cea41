#include "elementwise.h"

namespace kava {

void Exp(const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = ExpOne(in[i]);
}

}  // namespace kava
