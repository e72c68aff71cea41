// The BLAS behind the native kernels: the system's OpenBLAS when the addon was built against it
// (KAVA_HAVE_OPENBLAS), else KaVa's portable GEMM (gemm.h) for the CPU's instruction set.
// KAVA_BLAS=portable at load time (or SelectBlas) picks the portable GEMM even when OpenBLAS is
// linked, and KAVA_GEMM_ISA=avx512|avx2|generic its kernel set: for comparisons and tests.
#pragma once
#include <cstdint>
#include <string>

namespace kava::blas {

// C (m x n, row stride ldc) = op(A) · op(B), all row-major (see gemm::Product).
void Sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc);

// y (n) = x (k) · op(B), op(B) k x n: one row times a matrix (decoding), without packing B.
void Sgemv(bool transB, int64_t n, int64_t k, const float* b, int64_t ldb, const float* x, float* y);

// Threads for the next products; returns the count in effect.
int SetThreads(int n);
int Threads();

struct Info {
  std::string library;  // "OpenBLAS" or "KaVa portable GEMM"
  std::string config;   // OpenBLAS's build string, or the portable GEMM's kernel description
  std::string core;     // the kernel set: OpenBLAS's core name, or avx512 | avx2 | generic
};
Info Describe();

// Chooses "openblas" or "portable", and for the portable GEMM an instruction set ("" = the best
// this CPU runs). Returns an empty string, or why the choice cannot be made.
std::string SelectBlas(const std::string& library, const std::string& isa);

}  // namespace kava::blas
