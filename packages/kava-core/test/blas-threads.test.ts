import { loadNativeAddon } from '@kava/core/app';
import { LARGE_MATRIX, LARGE_PRODUCT, threadPolicy, threadsFor } from '../src/runtime/blas-threads.js';

// Which products get a second BLAS thread: only large ones, only while a core is idle.
describe('BLAS threads per product', () => {
  const twoCores = { fixed: null, cores: 2 };

  test('a large product on an idle 2-core machine gets both cores', () => {
    expect(threadsFor(twoCores, 150, 8192, 2048, 0)).toBe(2); // a 1B prompt through gate_proj
    expect(threadsFor(twoCores, 1, 128256, 2048, 0.2)).toBe(2); // decoding: one token through the tied head
  });

  test('a small product, or a busy machine, stays on one thread', () => {
    expect(threadsFor(twoCores, 960, 1024, 256, 0)).toBe(1); // the tiny model's largest product
    expect(LARGE_PRODUCT).toBeGreaterThan(960 * 1024 * 256);
    expect(threadsFor(twoCores, 1, 256, 256, 0)).toBe(1);
    expect(LARGE_MATRIX).toBeGreaterThan(256 * 256);
    expect(threadsFor(twoCores, 150, 8192, 2048, 1.0)).toBe(1); // another job runs beside this one
    expect(threadsFor(twoCores, 150, 8192, 2048, 0.6)).toBe(1);
    expect(threadsFor({ fixed: null, cores: 1 }, 150, 8192, 2048, 0)).toBe(1);
  });

  test('more cores: one thread per idle core', () => {
    expect(threadsFor({ fixed: null, cores: 16 }, 150, 8192, 2048, 0)).toBe(16);
    expect(threadsFor({ fixed: null, cores: 16 }, 150, 8192, 2048, 8)).toBe(8);
  });

  test('KAVA_BLAS_THREADS, OPENBLAS_NUM_THREADS or OMP_NUM_THREADS fix the count', () => {
    expect(threadPolicy({ KAVA_BLAS_THREADS: '3' }).fixed).toBe(3);
    expect(threadPolicy({ OPENBLAS_NUM_THREADS: '1' }).fixed).toBe(1);
    expect(threadPolicy({ OMP_NUM_THREADS: '2' }).fixed).toBe(2);
    expect(threadPolicy({ KAVA_BLAS_THREADS: 'many' }).fixed).toBeNull();
    expect(threadsFor({ fixed: 1, cores: 2 }, 150, 8192, 2048, 0)).toBe(1);
    expect(threadsFor({ fixed: 2, cores: 2 }, 4, 4, 4, 5)).toBe(2);
  });

  const { addon } = loadNativeAddon();
  (addon ? test : test.skip)('the addon sets the count and says what is in effect', () => {
    expect(addon!.setThreads(2)).toBe(2);
    expect(addon!.setThreads(1)).toBe(1);
    expect(() => addon!.setThreads(0)).toThrow(/setThreads: expected a positive integer/);
  });
});
