// A grid expanded into runs: ids, configs, and the settings that decide when a record is reused.
import { gridFrom } from '../src/grid-file.js';
import { planRuns } from '../src/plan.js';

const grid = (over: Record<string, unknown> = {}) =>
  gridFrom(
    {
      name: 'g',
      seeds: [0, 1],
      traces: ['equation', 'nl'],
      config: { plugins: ['./my-scorer', 'kava-plugin-example'], data: { format: 'synthetic', test: '../t.jsonl' }, eval: { limit: 50 } },
      stages: [
        { name: 'backbone', presets: ['tiny-llama', 'full-cot'], config: { train: { steps: 300 } } },
        {
          name: 'methods',
          from: 'backbone',
          presets: ['tiny-llama'],
          config: { train: { steps: 60 } },
          methods: { 'kava-rkv': { presets: ['kava'], config: { compression: { scorer: 'rkv' } } }, 'no-cot': { presets: ['no-cot'] } },
        },
      ],
      ...over,
    },
    '/work/grids/g.yaml',
  );

describe('planRuns', () => {
  it('makes one run per stage, (method,) trace style and seed, each after the run it fine-tunes', () => {
    const runs = planRuns(grid());
    expect(runs.map((r) => r.id)).toEqual([
      'backbone-equation-seed0',
      'backbone-equation-seed1',
      'backbone-nl-seed0',
      'backbone-nl-seed1',
      'kava-rkv-equation-seed0',
      'no-cot-equation-seed0',
      'kava-rkv-equation-seed1',
      'no-cot-equation-seed1',
      'kava-rkv-nl-seed0',
      'no-cot-nl-seed0',
      'kava-rkv-nl-seed1',
      'no-cot-nl-seed1',
    ]);
    const rkv = runs.find((r) => r.id === 'kava-rkv-nl-seed1')!;
    expect(rkv).toMatchObject({ stage: 'methods', method: 'kava-rkv', trace: 'nl', seed: 1, from: 'backbone-nl-seed1' });
    expect(rkv.presets).toEqual(['tiny-llama', 'kava']);
    expect(rkv.config).toMatchObject({
      train: { steps: 60, seed: 1 },
      data: { trace: 'nl', shuffleSeed: 1, format: 'synthetic' },
      compression: { scorer: 'rkv' },
      eval: { limit: 50 },
    });
    expect(runs.filter((r) => r.exported).map((r) => r.stage)).toEqual(Array(4).fill('backbone'));
  });

  it('makes paths written relative to the grid file absolute, but keeps them as written in the settings', () => {
    const run = planRuns(grid())[0]!;
    expect(run.config.plugins).toEqual(['/work/grids/my-scorer', 'kava-plugin-example']);
    expect((run.config.data as { test: string }).test).toBe('/work/t.jsonl');
    expect(run.settings).toContain('"./my-scorer"');
    expect(run.settings).not.toContain('/work/grids');
  });

  it("changes a run's settings when its own config or the run it starts from changes, and no other's", () => {
    const before = new Map(planRuns(grid()).map((r) => [r.id, r.settings]));
    const changed = grid();
    changed.stages[0]!.config = { train: { steps: 400 } };
    const after = new Map(planRuns(changed).map((r) => [r.id, r.settings]));
    for (const [id, s] of after) expect(s === before.get(id)).toBe(false); // every run stands on the backbone
    const other = grid();
    other.stages[1]!.methods!['no-cot']!.config = { train: { lr: 5e-4 } };
    const third = new Map(planRuns(other).map((r) => [r.id, r.settings]));
    for (const [id, s] of third) expect(s === before.get(id)).toBe(!id.startsWith('no-cot'));
  });

  it('takes settings by value, not by where the file writes a key, and makes bare data paths absolute', () => {
    const a = grid({ config: { data: { format: 'synthetic', test: 'data/t.jsonl' }, eval: { limit: 50 } } });
    const b = grid({ config: { eval: { limit: 50 }, data: { test: 'data/t.jsonl', format: 'synthetic' } } });
    expect(planRuns(a).map((r) => r.settings)).toEqual(planRuns(b).map((r) => r.settings));
    expect((planRuns(a)[0]!.config.data as { test: string }).test).toBe('/work/grids/data/t.jsonl');
    const hub = grid({ config: { data: { train: 'hf:openai/gsm8k:train' } } });
    expect((planRuns(hub)[0]!.config.data as { train: string }).train).toBe('hf:openai/gsm8k:train');
    const runs = planRuns(a);
    const rkv = runs.find((r) => r.id === 'kava-rkv-nl-seed1')!;
    expect(rkv.fromSettings).toBe(runs.find((r) => r.id === 'backbone-nl-seed1')!.settings);
  });

  it('names runs without a trace when the grid leaves the trace style to the config', () => {
    const runs = planRuns(grid({ traces: undefined, seeds: [3] }));
    expect(runs.map((r) => r.id)).toEqual(['backbone-seed3', 'kava-rkv-seed3', 'no-cot-seed3']);
    expect((runs[0]!.config.data as Record<string, unknown>).trace).toBeUndefined();
  });
  it("trains a method only in its trace styles, names a stage's records by its label, and keeps shared records elsewhere", () => {
    const g = grid({
      stages: [
        { name: 'backbone', method: 'backbone-cot', presets: ['tiny-llama', 'full-cot'], results: '../shared/results' },
        {
          name: 'methods',
          from: 'backbone',
          presets: ['tiny-llama'],
          methods: { a: { presets: ['kava'], traces: ['nl'] }, b: { presets: ['codi'], results: '../other' } },
        },
      ],
    });
    const runs = planRuns(g);
    expect(runs.filter((r) => r.method === 'a').map((r) => r.id)).toEqual(['a-nl-seed0', 'a-nl-seed1']);
    const backbone = runs.find((r) => r.id === 'backbone-nl-seed1')!;
    expect(backbone.method).toBe('backbone-cot');
    expect(backbone.results).toBe('/work/shared/results');
    expect(runs.find((r) => r.id === 'b-equation-seed0')!.results).toBe('/work/other');
    expect(runs.find((r) => r.id === 'a-nl-seed0')!.results).toBe(g.results);
  });
});
