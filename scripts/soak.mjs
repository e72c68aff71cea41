#!/usr/bin/env node
// Soak run (not a test: it prints figures). Trains the tiny preset for many steps with a held-out
// evaluation every few, and prints the live tensor count and the process memory as it goes, to
// show both stay flat: a leak of one tensor per step or per evaluation shows as a rising column.
//   npm run build && node scripts/soak.mjs [--steps 1000] [--eval-every 100] [--eval-limit N]
//                                          [--report-every 50] [--backend wasm] [--keep] [--help]
// Prints one row every --report-every steps (and at step 1 and after each evaluation), then the
// figures at the first, middle and last step and the growth between them. The run folder is
// made in a temporary directory and removed at the end unless --keep.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { failer, positiveInt } from './lib/cli-args.mjs';

const USAGE = `Usage: node scripts/soak.mjs [options]   (after npm run build)

Trains the tiny preset for many steps and prints the live tensor count and the process memory as
it goes (a leak shows as a rising column). Takes about 13 minutes with the defaults on 2 cores.

  --steps N           optimiser steps (default 1000)
  --eval-every N      steps between held-out evaluations (default 100; 0 = none)
  --eval-limit N      questions per evaluation (default: the preset's eval.limit)
  --report-every N    steps between rows (default 50)
  --backend NAME      auto, wasm, cpu, tensorflow, tensorflow-gpu (default auto)
  --keep              keep the run folder (default: removed at the end)
  -h, --help          this text
`;

const fail = failer('soak');
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      steps: { type: 'string', default: '1000' },
      'eval-every': { type: 'string', default: '100' },
      'eval-limit': { type: 'string' },
      'report-every': { type: 'string', default: '50' },
      backend: { type: 'string', default: 'auto' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail(`${err.message} (see --help)`); // an unknown or malformed flag: a usage error, exit 2
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const steps = positiveInt('steps', args.steps, fail);
const evalEvery = args['eval-every'] === '0' ? 0 : positiveInt('eval-every', args['eval-every'], fail);
const evalLimit = args['eval-limit'] === undefined ? null : positiveInt('eval-limit', args['eval-limit'], fail);
const reportEvery = positiveInt('report-every', args['report-every'], fail);
const { backend, keep } = args;

// Loaded once the flags are read, so --help and a mistyped flag answer at once.
const { initBackend, resolveConfig, tf, train } = await import('@kava/core/app');
const { BUILTIN_PLUGINS } = await import('@kava/cli/builtin-plugins');

const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
const rows = [];
const sample = (step, event) => {
  const m = process.memoryUsage();
  const row = {
    step,
    event,
    tensors: tf.memory().numTensors,
    tensorMB: tf.memory().numBytes / 2 ** 20,
    rssMB: m.rss / 2 ** 20,
    heapMB: m.heapUsed / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
  };
  rows.push(row);
  console.log(
    `${String(step).padStart(6)}  ${event.padEnd(5)}  ${String(row.tensors).padStart(7)}  ${row.tensorMB.toFixed(1).padStart(9)}  ${mb(m.rss).padStart(8)}  ${mb(m.heapUsed).padStart(8)}  ${row.seconds.toFixed(0).padStart(6)}`,
  );
};

/** Taps the trainer's hooks: a row after step 1, every reportEvery steps and after each evaluation. */
const probe = {
  name: 'soak-probe',
  apply(hooks) {
    hooks.step.tap('soak-probe', (m) => {
      if (m.step === 1 || m.step % reportEvery === 0 || m.step === m.totalSteps) sample(m.step, 'step');
    });
    hooks.evaluation.tap('soak-probe', (e) => sample(e.step ?? -1, 'eval'));
  },
};

const out = mkdtempSync(join(tmpdir(), 'kava-soak-'));
const resolved = await resolveConfig({
  cwd: out,
  presets: ['tiny-llama'],
  overrides: {
    backend,
    train: { steps, evalEvery, out: join(out, 'runs'), checkpointEvery: Math.max(1, Math.floor(steps / 4)) },
    ...(evalLimit ? { eval: { limit: evalLimit } } : {}),
  },
  extraPlugins: [probe],
  builtinPlugins: BUILTIN_PLUGINS,
});
const info = await initBackend(resolved.config.backend);
console.log(info.description);
console.log(
  `soak: tiny-llama, ${steps} steps of batch ${resolved.config.train.batchSize}, evaluation every ${evalEvery} steps` +
    `${evalLimit ? ` (${evalLimit} questions)` : ''}; tensors before training: ${tf.memory().numTensors}`,
);
console.log('  step  event  tensors  tensor MB    RSS MB   heap MB  time s');
const started = performance.now();
let failed = false;
try {
  const result = await train({ resolved, skipFinalEval: true });
  const at = (step) => rows.find((r) => r.step === step && r.event === 'step');
  const first = at(1);
  const middle = at(Math.round(steps / 2 / reportEvery) * reportEvery) ?? rows[Math.floor(rows.length / 2)];
  const last = at(steps);
  console.log(`\nrun: ${result.runDir} (${result.steps} steps in ${result.wallSeconds.toFixed(0)} s)`);
  for (const r of [first, middle, last])
    if (r)
      console.log(
        `step ${String(r.step).padStart(5)}: ${r.tensors} tensors (${r.tensorMB.toFixed(1)} MB), RSS ${r.rssMB.toFixed(1)} MB, heap ${r.heapMB.toFixed(1)} MB`,
      );
  if (first && last) {
    console.log(
      `growth from step 1 to step ${last.step}: ${last.tensors - first.tensors} tensors, RSS ${(last.rssMB - first.rssMB).toFixed(1)} MB, heap ${(last.heapMB - first.heapMB).toFixed(1)} MB`,
    );
  }
  // The teacher warm-up (train.teacherWarmup of the steps) trains the teacher alone: the student's
  // optimiser moments (and the larger working set of its rollout) appear only after it, so the
  // leak check compares the first row after the warm-up with the last one.
  const warmupEnd = Math.round(resolved.config.train.teacherWarmup * steps);
  const settled = rows.find((r) => r.event === 'step' && r.step > warmupEnd);
  if (settled && last && settled !== last) {
    console.log(
      `after the teacher warm-up (steps ${warmupEnd + 1}-${steps}), step ${settled.step} to ${last.step}: ` +
        `${last.tensors - settled.tensors} tensors, RSS ${(last.rssMB - settled.rssMB).toFixed(1)} MB, heap ${(last.heapMB - settled.heapMB).toFixed(1)} MB`,
    );
    failed = last.tensors !== settled.tensors;
    console.log(failed ? 'tensor count is NOT flat: something leaks tensors' : 'tensor count is flat');
  }
  console.log(`tensors after the run: ${tf.memory().numTensors}`);
} finally {
  if (!keep) rmSync(out, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
