// A run folder belongs to one training at a time, and a resume never writes into another run
// (issue "never overwrite, interleave or misrecord a run", findings 1 and 2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { initBackend, LOCK_FILE, lockRunDir, train } from '@kava/core/internal';
import { microConfig } from './train-helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const rows = (runDir: string, file = 'metrics.jsonl') =>
  readFileSync(join(runDir, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number });

describe('one training per run folder', () => {
  it('refuses a second training of a folder in use, naming the process; the first runs on untouched', async () => {
    const a = await microConfig({ train: { steps: 4, batchSize: 2, microBatchSize: 2 } });
    const b = await microConfig({ train: { steps: 4, batchSize: 2, microBatchSize: 2 } });
    const runDir = join(a.dir, 'shared-run');
    const results = await Promise.allSettled([
      train({ resolved: a.resolved, runDir, skipFinalEval: true }),
      train({ resolved: b.resolved, runDir, skipFinalEval: true }),
    ]);
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.reason)).toMatch(
      new RegExp(`shared-run is being written by another training \\(process ${process.pid} on `),
    );
    expect(rows(runDir).map((m) => m.step)).toEqual([1, 2, 3, 4]); // no interleaved rows
    expect(existsSync(join(runDir, LOCK_FILE))).toBe(false); // released at the end
  });

  it('takes over a lock left by a process that no longer runs, or from before a reboot', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 1, batchSize: 2, microBatchSize: 2 } });
    const runDir = join(dir, 'left');
    mkdirSync(runDir, { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', '']).pid; // has exited
    const lock = (owner: object) => writeFileSync(join(runDir, LOCK_FILE), JSON.stringify(owner));
    lock({ pid: gone, host: hostname(), boot: null, started: '2026-01-01T00:00:00Z' });
    const lines: string[] = [];
    await train({ resolved, runDir, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain(`a lock left by process ${gone}, which no longer runs; taking the run over`);
    // A new folder is made and locked; released, it can be locked again.
    lockRunDir(join(dir, 'other', 'nested')).release();
    lockRunDir(join(dir, 'other', 'nested')).release();
    // A live pid from another boot names another process than the one that took the lock.
    mkdirSync(join(dir, 'rebooted'));
    writeFileSync(
      join(dir, 'rebooted', LOCK_FILE),
      JSON.stringify({ pid: process.pid, host: hostname(), boot: 'another-boot', started: 'x' }),
    );
    const hasBootId = existsSync('/proc/sys/kernel/random/boot_id');
    if (hasBootId) lockRunDir(join(dir, 'rebooted')).release();
    else expect(() => lockRunDir(join(dir, 'rebooted'))).toThrow(/being written by another training/);
  });

  it('releases the lock when a training fails', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 2, batchSize: 2, microBatchSize: 2 } });
    const runDir = join(dir, 'fails');
    const boom = new Error('boom');
    await expect(
      train({
        resolved,
        runDir,
        skipFinalEval: true,
        onStep: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(existsSync(join(runDir, LOCK_FILE))).toBe(false);
  });
});

describe('a resume never writes into another run', () => {
  it('refuses --resume A --run-dir B when B holds a run, leaving B as it was; an empty B is a fork of A', async () => {
    const a = await microConfig({ train: { steps: 4, batchSize: 2, microBatchSize: 2, checkpointEvery: 2 } });
    const runA = await train({ resolved: a.resolved, skipFinalEval: true });
    const b = await microConfig({ train: { steps: 3, batchSize: 2, microBatchSize: 2 } });
    const runB = await train({ resolved: b.resolved, skipFinalEval: true });
    const before = readFileSync(join(runB.runDir, 'metrics.jsonl'), 'utf8');
    const again = await microConfig({ train: { steps: 6, batchSize: 2, microBatchSize: 2, checkpointEvery: 2 } });
    await expect(
      train({ resolved: again.resolved, resume: runA.runDir, runDir: runB.runDir, skipFinalEval: true }),
    ).rejects.toThrow(/already holds another run; --resume .* continues the run in/);
    expect(readFileSync(join(runB.runDir, 'metrics.jsonl'), 'utf8')).toBe(before);
    const fork = join(again.dir, 'fork');
    const forked = await train({ resolved: again.resolved, resume: runA.runDir, runDir: fork, skipFinalEval: true });
    expect(forked.steps).toBe(6);
    expect(rows(fork).map((m) => m.step)).toEqual([5, 6]);
    expect(rows(runA.runDir).map((m) => m.step)).toEqual([1, 2, 3, 4]); // A itself untouched
  });
});
