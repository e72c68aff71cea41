// docs/results.md leads with the replication's table, remade from the committed results by
// `npm run experiment -- --report-only`: the block between its markers is replaced, and the prose
// written by hand around it must survive every remake.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script module without type declarations
import { foldInto, writeReport } from '../scripts/lib/replication-report.mjs';
// @ts-expect-error: a plain .mjs script module without type declarations
import { chooseRecipes, writeStudyReport } from '../scripts/lib/study-report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A committed run's record as experiment.mjs writes it (one per question in `perQuestion`). */
const record = (id: string, method: string, perQuestion: string) => {
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
  };
};

describe('replication report: the block it keeps in docs/results.md', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

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

  it('measures an ablation against the grid’s KaVa/R-KV run, read from the grid’s folder', async () => {
    const ablations = join(dir, 'runs', 'two-stage-ablation');
    mkdirSync(ablations, { recursive: true });
    const variant = record('kava-rkv-m4-equation-seed0', 'kava-rkv-m4', '1111111111');
    writeFileSync(join(ablations, `${variant.id}.json`), JSON.stringify(variant));
    const shared = [
      record('kava-rkv-equation-seed0', 'kava-rkv', '1111100000'),
      record('stage1-equation-seed0', 'stage1-full-cot', '1111111100'),
    ];
    await writeReport({
      experiment: 'two-stage-ablation',
      root,
      resultsDir: ablations,
      shared,
      reportDir: dir,
      methods: ['kava-rkv', 'kava-rkv-m4'],
      traces: ['equation'],
      seeds: [0],
      quick: false,
      wallMinutes: 0,
    });
    const md = readFileSync(join(dir, 'results-two-stage-ablation.md'), 'utf8');
    expect(md).toMatch(/- equation: kava-rkv-m4 − kava-rkv = \+50\.0 \[/);
    expect(md).toContain('- equation seed 0: 80.0 % (8/10');
    expect(md).not.toContain('no-cot'); // the grid's baselines are not part of the ablation
    expect(md).toContain('- equation: backbones (stage 1) seed 0 80.0 %: each ≥ 60 %');
  }, 60_000);

  it('names each seed whose backbone stayed below 60 %, and the seeds not trained yet', async () => {
    const grid = join(dir, 'runs', 'two-stage');
    mkdirSync(grid, { recursive: true });
    const runs = [
      { ...record('stage1-equation-seed0', 'stage1-full-cot', '1111111000'), seed: 0 }, // 70 %
      { ...record('stage1-equation-seed1', 'stage1-full-cot', '1111100000'), seed: 1 }, // 50 %
      { ...record('full-cot-equation-seed0', 'full-cot', '1111111100'), seed: 0 },
      { ...record('no-cot-equation-seed0', 'no-cot', '1100000000'), seed: 0 },
    ];
    for (const r of runs) writeFileSync(join(grid, `${r.id}.json`), JSON.stringify(r));
    await writeReport({
      experiment: 'two-stage',
      root,
      resultsDir: grid,
      reportDir: dir,
      methods: ['no-cot', 'full-cot'],
      traces: ['equation'],
      seeds: [0, 1, 2],
      quick: false,
      wallMinutes: 0,
    });
    const md = readFileSync(join(dir, 'results-replication.md'), 'utf8');
    expect(md).toContain(
      '- equation: backbones (stage 1) seed 0 70.0 %, seed 1 50.0 %, seed 2 not trained yet: below 60 % on seed 1',
    );
    expect(md).toContain('- equation: full CoT 80.0 %, no-CoT 20.0 %, gap +60.0 points over seed(s) 0: holds');
  }, 60_000);
});

describe('the latent study report', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-study-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (method: string, seed: number, own: string, shuffled?: string, placeholder?: string) => ({
    ...record(`${method}-nl-seed${seed}`, method, own),
    experiment: 'latent-study-stage2-3000',
    traces: 'nl',
    seed,
    stage2Steps: 3000,
    ...(shuffled
      ? {
          accuracyLatentsShuffled: [...shuffled].filter((c) => c === '1').length / shuffled.length,
          accuracyLatentsPlaceholder: [...placeholder!].filter((c) => c === '1').length / placeholder!.length,
          perQuestionLatentsShuffled: shuffled,
          perQuestionLatentsPlaceholder: placeholder,
          clipFraction: 0.25,
          termGradNorms: { codi: { firstHalf: 2, secondHalf: 1 }, step: { firstHalf: 3, secondHalf: 1.5 } },
        }
      : {}),
  });

  it('gives seed-aware intervals, the dependence on the latents and the gradient table', async () => {
    const study = join(dir, 'runs', 'latent-study-stage2-3000');
    mkdirSync(study, { recursive: true });
    const runs = [
      run('no-cot', 0, '1100000000'),
      run('no-cot', 1, '1100000000'),
      // KaVa beats no-CoT by +20 points on both seeds; with shuffled latents it falls back to no-CoT's level.
      run('kava-rkv', 0, '1111000000', '1100000000', '1000000000'),
      run('kava-rkv', 1, '1111000000', '1100000000', '1000000000'),
    ];
    for (const r of runs) writeFileSync(join(study, `${r.id}.json`), JSON.stringify(r));
    await writeStudyReport({
      experiment: 'latent-study-stage2-3000',
      resultsDir: study,
      reportDir: dir,
      methods: ['no-cot', 'kava-rkv'],
      traces: ['nl'],
      seeds: [0, 1],
      wallMinutes: 0,
      probe: false,
    });
    const md = readFileSync(join(dir, 'results-latent-study-stage2-3000.md'), 'utf8');
    expect(md).toContain('| kava-rkv | 40.0 ± 0.0 (2) | 0: 40.0, 1: 40.0 | 20.0 | 10.0 | 25.0 |');
    expect(md).toMatch(/\| kava-rkv − no-cot \| \+20\.0 \[[^\]]+\] \| \+20\.0, \+20\.0 \|/);
    expect(md).toMatch(/\| kava-rkv: own − shuffled \| \+20\.0 \[/);
    expect(md).toMatch(/\| kava-rkv: own − placeholder \| \+30\.0 \[/);
    expect(md).toContain('| kava-rkv | 1.00 | 1.50 |');
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>[];
    expect(json).toHaveLength(4);
    const kava = json.find((r) => r.method === 'kava-rkv')!;
    expect(Object.keys(kava)).toEqual(expect.arrayContaining(['accuracyLatentsShuffled', 'stage2Steps']));
    expect(json.some((r) => Object.keys(r).some((k) => k.startsWith('perQuestion')))).toBe(false);
  }, 60_000);

  it('the recipe rule picks the best validation accuracy per family, a tie keeping the committed recipe', () => {
    const r = (method: string, accuracy: number) => ({ method, accuracy });
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
