// Drives the built `kava` binary as a user would (npm test builds it first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');

function kava(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const temp = () => mkdtempSync(join(tmpdir(), 'kava-cli-'));

describe('kava CLI basics', () => {
  it('--help lists the commands', () => {
    const r = kava(['--help'], REPO);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: kava/);
    for (const command of ['config', 'plugins', 'init']) expect(r.stdout).toContain(command);
  });

  it('init writes a starter config that resolves', () => {
    const dir = temp();
    expect(kava(['init'], dir).code).toBe(0);
    expect(existsSync(join(dir, 'kava.config.mjs'))).toBe(true);
    const again = kava(['init'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists \(pass --force/);
    const printed = kava(['config', '--print'], dir);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout).latent).toEqual({ count: 24, mode: 'jacobi', iterations: 3, projection: true });
    expect(printed.stderr).toContain(join(dir, 'kava.config.mjs'));
  });

  it('config --print applies presets and flags', () => {
    const dir = temp();
    const r = kava(['config', '--print', '--preset', 'codi', '--backend', 'cpu'], dir);
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(config).toMatchObject({ method: 'codi', backend: 'cpu', preset: ['codi'] });
  });

  it('a bad config exits 2 with one clear paragraph and no stack trace', () => {
    const dir = temp();
    writeFileSync(join(dir, 'kava.config.json'), JSON.stringify({ train: { lr: 'fast' } }));
    const r = kava(['config', '--print'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kava: Invalid configuration: kava\.config\.json: train\.lr: expected number, got "fast"\n$/);
    const verbose = kava(['config', '--print', '--verbose'], dir);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/at .*load\.js/);
  });

  it('usage errors exit 2', () => {
    expect(kava(['frobnicate'], REPO).code).toBe(2);
    expect(kava(['config', '--backend', 'metal'], REPO).code).toBe(2);
  });

  it('plugins lists what each plugin registers, including one named on the command line', () => {
    const r = kava(['plugins', '--plugin', join(REPO, 'test/fixtures/plugins/local-scorer.mjs')], REPO);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/@kava\/plugin-rkv\n(.*\n)*\s+scorer\s+rkv\s/);
    expect(r.stdout).toMatch(/@kava\/plugin-keydiff\n(.*\n)*\s+scorer\s+keydiff\s/);
    expect(r.stdout).toMatch(/local-scorer\s+\(.*local-scorer\.mjs\)\n\s+scorer\s+position\s+Keeps the latest tokens/);
    expect(r.stdout).toMatch(/option scale = 1 {2}multiplier/);
  });
});
