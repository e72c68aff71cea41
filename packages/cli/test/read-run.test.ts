import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readRun } from '../src/report/read-run.js';

describe('reading a run back for its report', () => {
  const run = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-read-run-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it('leaves out a torn last metrics line with a warning, keeping every earlier one', () => {
    const dir = run({ 'config.json': '{}', 'metrics.jsonl': '{"step":1}\n{"step":2}\n{"step":3,"loss' });
    const warn = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(readRun(dir).metrics).toEqual([{ step: 1 }, { step: 2 }]);
      expect(String(warn.mock.calls[0]?.[0])).toBe(
        `kava: warning: ${join(dir, 'metrics.jsonl')}:3: left out a torn last line (a crash while it was written)\n`,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('names file, line and column of a corrupt config.json or a bad line before the last', () => {
    expect(() => readRun(run({ 'config.json': '{\n  "a": 1,\n}\n' }))).toThrow(/config\.json:3:1: not valid JSON/);
    expect(() => readRun(run({ 'config.json': '{}', 'eval.jsonl': '{"step":1}\n{oops}\n{"step":3}\n' }))).toThrow(
      /eval\.jsonl:2:2: not valid JSON/,
    );
  });
});
