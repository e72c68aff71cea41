#!/usr/bin/env node
// The paper's comparison at small scale (KAVA-METHOD.md §5, §7): every method trained with the same
// tiny backbone, budget and seeds, in both trace styles, then one table and one bar chart.
//
//   npm run experiment:scratch               all 7 methods x 2 traces x 3 seeds on the synthetic task
//   npm run experiment:scratch -- --quick            1 seed, 100 steps, 100 test questions (< 20 min on 2 cores)
//   npm run experiment:scratch -- --data gsm8k       the same on ../shared/datasets/gsm8k (or --data-dir DIR)
//   options: --out DIR  --seeds 0,1,2  --methods no-cot,kava-rkv  --traces equation,nl  --jobs N
//            --steps N  --eval-limit N
//
// Each run is a `kava train` child process in <out>/<method>-<trace>-seed<k>/ with its own log.
// Resumable: a finished run (its eval.jsonl has the final row) is read, not rerun; an interrupted
// one continues from its last checkpoint (--resume). Results: <out>/results.json, results.md and
// results.svg. Ctrl-C stops the children (each saves a checkpoint) and the next call resumes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { finishedRun, isStopping, pool, root, setAsideIfStale, trainRun } from './lib/kava-runs.mjs';
import { mean, std } from './lib/stats.mjs';
import { failer, gridSelection, positiveInt } from './lib/grid-args.mjs';
import { methodBars, methodTable } from './lib/method-table.mjs';

/** The compared methods: presets plus the config that differs (the scorer for the KaVa variants). */
const METHODS = {
  'no-cot': { presets: ['no-cot'], config: {} },
  'full-cot': { presets: ['full-cot'], config: {} },
  codi: { presets: ['codi'], config: {} },
  pccot: { presets: ['pccot'], config: {} },
  'kava-rkv': { presets: ['kava'], config: { compression: { scorer: 'rkv', options: { lambda: 0.1 } } } },
  'kava-keydiff': { presets: ['kava'], config: { compression: { scorer: 'keydiff', options: {} } } },
  'kava-random': { presets: ['kava'], config: { compression: { scorer: 'random', options: {} } } },
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    data: { type: 'string', default: 'synthetic' },
    'data-dir': { type: 'string' },
    out: { type: 'string' },
    seeds: { type: 'string' },
    methods: { type: 'string' },
    traces: { type: 'string', default: 'equation,nl' },
    jobs: { type: 'string' },
    steps: { type: 'string' },
    'eval-limit': { type: 'string' },
    backbone: { type: 'string', default: 'tiny-llama' },
  },
});

const fail = failer('experiment');
const positive = (flag, text) => positiveInt(flag, text, fail);

const quick = args.quick;
const { methods, traces, seeds } = gridSelection(
  args,
  METHODS,
  { traces: 'equation,nl', seeds: quick ? '0' : '0,1,2' },
  fail,
);
const jobs = args.jobs ? positive('jobs', args.jobs) : Math.max(1, Math.min(availableParallelism(), 2));
const steps = args.steps ? positive('steps', args.steps) : quick ? 100 : null; // null: the preset's budget
const evalLimit = args['eval-limit'] ? positive('eval-limit', args['eval-limit']) : quick ? 100 : null;

/** The data layer of every run's config: the built-in synthetic task, or GSM8K files. */
function dataLayer() {
  if (args.data === 'synthetic') return { data: { format: 'synthetic', train: null, test: null } };
  if (args.data !== 'gsm8k') fail(`--data: expected synthetic or gsm8k, got "${args.data}"`);
  const dir = resolve(args['data-dir'] ?? join(root, '../shared/datasets/gsm8k'));
  for (const split of ['train', 'test']) {
    if (!existsSync(join(dir, `${split}.jsonl`)))
      fail(
        `--data gsm8k: ${join(dir, `${split}.jsonl`)} not found (point --data-dir at a folder with train.jsonl and test.jsonl)`,
      );
  }
  // 95 of the 7,473 training records have no <<expr=value>> annotations (no equation trace): skipped and counted.
  return {
    data: { format: 'gsm8k', train: join(dir, 'train.jsonl'), test: join(dir, 'test.jsonl'), skipInvalid: true },
  };
}

const outDir = resolve(args.out ?? join(root, 'experiments', `${args.data}${quick ? '-quick' : ''}`));
mkdirSync(outDir, { recursive: true });

const runs = traces.flatMap((trace) =>
  methods.flatMap((method) => seeds.map((seed) => ({ method, trace, seed, id: `${method}-${trace}-seed${seed}` }))),
);

/** The config file of one run: data, trace, the method's own settings, the budget and the seed. */
function runConfig(run) {
  const layer = dataLayer();
  layer.data = { ...layer.data, trace: run.trace, shuffleSeed: run.seed };
  const config = { ...layer, ...structuredClone(METHODS[run.method].config) };
  config.train = { seed: run.seed, checkpointEvery: 50, ...(steps ? { steps } : {}) };
  if (evalLimit) config.eval = { limit: evalLimit };
  return config;
}

