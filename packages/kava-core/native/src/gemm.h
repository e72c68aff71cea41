// KaVa's portable GEMM: a cache-blocked float32 matrix product written for the compiler's
// vector extensions, so that `npm install` gets a fast path from this package's own sources
// when no system BLAS is found. gemm_kernel.cc is compiled once per instruction set (binding.gyp
// targets gemm_generic, gemm_avx2, gemm_avx512); blas.cc picks one at run time from the CPU.
#pragma once
#include <cstdint>

namespace kava::gemm {

// C (m x n, row stride ldc) = op(A) · op(B), row-major; op(A) is m x k, op(B) is k x n.
// A is stored m x k (lda >= k), or k x m when transA (lda >= m); likewise B.
struct Product {
  bool transA, transB;
  int64_t m, n, k;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
};

// y (n) = x (k) · op(B): one row times a matrix, without packing B.
struct RowProduct {
  bool transB;
  int64_t n, k;
  const float* b;
  int64_t ldb;
  const float* x;
  float* y;
};

#define KAVA_GEMM_DECLARE(isa)              \
  namespace isa {                           \
  void Sgemm(const Product& p);             \
  void Sgemv(const RowProduct& p);          \
  }
KAVA_GEMM_DECLARE(generic)
KAVA_GEMM_DECLARE(avx2)
KAVA_GEMM_DECLARE(avx512)
#undef KAVA_GEMM_DECLARE

}  // namespace kava::gemm
