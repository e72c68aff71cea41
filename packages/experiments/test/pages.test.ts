// The replication's pages (report.kind replication, study, probe), made from records alone: the
// block each keeps in docs/results.md, the done criteria, the comparisons a page is read for.
// (That the committed pages are remade byte for byte is test/experiment-pages.test.ts.)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PageInput } from '../src/pages/common.js';
import { chooseRecipes, foldInto, otherBuilds, writeReplicationPage, writeStudyPage } from '../src/pages/index.js';
import type { RunRecord } from '../src/store.js';

/** A run's record (one character per question in `perQuestion`). */
const record = (id: string, method: string, perQuestion: string, more: Partial<RunRecord> = {}): RunRecord => {
  const accuracy = [...perQuestion].filter((c) => c === '1').length / perQuestion.length;
  return {
    experiment: 'two-stage',
    id,
    method,
    traces: 'equation',
    seed: 0,
    accuracy,
    correct: Math.round(accuracy * perQuestion.length),
    questions: perQuestion.length,
    forwardPassesPerQuestion: 6,
    kvEntriesPerQuestion: 58,
    trainSeconds: 60,
    curve: [{ step: 10, accuracy }],
    perQuestion,
    settings: '{}',
    ...more,
  };
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kava-pages-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A page's input: `records` as the grid reads them, the runs root with one folder of them. */
function input(experiment: string, records: RunRecord[], over: Partial<PageInput>): PageInput {
  const runsRoot = join(dir, 'runs');
  const resultsDir = join(runsRoot, experiment);
  mkdirSync(resultsDir, { recursive: true });
  for (const r of records) writeFileSync(join(resultsDir, `${r.id}.json`), JSON.stringify(r));
  return {
    experiment,
    records,
    backboneMethod: 'stage1-full-cot',
    methods: [],
    traces: ['equation'],
    seeds: [0],
    reportDir: dir,
    resultsDir,
    runsRoot,
    wallMinutes: 0,
    render: async () => '<svg></svg>',
    print: () => undefined,
    ...over,
  };
}

describe('the block a page keeps in docs/results.md', () => {
  it('replaces only what stands between the markers, again and again', () => {
    const file = join(dir, 'results.md');
    writeFileSync(
      file,
      '# Results\n\nBy hand.\n\n<!-- two-stage:begin (generated) -->\nold table\n<!-- two-stage:end -->\n\nMore prose.\n',
    );
    expect(foldInto(file, 'two-stage', '| a |\n|---|\n| 1 |')).toBe(true);
    expect(foldInto(file, 'two-stage', '| a |\n|---|\n| 2 |')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(
      '# Results\n\nBy hand.\n\n<!-- two-stage:begin (generated) -->\n\n| a |\n|---|\n| 2 |\n\n<!-- two-stage:end -->\n\nMore prose.\n',
    );
  });

  it('leaves a file without its markers (or another experiment’s) untouched', () => {
    const file = join(dir, 'results.md');
    const text = '# Results\n\n<!-- two-stage-ablation:begin -->\nx\n<!-- two-stage-ablation:end -->\n';
    writeFileSync(file, text);
    expect(foldInto(file, 'two-stage', 'table')).toBe(false);
    expect(foldInto(join(dir, 'missing.md'), 'two-stage', 'table')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('the replication page', () => {
  it('measures an ablation against the KaVa/R-KV run it shares with another grid', async () => {
    const records = [
      record('kava-rkv-m4-equation-seed0', 'kava-rkv-m4', '1111111111'),
      record('kava-rkv-equation-seed0', 'kava-rkv', '1111100000'),
      record('stage1-equation-seed0', 'stage1-full-cot', '1111111100'),
    ];
    await writeReplicationPage(input('two-stage-ablation', records, { methods: ['kava-rkv', 'kava-rkv-m4'] }));
    const md = readFileSync(join(dir, 'results-two-stage-ablation.md'), 'utf8');
    expect(md).toMatch(/- equation: kava-rkv-m4 − kava-rkv = \+50\.0 \[/);
    expect(md).toContain('- equation seed 0: 80.0 % (8/10');
    expect(md).not.toContain('no-cot'); // the grid's baselines are not part of the ablation
    expect(md).toContain('- equation: backbones (stage 1) seed 0 80.0 %: each ≥ 60 %');
  });

  it('names each seed whose backbone stayed below 60 %, and the seeds not trained yet', async () => {
    const records = [
      record('stage1-equation-seed0', 'stage1-full-cot', '1111111000'), // 70 %
      record('stage1-equation-seed1', 'stage1-full-cot', '1111100000', { seed: 1 }), // 50 %
      record('full-cot-equation-seed0', 'full-cot', '1111111100'),
      record('no-cot-equation-seed0', 'no-cot', '1100000000'),
    ];
    await writeReplicationPage(input('two-stage', records, { methods: ['no-cot', 'full-cot'], seeds: [0, 1, 2] }));
    const md = readFileSync(join(dir, 'results-replication.md'), 'utf8');
    expect(md).toContain(
      '- equation: backbones (stage 1) seed 0 70.0 %, seed 1 50.0 %, seed 2 not trained yet: below 60 % on seed 1',
    );
    expect(md).toContain('- equation: full CoT 80.0 %, no-CoT 20.0 %, gap +60.0 points over seed(s) 0: holds');
  });
});

describe('the latent study page', () => {
  const run = (method: string, seed: number, own: string, shuffled?: string, placeholder?: string) =>
    record(`${method}-nl-seed${seed}`, method, own, {
      experiment: 'latent-study-stage2-3000',
      traces: 'nl',
      seed,
      stage2Steps: 3000,
      ...(shuffled
        ? {
            accuracyLatentsShuffled: [...shuffled].filter((c) => c === '1').length / shuffled.length,
            accuracyLatentsPlaceholder: [...placeholder!].filter((c) => c === '1').length / placeholder!.length,
            perQuestionLatentsShuffled: shuffled,
            perQuestionLatentsPlaceholder: placeholder!,
            clipFraction: 0.25,
            termGradNorms: { codi: { firstHalf: 2, secondHalf: 1 }, step: { firstHalf: 3, secondHalf: 1.5 } },
          }
        : {}),
    });

  it('gives seed-aware intervals, the dependence on the latents and the gradient table', async () => {
    const records = [
      run('no-cot', 0, '1100000000'),
      run('no-cot', 1, '1100000000'),
      // KaVa beats no-CoT by +20 points on both seeds; with shuffled latents it falls back to no-CoT's level.
      run('kava-rkv', 0, '1111000000', '1100000000', '1000000000'),
      run('kava-rkv', 1, '1111000000', '1100000000', '1000000000'),
    ];
    await writeStudyPage(
      input('latent-study-stage2-3000', records, { methods: ['no-cot', 'kava-rkv'], traces: ['nl'], seeds: [0, 1] }),
      false,
    );
    const md = readFileSync(join(dir, 'results-latent-study-stage2-3000.md'), 'utf8');
    expect(md).toContain('## Verbose NL traces: held-out test accuracy after 3000 stage-2 steps');
    expect(md).toContain('| kava-rkv | 40.0 ± 0.0 (2) | 0: 40.0, 1: 40.0 | 20.0 | 10.0 | 25.0 |');
    expect(md).toMatch(/\| kava-rkv − no-cot \| \+20\.0 \[[^\]]+\] \| \+20\.0, \+20\.0 \|/);
    expect(md).toMatch(/\| kava-rkv: own − shuffled \| \+20\.0 \[/);
    expect(md).toMatch(/\| kava-rkv: own − placeholder \| \+30\.0 \[/);
    expect(md).toContain('| kava-rkv | 1.00 | 1.50 |');
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>[];
    expect(json).toHaveLength(4);
    const kava = json.find((r) => r.method === 'kava-rkv')!;
    expect(Object.keys(kava)).toEqual(expect.arrayContaining(['accuracyLatentsShuffled', 'stage2Steps']));
    expect(json.some((r) => Object.keys(r).some((k) => k.startsWith('perQuestion') || k === 'settings'))).toBe(false);
  });

  it('reads the steps of a record without stage2Steps from its curve, and results.json skips a stray file', async () => {
    const records = [record('no-cot-nl-seed0', 'no-cot', '1100000000', { traces: 'nl', curve: [{ step: 600, accuracy: 0.2 }] })];
    const page = input('latent-probe-stage2-600', records, { methods: ['no-cot'], traces: ['nl'] });
    writeFileSync(join(page.runsRoot, 'README.md'), 'not a folder of records');
    await writeStudyPage(page, true);
    const md = readFileSync(join(dir, 'results-latent-probe-stage2-600.md'), 'utf8');
    expect(md).toContain('## Verbose NL traces: validation accuracy after 600 stage-2 steps');
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toHaveLength(1);
  });

  it('the recipe rule picks the best validation accuracy per family, a tie keeping the committed recipe', () => {
    const r = (method: string, accuracy: number) => record(method, method, '1', { accuracy });
    expect(
      chooseRecipes([
        r('kava-rkv', 0.5),
        r('kava-rkv-latent-keys', 0.55),
        r('codi', 0.5),
        r('codi-alpha10-warm', 0.5),
        r('no-cot', 0.9),
      ]),
    ).toEqual({ 'kava-rkv': 'kava-rkv-latent-keys', codi: 'codi' });
  });
});

// The backbones are not committed, so a fresh machine retrains them; a page must say when a
// compared run did not start from its seed's recorded build, or a paired comparison with that
// seed's other runs would compare two backbones without saying so.
const stage1s = [
  { method: 'stage1-full-cot', traces: 'equation', seed: 1, accuracy: 0.685 }, // recorded before fingerprints
  { method: 'stage1-full-cot', traces: 'nl', seed: 0, accuracy: 0.6325, sha256: 'aaa' },
];
const run = (method: string, traces: string, seed: number, backbone?: object) =>
  ({ method, traces, seed, backbone }) as unknown as RunRecord;

describe('the replication page: which build of its backbone a stage-2 run started from', () => {
  it('runs from the committed build, or recorded before fingerprints, are not named', () => {
    expect(
      otherBuilds(stage1s as RunRecord[], [
        run('codi', 'equation', 1), // no record: made from the committed build
        run('kava-rkv', 'equation', 1, { teacherAccuracy: 0.685, sha256: 'x' }), // no committed hash: same teacher
        run('pccot', 'nl', 0, { teacherAccuracy: 0.6325, sha256: 'aaa' }),
      ]),
    ).toEqual([]);
  });

  it('a rebuild is named with both teachers, by hash where the committed build has one', () => {
    const lines = otherBuilds(stage1s as RunRecord[], [
      run('kava-keydiff', 'equation', 1, { teacherAccuracy: 0.593, sha256: 'x' }),
      // Same teacher accuracy by chance, other weights: the hash decides.
      run('kava-random', 'nl', 0, { teacherAccuracy: 0.6325, sha256: 'bbb' }),
    ]);
    expect(lines).toEqual([
      "kava-keydiff, equation, seed 1: from a rebuild of its backbone (teacher 59.3 %; the committed build's 68.5 %)",
      "kava-random, nl, seed 0: from a rebuild of its backbone (teacher 63.2 %; the committed build's 63.2 %)",
    ]);
  });
});
