// Reading back what a run wrote: a torn last line of an append-only log is dropped (with a
// warning) on resume, never the lines before it; any other corrupt file is an error naming
// file:line:column.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, KavaError, loadRun, readJsonLines, train } from '@kava/core/app';
import { tempProject } from './helpers.js';
import { microConfig } from './train-helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

beforeAll(async () => {
  await initBackend('wasm');
});

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err as KavaError;
  }
  throw new Error('expected an error');
};

describe('readJsonLines', () => {
  it('names file, line and column of a corrupt line in the middle, even when torn lines may be dropped', () => {
    const file = join(tempProject({ 'm.jsonl': '{"step":1}\n{"step": 2 x}\n{"step":3}\n' }), 'm.jsonl');
    const err = errorOf(() => readJsonLines(file, { onTornLine: () => {} }));
    expect(err).toBeInstanceOf(KavaError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:2:12: not valid JSON`));
  });

  it('drops only an unfinished last line and says which', () => {
    const file = join(tempProject({ 'm.jsonl': '{"step":1}\n{"step":2}\n{"step":3,"los' }), 'm.jsonl');
    const torn: [number, string][] = [];
    expect(readJsonLines(file, { onTornLine: (line, text) => torn.push([line, text]) })).toEqual([
      { step: 1 },
      { step: 2 },
    ]);
    expect(torn).toEqual([[3, '{"step":3,"los']]);
    expect(errorOf(() => readJsonLines(file)).message).toMatch(/m\.jsonl:3:15: not valid JSON/);
  });
});

describe('run files read back', () => {
  it('--resume drops a torn last metrics line with a warning and keeps every earlier line', async () => {
    const { resolved } = await microConfig({ train: { steps: 4, checkpointEvery: 2 } });
    const first = await train({ resolved, skipFinalEval: true });
    const metricsFile = join(first.runDir, 'metrics.jsonl');
    const before = readFileSync(metricsFile, 'utf8');
    appendFileSync(metricsFile, '{"step":5,"totalSteps":4,"losses":{"teacher-c'); // a crash mid-append
    const lines: string[] = [];
    resolved.config.train.steps = 6;
    const resumed = await train({ resolved, resume: first.runDir, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(resumed.steps).toBe(6);
    expect(lines.join('\n')).toContain(
      `warning: ${metricsFile}:5: dropped a torn last line (a crash while it was written)`,
    );
    const after = readFileSync(metricsFile, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(
      after
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { step: number }).step),
    ).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a corrupt state.json is an error naming the file, line and column (eval, infer, resume)', async () => {
    const { resolved } = await microConfig({ train: { steps: 1 } });
    const r = await train({ resolved, skipFinalEval: true });
    const state = join(r.checkpoint, 'state.json');
    writeFileSync(state, '{\n  "step": 1,\n  "totalSteps": 1\n  "optimizerStep": 1\n}\n');
    for (const attempt of [
      () => loadRun(r.runDir, { builtinPlugins: BUILTIN_PLUGINS }),
      () => train({ resolved, resume: r.runDir, skipFinalEval: true }),
    ]) {
      const err = await attempt().catch((e: unknown) => e as KavaError);
      expect(err).toBeInstanceOf(KavaError);
      expect((err as KavaError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(new RegExp(`^${state.replace(/[.]/g, '\\.')}:4:3: not valid JSON`));
    }
  });

  it('removes stale temporary checkpoint folders (a process killed mid-save) when the run starts again', async () => {
    const { resolved } = await microConfig({ train: { steps: 2, checkpointEvery: 1 } });
    const first = await train({ resolved, skipFinalEval: true });
    const root = join(first.runDir, 'checkpoints');
    const stale = join(root, '.step-0000003.99999999.tmp'); // no such process
    mkdirSync(stale);
    writeFileSync(join(stale, 'params.safetensors'), 'half');
    writeFileSync(join(root, '.latest.99999999.1764000000000.tmp'), 'step-0000003');
    const live = join(root, `.step-0000009.${process.pid}.tmp`); // a save in progress is left alone
    mkdirSync(live);
    resolved.config.train.steps = 3;
    const lines: string[] = [];
    await train({ resolved, resume: first.runDir, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([`.step-0000009.${process.pid}.tmp`]);
    expect(lines).toContain(`removed ${stale}, left by a run that stopped while saving`);
  });

  it('a run that fails before its first step leaves no empty run folder', async () => {
    const { resolved, dir } = await microConfig({ data: { train: 'missing.jsonl' } });
    await expect(train({ resolved })).rejects.toThrow(/missing\.jsonl/);
    expect(existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')) : []).toEqual([]);
  });
});
