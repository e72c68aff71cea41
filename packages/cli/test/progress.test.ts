import type { StepMetrics } from '@kava/core';
import { EvalProgress, TrainProgress } from '../src/progress.js';

/** A stream that records what is written (not a terminal). */
function recorder() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

describe('evaluation progress', () => {
  it('without a terminal prints a line at every tenth of the questions and at the end', () => {
    const { lines, stream } = recorder();
    const progress = new EvalProgress('evaluating', 200, stream);
    for (let done = 32; done < 200; done += 32) progress.update(done);
    progress.update(200);
    progress.stop();
    expect(lines).toEqual([
      'evaluating 32/200\n',
      'evaluating 64/200\n',
      'evaluating 96/200\n',
      'evaluating 128/200\n',
      'evaluating 160/200\n',
      'evaluating 192/200\n',
      'evaluating 200/200\n',
    ]);
  });

  it('with few questions, a line per batch', () => {
    const { lines, stream } = recorder();
    const progress = new EvalProgress('evaluating', 3, stream);
    [1, 2, 3].forEach((d) => progress.update(d));
    expect(lines).toEqual(['evaluating 1/3\n', 'evaluating 2/3\n', 'evaluating 3/3\n']);
  });
});

describe('training progress without a terminal', () => {
  const metrics = (step: number): StepMetrics => ({
    step,
    totalSteps: 2000,
    losses: { total: 1 },
    lr: 1e-3,
    gradNorm: 1,
    tokensPerSecond: 100,
  });

  it('after a resume the ETA counts only the steps run in this process', () => {
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string | Uint8Array) => (written.push(String(s)), true)) as typeof process.stdout.write;
    try {
      let clock = 0;
      const progress = new TrainProgress(false, 10, () => clock);
      clock = 1_000; // resumed at step 1055: one step of this process took 1 s
      progress.step(metrics(1056));
      clock = 20_000; // 15 steps in 20 s
      progress.step(metrics(1070));
      // 930 steps left at 20/15 s a step: 1240 s (counting from step 0 it would say ~18 s).
      expect(written.at(-1)).toMatch(/^step 1070\/2000 .* eta 1240s\n$/);
    } finally {
      process.stdout.write = write;
    }
  });
});
