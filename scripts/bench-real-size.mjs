#!/usr/bin/env node
// Benchmark of a real-size model on this machine (not a test: it prints figures).
//
//   node scripts/bench-real-size.mjs --model-dir DIR [--preset llama-1b] [--backend auto]
//        [--prompt-tokens 150] [--decode-tokens 16] [--skip-train] [--skip-decode] [--data FILE]
//
// DIR is a Hugging Face model directory: a downloaded checkpoint, or one written by
//   node scripts/make-random-checkpoint.mjs --preset llama-1b --out models/random-llama-1b
// It prints: the --dry-run memory estimate; one `kava train` LoRA step (micro-batch 1, on the
// longest GSM8k record of the test fixtures, which the estimate sizes too) and the evaluation of
// one question after it, each timed, with the process's peak resident memory against the
// estimate; then `kava infer`'s peak resident memory against the estimate; then `kava infer`'s two speeds measured
// in-process: prompt processing (tokens/s over one prompt of --prompt-tokens) and greedy decoding
// with the KV cache (tokens/s over --decode-tokens).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelDir, tf } from '@kava/core/app';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { nativeInfoLines } from './lib/native-info.mjs';
import { median } from './lib/stats.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    'model-dir': { type: 'string' },
    preset: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    'prompt-tokens': { type: 'string', default: '150' },
    'decode-tokens': { type: 'string', default: '16' },
    'skip-train': { type: 'boolean', default: false },
    'skip-decode': { type: 'boolean', default: false },
    data: { type: 'string' },
  },
});
const fail = (m) => {
  process.stderr.write(`bench-real-size: ${m}\n`);
  process.exit(2);
};
if (!args['model-dir'])
  fail(
    'usage: --model-dir DIR [--preset NAME] [--backend auto|wasm|cpu] [--prompt-tokens N] [--decode-tokens N] [--skip-train] [--skip-decode]',
  );
const modelDir = resolve(args['model-dir']);
const hfConfig = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
// The run recipe of the model's size, unless named.
const preset =
  args.preset ??
  (hfConfig.model_type === 'qwen2' ? 'qwen-0.5b' : hfConfig.num_hidden_layers > 16 ? 'llama-3b' : 'llama-1b');
const BIN = join(root, 'packages/cli/bin/kava.js');
// GSM8k records (JSONL); the step trains on the longest annotated one.
const DATA = args.data ? resolve(args.data) : join(root, 'packages/kava-core/test/fixtures/data/gsm8k.jsonl');
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

console.log(
  `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), ${gib(totalmem())} memory, load average ${loadavg()[0].toFixed(2)} at start`,
);
for (const line of nativeInfoLines()) console.log(line);
console.log(
  `model: ${modelDir} (${hfConfig.model_type}, ${hfConfig.num_hidden_layers} layers, hidden ${hfConfig.hidden_size}, vocab ${hfConfig.vocab_size}); preset ${preset}; backend ${args.backend}`,
);

