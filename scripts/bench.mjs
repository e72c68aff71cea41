#!/usr/bin/env node
// Benchmark of the matrix kernels and of one training step (not a test: it prints figures).
//   npm run bench            (builds, then runs this file)
//   node scripts/bench.mjs [--quick] [--step-only] [--no-stock-step]
// (--quick: shorter timing budgets; --step-only: skip the matmul table; --no-stock-step: skip the
// ~30 s-per-run stock training step)
// Prints GFLOP/s of tfjs matmul per backend and kernel set (stock vs native sgemm), then the
// forward+backward of a Llama-style model in the reference shape, stock vs native wasm in the
// same run, with where the time goes (tf.profile, by kernel).
import { cpus, loadavg } from 'node:os';
import { initBackend, loadNativeAddon, setNativeKernelsEnabled, tf } from '@kava/core';

const quick = process.argv.includes('--quick');
const stepOnly = process.argv.includes('--step-only');
const noStockStep = process.argv.includes('--no-stock-step');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
const { addon, detail } = loadNativeAddon();
const info = await initBackend('wasm');
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), load average ${loadavg()[0].toFixed(2)} at start`);
console.log(info.description);
console.log(`native addon: ${addon ? `${detail}\n  ${addon.blas.config}; core ${addon.blas.core}; ${addon.blas.threads} thread(s)` : detail}`);
for (const name of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS']) {
  console.log(`  ${name}=${process.env[name] ?? '(unset)'}`);
}

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

if (!stepOnly) {
  console.log('\nGFLOP/s of tf.matMul (median; fp32; higher is better)');
  console.log(`${'shape'.padEnd(40)}${CONFIGS.map(([, , label]) => label.padStart(13)).join('')}`);
}
const gflops = {};
for (const shape of stepOnly ? [] : SHAPES) {
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
setNativeKernelsEnabled(true);
if (addon && !stepOnly) {
  const ratios = SHAPES.map((s) => `${s.name}: ${(gflops[s.name]['wasm native'] / gflops[s.name]['wasm stock']).toFixed(1)}x`);
  console.log(`native vs stock wasm: ${ratios.join(', ')}`);
}

// ---------- model step ----------
// The forward+backward of a Llama-style decoder in the reference shape, written here in plain
// tfjs (RMSNorm, GQA attention with a causal mask, SwiGLU, tied vocabulary projection,
// cross-entropy; RoPE skipped) until the shared decoder and trainer exist.
const CFG = { layers: 4, d: 256, heads: 8, kvHeads: 2, mlp: 688, vocab: 1024, batch: 8, seq: 85 };

function makeModel(c) {
  let seed = 10;
  const w = (shape, scale = 0.02) => tf.variable(tf.randomNormal(shape, 0, scale, 'float32', seed++));
  const hd = c.d / c.heads;
  const layers = [];
  for (let l = 0; l < c.layers; l++) {
    layers.push({
      norm1: tf.variable(tf.ones([c.d])), wq: w([c.d, c.d]), wk: w([c.d, c.kvHeads * hd]), wv: w([c.d, c.kvHeads * hd]),
      wo: w([c.d, c.d]), norm2: tf.variable(tf.ones([c.d])), wg: w([c.d, c.mlp]), wu: w([c.d, c.mlp]), wd: w([c.mlp, c.d]),
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
    const q = tf.reshape(tf.transpose(tf.reshape(tf.matMul(h, p.wq), [B, T, H, hd]), [0, 2, 1, 3]), [B, KV, group * T, hd]);
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

/** Wraps every kernel registered for `backend` in a timer; returns the live name -> {ms, n} map. */
function timeKernels(backend) {
  const timings = new Map();
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t0 = performance.now();
        const out = inner(args);
        const e = timings.get(k.kernelName) ?? { ms: 0, n: 0 };
        e.ms += performance.now() - t0;
        e.n += 1;
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
  console.log(`\nLlama-style forward+backward on ${backend}: ${c.layers} layers, d=${c.d}, ${c.heads} heads / ${c.kvHeads} KV heads, ` +
    `MLP ${c.mlp}, vocab ${c.vocab}, batch ${c.batch} x ${c.seq} tokens = ${tokens} tokens, ${(nParams / 1e6).toFixed(2)} M parameters`);
  const results = {};
  // Kernel sets: all fast kernels; only the matmuls stock (what native sgemm alone buys); all stock
  // (tfjs 4.22 kernels plus the repo's cpu bridge for UnsortedSegmentSum, which wasm lacks).
  const MATMUL = ['BatchMatMul', '_FusedMatMul'];
  const SETS = {
    native: () => setNativeKernelsEnabled(true),
    'stock matmul': () => { setNativeKernelsEnabled(true); setNativeKernelsEnabled(false, MATMUL); },
    stock: () => setNativeKernelsEnabled(false),
  };
  const setNames = addon ? ['native', ...(noStockStep || onlyFast ? [] : ['stock matmul', 'stock'])] : onlyFast ? [] : ['stock'];
  if (setNames.length === 0) return;
  const sets = setNames.map((label) => [label, SETS[label]]);
  for (const [label, configure] of sets) {
    configure();
    const fast = label === 'native';
    const before = tf.memory().numTensors;
    const sec = timeIt(step, { minRuns: fast ? runs : quick ? 1 : 3, budget: fast ? 3 : 1 });
    const leaked = tf.memory().numTensors - before;
    results[label] = sec;
    console.log(`  ${label.padEnd(13)} ${fmt(sec, 3)} s/step  ${fmt(tokens / sec, 0)} tokens/s  (median; tensors leaked per run: ${leaked})`);
  }
  for (const other of ['stock matmul', 'stock']) {
    if (results.native && results[other]) console.log(`  native is ${(results[other] / results.native).toFixed(1)}x "${other}"`);
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
    console.log(`  where the time goes (${label}, one step: ${wall.toFixed(0)} ms; ${kernelMs.toFixed(0)} ms in ${calls} kernel calls, ` +
      `${(wall - kernelMs).toFixed(0)} ms (${((100 * (wall - kernelMs)) / wall).toFixed(0)} %) in the engine, tape and JavaScript around them):`);
    for (const [name, e] of top) {
      console.log(`    ${name.padEnd(20)} ${fmt(e.ms, 1)} ms ${fmt((100 * e.ms) / wall, 1)} %  (${e.n} calls)`);
    }
  }
  setNativeKernelsEnabled(true);
  tf.dispose([...vars, ids, labels, mask]);
}

await stepBench('wasm');
// The cpu backend with the same fast kernels, for comparison (its elementwise kernels are plain
// JavaScript); its fully stock step takes minutes and is left out.
await stepBench('cpu', { onlyFast: true, runs: quick ? 1 : 3 });
console.log(`\nload average ${loadavg()[0].toFixed(2)} at the end (other processes on these cores slow every figure)`);
