// What the benchmarks print about the native kernels: the BLAS in use, its kernel set and
// threads, and every environment variable that changes them.
import { loadNativeAddon } from '@kava/core/app';

const VARIABLES = [
  'KAVA_BLAS',
  'KAVA_GEMM_ISA',
  'KAVA_BLAS_THREADS',
  'OPENBLAS_NUM_THREADS',
  'OMP_NUM_THREADS',
  'OPENBLAS_CORETYPE',
  'OPENBLAS_L2_SIZE',
];

/** Lines describing the addon (or why it is missing) and the variables, for a benchmark header. */
export function nativeInfoLines() {
  const { addon, detail } = loadNativeAddon();
  const lines = [
    addon
      ? `native addon: ${detail}\n  BLAS ${addon.blas.library} (${addon.blas.config}); kernel set ${addon.blas.core}; ${addon.blas.threads} thread(s)`
      : `native addon: ${detail}`,
  ];
  for (const name of VARIABLES) lines.push(`  ${name}=${process.env[name] ?? '(unset)'}`);
  return lines;
}
