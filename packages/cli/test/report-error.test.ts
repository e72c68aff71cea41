import { ConfigError } from '@kava/core';
import { reportError } from '../src/report-error.js';

function report(err: unknown): { code: number; text: string } {
  let text = '';
  const code = reportError(err, false, (t) => (text += t));
  return { code, text };
}

describe('reportError', () => {
  test('a configuration error is one line and exit code 2', () => {
    expect(report(new ConfigError('train.steps: expected a positive integer'))).toEqual({
      code: 2,
      text: 'kava: train.steps: expected a positive integer\n',
    });
  });

  test('a wasm heap fault says what it means and what to change', () => {
    const { code, text } = report(new WebAssembly.RuntimeError('memory access out of bounds'));
    expect(code).toBe(1);
    expect(text).toMatch(/^kava: memory access out of bounds\n/);
    expect(text).toMatch(/wasm backend fails when its 4 GiB heap is full.*--dry-run.*--backend cpu/);
  });
});