// ---------- one training step and one evaluated question, through the CLI ----------
if (!args['skip-train']) {
  const dir = mkdtempSync(join(tmpdir(), 'kava-bench-real-'));
  try {
    // One record, the longest of the fixture's: the step trains on the example the estimate sizes.
    const records = readFileSync(DATA, 'utf8')
      .trim()
      .split('\n')
      .filter((r) => r.includes('<<')); // equation traces need annotations
    const longest = records.reduce((a, b) => (b.length > a.length ? b : a));
    writeFileSync(join(dir, 'data.jsonl'), `${longest}\n`);
    writeFileSync(
      join(dir, 'kava.config.json'),
      JSON.stringify({
        preset,
        backend: args.backend,
        backbone: { modelDir },
        data: { train: 'data.jsonl', test: 'data.jsonl' },
        train: { steps: 1, batchSize: 1, microBatchSize: 1, checkpointEvery: 0 },
        eval: { limit: 1 },
      }),
    );
    const kava = (cliArgs) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, ...cliArgs], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      if (r.status !== 0) fail(`kava ${cliArgs.join(' ')} exited ${r.status}:\n${r.stderr || r.stdout}`);
      return { out: r.stdout + r.stderr, seconds: (performance.now() - t0) / 1000 };
    };
    const dry = kava(['train', '--dry-run']);
    const estimateLines = dry.out.split('\n').filter((l) => /^(parameters|memory|frozen base|backend)/.test(l));
    console.log(`\n--dry-run estimate:\n  ${estimateLines.join('\n  ')}`);
    const total = Number(/total ([\d.]+) GiB/.exec(dry.out)?.[1]);

    const run = kava(['train', '--run-dir', 'run']);
    const metrics = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const step = metrics.at(-1);
    const evalSeconds = JSON.parse(
      readFileSync(join(dir, 'run', 'eval.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
    ).wallSeconds;
    const peak = Number(/peak memory ([\d.]+) GiB/.exec(run.out)?.[1]);
    console.log('\none LoRA step (micro-batch 1) and one evaluated question, end to end:');
    console.log(`  whole command: ${run.seconds.toFixed(1)} s (loading, the step, the checkpoint, the evaluation)`);
    console.log(
      `  training step: ${step.seconds.toFixed(1)} s wall, ${step.cpuSeconds.toFixed(1)} s of CPU time (${step.tokensPerSecond.toFixed(2)} tokens/s)`,
    );
    if (Number.isFinite(evalSeconds)) console.log(`  evaluation of one question: ${evalSeconds.toFixed(1)} s`);
    console.log(
      `  peak resident memory: ${peak.toFixed(2)} GiB; estimate ${total.toFixed(2)} GiB (${((100 * (total - peak)) / peak).toFixed(0)}% ${total >= peak ? 'over' : 'under'})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- prompt processing and decoding speed, in-process ----------
if (!args['skip-decode']) {
  const dir = mkdtempSync(join(tmpdir(), 'kava-bench-decode-'));
  try {
    const t0 = performance.now();
    const run = await loadModelDir(modelDir, { cwd: dir, backend: args.backend, builtinPlugins: BUILTIN_PLUGINS });
    console.log(`\n${run.backend.description}`);
    console.log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const { backbone, tokenizer } = run.model;
    const question = JSON.parse(readFileSync(DATA, 'utf8').split('\n')[0]).question;
    const promptTokens = Number(args['prompt-tokens']);
    let ids = [];
    while (ids.length < promptTokens) ids = ids.concat(tokenizer.encode(`${question} `));
    ids = ids.slice(0, promptTokens);
    const step = (inputIds, cache) => {
      const out = backbone.forward({ inputIds, cache, returnCache: true, logits: 'last' });
      const next = tf.tidy(() => tf.argMax(tf.reshape(out.logits, [-1]), 0).dataSync()[0]);
      out.logits.dispose();
      return { next, cache: out.cache };
    };
    const dispose = (cache) => cache && tf.dispose([...cache.keys, ...cache.values, cache.mask]);
    const prefillTimes = [];
    let state;
    for (let i = 0; i < 2; i++) {
      dispose(state?.cache);
      const input = tf.tensor2d([ids], [1, ids.length], 'int32');
      const t = performance.now();
      state = step(input);
      prefillTimes.push((performance.now() - t) / 1000);
      input.dispose();
    }
    const prefill = Math.min(...prefillTimes);
    console.log(
      `prompt processing: ${(ids.length / prefill).toFixed(1)} tokens/s (${ids.length} tokens in ${prefill.toFixed(2)} s; best of 2)`,
    );
    const decodeTokens = Number(args['decode-tokens']);
    const times = [];
    for (let i = 0; i < decodeTokens; i++) {
      const input = tf.tensor2d([[state.next]], [1, 1], 'int32');
      const t = performance.now();
      const nextState = step(input, state.cache);
      times.push((performance.now() - t) / 1000);
      input.dispose();
      dispose(state.cache);
      state = nextState;
    }
    dispose(state.cache);
    const perToken = median(times);
    console.log(
      `decoding: ${(1 / perToken).toFixed(2)} tokens/s (median of ${times.length} tokens, ${perToken.toFixed(2)} s each)`,
    );
    run.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
