// The pages of docs/results are made by `kava experiment report` from the committed records and
// the grid files of docs/results/grids/ alone (`npm run experiment -- --report-only` remakes them
// all): remade into another folder, every page, chart, the blocks of results.md and results.json
// are the committed ones byte for byte, the machine lines aside, so a record and a page can never
// disagree.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** This call's machine and wall time differ from the committing call's; nothing else may. */
const machineAside = (text: string) =>
  text
    .replace(/^machine \(this call\): .*$/gm, 'machine (this call): –')
    .replace(/this call's wall time: [\d.]+ min/g, "this call's wall time: – min");

describe('npm run experiment -- --report-only', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-pages-'));
    copyFileSync(join(root, 'docs/results.md'), join(dir, 'results.md'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('remakes every committed page of docs/ from the records, byte for byte', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'scripts/experiment.mjs'), '--report-only', '--report-dir', dir],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const made = readdirSync(dir).sort();
    // Every grid whose report is a page of docs/: the replication, its budgets, the ablations, the study, the probe.
    for (const page of [
      'results-replication.md',
      'results-two-stage-stage1-3000.md',
      'results-two-stage-stage2-3000.md',
      'results-two-stage-stage1-3000-stage2-3000.md',
      'results-two-stage-ablation.md',
      'results-latent-study-stage2-3000.md',
      'results-latent-probe-stage2-3000.md',
      'results.json',
    ])
      expect(made).toContain(page);
    for (const file of made) {
      const [mine, committed] = [readFileSync(join(dir, file), 'utf8'), readFileSync(join(root, 'docs', file), 'utf8')];
      if (mine !== committed)
        expect({ file, text: machineAside(mine) }).toEqual({ file, text: machineAside(committed) });
    }
  }, 180_000);
});
