#include "blas.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <thread>
#include <vector>

#include "gemm.h"

#ifdef KAVA_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace kava::blas {

namespace {

enum class Library { kOpenBlas, kPortable };
enum class Isa { kGeneric, kAvx2, kAvx512 };

#ifdef KAVA_HAVE_OPENBLAS
Library library = Library::kOpenBlas;
#else
Library library = Library::kPortable;
#endif
Isa isa = Isa::kGeneric;
int portableThreads = 1;

bool CpuRuns(Isa want) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (want) {
    case Isa::kAvx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kGeneric: return true;
  }
  return false;
#else
  // Elsewhere (arm64) only the generic kernels are built; the compiler maps them to NEON.
  return want == Isa::kGeneric;
#endif
}

// Each kernel set, in the order of Isa (indexed by it).
struct KernelSet {
  const char* name;
  void (*sgemm)(const gemm::Product&);
  void (*sgemv)(const gemm::RowProduct&);
};
constexpr KernelSet kSets[] = {
    {"generic", gemm::generic::Sgemm, gemm::generic::Sgemv},
    {"avx2", gemm::avx2::Sgemm, gemm::avx2::Sgemv},
    {"avx512", gemm::avx512::Sgemm, gemm::avx512::Sgemv},
};
const KernelSet& Set(Isa i) { return kSets[static_cast<int>(i)]; }

// The best kernel set this CPU runs. AVX-512 first: Intel server cores issue two 512-bit FMAs
// per cycle; on AMD Zen 4, which splits them, the default KaVa run was as fast with either
// (measured 0.98x AVX-512/AVX2 wall time, tiny preset, 40 steps).
Isa BestIsa() {
  if (CpuRuns(Isa::kAvx512)) return Isa::kAvx512;
  return CpuRuns(Isa::kAvx2) ? Isa::kAvx2 : Isa::kGeneric;
}

// Runs part(begin, end) over [0, total) in `threads` contiguous slices (multiples of `grain`),
// the last on this thread. Products below ~2M multiply-adds stay on one thread: starting a
// thread costs tens of microseconds.
template <typename Part>
void Split(int64_t total, int64_t grain, double work, Part part) {
  const int64_t slices = std::min<int64_t>(portableThreads, (total + grain - 1) / grain);
  if (slices <= 1 || work < 2e6) {
    part(0, total);
    return;
  }
  const int64_t per = ((total + slices - 1) / slices + grain - 1) / grain * grain;
  std::vector<std::thread> workers;
  for (int64_t s = 0; s + 1 < slices && (s + 1) * per < total; ++s) {
    workers.emplace_back(part, s * per, (s + 1) * per);
  }
  part(static_cast<int64_t>(workers.size()) * per, total);
  for (std::thread& t : workers) t.join();
}

}  // namespace

void Sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc) {
#ifdef KAVA_HAVE_OPENBLAS
  if (library == Library::kOpenBlas) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), 0.0f, c, static_cast<blasint>(ldc));
    return;
  }
#endif
  const double work = static_cast<double>(m) * n * k;
  if (n >= m) {
    // Threads take column slices: each packs its own part of B and all of A.
    Split(n, 64, work, [&](int64_t j0, int64_t j1) {
      Set(isa).sgemm({transA, transB, m, j1 - j0, k, a, lda, transB ? b + j0 * ldb : b + j0, ldb, c + j0, ldc});
    });
  } else {
    Split(m, 24, work, [&](int64_t i0, int64_t i1) {
      Set(isa).sgemm({transA, transB, i1 - i0, n, k, transA ? a + i0 : a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc});
    });
  }
}

void Sgemv(bool transB, int64_t n, int64_t k, const float* b, int64_t ldb, const float* x, float* y) {
#ifdef KAVA_HAVE_OPENBLAS
  if (library == Library::kOpenBlas) {
    if (transB) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, b,
                  static_cast<blasint>(ldb), x, 1, 0.0f, y, 1);
    } else {
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(n), 1.0f, b,
                  static_cast<blasint>(ldb), x, 1, 0.0f, y, 1);
    }
    return;
  }
#endif
  Split(n, 64, static_cast<double>(n) * k, [&](int64_t j0, int64_t j1) {
    Set(isa).sgemv({transB, j1 - j0, k, transB ? b + j0 * ldb : b + j0, ldb, x, y + j0});
  });
}

int SetThreads(int n) {
  portableThreads = std::max(1, n);
#ifdef KAVA_HAVE_OPENBLAS
  openblas_set_num_threads(portableThreads);
#endif
  return Threads();
}

int Threads() {
#ifdef KAVA_HAVE_OPENBLAS
  if (library == Library::kOpenBlas) return openblas_get_num_threads();
#endif
  return portableThreads;
}

Info Describe() {
#ifdef KAVA_HAVE_OPENBLAS
  if (library == Library::kOpenBlas) return {"OpenBLAS", openblas_get_config(), openblas_get_corename()};
#endif
  const std::string name = Set(isa).name;
  return {"KaVa portable GEMM", "portable GEMM, " + name + " kernels (built from @kava/core's native/src)", name};
}

std::string SelectBlas(const std::string& name, const std::string& isaName) {
  if (name == "openblas") {
#ifdef KAVA_HAVE_OPENBLAS
    library = Library::kOpenBlas;
    return "";
#else
    return "this addon was built without OpenBLAS (no libopenblas-dev when it was built)";
#endif
  }
  if (name != "portable") return "unknown BLAS '" + name + "' (expected openblas or portable)";
  Isa want = BestIsa();
  if (!isaName.empty()) {
    const KernelSet* named = std::find_if(std::begin(kSets), std::end(kSets), [&](const KernelSet& k) { return isaName == k.name; });
    if (named == std::end(kSets)) return "unknown kernel set '" + isaName + "' (expected avx512, avx2 or generic)";
    want = static_cast<Isa>(named - kSets);
  }
  if (!CpuRuns(want)) return std::string("this CPU does not run the ") + Set(want).name + " kernels";
  library = Library::kPortable;
  isa = want;
  return "";
}

}  // namespace kava::blas
