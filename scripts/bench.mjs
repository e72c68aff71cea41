#!/usr/bin/env node
// Benchmark of the matrix kernels and of one training step (not a test: it prints figures).
//   npm run bench            (builds, then runs this file)
//   node scripts/bench.mjs [--quick] [--step-only] [--no-stock-step] [--trainer-only] [--no-fused]
// (--quick: shorter timing budgets; --step-only: skip the matmul table; --no-stock-step: skip the
// slow stock-kernel steps; --trainer-only: only the real trainer steps, after the 1024^3 peak;
// --no-fused: the fused RMSNorm/SwiGLU/RoPE/attention-softmax/AdamW kernels off, their tfjs
// composites instead)
// Prints GFLOP/s of tfjs matmul per backend and kernel set (stock vs native sgemm); the real KaVa
// trainer step (teacher forward, compression, student rollout, losses, backward, AdamW) in the
// reference shape and on the tiny preset, with the time per stage and the achieved FLOP/s against
// the measured 1024^3 matmul peak; then the forward+backward of a self-contained Llama-style block
// in the reference shape, stock vs native wasm, with where the time goes (by kernel).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTrainingSession,
  createWordLevelTokenizer,
  FUSED_ADAMW,
  FUSED_ATTENTION_SOFTMAX,
  FUSED_RMS_NORM,
  FUSED_ROPE,
  FUSED_SWIGLU,
  initBackend,
  loadNativeAddon,
  loadRunData,
  resolveConfig,
  runTokenizer,
  setNativeKernelsEnabled,
  tf,
} from '@kava/core/app';
import { BUILTIN_PLUGINS } from '@kava/cli/builtin-plugins';
import { nativeInfoLines } from './lib/native-info.mjs';
import { median } from './lib/stats.mjs';

const quick = process.argv.includes('--quick');
const stepOnly = process.argv.includes('--step-only');
const noStockStep = process.argv.includes('--no-stock-step');
const trainerOnly = process.argv.includes('--trainer-only');
const noFused = process.argv.includes('--no-fused');
/** Every fast kernel on, except the fused ops under --no-fused. */
function enableFastKernels() {
  setNativeKernelsEnabled(true);
  if (noFused)
    setNativeKernelsEnabled(false, [FUSED_RMS_NORM, FUSED_SWIGLU, FUSED_ROPE, FUSED_ADAMW, FUSED_ATTENTION_SOFTMAX]);
}
enableFastKernels();
const fmt = (x, d = 1) => x.toFixed(d).padStart(8);

/** Median seconds of `f` over runs (after one warm-up), at least `minRuns` and about `budget` seconds. */
function timeIt(f, { minRuns = 3, maxRuns = 50, budget = 1 } = {}) {
  const once = () => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  const first = once();
  const times = [];
  const runs = Math.max(minRuns, Math.min(maxRuns, Math.floor(budget / Math.max(first, 1e-6))));
  for (let i = 0; i < runs; i++) times.push(once());
  return median(times);
}

// ---------- header ----------
const { addon } = loadNativeAddon();
const info = await initBackend('wasm');
console.log(
  `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), load average ${loadavg()[0].toFixed(2)} at start`,
);
console.log(info.description);
for (const line of nativeInfoLines()) console.log(line);
console.log(`fused RMSNorm, SwiGLU, RoPE, attention softmax, AdamW kernels: ${noFused ? 'off (--no-fused)' : 'on'}`);

// ---------- matmul GFLOP/s ----------
const SHAPES = [
  { name: '[8,128,256]x[8,256,256]', a: [8, 128, 256], b: [8, 256, 256], tA: false, tB: false },
  { name: 'QK^T [64,128,32]x[64,128,32]^T', a: [64, 128, 32], b: [64, 128, 32], tA: false, tB: true },
  { name: 'weight grad [1024,256]^T x [1024,256]', a: [1024, 256], b: [1024, 256], tA: true, tB: false },
  { name: '1024^3', a: [1024, 1024], b: [1024, 1024], tA: false, tB: false },
];
const flops = (s) => {
  const batch = s.a.length === 3 ? s.a[0] : 1;
  const m = s.tA ? s.a.at(-1) : s.a.at(-2);
  const k = s.tA ? s.a.at(-2) : s.a.at(-1);
  const n = s.tB ? s.b.at(-2) : s.b.at(-1);
  return 2 * batch * m * n * k;
};
const CONFIGS = [
  ['wasm', false, 'wasm stock'],
  ['wasm', true, 'wasm native'],
  ['cpu', false, 'cpu stock'],
  ['cpu', true, 'cpu native'],
].filter(([, native]) => addon || !native);

