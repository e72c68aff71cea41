// `npm run experiment` is how a user reruns the replication: its options must say what they do,
// a mistyped one must be a usage error rather than a stack trace, and `--ablations` must default
// to the slice the docs promise (seed 1, equation traces). --report-only trains nothing, so the
// grid it announces can be checked in a second, into temporary folders that leave docs/ alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../scripts/experiment.mjs');
const experiment = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('npm run experiment: the command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kava-experiment-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the modes and exits 0', () => {
    const r = experiment('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--quick', '--ablations', '--report-only', '--seeds', '--commit'])
      expect(r.stdout).toContain(flag);
  });

  it('an unknown option is a usage error naming it', () => {
    const r = experiment('--seed', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("experiment: Unknown option '--seed'");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--ablations defaults to seed 1 and the equation traces: the reference and seven variants', () => {
    const r = experiment(
      '--ablations',
      '--report-only',
      '--out',
      join(dir, 'out'),
      '--results',
      join(dir, 'runs', 'two-stage-ablation'),
      '--report-dir',
      join(dir, 'docs'),
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('two-stage-ablation: 8 stage-2 runs (8 methods x 1 traces x 1 seeds: equation; seed 1)');
    expect(readdirSync(join(dir, 'docs'))).toContain('results-two-stage-ablation.md');
  });

  it('another budget is another experiment, so it cannot overwrite the grid’s committed records', () => {
    const r = experiment(
      '--stage2-steps',
      '3000',
      '--seeds',
      '1',
      '--report-only',
      '--out',
      join(dir, 'out'),
      '--results',
      join(dir, 'runs', 'probe'),
      '--report-dir',
      join(dir, 'docs'),
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('two-stage-stage2-3000: 14 stage-2 runs');
    expect(readdirSync(join(dir, 'docs'))).toContain('results-two-stage-stage2-3000.md');
  });

  it('--study trains its grid per trace style, --probe the recipes on the validation split; one mode at a time', () => {
    const dirs = (name: string) => [
      '--out',
      join(dir, 'out'),
      '--results',
      join(dir, 'runs', name),
      '--report-dir',
      join(dir, 'docs'),
    ];
    const study = experiment('--study', '--report-only', ...dirs('latent-study-stage2-3000'));
    expect(study.status).toBe(0);
    // verbose NL: 6 methods, equation: 4, 3 seeds each.
    expect(study.stdout).toContain(
      'latent-study-stage2-3000: 30 stage-2 runs (equation: 4 methods, nl: 6 methods x 3 seeds',
    );
    expect(readdirSync(join(dir, 'docs'))).toContain('results-latent-study-stage2-3000.md');
    const probe = experiment('--probe', '--report-only', ...dirs('latent-probe-stage2-3000'));
    expect(probe.status).toBe(0);
    expect(probe.stdout).toContain(
      'latent-probe-stage2-3000: 7 stage-2 runs (7 methods x 1 traces x 1 seeds: nl; seed 1)',
    );
    const curve = experiment(
      '--study',
      '--stage2-steps',
      '6000',
      '--seeds',
      '1',
      '--traces',
      'nl',
      '--methods',
      'no-cot,codi,kava-rkv',
      '--report-only',
      ...dirs('latent-study-stage2-6000'),
    );
    expect(curve.stdout).toContain('latent-study-stage2-6000: 3 stage-2 runs');
    const both = experiment('--study', '--probe', '--report-only');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('separate experiments; give one');
    const other = experiment('--study', '--stage1-steps', '2000', '--report-only');
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('--stage1-steps must be 3000');
  });
});
