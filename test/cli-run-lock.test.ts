// Two `kava train --run-dir SAME` started together: one trains, the other is refused naming the
// first, and the run's metrics hold each step once (issue "never overwrite, interleave or
// misrecord a run", finding 2). Through the built binary, as a user starts them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'packages/cli/bin/kava.js');
const SMALL = {
  preset: 'tiny-llama',
  backbone: { overrides: { numLayers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 64 } },
  data: { synthetic: { trainSize: 64, testSize: 8 } },
  latent: { count: 4, iterations: 1 },
  train: { batchSize: 4, microBatchSize: 4, checkpointEvery: 0, steps: 6 },
  eval: { limit: 8 },
};

const start = (args: string[], cwd: string) =>
  new Promise<{ code: number | null; out: string }>((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });

it('two trainings started together into one --run-dir: one trains, the other is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kava-lock-'));
  writeFileSync(join(dir, 'kava.config.json'), JSON.stringify(SMALL));
  const both = await Promise.all([
    start(['train', '--run-dir', 'same'], dir),
    start(['train', '--run-dir', 'same'], dir),
  ]);
  const codes = both.map((r) => r.code).sort();
  expect(codes[0]).toBe(0);
  expect(codes[1]).not.toBe(0);
  const refused = both.find((r) => r.code !== 0)!;
  // Refused by the folder's lock, or by the earlier check once the winner has written config.json.
  expect(refused.out).toMatch(/is being written by another training \(process \d+|already holds a run/);
  const steps = readFileSync(join(dir, 'same', 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { step: number }).step);
  expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
}, 300_000);