function trainOnce(run) {
  return trainRun(join(outDir, run.id), [args.backbone, ...METHODS[run.method].presets], runConfig(run));
}

const started = Date.now();
const minutes = (ms) => `${(ms / 60000).toFixed(1)} min`;
let finished = 0;
async function one(run) {
  const t0 = Date.now();
  setAsideIfStale(join(outDir, run.id), JSON.stringify([args.backbone, METHODS[run.method].presets, runConfig(run)]));
  const runDir = join(outDir, run.id, 'run');
  const outcome = finishedRun(runDir) ?? (await trainOnce(run));
  run.result = outcome?.result ?? null;
  run.seconds = outcome?.seconds ?? null;
  finished++;
  const what = run.result
    ? `${(run.result.accuracy * 100).toFixed(1)}% (${run.result.correct}/${run.result.questions})`
    : 'no result';
  process.stdout.write(
    `[${finished}/${runs.length}] ${run.id}: ${what}, ${minutes(Date.now() - t0)} (elapsed ${minutes(Date.now() - started)})\n`,
  );
}

process.stdout.write(
  `experiment: ${runs.length} runs (${methods.length} methods x ${traces.length} traces x ${seeds.length} seeds) on ${args.data}, ${jobs} at a time, into ${outDir}\n`,
);
await pool(runs, jobs, one);
if (isStopping()) process.exit(130);

// ---- the table and the chart -------------------------------------------------------------------
const pct = (x) => (x * 100).toFixed(1);

const cells = {};
for (const method of methods) {
  for (const trace of traces) {
    const done = runs.filter((r) => r.method === method && r.trace === trace && r.result);
    if (!done.length) continue;
    const acc = done.map((r) => r.result.accuracy);
    cells[`${method}/${trace}`] = {
      method,
      trace,
      runs: done.length,
      accuracies: acc,
      mean: mean(acc),
      std: std(acc),
      passes: mean(done.map((r) => r.result.forwardPassesPerQuestion)),
      kv: mean(done.map((r) => r.result.kvEntriesPerQuestion)),
      seconds: mean(done.map((r) => r.seconds ?? 0)),
    };
  }
}

/**
 * The accuracy of always giving the held-out split's most frequent answer, per trace (from a
 * finished run's predictions): a model that ignores its question scores about this.
 */
const majority = {};
for (const trace of traces) {
  const run = runs.find((r) => r.trace === trace && r.result?.predictionsFile && existsSync(r.result.predictionsFile));
  if (!run) continue;
  const golds = readFileSync(run.result.predictionsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).gold);
  const counts = new Map();
  for (const g of golds) counts.set(g, (counts.get(g) ?? 0) + 1);
  const [answer, n] = [...counts].sort((a, b) => b[1] - a[1])[0];
  majority[trace] = { answer, accuracy: n / golds.length };
}

const cell = (m, t) => cells[`${m}/${t}`];
const table = methodTable({
  methods,
  traces,
  cell,
  headers: { accuracy: (t) => `${t} accuracy % (mean ± std, n)`, drop: 'drop eq → NL (points)' },
  drop: (m, c) => (c[0] && c[1] ? (100 * (c[0].mean - c[1].mean)).toFixed(1) : '–'),
});

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${loadavg()[0].toFixed(1)}`;
const command = `npm run experiment:scratch${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const baseline = traces
  .filter((t) => majority[t])
  .map((t) => `${t} ${pct(majority[t].accuracy)}% (always "${majority[t].answer}")`)
  .join(', ');
const results = {
  majority,
  data: args.data,
  quick,
  steps,
  evalLimit,
  seeds,
  traces,
  methods,
  machine,
  wallMinutes: (Date.now() - started) / 60000,
  command,
  cells,
  runs: runs.map(({ id, method, trace, seed, result, seconds }) => ({
    id,
    method,
    trace,
    seed,
    seconds,
    accuracy: result?.accuracy ?? null,
    correct: result?.correct ?? null,
    questions: result?.questions ?? null,
  })),
};
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const text = [
  `# Results: ${args.data}${quick ? ' (quick)' : ''}`,
  '',
  `command: \`${command}\`  `,
  `machine: ${machine}  `,
  `majority-answer baseline: ${baseline || '–'}  `,
  `budget: ${steps ?? "the preset's"} steps, ${evalLimit ?? "the preset's"} held-out questions, seeds ${seeds.join(', ')}; this call's wall time ${minutes(Date.now() - started)}`,
  '',
  table,
  '',
].join('\n');
writeFileSync(join(outDir, 'results.md'), text);

const svg = await methodBars({
  root,
  cells,
  methods,
  traces,
  title: `Held-out accuracy by method and trace style (${args.data}, mean ± std over seeds)`,
  width: 110,
  height: 240,
  format: '%',
});
writeFileSync(join(outDir, 'results.svg'), svg);
process.stdout.write(
  `\n${table}\n\nwrote ${join(outDir, 'results.md')}, results.json and results.svg (${minutes(Date.now() - started)})\n`,
);
