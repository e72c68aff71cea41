// A failed start leaves nothing that blocks its retry, and every file error names its path
// (issue "never overwrite, interleave or misrecord a run", finding 8).
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendJsonLine,
  initBackend,
  makeDir,
  runFolderState,
  train,
  writeTextAtomic,
  type KavaPlugin,
} from '@kava/core/internal';
import { microConfig } from './train-helpers.js';
import { tempProject } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A plugin whose loss hook throws in the first micro-batch, as a crash at the start would. */
const crashFirstStep: KavaPlugin = {
  name: 'crash',
  apply: (h) =>
    h.losses.tap('crash', () => {
      throw new Error('crashed in the first micro-batch');
    }),
};

describe('a failed start', () => {
  it('leaves no run folder under train.out, and none of its files in a --run-dir it was given', async () => {
    const { resolved, dir } = await microConfig({ train: { checkpointEvery: 0 } }, [crashFirstStep]);
    await expect(train({ resolved })).rejects.toThrow('crashed in the first micro-batch');
    expect(readdirSync(join(dir, 'runs'))).toEqual([]);

    const given = join(dir, 'mine');
    mkdirSync(given);
    writeFileSync(join(given, 'notes.txt'), 'the user wrote this');
    await expect(train({ resolved, runDir: given })).rejects.toThrow('crashed in the first micro-batch');
    expect(readdirSync(given).sort()).toEqual(['notes.txt']);

    // The retry, with a start that works, trains into the same folder.
    const ok = await microConfig({ train: { steps: 1 } });
    const r = await train({ resolved: ok.resolved, runDir: given, skipFinalEval: true });
    expect([r.steps, runFolderState(given)]).toEqual([1, 'run']);
  });

  it('a start killed before its first step and checkpoint (config.json alone) does not block the retry', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 1 } });
    const killed = join(dir, 'killed');
    mkdirSync(killed);
    writeFileSync(join(killed, 'config.json'), '{}\n');
    writeFileSync(join(killed, 'metrics.jsonl'), '');
    expect(runFolderState(killed)).toBe('failed-start');
    const lines: string[] = [];
    const r = await train({ resolved, runDir: killed, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(r.steps).toBe(1);
    expect(lines).toContain(
      `${killed}: removed the files of an earlier start that failed before its first step and checkpoint`,
    );
    // A run with a checkpoint is never started over.
    await expect(train({ resolved, runDir: killed })).rejects.toThrow(
      `--run-dir ${killed}: already holds a run (config.json and its checkpoints or metrics); continue it with --resume`,
    );
  });

  it('a checkpoint that cannot be written leaves no temporary folder and names where it was going', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 2, checkpointEvery: 1 } });
    const run = join(dir, 'blocked');
    mkdirSync(run);
    writeFileSync(join(run, 'checkpoints'), 'a file where the checkpoints folder goes');
    await expect(train({ resolved, runDir: run })).rejects.toThrow(
      `${join(run, 'checkpoints', 'step-0000000')}: cannot save the checkpoint: a part of the path is a file, not a folder (ENOTDIR)`,
    );
  });
});

describe('file errors name their path', () => {
  it('a full device (/dev/full) on append', () => {
    expect(() => appendJsonLine('/dev/full', { step: 1 })).toThrow(
      '/dev/full: cannot append to: no space left on the device (ENOSPC)',
    );
  });

  it('a folder that cannot be made names the first folder that failed and why', () => {
    const dir = tempProject();
    writeFileSync(join(dir, 'file'), '');
    expect(() => makeDir(join(dir, 'file', 'runs', 'a'))).toThrow(
      `${join(dir, 'file', 'runs')}: cannot create the folder: a part of the path is a file, not a folder (ENOTDIR)`,
    );
    expect(() => writeTextAtomic(join(dir, 'file', 'config.json'), '{}')).toThrow(
      /file: cannot create the folder: .*\(EEXIST|ENOTDIR\)|config\.json: cannot write/,
    );
    // An unwritable parent is reported as such, not as a missing folder (root may write anywhere).
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o555);
      expect(() => makeDir(join(locked, 'runs', 'a'))).toThrow(
        `${join(locked, 'runs')}: cannot create the folder: permission denied (EACCES)`,
      );
      chmodSync(locked, 0o755);
    }
    expect(existsSync(join(dir, 'file'))).toBe(true);
  });
});
