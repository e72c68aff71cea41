// `kava export` through the built binary: a LoRA run on the tiny Hugging Face checkpoint written as
// a PEFT adapter folder (the default) and as a merged model directory (--merged) that --model-dir
// accepts again. What PyTorch computes from the adapter is checked in
// packages/kava-core/test/export-adapter.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const BASE = join(REPO, 'test/fixtures/hf-tiny-llama');
const kava = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('kava export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kava-export-'));
  writeFileSync(
    join(dir, 'kava.config.json'),
    JSON.stringify({
      preset: 'tiny-llama,synthetic',
      backend: 'cpu',
      backbone: { modelDir: BASE, lora: { enabled: true, rank: 4, alpha: 8, dropout: 0 } },
      data: { synthetic: { trainSize: 16, testSize: 2 } },
      latent: { count: 2, iterations: 1 },
      train: { batchSize: 2, microBatchSize: 2, checkpointEvery: 0 },
      eval: { limit: 2 },
    }),
  );
  let run = '';

  beforeAll(() => {
    const r = kava(['train', '--steps', '1', '--run-dir', 'run'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    run = join(dir, 'run');
  });

  it('writes a PEFT adapter folder by default, with base_model_name_or_path, the tokenizer, the projection and the latent settings', () => {
    const r = kava(['export', run, '--out', 'adapter'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/as a PEFT LoRA adapter for .*hf-tiny-llama/);
    expect(readdirSync(join(dir, 'adapter')).sort()).toEqual([
      'README.md',
      'adapter_config.json',
      'adapter_model.safetensors',
      'kava_latent.json',
      'latent_projection.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({
      peft_type: 'LORA',
      base_model_name_or_path: BASE,
      r: 4,
    });
    // The folder says how to load it, with its own paths (installed packages carry no docs/).
    expect(r.stdout).toContain(`load it in PyTorch: ${join(dir, 'adapter', 'README.md')}`);
    const readme = readFileSync(join(dir, 'adapter', 'README.md'), 'utf8');
    expect(readme).toContain(`PeftModel.from_pretrained(base, ${JSON.stringify(join(dir, 'adapter'))})`);
    expect(readme).toContain(`AutoModelForCausalLM.from_pretrained(${JSON.stringify(BASE)})`);
    expect(readme).toContain(`load_file(${JSON.stringify(join(dir, 'adapter', 'latent_projection.safetensors'))})`);
    expect(JSON.parse(readFileSync(join(dir, 'adapter', 'kava_latent.json'), 'utf8'))).toMatchObject({
      latents: 2,
      iterations: 1,
      mode: 'jacobi',
    });
    // An existing folder is never overwritten without --force.
    const again = kava(['export', run, '--out', 'adapter'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists and is not empty/);
  });

  it("eval and infer take --backend over the run's own, and eval shows its progress", () => {
    const r = kava(['eval', '--run', run, '--backend', 'wasm'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^backend: wasm/m);
    expect(r.stderr).toMatch(/^evaluating \(latent\) 2\/2$/m);
    const inferred = kava(['infer', '--checkpoint', run, '--backend', 'wasm', '--json', 'What is 2 + 3?'], dir);
    expect(inferred.code).toBe(0);
    expect(JSON.parse(inferred.stdout)).toMatchObject({ mode: 'latent' });
    const shown = kava(['infer', '--checkpoint', run, '--show-latents', '--top-tokens', '2', 'What is 2 + 3?'], dir);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^latent thoughts \(M = 2, Jacobi, T = 1\)/m);
    expect(shown.stdout).toMatch(/^ {2}z1: t1 ".*" \d+%, ".*" \d+% {2}\| {2}final .*; moved 0%$/m);
    expect(shown.stdout).toMatch(/^ {2}z2: /m);
  });

  it('--merged writes a model directory that --model-dir accepts again', () => {
    const r = kava(['export', run, '--out', 'merged', '--merged'], dir);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'merged', 'model.safetensors'))).toBe(true);
    const dry = kava(
      ['train', '--dry-run', '--model-dir', 'merged', '--preset', 'tiny-llama', '--backend', 'cpu'],
      dir,
    );
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/model: llama 2 layers, hidden 64/);
  });

  it('eval and infer take a model directory as it is (--model-dir): written CoT by default, latent mode refused', () => {
    const r = kava(['eval', '--model-dir', 'merged', '--json'], dir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ mode: 'cot', questions: 2, step: 0 });
    expect(readdirSync(join(dir, 'eval')).some((f) => /^eval-merged-cot-.*\.predictions\.jsonl$/.test(f))).toBe(true);
    const inferred = kava(['infer', '--model-dir', 'merged', '--mode', 'direct', '--json', 'What is 2 + 3?'], dir);
    expect(inferred.code).toBe(0);
    expect(JSON.parse(inferred.stdout)).toMatchObject({ mode: 'direct' });
    const latent = kava(['eval', '--model-dir', 'merged', '--mode', 'latent'], dir);
    expect(latent.code).toBe(2);
    expect(latent.stderr).toMatch(/--model-dir: latent mode needs a trained run/);
    const both = kava(['infer', '--model-dir', 'merged', '--checkpoint', run, 'What is 2 + 3?'], dir);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either a run \(--checkpoint\) or --model-dir, not both/);
  });
});
