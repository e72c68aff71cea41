import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { NativeAddon } from './native-addon.js';

/**
 * How many BLAS threads a product gets. One, unless the product is large and the machine has a
 * core to spare: a 1B model's products (a 150-token prompt through a 2048 × 8192 projection, or
 * one token through a 128k-row table) run ~1.4–1.5× faster on two cores, while a tiny model's
 * small products ran as fast or faster on one (the extra thread's wake-ups cost more than its
 * share). "A core to spare" is what other processes left idle over the last second (this
 * process's own threads are not counted against it), so a second training run on a 2-core
 * machine keeps every product on one thread: the fast path never takes a core another job uses.
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

/**
 * Threads for an m × k by k × n product (per matrix of a batch) while other processes keep
 * `busyElsewhere` cores busy (this process's own main thread is not counted there).
 */
export function threadsFor(policy: ThreadPolicy, m: number, n: number, k: number, busyElsewhere: number): number {
  if (policy.fixed !== null) return policy.fixed;
  const large = m === 1 ? n * k >= LARGE_MATRIX : m * n * k >= LARGE_PRODUCT;
  if (!large || policy.cores < 2) return 1;
  const spare = policy.cores - 1 - busyElsewhere;
  return spare >= 0.5 ? Math.min(policy.cores, 1 + Math.round(spare)) : 1;
}

/** Jiffies (1/100 s) busy and in total over all cores, from /proc/stat (Linux); null elsewhere. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!; // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Cores other processes kept busy over the last second or so: the machine's busy time less this
 * process's own (its BLAS threads included), so switching to two threads does not read as load.
 * Without /proc/stat, the load average less this process.
 */
class OtherLoad {
  private last: { at: number; cpu: { busy: number; total: number } | null; ours: number } | null = null;
  private value = 0;

  read(cores: number): number {
    const now = performance.now();
    if (this.last !== null && now - this.last.at < 1000) return this.value;
    const cpu = cpuTimes();
    const usage = process.cpuUsage();
    const ours = (usage.user + usage.system) / 1e6;
    if (cpu === null || this.last === null || this.last.cpu === null) {
      this.value = Math.max(0, loadavg()[0]! - 1);
    } else {
      const wall = (cpu.total - this.last.cpu.total) / 100 / cores; // seconds of the window
      const busy = (cpu.busy - this.last.cpu.busy) / 100;
      this.value = wall > 0 ? Math.max(0, (busy - (ours - this.last.ours)) / wall) : this.value;
    }
    this.last = { at: now, cpu, ours };
    return this.value;
  }
}

let policy: ThreadPolicy | null = null;
let current = 0;
const others = new OtherLoad();

/**
 * Sets the addon's thread count for the coming product on `backend` (a call only when it
 * changes). The automatic choice applies to the wasm backend: on the cpu backend the garbage
 * collector of its JavaScript tensors already keeps a second core busy (a 1B training step there
 * took 151 s with two BLAS threads, 129 s with one; inference on wasm ran 1.5x faster with two).
 */
export function useThreadsFor(addon: NativeAddon, backend: string, m: number, n: number, k: number): void {
  policy ??= threadPolicy();
  const auto = backend === 'wasm' ? { m, n, k } : { m: 1, n: 1, k: 1 }; // a small product: one thread
  const want = threadsFor(
    policy,
    auto.m,
    auto.n,
    auto.k,
    policy.fixed === null && backend === 'wasm' ? others.read(policy.cores) : 0,
  );
  if (want !== current) current = addon.setThreads(want);
}