const skipTable = stepOnly || trainerOnly;
if (!skipTable) {
  console.log('\nGFLOP/s of tf.matMul (median; fp32; higher is better)');
  console.log(`${'shape'.padEnd(40)}${CONFIGS.map(([, , label]) => label.padStart(13)).join('')}`);
}
const gflops = {};
for (const shape of skipTable ? [] : SHAPES) {
  const row = [];
  for (const [backend, native, label] of CONFIGS) {
    await initBackend(backend);
    setNativeKernelsEnabled(native);
    // The stock cpu kernel runs ~1 GFLOP/s: 1024^3 alone would take seconds per run.
    if (backend === 'cpu' && !native && flops(shape) > 1e9) {
      row.push('skipped'.padStart(13));
      continue;
    }
    const a = tf.randomNormal(shape.a, 0, 1, 'float32', 1);
    const b = tf.randomNormal(shape.b, 0, 1, 'float32', 2);
    const sec = timeIt(() => tf.matMul(a, b, shape.tA, shape.tB).dispose(), { budget: quick ? 0.3 : 1 });
    tf.dispose([a, b]);
    const g = flops(shape) / sec / 1e9;
    (gflops[shape.name] ??= {})[label] = g;
    row.push(fmt(g).padStart(13));
  }
  console.log(`${shape.name.padEnd(40)}${row.join('')}`);
}
enableFastKernels();
if (addon && !skipTable) {
  const ratios = SHAPES.map(
    (s) => `${s.name}: ${(gflops[s.name]['wasm native'] / gflops[s.name]['wasm stock']).toFixed(1)}x`,
  );
  console.log(`native vs stock wasm: ${ratios.join(', ')}`);
}

// ---------- the real trainer step ----------
const MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'];
const kernelTimers = new Map(); // backend -> timings of timeKernels
let nestedMs = 0; // time of the kernels run inside the kernel now running
// One optimiser step: the trainer's own TrainingSession.trainStep (batch building, tf.variableGrads
// over forwardLosses, loss read-back, clip, AdamW), timed per stage by its step observer. The stage
// boundaries inside the forward come from taps on the run's own hooks, which forwardLosses calls in
// order (teacherForward, compression, studentForward, losses); wasm kernels run synchronously, so
// wall-clock time between the taps is the time of the stage.

/** The 1024^3 matmul GFLOP/s of the wasm backend with the kernels the trainer uses (the peak). */
function matmulPeak() {
  const label = addon ? 'wasm native' : 'wasm stock';
  const measured = gflops['1024^3']?.[label];
  if (measured) return { gflops: measured, label };
  const a = tf.randomNormal([1024, 1024], 0, 1, 'float32', 1);
  const b = tf.randomNormal([1024, 1024], 0, 1, 'float32', 2);
  const sec = timeIt(() => tf.matMul(a, b).dispose(), { budget: quick ? 0.3 : 1 });
  tf.dispose([a, b]);
  return { gflops: (2 * 1024 ** 3) / sec / 1e9, label };
}

/** Synthetic words w0, w1, ... drawn with a fixed LCG (the bench needs lengths, not language). */
function wordStream(words, seed) {
  let x = seed >>> 0;
  return (n) =>
    Array.from({ length: n }, () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return words[x % words.length];
    }).join(' ');
}

/**
 * The reference shape: a word-level vocabulary whose size after setupModel adds <bot>, <eot> and
 * <latent> is 1024, and examples whose question, CoT and answer segment encode to exactly 31, 40
 * and 9 (<eot> + "The answer is:" + 3 answer words + <eos>) tokens.
 */
function referenceData(batch) {
  const prefix = ['The', 'answer', 'is', ':'];
  const specials = 3 + 3; // <pad> <unk> <eos>, then <bot> <eot> <latent> added by setupModel
  const words = Array.from({ length: 1024 - specials - prefix.length }, (_, i) => `w${i}`);
  const tokenizer = createWordLevelTokenizer([...prefix, ...words]);
  const examples = [];
  for (let i = 0; i < batch * 12; i++) {
    const draw = wordStream(words, 1000 + i);
    examples.push({
      id: `ref-${i}`,
      question: draw(31),
      steps: [draw(10), draw(10), draw(10), draw(10)],
      answer: draw(3),
    });
  }
  return { tokenizer, examples };
}

