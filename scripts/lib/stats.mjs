// Statistics of the experiment tables: mean ± std over seeds, and paired bootstrap confidence
// intervals over held-out questions.
import { Rng } from '@kava/core/app';
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The middle value (the upper one of an even count), as the benchmarks quote their timings. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const std = (xs) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

/**
 * Paired bootstrap over questions of mean(a) − mean(b), where a[i] and b[i] are the two methods'
 * scores on question i (e.g. correctness averaged over seeds). Returns the observed difference
 * and the central 95 % interval of `samples` resamples.
 */
export function pairedBootstrap(a, b, { samples = 10000, seed = 1 } = {}) {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`pairedBootstrap: expected two equal, non-empty lists, got ${a.length} and ${b.length}`);
  const n = a.length;
  const d = a.map((x, i) => x - b[i]);
  const rng = new Rng(seed); // the project's seeded generator: a table's intervals are the same every time
  const random = () => rng.next();
  const means = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[Math.floor(random() * n)];
    means[s] = sum / n;
  }
  means.sort();
  return { diff: mean(d), lo: means[Math.floor(0.025 * samples)], hi: means[Math.ceil(0.975 * samples) - 1] };
}
