// The grid file: what a user writes is read from YAML or JSON, and every mistake is named by file
// and field before anything trains.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gridFrom, gridSchema, loadGrid } from '../src/grid-file.js';

const __dirname_ = dirname(fileURLToPath(import.meta.url));

const stages = [
  { name: 'backbone', presets: ['tiny-llama', 'full-cot'] },
  { name: 'methods', from: 'backbone', presets: ['tiny-llama'], methods: { a: { presets: ['kava'] }, b: {} } },
];
const problem = (value: unknown): string => {
  try {
    gridFrom(value, '/g/grid.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the grid to be refused');
};

describe('grid file', () => {
  it('reads YAML and JSON alike, with folders beside the grid file by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-grid-'));
    writeFileSync(join(dir, 'g.yaml'), 'name: g\nseeds: [1, 2]\nstages:\n  - { name: s, presets: [tiny-llama] }\n');
    writeFileSync(join(dir, 'g.json'), JSON.stringify({ name: 'g', seeds: [1, 2], stages: [{ name: 's', presets: ['tiny-llama'] }] }));
    const [y, j] = [loadGrid(join(dir, 'g.yaml')), loadGrid(join(dir, 'g.json'))];
    expect(y.seeds).toEqual([1, 2]);
    expect(j.stages).toEqual(y.stages);
    expect(y.runs).toBe(join(dir, 'experiments/g/runs'));
    expect(y.results).toBe(join(dir, 'experiments/g/results'));
    expect(gridFrom({ name: 'g', stages, results: '../r' }, '/g/grid.yaml').results).toBe('/r');
    expect(y.reportDir).toBe(join(dir, 'experiments/g'));
    expect(gridFrom({ name: 'g', stages, report: { out: 'rep' } }, '/g/grid.yaml').reportDir).toBe('/g/rep');
  });

  it('names the file and the line of a YAML syntax error, and a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-grid-'));
    writeFileSync(join(dir, 'bad.yaml'), 'name: g\nstages: [\n  - oops: ]\n');
    expect(() => loadGrid(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml \(line \d\): not valid YAML or JSON/);
    expect(() => loadGrid(join(dir, 'none.yaml'))).toThrow(/cannot read the grid file .*none\.yaml/);
  });

  it('names each bad field: a misspelt key, a bad seed, an unknown trace style, a name that cannot be a folder', () => {
    const message = problem({ name: 'My Grid', seeds: [-1], traces: ['latex'], stage: [], stages });
    expect(message).toMatch(/grid\.yaml: name: expected lower-case letters/);
    expect(message).toMatch(/seeds\.0/);
    expect(message).toMatch(/traces\.0/);
    expect(message).toMatch(/stage.*did you mean "stages"/);
  });

  it('refuses a stage that starts from a later or unknown stage, and report methods the stage does not have', () => {
    expect(problem({ name: 'g', stages: [{ ...stages[1], from: 'nowhere' }] })).toMatch(
      /stages\.0\.from: expected an earlier stage without methods.*\(there is none\), got "nowhere"/,
    );
    expect(problem({ name: 'g', stages, report: { against: ['c'] } })).toMatch(
      /report\.against\.0: expected a method of stage "methods" \(a, b\), got "c"/,
    );
    expect(problem({ name: 'g', stages, report: { stage: 'x' } })).toMatch(/report\.stage: expected one of backbone, methods/);
  });

  it('refuses a `from` stage with methods (no one model to start from), an empty methods list, a seed or trace twice', () => {
    const methods = { name: 'm', presets: ['tiny-llama'], methods: { a: {} } };
    expect(problem({ name: 'g', stages: [methods, { ...stages[0], name: 'x', from: 'm' }] })).toMatch(
      /stages\.1\.from: expected an earlier stage without methods.*\(there is none\), got "m"/,
    );
    expect(problem({ name: 'g', stages: [{ ...methods, methods: {} }] })).toMatch(/stages\.0\.methods: expected at least one method/);
    expect(problem({ name: 'g', seeds: [0, 0], traces: ['nl', 'nl'], stages })).toMatch(
      /seeds: 0 is listed twice[\s\S]*traces: "nl" is listed twice/,
    );
  });

  it('refuses two stages of one name and a method named like a stage (their runs would share ids)', () => {
    expect(problem({ name: 'g', stages: [stages[0], stages[0]] })).toMatch(/"backbone" names two stages/);
    const clash = { ...stages[1], methods: { backbone: {} } };
    expect(problem({ name: 'g', stages: [stages[0], clash] })).toMatch(/"backbone" names both a stage and a method/);
  });
});

