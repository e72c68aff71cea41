import { loadNativeAddon } from '@kava/core/app';

// KaVa's portable GEMM (native/src/gemm_kernel.cc) is what a machine without a system BLAS runs.
// Every kernel set this CPU can run is checked against a float64 product on the shape classes the
// trainer makes: every transpose combination, tiles cut at each edge (MR, NR), the blocking
// boundaries (KC 192/256, MC 120/144, NC), a batch, one-row products (sgemv), and the threaded split.

const { addon, detail } = loadNativeAddon();
const describeNative = addon !== null ? describe : describe.skip;
if (addon === null) {
  // eslint-disable-next-line no-console
  console.warn(`portable GEMM checks skipped: ${detail}. Build the addon with: npm run build:native`);
}

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** C = op(A) op(B) in float64, batch-major, as the addon's matmul contract describes. */
function reference(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
) {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = t * m * k;
    const bo = t * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ao + (ta ? p * m + i : i * k + p)]! * b[bo + (tb ? j * k + p : p * n + j)]!;
        c[t * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

// [m, n, k, batch]
const SHAPES: Array<[number, number, number, number]> = [
  [1, 1, 1, 1],
  [7, 13, 5, 1], // smaller than one tile
  [13, 33, 9, 1], // one full tile plus edges
  [150, 70, 300, 1], // crosses KC (192/256) and MC (144/120)
  [40, 3100, 20, 1], // crosses NC for avx2 (3072)
  [21, 19, 8, 6], // a batch (attention)
  [1, 301, 77, 1], // one row: sgemv
  [0, 5, 3, 1], // empty
  [4, 6, 0, 1], // empty inner dimension: zeros
];
const KERNEL_SETS = ['generic', 'avx2', 'avx512'] as const;

describeNative('portable GEMM', () => {
  let original: { library: string; core: string } | undefined;
  beforeAll(() => {
    original = { ...addon!.blas };
  });
  afterAll(() => {
    // The addon is shared by every test file in this process: put back what was in use.
    addon!.selectBlas(original!.library === 'OpenBLAS' ? 'openblas' : 'portable', '');
    addon!.setThreads(1);
  });

  const runnable = KERNEL_SETS.filter((isa) => {
    try {
      addon?.selectBlas('portable', isa);
      return true;
    } catch {
      return false;
    }
  });

  it('runs at least the generic kernels, and names the set in use', () => {
    expect(runnable).toContain('generic');
    const info = addon!.selectBlas('portable', '');
    expect(info.library).toBe('KaVa portable GEMM');
    expect(runnable).toContain(info.core);
  });

  it('refuses an unknown kernel set and keeps the current one', () => {
    addon!.selectBlas('portable', 'generic');
    expect(() => addon!.selectBlas('portable', 'avx9' as never)).toThrow(/unknown kernel set 'avx9'/);
    expect(addon!.blas.core).toBe('generic');
  });

  describe.each(runnable)('%s kernels', (isa) => {
    it.each(SHAPES.flatMap((s) => [false, true].flatMap((ta) => [false, true].map((tb) => [...s, ta, tb] as const))))(
      '%i x %i x %i, batch %i, transA %s, transB %s',
      (m, n, k, batch, ta, tb) => {
        addon!.selectBlas('portable', isa);
        const a = random(batch * m * k, m * 31 + k);
        const b = random(batch * k * n, n * 17 + k);
        const c = new Float32Array(batch * m * n).fill(Number.NaN); // every element must be written
        addon!.matmul(a.buffer, 0, b.buffer, 0, c.buffer, 0, batch, m, n, k, ta, tb, m * k, k * n, null, 0, 0, 0, 0);
        const want = reference(a, b, batch, m, n, k, ta, tb);
        let worst = 0;
        for (let i = 0; i < c.length; i++)
          worst = Math.max(worst, Math.abs(c[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
        expect(worst).toBeLessThan(1e-5);
      },
    );
  });

  it('splits a large product over threads with the same result', () => {
    addon!.selectBlas('portable', '');
    const [m, n, k] = [130, 300, 90];
    const a = random(m * k, 3);
    const b = random(k * n, 4);
    const product = (threads: number, tb: boolean) => {
      addon!.setThreads(threads);
      const c = new Float32Array(m * n);
      addon!.matmul(a.buffer, 0, b.buffer, 0, c.buffer, 0, 1, m, n, k, false, tb, 0, 0, null, 0, 0, 0, 0);
      return c;
    };
    for (const tb of [false, true]) expect(product(3, tb)).toEqual(product(1, tb));
    // Taller than wide: the split runs over rows.
    const tall = (threads: number) => {
      addon!.setThreads(threads);
      const c = new Float32Array(n * 20);
      addon!.matmul(b.buffer, 0, a.buffer, 0, c.buffer, 0, 1, n, 20, k, true, true, 0, 0, null, 0, 0, 0, 0);
      return c;
    };
    expect(tall(2)).toEqual(tall(1));
    expect(addon!.setThreads(1)).toBe(1);
  });
});
