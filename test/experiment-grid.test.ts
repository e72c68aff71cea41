// `kava experiment run GRID` on a tiny two-stage grid, as a user runs it: it trains every run,
// writes one record per run and the report; a second call trains nothing; a fresh clone (records
// committed, run folders and models gone) retrains only the backbone a missing run needs, keeping
// the backbone's record as it was; and a mistake in the grid stops it before anything trains.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_GRID } from './tiny-grid.js';

const KAVA = resolve(dirname(fileURLToPath(import.meta.url)), '../packages/cli/bin/kava.js');

const kava = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [KAVA, 'experiment', ...args], { cwd, encoding: 'utf8' });
const IDS = [
  'backbone-equation-seed0',
  'backbone-equation-seed1',
  'kava-rkv-equation-seed0',
  'kava-value-norm-equation-seed0',
  'kava-rkv-equation-seed1',
  'kava-value-norm-equation-seed1',
];

describe('kava experiment run (local executor)', () => {
  let dir: string;
  const results = () => join(dir, 'experiments/tiny/results');
  const record = (id: string) => join(results(), `${id}.json`);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-grid-'));
    writeFileSync(join(dir, 'grid.yaml'), TINY_GRID);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains every run of the grid, a record each, and writes the report', () => {
    const r = kava(dir, 'run', 'grid.yaml', '--jobs', '2');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('tiny: 6 runs (backbone: 2, methods: 4), 0 done; 6 to train');
    for (const id of IDS) {
      const rec = JSON.parse(readFileSync(record(id), 'utf8'));
      expect(rec).toMatchObject({ experiment: 'tiny', id, traces: 'equation', questions: 8 });
      expect(rec.perQuestion).toMatch(/^[01]{8}$/);
    }
    const rkv = JSON.parse(readFileSync(record('kava-value-norm-equation-seed1'), 'utf8'));
    const backbone = JSON.parse(readFileSync(record('backbone-equation-seed1'), 'utf8'));
    expect(rkv.backbone.sha256).toBe(backbone.sha256); // it names the build it started from
    expect(rkv.mode).toBe('latent');
    const report = readFileSync(join(dir, 'experiments/tiny/report.md'), 'utf8');
    expect(report).toMatch(
      /\| kava-value-norm \| [\d.]+ ± [\d.]+ \(2 seeds\) \| 0: [\d.]+, 1: [\d.]+ \| [+-][\d.]+ \[/,
    );
    expect(JSON.parse(readFileSync(join(dir, 'experiments/tiny/report.json'), 'utf8')).missing).toEqual([]);
    for (const chart of ['report.svg', 'curves.svg'])
      expect(readFileSync(join(dir, 'experiments/tiny', chart), 'utf8')).toMatch(
        /^<svg[\s\S]*kava-value-norm[\s\S]*<\/svg>$/,
      );
  }, 600_000);

  it('a second call trains nothing and leaves every record as it was', () => {
    const before = IDS.map((id) => statSync(record(id)).mtimeMs);
    const r = kava(dir, 'run', 'grid.yaml');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('6 done; 0 to train');
    expect(IDS.map((id) => statSync(record(id)).mtimeMs)).toEqual(before);
    const status = kava(dir, 'status', 'grid.yaml');
    expect(status.stdout).toMatch(/kava-rkv-equation-seed1 +done +[\d.]+ % \(\d\/8\)/);
    expect(status.stdout).toContain('tiny: 6 done');
  });

  it('on a fresh clone (records only) retrains just the backbone a missing run of the slice needs, keeping its record', () => {
    rmSync(join(dir, 'experiments/tiny/runs'), { recursive: true });
    rmSync(record('kava-rkv-equation-seed1'));
    rmSync(record('kava-value-norm-equation-seed0')); // outside the slice below: stays missing
    const backbone = readFileSync(record('backbone-equation-seed1'), 'utf8');
    const other = readFileSync(record('kava-rkv-equation-seed0'), 'utf8');
    // --on-record runs once per new record (the rebuilt backbone keeps its record: no call).
    const r = kava(
      dir,
      'run',
      'grid.yaml',
      '--seeds',
      '1',
      '--on-record',
      'echo "$KAVA_RUN $KAVA_RECORD" >> recorded.txt',
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('4 done; 2 to train: backbone-equation-seed1, kava-rkv-equation-seed1');
    expect(readFileSync(join(dir, 'recorded.txt'), 'utf8')).toBe(
      `kava-rkv-equation-seed1 ${record('kava-rkv-equation-seed1')}\n`,
    );
    expect(existsSync(record('kava-value-norm-equation-seed0'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'experiments/tiny/report.json'), 'utf8')).missing).toEqual([
      'kava-value-norm-equation-seed0',
    ]);
    expect(r.stdout).toMatch(/backbone-equation-seed1: rebuilt, [\d.]+ % against the record's [\d.]+ %/);
    expect(readFileSync(record('backbone-equation-seed1'), 'utf8')).toBe(backbone);
    expect(readFileSync(record('kava-rkv-equation-seed0'), 'utf8')).toBe(other);
    expect(existsSync(record('kava-rkv-equation-seed1'))).toBe(true);
    expect(existsSync(join(dir, 'experiments/tiny/runs/backbone-equation-seed0'))).toBe(false);
  }, 600_000);

  it("stops at a mistake in the grid or in a run's config before anything trains (exit 2)", () => {
    const bad = mkdtempSync(join(tmpdir(), 'kava-grid-bad-'));
    try {
      writeFileSync(join(bad, 'typo.yaml'), TINY_GRID.replace('seeds:', 'sedes:'));
      const typo = kava(bad, 'run', 'typo.yaml');
      expect(typo.status).toBe(2);
      expect(typo.stderr).toMatch(/typo\.yaml: sedes.*did you mean "seeds"/);
      writeFileSync(join(bad, 'scorer.yaml'), TINY_GRID.replace('scorer: value-norm', 'scorer: value-nrom'));
      const scorer = kava(bad, 'run', 'scorer.yaml');
      expect(scorer.status).toBe(2);
      expect(scorer.stderr).toMatch(/scorer\.yaml: run kava-value-norm-equation-seed0 \(stage methods\):.*value-nrom/s);
      expect(existsSync(join(bad, 'experiments'))).toBe(false);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
