// `npm run experiment` is how a user reruns the replication: each of its historical flags names a
// grid file of docs/results/grids/ that `kava experiment` runs, a mistyped option is a usage error
// rather than a stack trace, and a budget nobody has written a grid file for is refused with the
// way to write one. --dry-run trains nothing, so what a flag would train is checked in seconds.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../scripts/experiment.mjs');
const experiment = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('npm run experiment: the command line', () => {
  it('--help lists the modes and exits 0', () => {
    const r = experiment('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--quick', '--ablations', '--study', '--probe', '--report-only', '--seeds', '--commit'])
      expect(r.stdout).toContain(flag);
  });

  it('an unknown option is a usage error naming it', () => {
    const r = experiment('--seed', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("experiment: Unknown option '--seed'");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--ablations is its grid file: seed 1, the equation traces, the shared reference and seven variants, all recorded', () => {
    const r = experiment('--ablations', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('two-stage-ablation: 9 runs (stage1: 1, stage2: 8), 9 done; 0 to train');
  }, 60_000);

  it('--study trains its methods per trace style; a slice is checked against the grid', () => {
    const study = experiment('--study', '--dry-run');
    expect(study.status).toBe(0);
    // 3 seeds: 6 backbones; verbose NL 6 methods, equation 4.
    expect(study.stdout).toContain('latent-study-stage2-3000: 36 runs (stage1: 6, stage2: 30)');
    const slice = experiment('--probe', '--methods', 'no-cot', '--dry-run');
    expect(slice.stdout).toMatch(/latent-probe-stage2-3000: 8 runs \(stage1: 1, stage2: 7\), \d+ done; 0 to train/);
    const typo = experiment('--probe', '--methods', 'kava-rvk', '--dry-run');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('--methods: "kava-rvk" is not in the grid');
  }, 60_000);

  it('another budget is another grid file; one that does not exist is refused with how to write it', () => {
    const curve = experiment('--study', '--stage2-steps', '6000', '--dry-run');
    expect(curve.status).toBe(2);
    expect(curve.stderr).toContain('no grid file docs/results/grids/latent-study-stage2-6000.yaml');
    expect(curve.stderr).toContain('extends: latent-study-stage2-3000.yaml');
    const both = experiment('--study', '--probe', '--report-only');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('separate experiments; give one');
    const other = experiment('--study', '--stage1-steps', '2000', '--report-only');
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('--stage1-steps must be 3000');
  });
});
