// A checkpoint is written only from finite weights, and a checkpoint whose tensor files changed
// after the save is refused on load (issue "never overwrite, interleave or misrecord a run",
// findings 5 and 7).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJsonLine, findCheckpoint, initBackend, readTrainingState, train } from '@kava/core/internal';
import { microConfig } from './train-helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('checkpoint integrity', () => {
  it('a step that makes the weights non-finite is never saved; the last checkpoint stays the good one', async () => {
    const { resolved, dir } = await microConfig({
      train: { steps: 3, batchSize: 2, microBatchSize: 2, lr: 1e39, warmup: 0, checkpointEvery: 1 },
    });
    const runDir = join(dir, 'diverges');
    await expect(train({ resolved, runDir, skipFinalEval: true })).rejects.toThrow(
      /step 1: tensor ".*" holds \d+ non-finite values? \(NaN or Infinity\), so the checkpoint was not written; the weights diverged \(is train\.lr too large\?\)\. The run's last checkpoint, .*step-0000000, is unchanged/,
    );
    const latest = findCheckpoint(runDir);
    expect(latest).toMatch(/step-0000000$/);
    // The good checkpoint resumes (its weights are finite and its checksums hold).
    const again = await microConfig({ train: { steps: 1, batchSize: 2, microBatchSize: 2 } });
    await expect(train({ resolved: again.resolved, resume: runDir, skipFinalEval: true })).resolves.toMatchObject({
      steps: 1,
    });
  });

  it('records the sha256 of its tensor files and refuses a file changed after the save', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 2, batchSize: 2, microBatchSize: 2 } });
    const runDir = join(dir, 'flipped');
    await train({ resolved, runDir, skipFinalEval: true });
    const checkpoint = findCheckpoint(runDir);
    const state = readTrainingState(checkpoint);
    expect(Object.keys(state.sha256!).sort()).toEqual(['optimizer.safetensors', 'params.safetensors']);
    const file = join(checkpoint, 'params.safetensors');
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0x40; // one flipped exponent bit in the last value
    writeFileSync(file, bytes);
    const again = await microConfig({ train: { steps: 3, batchSize: 2, microBatchSize: 2 } });
    await expect(train({ resolved: again.resolved, resume: runDir, skipFinalEval: true })).rejects.toThrow(
      /params\.safetensors: its sha256 is [0-9a-f]{12}…, the checkpoint was saved with [0-9a-f]{12}… .*the file changed after the save/,
    );
  });

  it('a damaged state.json is refused naming the file and the field, before the run is touched', async () => {
    const { resolved, dir } = await microConfig({ train: { steps: 2, batchSize: 2, microBatchSize: 2 } });
    const runDir = join(dir, 'edited');
    await train({ resolved, runDir, skipFinalEval: true });
    const stateFile = join(findCheckpoint(runDir), 'state.json');
    const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    const again = await microConfig({ train: { steps: 3, batchSize: 2, microBatchSize: 2 } });
    const resume = () => train({ resolved: again.resolved, resume: runDir, skipFinalEval: true });
    writeFileSync(stateFile, JSON.stringify({ ...state, step: 'twenty' }));
    await expect(resume()).rejects.toThrow(/state\.json: step: expected number, got "twenty"/);
    const { data: _data, ...noData } = state;
    writeFileSync(stateFile, JSON.stringify(noData));
    await expect(resume()).rejects.toThrow(/state\.json: data: expected object, got nothing/);
    expect(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).toBe(metrics);
  });
});

describe('appending to a run log', () => {
  it('cuts a torn last line (a crash mid-append) instead of gluing the next record onto it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kava-append-')), 'resumes.jsonl');
    appendJsonLine(file, { step: 1 });
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"step": 2, "chan`);
    appendJsonLine(file, { step: 3 });
    expect(readFileSync(file, 'utf8')).toBe('{"step":1}\n{"step":3}\n');
  });
});
