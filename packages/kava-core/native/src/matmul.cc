#include "matmul.h"

#include "blas.h"

#include <algorithm>
#include <cmath>

namespace kava {

namespace {

void AddBiasAndActivate(const MatmulArgs& p, float* c, int64_t rows) {
  const int64_t n = p.n;
  if (p.bias == nullptr && p.activation == kLinear) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = c + r * n;
    if (p.bias != nullptr) {
      if (p.biasLen == 1) {
        const float v = p.bias[0];
        for (int64_t j = 0; j < n; ++j) row[j] += v;
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] += p.bias[j];
      }
    }
    switch (p.activation) {
      case kLinear: break;
      case kRelu: for (int64_t j = 0; j < n; ++j) row[j] = std::max(row[j], 0.0f); break;
      case kRelu6: for (int64_t j = 0; j < n; ++j) row[j] = std::min(std::max(row[j], 0.0f), 6.0f); break;
      case kLeakyRelu: for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0 ? p.alpha * row[j] : row[j]; break;
      case kSigmoid: for (int64_t j = 0; j < n; ++j) row[j] = 1.0f / (1.0f + std::exp(-row[j])); break;
      case kElu: for (int64_t j = 0; j < n; ++j) row[j] = row[j] > 0 ? row[j] : std::expm1(row[j]); break;
    }
  }
}

}  // namespace

void Matmul(const MatmulArgs& p) {
  const int64_t lda = p.transA ? p.m : p.k;
  const int64_t ldb = p.transB ? p.k : p.n;
  const bool tall = p.batch > 1 && p.strideB == 0 && !p.transA && p.strideA == p.m * p.k;
  if (p.k == 0) {
    // An empty inner dimension: the product is all zeros (BLAS leaves C untouched when k = 0).
    std::fill(p.c, p.c + p.batch * p.m * p.n, 0.0f);
  } else if (p.m * (tall ? p.batch : 1) == 1 && (p.batch == 1 || tall)) {
    // One row times a matrix (decoding one token): a matrix-vector product. sgemm would first
    // pack the whole matrix, which for a 1B model's weights costs more than the product itself.
    // With m = 1, a is the same k contiguous values whether or not it is transposed.
    blas::Sgemv(p.transB, p.n, p.k, p.b, ldb, p.a, p.c);
  } else if (tall) {
    // A stack of matrices times one shared matrix (activations x weights) is one tall product:
    // one large call runs much faster than many small ones.
    blas::Sgemm(false, p.transB, p.batch * p.m, p.n, p.k, p.a, lda, p.b, ldb, p.c, p.n);
  } else {
    for (int64_t i = 0; i < p.batch; ++i) {
      blas::Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.a + i * p.strideA, lda, p.b + i * p.strideB, ldb,
                  p.c + i * p.m * p.n, p.n);
    }
  }
  AddBiasAndActivate(p, p.c, p.batch * p.m);
}

}  // namespace kava