/** Wraps `hooks` stage taps (once per run) that write into `marks`. */
function tapStages(hooks, marks) {
  const mark = (name) => {
    marks[name] = performance.now();
  };
  hooks.teacherForward.tap('bench', () => mark('teacher'));
  hooks.compression.tap('bench', (result) => (mark('compression'), result));
  hooks.studentForward.tap('bench', () => mark('student'));
  hooks.losses.tap('bench', (terms) => (mark('losses'), terms));
}

const STAGES = [
  'batch',
  'teacher forward',
  'compression',
  'student forward',
  'loss',
  'backward',
  'loss read-back',
  'clip + AdamW',
];

/**
 * Times optimiser steps of the real trainer on wasm: `warmup` steps, then `runs` timed steps
 * (median s/step, tokens/s as the trainer counts them: real tokens of every pass plus B*M latent
 * slots), the share of each stage over the timed steps, and the matmul FLOPs of one step counted
 * from the BatchMatMul/_FusedMatMul calls the step makes (forward and backward).
 */
async function trainerStepBench(title, { resolved, tokenizer, examples }, { runs, warmup = 2, peak, stock = false }) {
  await initBackend('wasm');
  enableFastKernels();
  // The method's full step (no teacher-only warm-up), the whole batch in one pass so each stage is timed once.
  const train = { ...resolved.config.train, teacherWarmup: 0, microBatchSize: resolved.config.train.batchSize };
  const config = { ...resolved.config, train };
  const { hooks } = resolved.plugins;
  // The product's own step: the session the trainer runs.
  const session = createTrainingSession(config, resolved.plugins, tokenizer, examples.length);
  const { model, terms, compression } = session;
  const B = config.train.batchSize;
  const varList = [...model.params.values()];
  const marks = {};
  tapStages(hooks, marks);
  let cursor = 0;
  const take = (n) => {
    const out = [];
    while (out.length < n) out.push(examples[cursor++ % examples.length]);
    return out;
  };
  // Every kernel runs under a timer that also counts matmul FLOPs (two performance.now() calls per
  // kernel, well under 1 % of a step); each step starts from an empty table.
  const timings = timeKernels('wasm');
  /** One step; returns its stage durations (ms), the batch's tokens and its kernel table. */
  const step = async (index) => {
    for (const k of Object.keys(marks)) delete marks[k];
    timings.clear();
    let shapes = {};
    const observer = {
      stage: (name) => (marks[name] = performance.now()),
      batch: (batch) =>
        (shapes = {
          teacher: batch.teacher?.ids.shape,
          prefix: batch.student?.prefixIds.shape,
          segment: batch.student?.segmentIds.shape,
        }),
    };
    const t0 = performance.now();
    const outcome = await session.trainStep(index, take, { observer });
    if (outcome.status !== 'applied') throw new Error(`bench step ${index}: ${outcome.problem ?? outcome.status}`);
    // Stages that did not run (no compression, no teacher) take 0 ms: their mark is the previous one.
    const tForward = marks.batch;
    const teacher = marks.teacher ?? tForward;
    const compressed = marks.compression ?? teacher;
    const student = marks.student ?? compressed;
    const kernels = [...timings.entries()].map(([name, e]) => [name, { ...e }]);
    const flops = kernels.filter(([k]) => MATMUL_KERNELS.includes(k)).reduce((s, [, e]) => s + e.flops, 0);
    return {
      tokens: outcome.tokens,
      shapes,
      losses: outcome.losses,
      kernels,
      flops,
      total: marks.apply - t0,
      stages: [
        tForward - t0,
        teacher - tForward,
        compressed - teacher,
        student - compressed,
        marks.forward - student,
        marks.backward - marks.forward,
        marks['read-back'] - marks.backward,
        marks.apply - marks['read-back'],
      ],
    };
  };

  const first = await step(0);
  const nParams = varList.reduce((s, v) => s + v.size, 0);
  console.log(`\n${title}`);
  console.log(
    `  ${config.backbone.preset} (${model.backbone.config.numLayers} layers, hidden ${model.backbone.config.hiddenSize}, ` +
      `${model.backbone.config.numHeads}/${model.backbone.config.numKvHeads} heads, MLP ${model.backbone.config.intermediateSize}, vocab ${model.tokenizer.vocabSize}), ` +
      `${(nParams / 1e6).toFixed(2)} M trained parameters; method ${config.method}, losses ${terms.map((t) => `${t.name}x${t.weight}`).join(' ')}, ` +
      `scorer ${compression?.scorer.name ?? 'none'}`,
  );
  console.log(
    `  batch ${B}: teacher [${first.shapes.teacher}], student prefix [${first.shapes.prefix}] + M=${config.latent.count} latents ` +
      `(${config.latent.mode}, T=${config.latent.iterations}) + segment [${first.shapes.segment}]; ${first.tokens} tokens per step as the trainer counts them`,
  );
  for (let i = 1; i < warmup; i++) await step(i);
  const before = tf.memory().numTensors;
  const timed = [];
  for (let i = 0; i < runs; i++) timed.push(await step(warmup + i));
  const leaked = tf.memory().numTensors - before;
  const sec = median(timed.map((r) => r.total)) / 1000;
  const tokens = median(timed.map((r) => r.tokens));
  console.log(
    `  ${fmt(sec, 3)} s/step  ${fmt(tokens / sec, 0)} tokens/s  (median of ${runs} step(s) after ${warmup} warm-up; ` +
      `range ${(Math.min(...timed.map((r) => r.total)) / 1000).toFixed(3)}–${(Math.max(...timed.map((r) => r.total)) / 1000).toFixed(3)} s; ` +
      `load average ${loadavg()[0].toFixed(2)}; tensors leaked: ${leaked})`,
  );
  const sum = timed.reduce((s, r) => s + r.total, 0);
  console.log('  stage                 median ms   share of the timed steps');
  STAGES.forEach((name, i) => {
    const ms = median(timed.map((r) => r.stages[i]));
    const share = (100 * timed.reduce((s, r) => s + r.stages[i], 0)) / sum;
    console.log(`    ${name.padEnd(18)} ${fmt(ms, 1)}  ${fmt(share, 1)} %`);
  });

  // The kernel table of the median step; FLOP/s over all timed steps (batches differ in length).
  const profiled = [...timed].sort((a, b) => a.total - b.total)[Math.floor(timed.length / 2)];
  const kernels = profiled.kernels;
  const mm = kernels.filter(([k]) => MATMUL_KERNELS.includes(k));
  const mmFlops = profiled.flops;
  const mmMs = mm.reduce((s, [, e]) => s + e.ms, 0);
  const kernelMs = kernels.reduce((s, [, e]) => s + e.ms, 0);
  const calls = kernels.reduce((s, [, e]) => s + e.n, 0);
  const achieved = timed.reduce((s, r) => s + r.flops, 0) / (sum / 1000) / 1e9;
  console.log(
    `  FLOPs: ${(mmFlops / 1e9).toFixed(2)} GFLOP of matmul in the median step (${profiled.tokens} tokens; counted 2*m*n*k over every BatchMatMul/_FusedMatMul call of ` +
      `one step, forward and backward; elementwise ops not counted)`,
  );
  console.log(
    `  achieved ${achieved.toFixed(1)} GFLOP/s over the timed steps = ${((100 * achieved) / peak.gflops).toFixed(1)} % of the measured 1024^3 peak ` +
      `(${peak.gflops.toFixed(1)} GFLOP/s, ${peak.label}); inside the matmul kernels themselves ${(mmFlops / (mmMs / 1000) / 1e9).toFixed(1)} GFLOP/s`,
  );
  console.log(
    `  kernels of the median step (${profiled.total.toFixed(0)} ms): ${kernelMs.toFixed(0)} ms in ${calls} kernel calls ` +
      `(matmul ${mmMs.toFixed(0)} ms = ${((100 * mmMs) / profiled.total).toFixed(0)} %), ${(profiled.total - kernelMs).toFixed(0)} ms ` +
      `(${((100 * (profiled.total - kernelMs)) / profiled.total).toFixed(0)} %) in the engine, tape and JavaScript around them; top kernels:`,
  );
  for (const [name, e] of kernels.sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) {
    console.log(`    ${name.padEnd(20)} ${fmt(e.ms, 1)} ms ${fmt((100 * e.ms) / profiled.total, 1)} %  (${e.n} calls)`);
  }

  // The stock kernels for comparison: one step (about a minute), on the reference shape only.
  if (addon && stock && !noStockStep && !quick) {
    setNativeKernelsEnabled(false);
    const stock = await step(warmup + runs + 1);
    enableFastKernels();
    console.log(
      `  stock tfjs kernels, one step: ${(stock.total / 1000).toFixed(1)} s (${(stock.tokens / (stock.total / 1000)).toFixed(0)} tokens/s), ` +
        `${(stock.total / 1000 / sec).toFixed(0)}x the native median`,
    );
  } else {
    const why = !addon
      ? 'no native addon: the figures above are the stock kernels'
      : !stock
        ? 'run on the reference shape only'
        : quick
          ? '--quick'
          : '--no-stock-step';
    console.log(`  stock tfjs kernels: skipped (${why})`);
  }
  session.dispose();
}

