import { summarize, windowMean } from '../src/report/write-report.js';
import type { MetricsRow } from '../src/report/read-run.js';

const row = (step: number, losses: Record<string, number>): MetricsRow =>
  ({ step, totalSteps: 20, losses, lr: 1e-3, gradNorm: 1, tokensPerSecond: 100, seconds: 1 }) as unknown as MetricsRow;

describe('run report summary', () => {
  // Steps 1-10 train the teacher alone (a teacher warm-up); the distillation terms start at step 11.
  const metrics = Array.from({ length: 20 }, (_, i) => {
    const step = i + 1;
    return row(step, step <= 10 ? { 'teacher-ce': 3 - step * 0.1 } : { 'teacher-ce': 3 - step * 0.1, kv: 1 - (step - 11) * 0.05 });
  });

  it('compares a term that starts late over its own first and last steps', () => {
    // kv is logged on 10 steps: the first 10% is step 11 (1.0), the last 10% step 20 (0.55).
    expect(windowMean(metrics, 'kv', 'first')).toBeCloseTo(1.0, 6);
    expect(windowMean(metrics, 'kv', 'last')).toBeCloseTo(0.55, 6);
    // teacher-ce is logged on all 20 steps: first 2 and last 2 steps.
    expect(windowMean(metrics, 'teacher-ce', 'first')).toBeCloseTo((2.9 + 2.8) / 2, 6);
    expect(windowMean(metrics, 'teacher-ce', 'last')).toBeCloseTo((1.1 + 1.0) / 2, 6);
  });

  it('reports each term\'s change in the markdown table', () => {
    const text = summarize('/runs/x', metrics, []);
    expect(text).toMatch(/\| kv \| 1\.000 \| 0\.5500 \| -45\.0% \|/);
  });
});
