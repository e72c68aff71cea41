// docs/eviction.md and its chart are made by one command from the committed records
// (docs/results/eviction/): remade into another folder, the table is the committed one byte for
// byte, so a record and the page can never disagree, and the chart draws a line for every press.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts/eviction.mjs');

describe('the eviction report', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-eviction-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('--report-only remakes docs/eviction.md from the committed records, with a chart of every press and the distillation table', () => {
    const r = spawnSync(process.execPath, [script, '--report-only', '--report-dir', dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'eviction.md'), 'utf8')).toBe(readFileSync(join(root, 'docs/eviction.md'), 'utf8'));
    const svg = readFileSync(join(dir, 'eviction.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    const records = readdirSync(join(root, 'docs/results/eviction')).map((f) =>
      JSON.parse(readFileSync(join(root, 'docs/results/eviction', f), 'utf8')),
    );
    const presses = new Set(
      records
        .filter((x) => x.id !== 'full')
        .map((x) => (!x.evictor || x.evictor === 'topk' ? x.scorer : `${x.scorer} + ${x.evictor}`)),
    );
    expect(presses.size).toBeGreaterThanOrEqual(9);
    for (const press of presses) expect(svg).toContain(`>${press}</text>`);
    // The second table: every KaVa run distilled with a new press, by its committed numbers.
    const report = readFileSync(join(dir, 'eviction.md'), 'utf8');
    const distilled = join(root, 'docs/results/runs/two-stage-presses-stage1-3000');
    for (const f of readdirSync(distilled)) {
      const r = JSON.parse(readFileSync(join(distilled, f), 'utf8'));
      expect(report).toContain(`| ${r.method} | ${(100 * r.accuracy).toFixed(1)} (${r.correct}/${r.questions}) |`);
    }
  });

  test('a backbone that is not a run folder is refused by name', () => {
    const r = spawnSync(process.execPath, [script, '--backbone', `nl=${dir}/missing`, '--report-dir', dir], {
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--backbone nl=.*missing: expected TRACES=RUN_FOLDER/);
  });
});