/** Resolves a config with `presets` and `overrides` from an empty folder (no config file applies). */
async function benchConfig(presets, overrides) {
  const cwd = mkdtempSync(join(tmpdir(), 'kava-bench-'));
  try {
    return await resolveConfig({ cwd, presets, overrides, builtinPlugins: BUILTIN_PLUGINS });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

{
  await initBackend('wasm');
  enableFastKernels();
  const peak = matmulPeak();
  // Without the addon every step takes about a minute: one warm-up and one timed step.
  const steps = addon ? { runs: quick ? 3 : 9 } : { runs: 1, warmup: 1 };
  console.log(
    `\nThe real KaVa trainer step on wasm (load average ${loadavg()[0].toFixed(2)}; matmul peak ${peak.gflops.toFixed(1)} GFLOP/s at 1024^3, ${peak.label})`,
  );
  // Reference shape (issue 3): tiny-llama's architecture, vocab 1024, batch 8, question 31, CoT 40
  // (dropLastStep off so every step stays), answer segment 9, M = 24, T = 3.
  const reference = await benchConfig(['tiny-llama', 'kava'], {
    latent: { count: 24, iterations: 3 },
    data: { dropLastStep: false },
    train: { batchSize: 8, microBatchSize: 8 },
  });
  await trainerStepBench(
    'Reference shape (batch 8, question 31, CoT 40, answer segment 9, M = 24, T = 3, vocab 1024)',
    { resolved: reference, ...referenceData(8) },
    { ...steps, peak, stock: true },
  );
  // T counts latent updates here and forward passes in the peer: the latents run T + 1 times.
  console.log(
    '  the PyTorch peer with the same work (docs/performance.md): ref_kava_step.py --tie --threads 1 --jacobi 4',
  );
  // The tiny preset as `kava train` runs it: its own batch, M and the synthetic task.
  const tiny = await benchConfig(['tiny-llama'], {});
  const data = await loadRunData(tiny.config, tiny.plugins.registry, (p) => p);
  const tokenizer = await runTokenizer(tiny.config, { trainExamples: data.train });
  await trainerStepBench(
    'Tiny preset (`kava train --preset tiny-llama`: synthetic task, its own batch and M)',
    { resolved: tiny, tokenizer, examples: data.train },
    { ...steps, peak },
  );
}

// ---------- model step ----------
// The forward+backward of a Llama-style decoder on teacher-length sequences, written here in
// plain tfjs (RMSNorm, GQA attention with a causal mask, SwiGLU, tied vocabulary projection,
// cross-entropy; RoPE skipped): the matmul-bound core of the step, stock vs native kernels, apart
// from the trainer's other work (the real step is measured above).
const CFG = { layers: 4, d: 256, heads: 8, kvHeads: 2, mlp: 688, vocab: 1024, batch: 8, seq: 85 };

function makeModel(c) {
  let seed = 10;
  const w = (shape, scale = 0.02) => tf.variable(tf.randomNormal(shape, 0, scale, 'float32', seed++));
  const hd = c.d / c.heads;
  const layers = [];
  for (let l = 0; l < c.layers; l++) {
    layers.push({
      norm1: tf.variable(tf.ones([c.d])),
      wq: w([c.d, c.d]),
      wk: w([c.d, c.kvHeads * hd]),
      wv: w([c.d, c.kvHeads * hd]),
      wo: w([c.d, c.d]),
      norm2: tf.variable(tf.ones([c.d])),
      wg: w([c.d, c.mlp]),
      wu: w([c.d, c.mlp]),
      wd: w([c.mlp, c.d]),
    });
  }
  return { embed: w([c.vocab, c.d]), layers, normF: tf.variable(tf.ones([c.d])) };
}

function rmsNorm(x, g) {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, 1e-5))), g);
}

