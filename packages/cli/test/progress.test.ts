import { EvalProgress } from '../src/progress.js';

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
    expect(lines).toEqual(['evaluating 32/200\n', 'evaluating 64/200\n', 'evaluating 96/200\n', 'evaluating 128/200\n', 'evaluating 160/200\n', 'evaluating 192/200\n', 'evaluating 200/200\n']);
  });

  it('with few questions, a line per batch', () => {
    const { lines, stream } = recorder();
    const progress = new EvalProgress('evaluating', 3, stream);
    [1, 2, 3].forEach((d) => progress.update(d));
    expect(lines).toEqual(['evaluating 1/3\n', 'evaluating 2/3\n', 'evaluating 3/3\n']);
  });
});
