// The portable GEMM (see gemm.h), in the Goto/BLIS layout: B is packed a KC x NC block at a time
// (kept in L3), A an MC x KC block at a time (kept in L2), and an MR x NR micro-kernel keeps its
// tile of C in vector registers while it streams one KC-long panel of each. binding.gyp compiles
// this file once per instruction set, each time with KAVA_GEMM_ISA naming the namespace and
// KAVA_GEMM_VL the floats per vector register; the vector-extension code below becomes
// SSE, AVX2+FMA or AVX-512 (or NEON on arm64) accordingly.
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"

#ifndef KAVA_GEMM_ISA
#error "compile with -DKAVA_GEMM_ISA=<namespace> (binding.gyp does)"
#endif
#ifndef KAVA_GEMM_VL
#define KAVA_GEMM_VL 4
#endif

namespace kava::gemm::KAVA_GEMM_ISA {

namespace {

constexpr int VL = KAVA_GEMM_VL;
// The tile of C lives in MR x 2 vector registers: 24 of AVX-512's 32, 12 of the 16 elsewhere,
// leaving room for the two B vectors and the broadcast A value.
constexpr int MR = VL == 16 ? 12 : 6;
constexpr int NR = 2 * VL;
// One KC x NR micro-panel of B (24 KiB at VL 16, 16 KiB otherwise) stays in a 32 KiB L1; the
// MC x KC block of A (~110-120 KiB) in L2; the KC x NC block of B (~2-3 MiB) in L3.
constexpr int KC = VL == 16 ? 192 : 256;
constexpr int MC = MR * (VL == 16 ? 12 : 20);
constexpr int NC = NR * (VL == 16 ? 128 : 192);

typedef float Vec __attribute__((vector_size(VL * sizeof(float))));

inline Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

// Packs rows [0, mc) x columns [0, kc) of op(A) (already offset to the block) into MR-row
// panels, each laid out k-major: panel[p * MR + i] = op(A)(i, p); rows past mc are zero.
void PackA(const Product& q, const float* a, int64_t mc, int64_t kc, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - i0);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t i = 0; i < MR; ++i) {
        out[p * MR + i] = i < rows ? (q.transA ? a[p * q.lda + i0 + i] : a[(i0 + i) * q.lda + p]) : 0.0f;
      }
    }
    out += MR * kc;
  }
}

// Packs rows [0, kc) x columns [0, nc) of op(B) into NR-column panels, each k-major:
// panel[p * NR + j] = op(B)(p, j); columns past nc are zero.
void PackB(const Product& q, const float* b, int64_t kc, int64_t nc, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - j0);
    for (int64_t p = 0; p < kc; ++p) {
      float* dst = out + p * NR;
      if (!q.transB) {
        const float* src = b + p * q.ldb + j0;
        if (cols == NR) {
          std::memcpy(dst, src, NR * sizeof(float));
        } else {
          for (int64_t j = 0; j < NR; ++j) dst[j] = j < cols ? src[j] : 0.0f;
        }
      } else {
        for (int64_t j = 0; j < NR; ++j) dst[j] = j < cols ? b[(j0 + j) * q.ldb + p] : 0.0f;
      }
    }
    out += NR * kc;
  }
}

// C tile (rows x cols of an MR x NR tile) = [C +] A panel · B panel.
void MicroKernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t rows, int64_t cols,
                 bool accumulate) {
  Vec acc[MR][2] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const Vec b0 = Load(bp);
    const Vec b1 = Load(bp + VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      // scalar * vector broadcasts the scalar (vbroadcastss, or a {1to16} memory operand)
      acc[i][0] += ap[i] * b0;
      acc[i][1] += ap[i] * b1;
    }
    ap += MR;
    bp += NR;
  }
  if (rows == MR && cols == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* row = c + i * ldc;
      if (accumulate) {
        Store(row, Load(row) + acc[i][0]);
        Store(row + VL, Load(row + VL) + acc[i][1]);
      } else {
        Store(row, acc[i][0]);
        Store(row + VL, acc[i][1]);
      }
    }
    return;
  }
  float tile[MR * NR];
  for (int i = 0; i < MR; ++i) {
    Store(tile + i * NR, acc[i][0]);
    Store(tile + i * NR + VL, acc[i][1]);
  }
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i * NR + j];
  }
}

}  // namespace

void Sgemm(const Product& q) {
  // Per-thread pack buffers, kept between calls (the trainer makes thousands of products).
  thread_local std::vector<float> packA;
  thread_local std::vector<float> packB;
  packA.resize(static_cast<size_t>(MC) * KC);
  packB.resize(static_cast<size_t>(NC) * KC);
  if (q.k == 0) {
    for (int64_t i = 0; i < q.m; ++i) std::fill(q.c + i * q.ldc, q.c + i * q.ldc + q.n, 0.0f);
    return;
  }
  for (int64_t jc = 0; jc < q.n; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, q.n - jc);
    for (int64_t pc = 0; pc < q.k; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, q.k - pc);
      PackB(q, q.transB ? q.b + jc * q.ldb + pc : q.b + pc * q.ldb + jc, kc, nc, packB.data());
      for (int64_t ic = 0; ic < q.m; ic += MC) {
        const int64_t mc = std::min<int64_t>(MC, q.m - ic);
        PackA(q, q.transA ? q.a + pc * q.lda + ic : q.a + ic * q.lda + pc, mc, kc, packA.data());
        for (int64_t jr = 0; jr < nc; jr += NR) {
          for (int64_t ir = 0; ir < mc; ir += MR) {
            MicroKernel(kc, packA.data() + ir * kc, packB.data() + jr * kc, q.c + (ic + ir) * q.ldc + jc + jr, q.ldc,
                        std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr), pc > 0);
          }
        }
      }
    }
  }
}

void Sgemv(const RowProduct& q) {
  if (q.transB) {
    // B is n x k: each output is a dot product of x with one contiguous row.
    for (int64_t j = 0; j < q.n; ++j) {
      const float* row = q.b + j * q.ldb;
      Vec acc[4] = {};
      int64_t p = 0;
      for (; p + 4 * VL <= q.k; p += 4 * VL) {
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) acc[u] += Load(row + p + u * VL) * Load(q.x + p + u * VL);
      }
      const Vec sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      float total = 0.0f;
      for (int v = 0; v < VL; ++v) total += sum[v];
      for (; p < q.k; ++p) total += row[p] * q.x[p];
      q.y[j] = total;
    }
    return;
  }
  // B is k x n: y accumulates x[p] times row p.
  std::fill(q.y, q.y + q.n, 0.0f);
  for (int64_t p = 0; p < q.k; ++p) {
    const float xp = q.x[p];
    const float* row = q.b + p * q.ldb;
    int64_t j = 0;
    for (; j + VL <= q.n; j += VL) Store(q.y + j, Load(q.y + j) + Load(row + j) * xp);
    for (; j < q.n; ++j) q.y[j] += row[j] * xp;
  }
}

}  // namespace kava::gemm::KAVA_GEMM_ISA