/** Mean next-token cross-entropy; ids [B, T] int32. Activations are kept 2-D [B*T, d] so every
 * projection is one plain matmul (tfjs's matmul gradient does not reduce broadcast batch dims). */
function modelLoss(model, ids, labels, mask, c) {
  const { batch: B, seq: T, d, heads: H, kvHeads: KV } = c;
  const hd = d / H;
  const group = H / KV;
  let x = tf.gather(model.embed, tf.reshape(ids, [-1])); // [B*T, d]
  for (const p of model.layers) {
    const h = rmsNorm(x, p.norm1);
    // GQA without copying K/V: the `group` query heads that share a KV head are stacked along
    // the row axis, so scores are one batched product [B, KV, group*T, T].
    const q = tf.reshape(tf.transpose(tf.reshape(tf.matMul(h, p.wq), [B, T, H, hd]), [0, 2, 1, 3]), [
      B,
      KV,
      group * T,
      hd,
    ]);
    const k = tf.transpose(tf.reshape(tf.matMul(h, p.wk), [B, T, KV, hd]), [0, 2, 1, 3]);
    const v = tf.transpose(tf.reshape(tf.matMul(h, p.wv), [B, T, KV, hd]), [0, 2, 1, 3]);
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask); // [B, KV, group*T, T]
    const att = tf.matMul(tf.softmax(scores), v); // [B, KV, group*T, hd]
    const merged = tf.reshape(tf.transpose(tf.reshape(att, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, d]);
    x = tf.add(x, tf.matMul(merged, p.wo));
    const h2 = rmsNorm(x, p.norm2);
    const gate = tf.matMul(h2, p.wg);
    const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.matMul(h2, p.wu));
    x = tf.add(x, tf.matMul(act, p.wd));
  }
  const logits = tf.matMul(rmsNorm(x, model.normF), model.embed, false, true); // [B*T, vocab]
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(labels, [-1]), c.vocab), logits);
}

