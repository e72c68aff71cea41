// One AdamW update of a parameter tensor (torch.optim.AdamW's arithmetic, decoupled decay), in
// one pass: the composite of tfjs ops is ~15 kernels per parameter tensor per step.
#pragma once
#include <cstdint>

namespace kava {

// Every factor as JavaScript computes it in float64 and tfjs rounds it to a float32 scalar, so the
// result matches the composite's operation for operation.
struct AdamWArgs {
  float lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon;
  float c1, c2;  // bias corrections 1 - beta^step
  float decay;   // the parameter's factor before the step: 1 - lr * weightDecay, or 1
};

// m' = beta1 m + (1 - beta1) g;  v' = beta2 v + (1 - beta2) g^2;
// p' = decay * p - lr * (m' / c1) / (sqrt(v' / c2) + epsilon)
void AdamW(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWArgs& a);

}  // namespace kava
