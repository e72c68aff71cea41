import { evalChart, lossChart, renderSvg, summarize, warmupEnd, windowMean } from '../src/report/write-report.js';
import type { MetricsRow } from '../src/report/read-run.js';

const row = (step: number, losses: Record<string, number>): MetricsRow =>
  ({ step, totalSteps: 20, losses, lr: 1e-3, gradNorm: 1, tokensPerSecond: 100, seconds: 1 }) as unknown as MetricsRow;

describe('run report summary', () => {
  // Steps 1-10 train the teacher alone (a teacher warm-up); the distillation terms start at step 11.
  const metrics = Array.from({ length: 20 }, (_, i) => {
    const step = i + 1;
    return row(
      step,
      step <= 10 ? { 'teacher-ce': 3 - step * 0.1 } : { 'teacher-ce': 3 - step * 0.1, kv: 1 - (step - 11) * 0.05 },
    );
  });

  it('compares a term that starts late over its own first and last steps', () => {
    // kv is logged on 10 steps: the first 10% is step 11 (1.0), the last 10% step 20 (0.55).
    expect(windowMean(metrics, 'kv', 'first')).toBeCloseTo(1.0, 6);
    expect(windowMean(metrics, 'kv', 'last')).toBeCloseTo(0.55, 6);
    // teacher-ce is logged on all 20 steps: first 2 and last 2 steps.
    expect(windowMean(metrics, 'teacher-ce', 'first')).toBeCloseTo((2.9 + 2.8) / 2, 6);
    expect(windowMean(metrics, 'teacher-ce', 'last')).toBeCloseTo((1.1 + 1.0) / 2, 6);
  });

  it("reports each term's change in the markdown table", () => {
    const text = summarize('/runs/x', metrics, []);
    expect(text).toMatch(/\| kv \| 1\.000 \| 0\.5500 \| -45\.0% \|/);
  });
});

describe('report comparisons and axes', () => {
  // A teacher warm-up: total = teacher-ce for steps 1-10, then the full objective (larger).
  const rows = Array.from({ length: 20 }, (_, i) => {
    const step = i + 1;
    const teacher = 3 - step * 0.1;
    return row(
      step,
      step <= 10
        ? { 'teacher-ce': teacher, total: teacher }
        : { 'teacher-ce': teacher, kv: 1, total: teacher + 10 - (step - 11) * 0.5 },
    );
  });

  it("compares total over the full objective's steps only, not the warm-up's teacher-only total", () => {
    // Full-objective steps 11-20: first 10% is step 11 (11.9), last is step 20 (6.5).
    expect(windowMean(rows, 'total', 'first')).toBeCloseTo(11.9, 6);
    expect(windowMean(rows, 'total', 'last')).toBeCloseTo(6.5, 6);
    const text = summarize('/runs/x', rows, []);
    expect(text).toMatch(/\| total \| 11\.90 \| 6\.500 \| -45\.4% \|/);
    expect(text).toMatch(
      /total is compared over the 10 steps of the full objective; the first 10 steps \(teacher warm-up\)/,
    );
  });

  it('the loss chart marks where the teacher warm-up ends, dashes the total and names its symlog scale', async () => {
    expect(warmupEnd(rows)).toBe(10);
    expect(warmupEnd(rows.slice(10))).toBeNull();
    const svg = await renderSvg({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...lossChart(rows),
    } as never);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toEqual(
      expect.arrayContaining([
        'teacher warm-up ends (step 10)',
        'loss (symlog scale: linear near 0, logarithmic above 1)',
        'weighted total',
      ]),
    );
    expect(svg).toMatch(/stroke-dasharray="5,3"/);
  });

  it('the accuracy chart of a run with one evaluation has a step axis from 0 and percent ticks', async () => {
    const evals = [{ step: 20, mode: 'latent', accuracy: 0.2 }] as unknown as Parameters<typeof evalChart>[0];
    const svg = await renderSvg({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...evalChart(evals, 20),
    } as never);
    const ticks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(ticks).not.toContain('20.000000');
    expect(ticks).toEqual(expect.arrayContaining(['0', '20', '0%', '25%', '50%', '75%', '100%']));
  });
});

describe('report: clipping, per-term gradient norms and latent usage', () => {
  // 4 steps, clipping fired on 1; the term norms measured on steps 2 and 4.
  const rows = [1, 2, 3, 4].map((step) => ({
    ...row(step, { 'student-ce': 1, codi: 1 }),
    gradNorm: step,
    clipped: step === 4,
    ...(step % 2 === 0 ? { termGradNorms: { 'student-ce': step / 2, codi: 10 * step } } : {}),
  })) as MetricsRow[];
  const evals = [
    {
      step: 4,
      mode: 'latent',
      questions: 10,
      correct: 5,
      accuracy: 0.5,
      accuracyLatentsShuffled: 0.2,
      accuracyLatentsPlaceholder: 0.1,
      forwardPassesPerQuestion: 6,
      generatedTokensPerQuestion: 2,
      kvEntriesPerQuestion: 40,
      wallSeconds: 1,
    },
  ];

  it('says how often clipping fired, each term’s median norm per half, and the accuracy without the latents', () => {
    const text = summarize('/runs/x', rows, evals);
    expect(text).toContain('clipping (train.clip) scaled the gradient on 1 of 4 steps (25.0 %)');
    expect(text).toContain('| student-ce | 1.00 | 2.00 |');
    expect(text).toContain('| codi | 20.0 | 40.0 |');
    expect(text).toContain('| all terms (the step) | 2.00 | 4.00 |');
    expect(text).toContain(
      "latent usage at step 4: 50.0% with its own latents, 20.0% with another question's (shuffled across the batch), 10.0% with the placeholder",
    );
  });
});
