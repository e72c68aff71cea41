// The report: methods ranked by mean accuracy over seeds, each against the reference methods on
// the seeds both have, with the hand-computable difference.
import { gridFrom } from '../src/grid-file.js';
import { planRuns } from '../src/plan.js';
import { makeReport, reportMarkdown } from '../src/report.js';
import type { RunRecord } from '../src/store.js';

const grid = gridFrom(
  {
    name: 'g',
    seeds: [0, 1],
    stages: [
      { name: 'backbone', presets: ['tiny-llama', 'full-cot'] },
      { name: 'methods', from: 'backbone', presets: ['tiny-llama'], methods: { ref: {}, mine: {}, late: {} } },
    ],
    report: { against: ['ref'] },
  },
  '/g/grid.yaml',
);
const runs = planRuns(grid);
const rec = (id: string, perQuestion: string): RunRecord => {
  const run = runs.find((r) => r.id === id)!;
  const correct = [...perQuestion].filter((c) => c === '1').length;
  return {
    experiment: 'g',
    id,
    method: run.method,
    traces: null,
    seed: run.seed,
    accuracy: correct / perQuestion.length,
    correct,
    questions: perQuestion.length,
    trainSeconds: 0,
    curve: [],
    perQuestion,
    settings: run.settings,
  };
};

describe('makeReport', () => {
  const records = [
    rec('backbone-seed0', '1111'),
    rec('ref-seed0', '1000'),
    rec('ref-seed1', '1100'),
    rec('mine-seed0', '1110'),
    rec('mine-seed1', '1111'),
    rec('late-seed1', '0000'),
    { ...rec('backbone-seed1', '1111'), settings: 'made with other settings' },
  ];
  const report = makeReport(grid, runs, records);

  it('ranks the methods by mean accuracy over their seeds', () => {
    const rows = report.tables[0]!.rows;
    expect(rows.map((r) => r.method)).toEqual(['mine', 'ref', 'late']);
    expect(rows[0]).toMatchObject({ seeds: [0, 1], accuracies: [0.75, 1], mean: 0.875 });
    expect(rows[0]!.std).toBeCloseTo(Math.sqrt(0.03125), 12);
  });

  it('takes each difference on the seeds both methods have', () => {
    const [mine, , late] = report.tables[0]!.rows;
    expect(mine!.against.ref).toMatchObject({ seeds: [0, 1], perSeed: [0.5, 0.5] });
    expect(mine!.against.ref!.diff).toBeCloseTo(0.5, 12);
    expect(mine!.against.ref!.lo).toBeLessThanOrEqual(0.5);
    expect(late!.against.ref).toMatchObject({ seeds: [1], perSeed: [-0.5] });
    expect(report.tables[0]!.rows[1]!.against).toEqual({}); // the reference is not compared with itself
  });

  it('shares a rank between equal means, shows no spread for one seed, and refuses pairs scored on other questions', () => {
    const tied = makeReport(grid, runs, [
      rec('ref-seed0', '1000'),
      rec('mine-seed0', '1000'),
      rec('late-seed0', '11'), // scored on two questions, not four
    ]);
    const rows = tied.tables[0]!.rows;
    expect(rows.map((r) => [r.method, r.rank])).toEqual([
      ['late', 1],
      ['ref', 2],
      ['mine', 2],
    ]);
    expect(rows[0]!.against.ref).toBeNull();
    const md = reportMarkdown(tied);
    expect(md).toContain('| 2 | mine | 25.0 (1 seed) | 0: 25.0 | +0.0 [+0.0, +0.0] |');
    expect(md).toContain('| 1 | late | 100.0 (1 seed) | 0: 100.0 | – (no shared seed, or other questions) |');
  });

  it('lists the starting points and what has no current record', () => {
    expect(report.startingPoints).toEqual([{ id: 'backbone-seed0', accuracy: 1 }]);
    expect(report.missing).toEqual(['backbone-seed1', 'late-seed0']);
    const md = reportMarkdown(report);
    expect(md).toContain('| 1 | mine | 87.5 ± 17.7 (2 seeds) | 0: 75.0, 1: 100.0 | +50.0 [');
    expect(md).toMatch(/\| 3 \| late \| 0\.0 \(1 seed\) \| 1: 0\.0 \| -50\.0 \[[-+]?[\d.]+, [-+]?[\d.]+\] \|/);
    expect(md).toContain('Not yet run: backbone-seed1, late-seed0.');
  });
});
