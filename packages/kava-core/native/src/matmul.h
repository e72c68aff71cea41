// Batched float32 matrix product with an optional fused bias and activation, on OpenBLAS.
#pragma once
#include <cstdint>

namespace kava {

// Activation codes; the TypeScript side (native-matmul.ts) uses the same numbers.
enum Activation : int32_t { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

struct MatmulArgs {
  const float* a;       // batchA x (transA ? k x m : m x k), row-major
  const float* b;       // batchB x (transB ? n x k : k x n), row-major
  float* c;             // batch x m x n
  int64_t batch, m, n, k;
  bool transA, transB;
  int64_t strideA, strideB;  // elements between consecutive batch items; 0 broadcasts one matrix
  const float* bias;    // nullptr, or biasLen values added to every row of C
  int64_t biasLen;      // 1 (a scalar) or n
  Activation activation;
  float alpha;          // leakyrelu slope
};

void Matmul(const MatmulArgs& args);

}  // namespace kava
