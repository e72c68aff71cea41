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
    // WebAssembly is a global of Node; the test type-check's libraries do not declare it.
    const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new (m: string) => Error } })
      .WebAssembly;
    const { code, text } = report(new RuntimeError('memory access out of bounds'));
    expect(code).toBe(1);
    expect(text).toMatch(/^kava: memory access out of bounds\n/);
    expect(text).toMatch(/wasm backend fails when its 4 GiB heap is full.*--dry-run.*--backend cpu/);
  });
});