/** 2*m*n*k times the (broadcast) batch of a BatchMatMul/_FusedMatMul call. */
function matmulCallFlops({ inputs: { a, b }, attrs: { transposeA, transposeB } }) {
  const batch = Math.max(
    a.shape.slice(0, -2).reduce((x, y) => x * y, 1),
    b.shape.slice(0, -2).reduce((x, y) => x * y, 1),
  );
  const m = transposeA ? a.shape.at(-1) : a.shape.at(-2);
  const k = transposeA ? a.shape.at(-2) : a.shape.at(-1);
  const n = transposeB ? b.shape.at(-2) : b.shape.at(-1);
  return 2 * batch * m * n * k;
}

/**
 * Wraps every kernel registered for `backend` in a timer (once per backend); returns the live
 * name -> {ms, n, flops} map (flops counted for the matmul kernels).
 */
function timeKernels(backend) {
  if (kernelTimers.has(backend)) return kernelTimers.get(backend);
  const timings = new Map();
  kernelTimers.set(backend, timings);
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    const isMatmul = MATMUL_KERNELS.includes(k.kernelName);
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        // Self time: a kernel that runs other kernels (the cpu bridge, a fallback) is charged
        // only for its own share, so the entries add up to the kernel time of the step.
        const outer = nestedMs;
        nestedMs = 0;
        const t0 = performance.now();
        const out = inner(args);
        const elapsed = performance.now() - t0;
        const e = timings.get(k.kernelName) ?? { ms: 0, n: 0, flops: 0 };
        e.ms += elapsed - nestedMs;
        nestedMs = outer + elapsed;
        e.n += 1;
        if (isMatmul) e.flops += matmulCallFlops(args);
        timings.set(k.kernelName, e);
        return out;
      },
    });
  }
  return timings;
}

function causalMask(c) {
  // [group*T, T] rows repeat the T query positions once per head in the group.
  const group = c.heads / c.kvHeads;
  return tf.tidy(() => {
    const t = tf.range(0, c.seq, 1, 'int32');
    const allowed = tf.greaterEqual(tf.reshape(t, [c.seq, 1]), tf.reshape(t, [1, c.seq]));
    const m = tf.where(allowed, tf.zeros([c.seq, c.seq]), tf.fill([c.seq, c.seq], -1e9));
    return tf.tile(m, [group, 1]);
  });
}

