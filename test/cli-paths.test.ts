// A path typed on the command line is relative to the folder it was typed in, and a run records
// it whole (issue "never overwrite, interleave or misrecord a run", finding 3): with a config in
// cfg/, `--data mydata.jsonl --out ro` trains on ./mydata.jsonl into ./ro, not cfg/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'packages/cli/bin/kava.js');

it('command-line paths are taken from the current folder, config paths from the config file; the run records both whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kava-paths-'));
  mkdirSync(join(dir, 'cfg'));
  const record = (q: string, a: string) =>
    JSON.stringify({ question: q, steps: [`<<${a}-1=${Number(a) - 1}>>`, `<<${Number(a) - 1}+1=${a}>>`], answer: a });
  writeFileSync(
    join(dir, 'mydata.jsonl'),
    `${['3', '5', '7', '9'].map((a) => record(`What is ${a}?`, a)).join('\n')}\n`,
  );
  writeFileSync(join(dir, 'cfg', 'held-out.jsonl'), `${record('What is 4?', '4')}\n`);
  writeFileSync(
    join(dir, 'cfg', 'fast.json'),
    JSON.stringify({
      preset: 'tiny-llama',
      backbone: { overrides: { numLayers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, intermediateSize: 64 } },
      data: { test: 'held-out.jsonl' },
      latent: { count: 2, iterations: 1 },
      train: { batchSize: 2, microBatchSize: 2, checkpointEvery: 0, steps: 1 },
      eval: { limit: 1 },
    }),
  );
  const r = spawnSync(
    process.execPath,
    [BIN, 'train', '--config', 'cfg/fast.json', '--data', 'mydata.jsonl', '--out', 'ro'],
    { cwd: dir, encoding: 'utf8', timeout: 300_000 },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(existsSync(join(dir, 'cfg', 'ro'))).toBe(false);
  const runs = readdirSync(join(dir, 'ro'));
  expect(runs).toHaveLength(1);
  const saved = JSON.parse(readFileSync(join(dir, 'ro', runs[0]!, 'config.json'), 'utf8')) as {
    data: { train: string; test: string };
    train: { out: string };
  };
  expect(saved.data.train).toBe(join(dir, 'mydata.jsonl'));
  expect(saved.data.test).toBe(join(dir, 'cfg', 'held-out.jsonl')); // from the config file's folder
  expect(saved.train.out).toBe(join(dir, 'ro'));
}, 300_000);
