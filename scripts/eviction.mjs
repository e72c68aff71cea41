#!/usr/bin/env node
// Which press keeps reasoning intact: held-out accuracy of CoT backbones writing their trace under
// a KV budget (kava eval --mode cot --kv-budget N), for each decoding-capable scorer, at a share of
// the trace's mean length. Each finished evaluation is a small JSON record in
// docs/results/eviction/; the report (docs/eviction.md) is remade from the records alone.
//   node scripts/eviction.mjs --backbone equation=RUN --backbone nl=RUN [--limit 200] [--report-only]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pairedBootstrap } from './lib/stats.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const RECORDS = join(REPO, 'docs/results/eviction');
const REPORT = join(REPO, 'docs/eviction.md');
/** Scorers that run while a trace is written (those reading the answer's queries cannot). */
const SCORERS = ['random', 'recent', 'knorm', 'keydiff', 'rkv-decoding', 'snapkv', 'h2o', 'tova', 'expected-attention'];
const SHARES = [0.25, 0.5, 0.75];

const { values } = parseArgs({
  options: {
    backbone: { type: 'string', multiple: true, default: [] },
    limit: { type: 'string', default: '200' },
    scorers: { type: 'string', default: SCORERS.join(',') },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'node scripts/eviction.mjs --backbone TRACES=RUN ... [--limit N] [--scorers a,b] [--report-only]\n',
  );
  process.exit(0);
}
const limit = Number(values.limit);

/** Runs kava eval on a copy of the run (predictions land in the copy) and returns the report with per-question correctness. */
function evaluate(copy, extra) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'eval', '--run', copy, '--mode', 'cot', '--limit', String(limit), '--json', ...extra],
    { encoding: 'utf8', env: { ...process.env, KAVA_BLAS_THREADS: process.env.KAVA_BLAS_THREADS ?? '1' } },
  );
  if (r.status !== 0) throw new Error(`kava eval ${extra.join(' ')} failed:\n${r.stderr}`);
  const report = JSON.parse(r.stdout);
  const perQuestion = readFileSync(report.predictionsFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l).correct ? '1' : '0'))
    .join('');
  return { ...report, perQuestion };
}

function record(traces, id, body) {
  mkdirSync(RECORDS, { recursive: true });
  writeFileSync(join(RECORDS, `${traces}-${id}.json`), `${JSON.stringify({ traces, id, limit, ...body }, null, 1)}\n`);
  process.stdout.write(`${traces} ${id}: ${(100 * body.accuracy).toFixed(1)} %\n`);
}

for (const spec of values['report-only'] ? [] : values.backbone) {
  const [traces, run] = spec.split('=');
  if (!traces || !run || !existsSync(join(run, 'config.json')))
    throw new Error(`--backbone ${spec}: expected TRACES=RUN_FOLDER`);
  const copy = mkdtempSync(join(tmpdir(), 'kava-eviction-'));
  cpSync(run, copy, { recursive: true, filter: (p) => !p.includes('/eval/') });
  try {
    const fullFile = join(RECORDS, `${traces}-full.json`);
    const full = existsSync(fullFile) ? JSON.parse(readFileSync(fullFile, 'utf8')) : null;
    const base = full ?? evaluate(copy, []);
    if (!full) record(traces, 'full', pick(base));
    const trace = Math.max(4, Math.round(base.generatedTokensPerQuestion));
    for (const share of SHARES) {
      const budget = Math.max(1, Math.round(share * trace));
      const interval = Math.max(2, Math.ceil(budget / 4));
      for (const scorer of values.scorers.split(',')) {
        const id = `${scorer}-${share}`;
        if (existsSync(join(RECORDS, `${traces}-${id}.json`))) continue;
        const r = evaluate(copy, [
          '--kv-budget',
          String(budget),
          '--kv-interval',
          String(interval),
          '--kv-scorer',
          scorer,
        ]);
        record(traces, id, { scorer, share, budget, interval, ...pick(r) });
      }
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function pick(r) {
  const keys = [
    'accuracy',
    'correct',
    'questions',
    'kvEntriesPerQuestion',
    'peakKvEntriesPerQuestion',
    'generatedTokensPerQuestion',
    'perQuestion',
  ];
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
}

// The report, from the records alone.
const records = existsSync(RECORDS)
  ? readdirSync(RECORDS)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(RECORDS, f), 'utf8')))
  : [];
const lines = [
  '# Which press keeps reasoning intact: accuracy under a KV budget while the trace is written',
  '',
  'Made by `node scripts/eviction.mjs --report-only` from the records in',
  '[results/eviction/](results/eviction/); do not edit by hand. Each backbone is a stage-1 CoT model',
  "of the latent study (seed 1, 3,000 steps; docs/results.md). It answers the study's held-out test",
  'questions in `cot` mode. Under `--kv-budget N` its trace cache grows to N + W entries per layer',
  'and KV head, then the scorer cuts it back to N (docs/cli.md, "A KV budget while the model writes',
  'its trace"). N is a share of the mean tokens the backbone writes without a budget, and',
  'W = max(2, ⌈N/4⌉). Δ is the accuracy minus the full cache, in points, with a paired bootstrap 95 %',
  'interval over the questions.',
  '',
];
for (const traces of [...new Set(records.map((r) => r.traces))].sort()) {
  const full = records.find((r) => r.traces === traces && r.id === 'full');
  if (!full) continue;
  const rows = records.filter((r) => r.traces === traces && r.id !== 'full');
  const shares = [...new Set(rows.map((r) => r.share))].sort();
  const budgets = shares.map((s) => rows.find((r) => r.share === s)?.budget);
  lines.push(
    `## ${traces} traces: full cache ${(100 * full.accuracy).toFixed(1)} % (${full.correct}/${full.questions}), ${full.generatedTokensPerQuestion.toFixed(1)} tokens written per question`,
    '',
    `| scorer | ${shares.map((s, i) => `${Math.round(100 * s)} % (N = ${budgets[i]}): accuracy, Δ [95 % CI]`).join(' | ')} |`,
    `|---|${shares.map(() => '---').join('|')}|`,
  );
  for (const scorer of [...new Set(rows.map((r) => r.scorer))]) {
    const cells = shares.map((s) => {
      const r = rows.find((x) => x.scorer === scorer && x.share === s);
      if (!r) return '–';
      const a = [...r.perQuestion].map(Number);
      const b = [...full.perQuestion].map(Number);
      const { diff, lo, hi } = pairedBootstrap(a, b);
      const f = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
      return `${(100 * r.accuracy).toFixed(1)}, ${f(diff)} [${f(lo)}, ${f(hi)}]`;
    });
    lines.push(`| ${scorer} | ${cells.join(' | ')} |`);
  }
  lines.push('');
}
writeFileSync(REPORT, `${lines.join('\n')}\n`);
process.stdout.write(`wrote ${REPORT}\n`);