async function stepBench(backend, { onlyFast = false, runs = 7 } = {}) {
  await initBackend(backend);
  const c = CFG;
  const model = makeModel(c);
  const vars = [model.embed, model.normF, ...model.layers.flatMap((p) => Object.values(p))];
  const nParams = vars.reduce((s, v) => s + v.size, 0);
  const ids = tf.randomUniform([c.batch, c.seq], 0, c.vocab, 'int32', 3);
  const labels = tf.randomUniform([c.batch, c.seq], 0, c.vocab, 'int32', 4);
  const mask = causalMask(c);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => modelLoss(model, ids, labels, mask, c), vars);
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  const tokens = c.batch * c.seq;
  console.log(
    `\nLlama-style forward+backward on ${backend}: ${c.layers} layers, d=${c.d}, ${c.heads} heads / ${c.kvHeads} KV heads, ` +
      `MLP ${c.mlp}, vocab ${c.vocab}, batch ${c.batch} x ${c.seq} tokens = ${tokens} tokens, ${(nParams / 1e6).toFixed(2)} M parameters`,
  );
  const results = {};
  // Kernel sets: all fast kernels; only the matmuls stock (what native sgemm alone buys); all stock
  // (tfjs 4.22 kernels plus the repo's cpu bridge for UnsortedSegmentSum, which wasm lacks).
  const SETS = {
    native: () => setNativeKernelsEnabled(true),
    'stock matmul': () => {
      enableFastKernels();
      setNativeKernelsEnabled(false, MATMUL_KERNELS);
    },
    stock: () => setNativeKernelsEnabled(false),
  };
  const setNames = addon
    ? ['native', ...(noStockStep || onlyFast ? [] : ['stock matmul', 'stock'])]
    : onlyFast
      ? []
      : ['stock'];
  if (setNames.length === 0) return;
  const sets = setNames.map((label) => [label, SETS[label]]);
  for (const [label, configure] of sets) {
    configure();
    const fast = label === 'native';
    const before = tf.memory().numTensors;
    const sec = timeIt(step, { minRuns: fast ? runs : quick ? 1 : 3, budget: fast ? 3 : 1 });
    const leaked = tf.memory().numTensors - before;
    results[label] = sec;
    console.log(
      `  ${label.padEnd(13)} ${fmt(sec, 3)} s/step  ${fmt(tokens / sec, 0)} tokens/s  (median; tensors leaked per run: ${leaked})`,
    );
  }
  for (const other of ['stock matmul', 'stock']) {
    if (results.native && results[other])
      console.log(`  native is ${(results[other] / results.native).toFixed(1)}x "${other}"`);
  }

  // Where the time goes: every kernel of the backend wrapped in a timer (wasm and cpu kernels
  // run synchronously, so this is their real time; tf.profile would add a read-back per kernel).
  const timings = timeKernels(backend);
  for (const [label, configure] of sets) {
    configure();
    timings.clear();
    const t0 = performance.now();
    step();
    const wall = performance.now() - t0;
    const kernelMs = [...timings.values()].reduce((s, e) => s + e.ms, 0);
    const calls = [...timings.values()].reduce((s, e) => s + e.n, 0);
    const top = [...timings.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
    console.log(
      `  where the time goes (${label}, one step: ${wall.toFixed(0)} ms; ${kernelMs.toFixed(0)} ms in ${calls} kernel calls, ` +
        `${(wall - kernelMs).toFixed(0)} ms (${((100 * (wall - kernelMs)) / wall).toFixed(0)} %) in the engine, tape and JavaScript around them):`,
    );
    for (const [name, e] of top) {
      console.log(`    ${name.padEnd(20)} ${fmt(e.ms, 1)} ms ${fmt((100 * e.ms) / wall, 1)} %  (${e.n} calls)`);
    }
  }
  enableFastKernels();
  tf.dispose([...vars, ids, labels, mask]);
}

if (!trainerOnly) {
  await stepBench('wasm');
  // The cpu backend with the same fast kernels, for comparison (its elementwise kernels are plain
  // JavaScript); its fully stock step takes minutes and is left out.
  await stepBench('cpu', { onlyFast: true, runs: quick ? 1 : 3 });
}
console.log(`\nload average ${loadavg()[0].toFixed(2)} at the end (other processes on these cores slow every figure)`);