describe('extends', () => {
  const files = (entries: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'kava-grid-'));
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const base = [
    'name: base',
    'seeds: [0, 1, 2]',
    'traces: [equation, nl]',
    'config: { eval: { limit: 400 }, train: { batchSize: 16 } }',
    'stages:',
    '  - { name: backbone, method: backbone-cot, presets: [tiny-llama, full-cot], config: { train: { steps: 2000 } } }',
    '  - name: methods',
    '    from: backbone',
    '    presets: [tiny-llama]',
    '    config: { train: { steps: 1000 } }',
    '    methods: { a: { presets: [kava] }, b: { presets: [codi] } }',
    'report: { kind: replication, stage: methods, against: [a] }',
    '',
  ].join('\n');

  it('changes a grid beside it: objects key by key, stages by name, methods and lists replaced, null removes (not in a config)', () => {
    const dir = files({
      'base.yaml': base,
      'child.yaml': [
        'extends: base.yaml',
        'name: child',
        'seeds: [1]',
        'config: { train: { batchSize: 8 }, data: { train: null } }',
        'stages:',
        '  - { name: backbone, config: { train: { steps: 3000 } } }',
        '  - { name: methods, methods: { c: { presets: [pccot], traces: [nl] } } }',
        'report: { against: [], stage: null }',
        '',
      ].join('\n'),
    });
    const g = loadGrid(join(dir, 'child.yaml'));
    expect(g.name).toBe('child');
    expect(g.seeds).toEqual([1]);
    expect(g.traces).toEqual(['equation', 'nl']);
    // In a config, null is kava's own value (data.train: null, no training file), not a removal.
    expect(g.config).toEqual({ eval: { limit: 400 }, train: { batchSize: 8 }, data: { train: null } });
    expect(g.stages[0]).toMatchObject({ name: 'backbone', method: 'backbone-cot', config: { train: { steps: 3000 } } });
    expect(g.stages[0]!.presets).toEqual(['tiny-llama', 'full-cot']);
    expect(Object.keys(g.stages[1]!.methods!)).toEqual(['c']);
    expect(g.stages[1]!.config).toEqual({ train: { steps: 1000 } });
    expect(g.report).toMatchObject({ kind: 'replication', against: [] });
    expect(g.report.stage).toBeUndefined(); // null removed it
    expect(g.results).toBe(join(dir, 'experiments', 'child', 'results'));
  });

  it('refuses a base in another folder, a missing one and a loop, naming the file', () => {
    const dir = files({
      'a.yaml': 'extends: b.yaml\nname: a\n',
      'b.yaml': 'extends: a.yaml\nname: b\n',
      'up.yaml': 'extends: ../base.yaml\nname: up\n',
      'gone.yaml': 'extends: nowhere.yaml\nname: gone\n',
    });
    expect(() => loadGrid(join(dir, 'a.yaml'))).toThrow(/b\.yaml: extends: .*a\.yaml extends itself/);
    expect(() => loadGrid(join(dir, 'up.yaml'))).toThrow(/up\.yaml: extends: expected the name of a grid file in the same folder/);
    expect(() => loadGrid(join(dir, 'gone.yaml'))).toThrow(/gone\.yaml: extends: cannot read .*nowhere\.yaml/);
  });

  it("refuses a method's trace style the grid does not have, and a record label on a stage with methods", () => {
    const methods = { ...stages[1], methods: { a: { traces: ['nl'] } } };
    expect(problem({ name: 'g', traces: ['equation'], stages: [stages[0], methods] })).toMatch(
      /stages\.1\.methods\.a\.traces\.0: expected one of the grid's traces \(equation\), got "nl"/,
    );
    expect(problem({ name: 'g', stages: [stages[0], { ...stages[1], method: 'x' }] })).toMatch(
      /stages\.1\.method: names the records of a stage without methods, but this stage has methods/,
    );
  });
});

describe('docs/experiments.md', () => {
  it('documents every key of the grid file', () => {
    const page = readFileSync(join(__dirname_, '../../../docs/experiments.md'), 'utf8');
    const shape = gridSchema.shape;
    const keys = [
      ...Object.keys(shape).filter((k) => k !== 'slurm' && k !== 'report'), // documented key by key
      ...Object.keys(shape.stages.element.shape),
      ...Object.keys(shape.slurm.unwrap().shape).map((k) => `slurm.${k}`),
      ...Object.keys(shape.report.unwrap().shape).map((k) => `report.${k}`),
    ];
    for (const key of keys) expect(page).toContain(`\`${key}\``);
  });
});
