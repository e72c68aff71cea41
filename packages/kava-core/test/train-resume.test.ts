// Resuming is the run's own saved configuration with only the named settings changed; its
// config.json is never rewritten, each resume's changes go to resumes.jsonl beside it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, readJsonLines, resolveRunConfig, scheduleChange, train } from '@kava/core/app';
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
    const lines: string[] = [];
    const resumed = await train({
      resolved: again,
      resume: first.runDir,
      skipFinalEval: true,
      log: (l) => lines.push(l),
    });
    expect(resumed.steps).toBe(6);
    const said = lines.join('\n');
    expect(said).toContain('resume changes: train.steps 4 → 6');
    expect(said).toMatch(
      /total steps 4 → 6: the learning-rate schedule now runs over 6 steps .*step 5 trains at lr [\d.e-]+ instead of 0/,
    );
    expect(said).toContain('the teacher warm-up (train.teacherWarmup 0.5) now ends after step 3 instead of 2');
    expect(readFileSync(configFile, 'utf8')).toBe(original);

    // A resume that changes nothing says so; both are recorded beside config.json.
    const same = await resolveRunConfig(first.runDir, { builtinPlugins: BUILTIN_PLUGINS });
    const lines2: string[] = [];
    await train({ resolved: same, resume: first.runDir, skipFinalEval: true, log: (l) => lines2.push(l) });
    expect(lines2).toContain("resume: the run's own settings, nothing changed");
    expect(readFileSync(configFile, 'utf8')).toBe(original);
    const resumes = readJsonLines<{ step: number; changes: Record<string, unknown> }>(
      join(first.runDir, 'resumes.jsonl'),
    );
    expect(resumes.map((r) => [r.step, r.changes])).toEqual([
      [4, { 'train.steps': { from: 4, to: 6 } }],
      [6, {}],
    ]);
  });

  it('says when a shorter step count leaves nothing to train', () => {
    const train = { warmup: 0, lr: 1e-3, teacherWarmup: 0 } as Parameters<typeof scheduleChange>[3];
    expect(scheduleChange(10, 20, 20, train)).toEqual([]);
    expect(scheduleChange(10, 20, 8, train).at(-1)).toBe('the run is already at step 10: nothing is left to train');
  });
});
