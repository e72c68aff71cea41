import { mkdtempSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimRunDir } from '../src/train/run-folder.js';

describe('claimRunDir', () => {
  it('gives runs started in the same second separate folders and never reuses one', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kava-runs-')), 'runs');
    const first = claimRunDir(out, '20261128-120000-tiny-llama-kava');
    writeFileSync(join(first, 'config.json'), '{}');
    const second = claimRunDir(out, '20261128-120000-tiny-llama-kava');
    const third = claimRunDir(out, '20261128-120000-tiny-llama-kava');
    expect(first).toBe(join(out, '20261128-120000-tiny-llama-kava'));
    expect(second).toBe(join(out, '20261128-120000-tiny-llama-kava-2'));
    expect(third).toBe(join(out, '20261128-120000-tiny-llama-kava-3'));
    expect(existsSync(join(first, 'config.json'))).toBe(true);
    expect(readdirSync(out).sort()).toHaveLength(3);
  });
});
