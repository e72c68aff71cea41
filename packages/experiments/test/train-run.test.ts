// The run-level guards of trainRun: one process per run, and a run fine-tunes only a model that
// was trained with the settings of the run it names (checked before any training starts).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRunDir } from '@kava/core/app';
import { gridFrom } from '../src/grid-file.js';
import { modelFolder, planRuns, runFolder } from '../src/plan.js';
import { ResultsStore } from '../src/store.js';
import { gradientsOf, hasModel, type RunContext, trainRun } from '../src/train-run.js';

const dir = mkdtempSync(join(tmpdir(), 'kava-train-run-'));
const grid = gridFrom(
  {
    name: 'g',
    stages: [
      { name: 'backbone', presets: ['tiny-llama', 'full-cot'] },
      { name: 'methods', from: 'backbone', presets: ['tiny-llama'], methods: { a: { presets: ['kava'] } } },
    ],
  },
  join(dir, 'grid.yaml'),
);
const [backbone, method] = planRuns(grid) as [ReturnType<typeof planRuns>[0], ReturnType<typeof planRuns>[0]];
const lines: string[] = [];
// `kava` is never started in these cases: a command that cannot run would fail the test loudly.
const ctx: RunContext = { grid, store: new ResultsStore(grid.results), kava: ['/nonexistent/kava'], version: '0', log: (l) => lines.push(l) };

describe('trainRun', () => {
  it('refuses a run another process holds, naming the holder, and touches nothing', async () => {
    const lock = lockRunDir(join(grid.runs, '.locks', backbone.id));
    try {
      const outcome = await trainRun(ctx, backbone);
      expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/being written by another training \(process \d+/) });
    } finally {
      lock.release();
    }
  });

  it('does not fine-tune from a model whose folder was trained with other settings', async () => {
    mkdirSync(modelFolder(grid, backbone.id), { recursive: true });
    writeFileSync(join(modelFolder(grid, backbone.id), 'config.json'), '{}');
    writeFileSync(join(runFolder(grid, backbone.id), 'settings.txt'), 'other settings');
    expect(hasModel(grid, backbone.id, backbone.settings)).toBe(false);
    const outcome = await trainRun(ctx, method);
    expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/is not in .* \(or was trained with other settings\)/) });
    writeFileSync(join(runFolder(grid, backbone.id), 'settings.txt'), backbone.settings);
    expect(hasModel(grid, backbone.id, backbone.settings)).toBe(true);
  });
});

describe('gradientsOf', () => {
  it("gives the clipped fraction and each term's median norm over each half of the measured steps", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-grads-'));
    const rows = [
      { step: 1, clipped: true, gradNorm: 4, termGradNorms: { ce: 1, kv: 0.1 } },
      { step: 2, clipped: false },
      { step: 3, clipped: true, gradNorm: 2, termGradNorms: { ce: 3, kv: 0.3 } },
      { step: 4, clipped: false, gradNorm: 6, termGradNorms: { ce: 5, kv: 0.5 } },
    ];
    writeFileSync(join(dir, 'metrics.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n{"step": 5, "cli`);
    expect(gradientsOf(dir)).toEqual({
      clipFraction: 0.5,
      termGradNorms: {
        // measured steps 1, 3, 4: the first half is step 1 and 3, the second step 4 (the upper median)
        ce: { firstHalf: 3, secondHalf: 5 },
        kv: { firstHalf: 0.3, secondHalf: 0.5 },
        step: { firstHalf: 4, secondHalf: 6 },
      },
    });
    expect(gradientsOf(join(dir, 'missing'))).toEqual({});
  });
});
