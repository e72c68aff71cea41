// The statistics behind docs/results.md's intervals (scripts/lib/stats.mjs), on hand-computed cases.
// @ts-expect-error: a plain .mjs script module without type declarations
import { mean, pairedBootstrap, std } from '../scripts/lib/stats.mjs';

describe('experiment statistics', () => {
  it('mean and sample standard deviation', () => {
    expect(mean([0.2, 0.4, 0.6])).toBeCloseTo(0.4, 12);
    expect(std([0.2, 0.4, 0.6])).toBeCloseTo(0.2, 12); // sqrt((0.04 + 0 + 0.04) / 2)
    expect(std([0.5])).toBe(0);
  });

  it('paired bootstrap: no difference, a sure difference, and a hand-checked spread', () => {
    const a = [1, 0, 1, 1, 0, 1, 0, 0];
    expect(pairedBootstrap(a, a)).toEqual({ diff: 0, lo: 0, hi: 0 });
    expect(pairedBootstrap([1, 1, 1, 1], [0, 0, 0, 0])).toEqual({ diff: 1, lo: 1, hi: 1 });
    // One question in four differs by 1: the mean difference is 0.25, and a resample of four holds
    // the differing question 0–4 times, so the interval's ends lie in {0, 0.25, 0.5, 0.75, 1}.
    const b = pairedBootstrap([1, 0, 0, 0], [0, 0, 0, 0], { samples: 4000 });
    expect(b.diff).toBe(0.25);
    expect(b.lo).toBe(0);
    expect([0.5, 0.75]).toContain(b.hi);
    // Deterministic for a seed, so a table is the same every time it is made.
    expect(pairedBootstrap([1, 0, 0, 1, 1], [0, 0, 1, 0, 1])).toEqual(
      pairedBootstrap([1, 0, 0, 1, 1], [0, 0, 1, 0, 1]),
    );
  });

  it('the interval narrows as questions are added', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const zeros = (n: number) => Array.from({ length: n }, () => 0);
    const small = pairedBootstrap(many(40), zeros(40), { samples: 2000 });
    const large = pairedBootstrap(many(400), zeros(400), { samples: 2000 });
    expect(large.hi - large.lo).toBeLessThan(small.hi - small.lo);
    expect(large.lo).toBeLessThan(0.25);
    expect(large.hi).toBeGreaterThan(0.25);
  });

  it('refuses lists of different lengths', () => {
    expect(() => pairedBootstrap([1, 0], [1])).toThrow('two equal, non-empty lists');
  });
});
