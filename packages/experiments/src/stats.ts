// Statistics of the reports: mean ± std over seeds, and paired bootstrap intervals over held-out
// questions, question-only or seed-aware (two-level). Seeded: a report is the same every time.
import { Rng } from '@kava/core/app';

/** The arithmetic mean. */
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The middle value (the upper one of an even count), as the benchmarks quote their timings. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The sample standard deviation (0 for fewer than two values). */
export const std = (xs: readonly number[]): number =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

/** An observed difference and its central 95 % interval. */
export interface Interval {
  diff: number;
  lo: number;
  hi: number;
}

/** Options of the bootstraps: resamples and the generator's seed. */
export interface BootstrapOptions {
  samples?: number;
  seed?: number;
}

/**
 * Paired bootstrap over questions of mean(a) − mean(b), where a[i] and b[i] are the two methods'
 * scores on question i (e.g. correctness averaged over seeds).
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  { samples = 10000, seed = 1 }: BootstrapOptions = {},
): Interval {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`pairedBootstrap: expected two equal, non-empty lists, got ${a.length} and ${b.length}`);
  const n = a.length;
  const d = a.map((x, i) => x - b[i]!);
  const rng = new Rng(seed);
  const means = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[Math.floor(rng.next() * n)]!;
    means[s] = sum / n;
  }
  means.sort();
  return { diff: mean(d), lo: means[Math.floor(0.025 * samples)]!, hi: means[Math.ceil(0.975 * samples) - 1]! };
}

/**
 * Two-level paired bootstrap of mean(a) − mean(b) over seeds and questions: `a[s][i]` and
 * `b[s][i]` are the two methods' scores on question i with seed s (the same backbone for both).
 * Each resample draws the seeds with replacement, then the questions with replacement (one draw
 * of questions shared by the drawn seeds, as the questions are the same for every seed), so the
 * interval carries the spread between seeds as well as between questions. With 3 seeds it is
 * coarse (10 distinct seed draws) and wider than the question-only interval: that is the point.
 */
export function seedQuestionBootstrap(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  { samples = 10000, seed = 1 }: BootstrapOptions = {},
): Interval & { perSeed: number[] } {
  const S = a.length;
  if (S === 0 || b.length !== S)
    throw new Error(`seedQuestionBootstrap: expected the same seeds on both sides, got ${a.length} and ${b.length}`);
  const n = a[0]!.length;
  if (n === 0 || a.some((r) => r.length !== n) || b.some((r) => r.length !== n))
    throw new Error('seedQuestionBootstrap: every seed must score the same, non-empty list of questions');
  const d = a.map((row, s) => row.map((x, i) => x - b[s]![i]!));
  const rng = new Rng(seed);
  const means = new Float64Array(samples);
  const drawnSeeds = new Int32Array(S);
  for (let k = 0; k < samples; k++) {
    for (let j = 0; j < S; j++) drawnSeeds[j] = Math.floor(rng.next() * S);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const q = Math.floor(rng.next() * n);
      for (let j = 0; j < S; j++) sum += d[drawnSeeds[j]!]![q]!;
    }
    means[k] = sum / (n * S);
  }
  means.sort();
  return {
    diff: mean(d.map(mean)),
    lo: means[Math.floor(0.025 * samples)]!,
    hi: means[Math.ceil(0.975 * samples) - 1]!,
    perSeed: d.map(mean),
  };
}
