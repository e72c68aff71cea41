#!/usr/bin/env node
// Times one compression of a teacher cache with every scorer, per tfjs backend: L = 16 layers,
// H_kv = 8 KV heads (GQA group 4, i.e. 32 query heads: Llama-3.2-1B's shape), N = 512 CoT
// tokens, d = 64, kept to M = 24 per (layer, head), 16 answer queries, an α = 8 window.
// Prints the median over repetitions of scoring, of eviction and of both. Not a test: figures.
//
//   npm run bench:compress                           (builds first)
//   node scripts/bench-compress.mjs --backends cpu --reps 3 --scorers rkv,keydiff
//   node scripts/bench-compress.mjs --plugins kava-plugin-example --scorers value-norm,keydiff
import { parseArgs } from 'node:util';
import { tf, initBackend, loadPlugins } from '@kava/core/app';
import { median } from './lib/stats.mjs';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'cpu,wasm' },
    reps: { type: 'string', default: '5' },
    scorers: { type: 'string', default: '' },
    batch: { type: 'string', default: '1' },
    plugins: { type: 'string', default: '' }, // extra scorer plugins (npm names or paths from the cwd)
  },
});
const shape = { B: Number(args.batch), L: 16, Hkv: 8, G: 4, N: 512, d: 64, M: 24, Qa: 16, alpha: 8 };
const reps = Math.max(1, Number(args.reps));

const extra = args.plugins ? args.plugins.split(',') : [];
const { registry } = await loadPlugins(['@kava/plugin-rkv', '@kava/plugin-keydiff', ...extra]);
const evictor = registry.get('evictor', 'topk').create({});
const names = args.scorers ? args.scorers.split(',') : registry.names('scorer');

function makeCache() {
  const { B, L, Hkv, G, N, d, Qa, alpha } = shape;
  return {
    keys: tf.randomNormal([B, L, Hkv, N, d], 0, 1, 'float32', 1),
    values: tf.randomNormal([B, L, Hkv, N, d], 0, 1, 'float32', 2),
    mask: tf.ones([B, N]),
    positions: tf.range(0, N, 1, 'int32').add(40).expandDims(0).tile([B, 1]),
    answerQueries: tf.randomNormal([B, L, Hkv * G, Qa, d], 0, 1, 'float32', 3),
    answerQueryMask: tf.ones([B, Qa]),
    windowQueries: tf.randomNormal([B, L, Hkv * G, alpha, d], 0, 1, 'float32', 4),
    windowQueryMask: tf.ones([B, alpha]),
    groupSize: G,
    groupReduce: 'max',
    budget: shape.M,
    seed: 0,
  };
}

const ms = (x) => x.toFixed(1).padStart(9);

console.log(
  `compress L=${shape.L} H_kv=${shape.Hkv} (group ${shape.G}) N=${shape.N} d=${shape.d} -> M=${shape.M}, B=${shape.B}; ` +
    `median of ${reps} after one warm-up; tfjs ${tf.version_core}, node ${process.version}`,
);
for (const backend of args.backends.split(',')) {
  const info = await initBackend(backend);
  console.log(`\n${info.description}`);
  console.log(`${'scorer'.padEnd(14)}${'score ms'.padStart(9)}${'evict ms'.padStart(9)}${'total ms'.padStart(9)}`);
  const cache = makeCache();
  for (const name of names) {
    const scorer = registry.get('scorer', name).create({});
    const times = { score: [], evict: [], total: [] };
    for (let rep = 0; rep <= reps; rep++) {
      const t0 = performance.now();
      const scores = scorer.score(cache);
      await scores.data(); // wait for the backend, so the split between the phases is real
      const t1 = performance.now();
      const out = evictor.evict(cache, scores, shape.M);
      await out.keys.data();
      const t2 = performance.now();
      tf.dispose([scores, out.keys, out.values, out.indices, out.slotMask]);
      if (rep === 0) continue; // warm-up: kernel compilation, wasm heap growth
      times.score.push(t1 - t0);
      times.evict.push(t2 - t1);
      times.total.push(t2 - t0);
    }
    console.log(`${name.padEnd(14)}${ms(median(times.score))}${ms(median(times.evict))}${ms(median(times.total))}`);
  }
  tf.dispose(Object.values(cache).filter((v) => v instanceof tf.Tensor));
}
