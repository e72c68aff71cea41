// Drives the built `kava` binary as a user would (npm test builds it first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
/** The configuration JSON that `kava train --dry-run` prints first. */
const dryRunConfig = (stdout: string) => JSON.parse(stdout.slice(0, stdout.indexOf('\n}\n') + 2));

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
    expect(JSON.parse(printed.stdout).latent).toEqual({ count: 8, mode: 'jacobi', iterations: 3, projection: true });
    expect(printed.stderr).toContain(join(dir, 'kava.config.mjs'));
  });

  it('config --print and train --dry-run print the same resolved configuration', () => {
    const dir = temp();
    const printed = kava(['config', '--print'], dir);
    const dry = kava(['train', '--dry-run', '--backend', 'cpu'], dir);
    expect(printed.code).toBe(0);
    expect(dry.code).toBe(0);
    // The default run is the tiny preset, whichever command shows it.
    expect(printed.stderr).toMatch(/presets: tiny-llama \(default\)/);
    expect(dry.stdout).toMatch(/presets: tiny-llama \(default\)/);
    expect({ ...dryRunConfig(dry.stdout), backend: 'auto' }).toEqual(JSON.parse(printed.stdout));
    expect(JSON.parse(printed.stdout).train).toMatchObject({ steps: 300, batchSize: 16, lr: 3e-3 });
    // A method preset alone keeps the default backbone preset (and its CPU budget).
    const codi = JSON.parse(kava(['config', '--print', '--preset', 'codi'], dir).stdout);
    expect(codi).toMatchObject({
      preset: ['tiny-llama', 'codi'],
      method: 'codi',
      train: { steps: 300, batchSize: 16 },
    });
  });

  it('after kava init, train --dry-run prints the same configuration as without the file, also with every line uncommented', () => {
    const without = dryRunConfig(kava(['train', '--dry-run', '--backend', 'cpu'], temp()).stdout);
    const dir = temp();
    const init = kava(['init'], dir);
    expect(init.stdout).toMatch(/default run uses preset tiny-llama/);
    const text = readFileSync(join(dir, 'kava.config.mjs'), 'utf8');
    expect(text).toMatch(/preset tiny-llama/);
    const withFile = kava(['train', '--dry-run', '--backend', 'cpu'], dir);
    expect(withFile.stdout).toContain(join(dir, 'kava.config.mjs'));
    expect(dryRunConfig(withFile.stdout)).toEqual(without);
    // Uncommenting the examples (the values of the default run) changes nothing either.
    writeFileSync(join(dir, 'kava.config.mjs'), text.replace(/^(\s+)\/\/ (?=(?: {2})?(?:[\w'-]+: |\}))/gm, '$1'));
    const uncommented = kava(['train', '--dry-run', '--backend', 'cpu'], dir);
    expect(uncommented.stderr).toBe('');
    expect(dryRunConfig(uncommented.stdout)).toEqual(without);
  });

  it('a preset is named one way: top-level "preset" applies Table 6 like --preset; backbone.preset naming another preset is refused with the right spelling', () => {
    const flag = kava(['config', '--print', '--preset', 'llama-1b'], temp());
    const viaFlag = JSON.parse(flag.stdout);
    expect(viaFlag).toMatchObject({
      backbone: { preset: 'llama-1b', lora: { enabled: true, rank: 128 } },
      train: { lr: 8e-4, batchSize: 128, epochs: 10 },
      losses: { codi: { weight: 10 } },
    });
    const dir = temp();
    writeFileSync(join(dir, 'kava.config.json'), JSON.stringify({ preset: 'llama-1b' }));
    expect(JSON.parse(kava(['config', '--print'], dir).stdout)).toEqual(viaFlag);

    const wrong = temp();
    writeFileSync(
      join(wrong, 'kava.config.json'),
      JSON.stringify({ backbone: { preset: 'llama-1b', modelDir: 'models/llama-1b' } }),
    );
    for (const args of [['config', '--print'], ['train', '--dry-run'], ['train']]) {
      const r = kava(args, wrong);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /kava\.config\.json: backbone\.preset "llama-1b" would pick only the architecture.*write "preset": "llama-1b" at the top level.*--preset llama-1b/,
      );
    }
    // The same name on both sides is consistent (a run's saved config.json has both).
    writeFileSync(
      join(wrong, 'kava.config.json'),
      JSON.stringify({ preset: 'llama-1b', backbone: { preset: 'llama-1b' } }),
    );
    expect(kava(['config', '--print'], wrong).code).toBe(0);
  });

  it('train refuses data without traces for a method that needs them, before building a model', () => {
    const dir = temp();
    writeFileSync(
      join(dir, 'qa.jsonl'),
      '{"question":"What is 2+3?","answer":"5"}\n{"question":"What is 4+3?","answer":"7"}\n',
    );
    const r = kava(['train', '--data', 'qa.jsonl', '--backend', 'cpu'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /data\.train \S*\/qa\.jsonl: none of its 2 records has a reasoning trace, which method "kava" learns from.*--preset no-cot/,
    );
    expect(existsSync(join(dir, 'runs'))).toBe(false);
    // The start banner said what would have run.
    expect(r.stdout).toMatch(
      /^method kava: losses student-ce 1, teacher-ce 1, codi 1, kv 1; scorer rkv \(lambda 0\.1\), keeps M per layer and KV head; M = 8 latents, Jacobi, T = 3 iterations, projection$/m,
    );
    expect(r.stdout).toMatch(
      /^backbone tiny-llama \(llama\), random init, all weights train; backend cpu; presets tiny-llama$/m,
    );
    expect(r.stdout).toMatch(
      /^data: \S*\/qa\.jsonl \(format auto, equation traces\); held-out: none \(no evaluation\)/m,
    );
    expect(r.stdout).toMatch(/^config file: none found \(built-in defaults and presets\)$/m);
    const missing = kava(['train', '--data', 'nope.jsonl', '--backend', 'cpu'], dir);
    expect(missing.stderr).toMatch(/^kava: data\.train: data file not found: .*nope\.jsonl\n$/);
  });

  it('train --dry-run checks the preset against the checkpoint and the data, and counts parameters right', () => {
    const dir = temp();
    const qwen = kava(
      [
        'train',
        '--dry-run',
        '--preset',
        'llama-1b',
        '--model-dir',
        join(REPO, 'test/fixtures/hf-tiny-qwen'),
        '--data',
        'x.jsonl',
      ],
      dir,
    );
    expect(qwen.code).toBe(2);
    expect(qwen.stderr).toMatch(
      /backbone preset "llama-1b" is a llama model, but backbone\.modelDir .*hf-tiny-qwen holds a qwen2 checkpoint/,
    );
    const noData = kava(
      ['train', '--dry-run', '--preset', 'llama-1b', '--model-dir', join(REPO, 'test/fixtures/hf-tiny-llama')],
      dir,
    );
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(
      /no training data is given, so it would train on the built-in synthetic task.*--preset llama-1b,synthetic/,
    );
    const ok = kava(
      [
        'train',
        '--dry-run',
        '--backend',
        'cpu',
        '--preset',
        'llama-1b,synthetic',
        '--model-dir',
        join(REPO, 'test/fixtures/hf-tiny-llama'),
      ],
      dir,
    );
    expect(ok.code).toBe(0);
    const [, total, trainable] = /parameters: ([\d.]+)k \(([\d.]+)k trainable/.exec(ok.stdout)!;
    expect(Number(trainable)).toBeLessThanOrEqual(Number(total));
  });

  it('config --print applies presets and flags', () => {
    const dir = temp();
    const r = kava(['config', '--print', '--preset', 'codi', '--backend', 'cpu'], dir);
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(config).toMatchObject({ method: 'codi', backend: 'cpu', preset: ['tiny-llama', 'codi'] });
  });

  it('a bad config exits 2 with one clear paragraph and no stack trace', () => {
    const dir = temp();
    writeFileSync(join(dir, 'kava.config.json'), JSON.stringify({ train: { lr: 'fast' } }));
    const r = kava(['config', '--print'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^kava: Invalid configuration: kava\.config\.json: train\.lr: expected number, got "fast"\n$/,
    );
    const verbose = kava(['config', '--print', '--verbose'], dir);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/at .*load-config\.js/);
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
    // The presses, with one name column wide enough for the longest (expected-attention).
    expect(r.stdout).toMatch(/@kava\/plugin-presses\n(.*\n)*  scorer   snapkv {13}SnapKV: /);
    expect(r.stdout).toMatch(/\n  scorer   expected-attention Expected Attention: /);
    expect(r.stdout).toMatch(/local-scorer\s+\(.*local-scorer\.mjs\)\n\s+scorer\s+position\s+Keeps the latest tokens/);
    expect(r.stdout).toMatch(/option scale = 1 {2}multiplier/);
  });
});
