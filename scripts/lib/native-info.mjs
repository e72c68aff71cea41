// What the benchmarks print about the native kernels: the BLAS in use, its kernel set and
// threads, and every environment variable that changes them.
import { loadNativeAddon, NATIVE_ENVIRONMENT } from '@kava/core/app';

/** Lines describing the addon (or why it is missing) and the variables, for a benchmark header. */
export function nativeInfoLines() {
  const { addon, detail } = loadNativeAddon();
  const lines = [
    addon
      ? `native addon: ${detail}\n  BLAS ${addon.blas.library} (${addon.blas.config}); kernel set ${addon.blas.core}; ${addon.blas.threads} thread(s)`
      : `native addon: ${detail}`,
  ];
  for (const name of NATIVE_ENVIRONMENT) lines.push(`  ${name}=${process.env[name] ?? '(unset)'}`);
  return lines;
}
