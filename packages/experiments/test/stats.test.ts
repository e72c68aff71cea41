// The statistics behind the reports' intervals (and docs/results.md's), on hand-computed cases.
import { mean, pairedBootstrap, seedQuestionBootstrap, std } from '../src/stats.js';

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

  it('seed-aware bootstrap: hand-checked cases, and wider than the question-only interval when seeds disagree', () => {
    const q = (bits: string) => [...bits].map(Number);
    // Same on every seed: nothing to resample.
    expect(seedQuestionBootstrap([q('1010'), q('1010')], [q('1010'), q('1010')])).toMatchObject({
      diff: 0,
      lo: 0,
      hi: 0,
    });
    // A sure difference on every seed and question.
    expect(seedQuestionBootstrap([q('11'), q('11'), q('11')], [q('00'), q('00'), q('00')])).toMatchObject({
      diff: 1,
      lo: 1,
      hi: 1,
      perSeed: [1, 1, 1],
    });
    // One seed wins every question, the other two tie on every one: per seed +1, 0, 0; the mean
    // +1/3. A resample of seeds holds the winning seed 0-3 times, so the interval runs from 0 to 1.
    const win = seedQuestionBootstrap([q('1111'), q('0000'), q('0000')], [q('0000'), q('0000'), q('0000')], {
      samples: 4000,
    });
    expect(win.diff).toBeCloseTo(1 / 3, 12);
    expect(win.perSeed).toEqual([1, 0, 0]);
    expect(win.lo).toBe(0);
    expect(win.hi).toBe(1);
    // Question-only (correctness averaged over seeds, as the 1,000-step tables did) is certain here.
    const pooled = pairedBootstrap([1 / 3, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 0]);
    expect(pooled.hi - pooled.lo).toBe(0);
    expect(() => seedQuestionBootstrap([q('1')], [q('1'), q('0')])).toThrow('the same seeds');
    expect(() => seedQuestionBootstrap([q('10')], [q('1')])).toThrow('same, non-empty list');
  });
});
