// Resuming is the run's own saved configuration with only the named settings changed; its
// config.json is never rewritten, each resume's changes go to resumes.jsonl beside it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, readJsonLines, resolveRunConfig, scheduleChange, train } from '@kava/core/internal';
import { microConfig } from './train-helpers.js';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('resume', () => {
  it("keeps the run's settings, changes only what is named, says so, and never rewrites config.json", async () => {
    const { resolved } = await microConfig({ train: { steps: 4, checkpointEvery: 2, teacherWarmup: 0.5, lr: 2e-3 } });
    const first = await train({ resolved, skipFinalEval: true });
    const configFile = join(first.runDir, 'config.json');
    const original = readFileSync(configFile, 'utf8');

    // Only --steps named: everything else is the run's own (from a folder without its config file).
    const again = await resolveRunConfig(first.runDir, {
      overrides: { train: { steps: 6 } },
      builtinPlugins: BUILTIN_PLUGINS,
    });
    expect(again.config.train).toMatchObject({
      steps: 6,
      checkpointEvery: 2,
      teacherWarmup: 0.5,
      lr: 2e-3,
      batchSize: 4,
    });
    // Stopped (Ctrl-C) at step 5 of the new 6.
    const lines: string[] = [];
    const stop = new AbortController();
    const stopped = await train({
      resolved: again,
      resume: first.runDir,
      skipFinalEval: true,
      log: (l) => lines.push(l),
      onStep: (m) => (m.step === 5 ? stop.abort() : undefined),
      signal: stop.signal,
    });
    expect([stopped.steps, stopped.interrupted]).toEqual([5, true]);
    const said = lines.join('\n');
    expect(said).toContain('resume changes: train.steps 4 → 6');
    expect(said).toMatch(
      /total steps 4 → 6: the learning-rate schedule now runs over 6 steps .*step 5 trains at lr [\d.e-]+ instead of 0/,
    );
    expect(said).toContain('the teacher warm-up (train.teacherWarmup 0.5) now ends after step 3 instead of 2');
    expect(readFileSync(configFile, 'utf8')).toBe(original);

    // A plain resume continues the settings the last resume set (6 steps), not config.json's 4,
    // says that nothing changed, and both resumes are recorded beside config.json.
    const same = await resolveRunConfig(first.runDir, { builtinPlugins: BUILTIN_PLUGINS });
    expect(same.config.train.steps).toBe(6);
    const lines2: string[] = [];
    const finished = await train({
      resolved: same,
      resume: first.runDir,
      skipFinalEval: true,
      log: (l) => lines2.push(l),
    });
    expect([finished.steps, finished.totalSteps, finished.interrupted]).toEqual([6, 6, false]);
    expect(lines2).toContain("resume: the run's own settings, nothing changed");
    expect(lines2.join('\n')).not.toContain('total steps');
    expect(readFileSync(configFile, 'utf8')).toBe(original);
    const resumes = readJsonLines<{ step: number; changes: Record<string, unknown> }>(
      join(first.runDir, 'resumes.jsonl'),
    );
    expect(resumes.map((r) => [r.step, r.changes])).toEqual([
      [4, { 'train.steps': { from: 4, to: 6 } }],
      [5, {}],
    ]);
  });

  it('finds a finished run finished: nothing is trained, saved, evaluated or recorded again', async () => {
    const { resolved } = await microConfig({ train: { steps: 2 } });
    const first = await train({ resolved });
    const files = ['metrics.jsonl', 'eval.jsonl', 'eval/final.json'].map((f) => join(first.runDir, f));
    const before = files.map((f) => readFileSync(f, 'utf8'));
    const checkpoints = readdirSync(join(first.runDir, 'checkpoints'));
    const lines: string[] = [];
    const again = await train({
      resolved: await resolveRunConfig(first.runDir, { builtinPlugins: BUILTIN_PLUGINS }),
      resume: first.runDir,
      log: (l) => lines.push(l),
    });
    expect([again.steps, again.trainedSteps, again.totalSteps, again.interrupted]).toEqual([2, 0, 2, false]);
    expect(again.evaluation?.accuracy).toBe(first.evaluation?.accuracy);
    expect(lines.join('\n')).toContain('the run finished all 2 steps and its final evaluation; nothing to do');
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    expect(readdirSync(join(first.runDir, 'checkpoints'))).toEqual(checkpoints);
    expect(existsSync(join(first.runDir, 'resumes.jsonl'))).toBe(false);

    // Fewer steps than the run has trained cannot be honoured: refused, naming what would work.
    const shorter = await resolveRunConfig(first.runDir, {
      overrides: { train: { steps: 1 } },
      builtinPlugins: BUILTIN_PLUGINS,
    });
    await expect(train({ resolved: shorter, resume: first.runDir })).rejects.toThrow(
      /the run is at step 2 already, past the 1 steps asked for; give --steps more than 2/,
    );
  });

  it('stops a final evaluation at a stop signal, and a resume then evaluates without training or saving', async () => {
    const { resolved } = await microConfig({ train: { steps: 2 }, eval: { batchSize: 1 } });
    const stop = new AbortController();
    const first = await train({
      resolved,
      signal: stop.signal,
      onEvalProgress: (done) => (done === 1 ? stop.abort() : undefined),
    });
    expect([first.steps, first.interrupted, first.evaluation]).toEqual([2, true, null]);
    expect(existsSync(join(first.runDir, 'eval', 'final.json'))).toBe(false);
    const checkpoints = readdirSync(join(first.runDir, 'checkpoints'));
    const metrics = readFileSync(join(first.runDir, 'metrics.jsonl'), 'utf8');
    const again = await train({
      resolved: await resolveRunConfig(first.runDir, { builtinPlugins: BUILTIN_PLUGINS }),
      resume: first.runDir,
    });
    expect([again.steps, again.trainedSteps, again.interrupted, again.evaluation?.questions]).toEqual([2, 0, false, 4]);
    // eval.batchSize 1 still gets the latent-usage check (its shuffled pass pairs questions).
    expect(again.evaluation?.accuracyLatentsShuffled).toEqual(expect.any(Number));
    expect(readJsonLines<{ step: number }>(join(first.runDir, 'eval.jsonl')).map((r) => r.step)).toEqual([2]);
    expect(readdirSync(join(first.runDir, 'checkpoints'))).toEqual(checkpoints);
    expect(readFileSync(join(first.runDir, 'metrics.jsonl'), 'utf8')).toBe(metrics);
  });

  it('refuses an absurd batch before making a run folder, and notes a batch larger than the data', async () => {
    const { resolved, dir } = await microConfig({ train: { batchSize: 1e9, microBatchSize: 2 } });
    await expect(train({ resolved })).rejects.toThrow(
      'train.batchSize 1000000000: one step would take 1000000000 examples; at most 65536 are allowed',
    );
    expect(existsSync(join(dir, 'runs'))).toBe(false);
    const lines: string[] = [];
    const small = await microConfig({ train: { batchSize: 100, microBatchSize: 50, steps: 1 } });
    await train({ resolved: small.resolved, skipFinalEval: true, log: (l) => lines.push(l) });
    expect(lines).toContain(
      'note: train.batchSize 100 is larger than the 40 training examples: each step sees an example about 2.5 times',
    );
  });

  it('says when a shorter step count leaves nothing to train', () => {
    const train = { warmup: 0, lr: 1e-3, teacherWarmup: 0 } as Parameters<typeof scheduleChange>[3];
    expect(scheduleChange(10, 20, 20, train)).toEqual([]);
    expect(scheduleChange(10, 20, 8, train).at(-1)).toBe('the run is already at step 10: nothing is left to train');
  });
});
