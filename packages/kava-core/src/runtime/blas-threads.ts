import { availableParallelism, loadavg } from 'node:os';
import type { NativeAddon } from './native-addon.js';

/**
 * How many BLAS threads a product gets. One, unless the product is large and the machine has a
 * core to spare: a 1B model's products (a 150-token prompt through a 2048 × 8192 projection, or
 * one token through a 128k-row table) run ~1.4–1.5× faster on two cores, while a tiny model's
 * small products ran as fast or faster on one (the extra thread's wake-ups cost more than its
 * share). "A core to spare" is read from the load average, which counts this process too, so a
 * second training run on a 2-core machine keeps every product on one thread: the fast path never
 * takes a core another job is using.
 *
 * OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (read by the addon at load) or KAVA_BLAS_THREADS (here)
 * fix the count instead.
 */
export interface ThreadPolicy {
  /** A fixed count, or null for the automatic choice. */
  fixed: number | null;
  cores: number;
}

/** Multiply-adds from which a product is large (a tiny model's largest, 960 × 256 × 1024, is just under). */
export const LARGE_PRODUCT = 2 ** 28;
/** Matrix elements from which a one-row product (decoding) is large: it streams the matrix from memory. */
export const LARGE_MATRIX = 2 ** 22;

export function threadPolicy(env: NodeJS.ProcessEnv = process.env): ThreadPolicy {
  const cores = availableParallelism();
  const explicit = env.KAVA_BLAS_THREADS ?? env.OPENBLAS_NUM_THREADS ?? env.OMP_NUM_THREADS;
  const n = explicit === undefined ? NaN : Number(explicit);
  return { fixed: Number.isInteger(n) && n >= 1 ? n : null, cores };
}

/** Threads for an m × k by k × n product (per matrix of a batch) at load average `load`. */
export function threadsFor(policy: ThreadPolicy, m: number, n: number, k: number, load: number): number {
  if (policy.fixed !== null) return policy.fixed;
  const large = m === 1 ? n * k >= LARGE_MATRIX : m * n * k >= LARGE_PRODUCT;
  if (!large || policy.cores < 2) return 1;
  const spare = policy.cores - load; // this process is one of the runnable tasks the load counts
  return spare >= 0.5 ? Math.min(policy.cores, 1 + Math.floor(spare + 0.5)) : 1;
}

let policy: ThreadPolicy | null = null;
let current = 0;
let load = 0;
let loadReadAt = -Infinity;

/** Sets the addon's thread count for the coming product (a call only when it changes). */
export function useThreadsFor(addon: NativeAddon, m: number, n: number, k: number): void {
  policy ??= threadPolicy();
  const now = performance.now();
  if (now - loadReadAt > 2000) {
    load = loadavg()[0]!;
    loadReadAt = now;
  }
  const want = threadsFor(policy, m, n, k, load);
  if (want !== current) current = addon.setThreads(want);
}
