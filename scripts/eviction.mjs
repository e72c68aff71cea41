#!/usr/bin/env node
// Which press keeps reasoning intact: held-out accuracy of CoT backbones writing their trace under
// a KV budget (kava eval --mode cot --kv-budget N), for every scorer with the uniform top-k
// evictor and for the budget-allocating evictors (per layer, per head) with one scorer, at a share
// of the trace's mean length. Each finished evaluation is a small JSON record in
// docs/results/eviction/; the report (docs/eviction.md and its chart) is remade from the records alone,
// with a second table: KaVa distilled with two of the new presses (records of `npm run experiment --
// --presses`, docs/results/runs/) beside the replication's runs from the same backbones.
//   node scripts/eviction.mjs --backbone equation=RUN --backbone nl=RUN [--limit 200] [--report-only] [--report-dir DIR]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pairedBootstrap } from './lib/stats.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'packages/cli/bin/kava.js');
const RECORDS = join(REPO, 'docs/results/eviction');

/**
 * Every scorer, with the top-k evictor. `attention` and `rkv` read the answer's queries, which do
 * not exist while the trace is written: the last trace tokens' stand in (eval.kvQueryWindow).
 */
const SCORERS = [
  'random',
  'recent',
  'knorm',
  'keydiff',
  'attention',
  'rkv',
  'rkv-decoding',
  'snapkv',
  'h2o',
  'tova',
  'expected-attention',
];
/** The evictors that give layers (pyramid) or heads (adakv) budgets of their own, each with EVICTOR_SCORER. */
const EVICTORS = ['pyramid', 'adakv'];
const EVICTOR_SCORER = 'h2o';
const SHARES = [0.25, 0.5, 0.75];
/**
 * The stand-in window (--windows): the scorers that read the answer's queries, with the queries of
 * the last W trace tokens for several W, at the larger budgets. The main table uses the default 8.
 */
const WINDOW_SCORERS = ['attention', 'rkv'];
const WINDOW_SHARES = [0.5, 0.75];
const DEFAULT_WINDOW = 8;

/** The second table: the KaVa-with-new-presses runs and the replication grid they are compared with. */
const DISTILL_PRESSES = 'two-stage-presses-stage1-3000';
const DISTILL_BASE = 'two-stage-stage1-3000';
const DISTILL_BASE_METHODS = ['no-cot', 'pccot', 'kava-random', 'kava-rkv'];
const DISTILL_AGAINST = ['kava-rkv', 'no-cot'];

const { values } = parseArgs({
  options: {
    backbone: { type: 'string', multiple: true, default: [] },
    limit: { type: 'string', default: '200' },
    scorers: { type: 'string', default: SCORERS.join(',') },
    evictors: { type: 'string', default: EVICTORS.join(',') },
    windows: { type: 'string', default: '' },
    'report-only': { type: 'boolean', default: false },
    'report-dir': { type: 'string', default: join(REPO, 'docs') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'node scripts/eviction.mjs --backbone TRACES=RUN ... [--limit N] [--scorers a,b] [--evictors a,b] [--windows 1,32,...] [--report-only] [--report-dir DIR]\n',
  );
  process.exit(0);
}
const limit = Number(values.limit);
const REPORT = join(resolve(values['report-dir']), 'eviction.md');
const CHART = join(resolve(values['report-dir']), 'eviction.svg');

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
    // N, a share of the mean trace, and W = max(2, ⌈N/4⌉); the eval flags of such a budget.
    const budgetAt = (share) => {
      const budget = Math.max(1, Math.round(share * trace));
      return { budget, interval: Math.max(2, Math.ceil(budget / 4)) };
    };
    const budgetFlags = ({ budget, interval }, scorer) => [
      '--kv-budget',
      String(budget),
      '--kv-interval',
      String(interval),
      '--kv-scorer',
      scorer,
    ];
    for (const share of SHARES) {
      const { budget, interval } = budgetAt(share);
      const cells = [
        ...values.scorers.split(',').map((scorer) => ({ scorer, evictor: 'topk' })),
        ...values.evictors.split(',').map((evictor) => ({ scorer: EVICTOR_SCORER, evictor })),
      ].filter((c) => c.scorer && c.evictor);
      for (const { scorer, evictor } of cells) {
        const id = `${evictor === 'topk' ? scorer : `${scorer}+${evictor}`}-${share}`;
        if (existsSync(join(RECORDS, `${traces}-${id}.json`))) continue;
        const r = evaluate(copy, [...budgetFlags({ budget, interval }, scorer), '--kv-evictor', evictor]);
        record(traces, id, { scorer, evictor, share, budget, interval, ...pick(r) });
      }
    }
    for (const share of WINDOW_SHARES) {
      const { budget, interval } = budgetAt(share);
      for (const window of values.windows.split(',').filter(Boolean).map(Number))
        for (const scorer of WINDOW_SCORERS) {
          if (window === DEFAULT_WINDOW) continue; // the main table's cell
          const id = `${scorer}-w${window}-${share}`;
          if (existsSync(join(RECORDS, `${traces}-${id}.json`))) continue;
          const r = evaluate(copy, [
            ...budgetFlags({ budget, interval }, scorer),
            '--set',
            `eval.kvQueryWindow=${window}`,
          ]);
          record(traces, id, { scorer, evictor: 'topk', window, share, budget, interval, ...pick(r) });
        }
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** A record's row: its scorer, with its evictor when that is not the uniform top-k. */
function pressOf(r) {
  return !r.evictor || r.evictor === 'topk' ? r.scorer : `${r.scorer} + ${r.evictor}`;
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
  'W = max(2, ⌈N/4⌉). Every scorer runs with the uniform top-k evictor (N per layer and head);',
  '`attention` and `rkv`, which read the answer, read the last 8 trace tokens instead (eval.kvQueryWindow).',
  `Rows "${EVICTOR_SCORER} + pyramid" and "${EVICTOR_SCORER} + adakv" keep what ${EVICTOR_SCORER} scores under budgets per layer`,
  '(N in the first layer falling to N/2 in the last) or per head (a layer keeps 0.75·H_kv·N in all, divided',
  'by score), so they hold fewer entries than N on average. Δ is the accuracy minus the full cache, in',
  'points, with a paired bootstrap 95 % interval over the questions.',
  '',
];
/** A cell: the accuracy, and Δ to the full cache with its paired bootstrap 95 % interval over the questions. */
const delta = (r, full) => {
  const { diff, lo, hi } = pairedBootstrap([...r.perQuestion].map(Number), [...full.perQuestion].map(Number));
  const f = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  return `${(100 * r.accuracy).toFixed(1)}, ${f(diff)} [${f(lo)}, ${f(hi)}]`;
};
const intro = lines.length;
for (const traces of [...new Set(records.map((r) => r.traces))].sort()) {
  const full = records.find((r) => r.traces === traces && r.id === 'full');
  if (!full) continue;
  const rows = records.filter((r) => r.traces === traces && r.id !== 'full' && r.window === undefined);
  const shares = [...new Set(rows.map((r) => r.share))].sort();
  const budgets = shares.map((s) => rows.find((r) => r.share === s)?.budget);
  lines.push(
    `## ${traces} traces: full cache ${(100 * full.accuracy).toFixed(1)} % (${full.correct}/${full.questions}), ${full.generatedTokensPerQuestion.toFixed(1)} tokens written per question`,
    '',
    `| scorer | ${shares.map((s, i) => `${Math.round(100 * s)} % (N = ${budgets[i]}): accuracy, Δ [95 % CI]`).join(' | ')} |`,
    `|---|${shares.map(() => '---').join('|')}|`,
  );
  for (const press of [...new Set(rows.map(pressOf))]) {
    const cells = shares.map((s) => {
      const r = rows.find((x) => pressOf(x) === press && x.share === s);
      return r ? delta(r, full) : '–';
    });
    lines.push(`| ${press} | ${cells.join(' | ')} |`);
  }
  lines.push('');
}

// The stand-in window: the answer-reading scorers with more or fewer of the last tokens' queries.
for (const traces of [...new Set(records.filter((r) => r.window !== undefined).map((r) => r.traces))].sort()) {
  const full = records.find((r) => r.traces === traces && r.id === 'full');
  const main = records.filter(
    (r) => r.traces === traces && r.window === undefined && WINDOW_SCORERS.includes(r.scorer),
  );
  const swept = records.filter((r) => r.traces === traces && r.window !== undefined);
  const cells = [...main.map((r) => ({ ...r, window: DEFAULT_WINDOW })), ...swept].filter((r) =>
    WINDOW_SHARES.includes(r.share),
  );
  const shares = WINDOW_SHARES.filter((s) => cells.some((r) => r.share === s));
  lines.push(
    `## ${traces} traces: the stand-in window (the last W trace tokens' queries in place of the answer's)`,
    '',
    `| scorer | W | ${shares.map((s) => `${Math.round(100 * s)} % (N = ${cells.find((r) => r.share === s).budget}): accuracy, Δ [95 % CI]`).join(' | ')} |`,
    `|---|---|${shares.map(() => '---').join('|')}|`,
  );
  for (const scorer of WINDOW_SCORERS)
    for (const window of [...new Set(cells.filter((r) => r.scorer === scorer).map((r) => r.window))].sort(
      (a, b) => a - b,
    )) {
      const row = shares.map((s) => {
        const r = cells.find((x) => x.scorer === scorer && x.window === window && x.share === s);
        return r ? delta(r, full) : '–';
      });
      lines.push(`| ${scorer} | ${window}${window === DEFAULT_WINDOW ? ' (default)' : ''} | ${row.join(' | ')} |`);
    }
  // Each share's best window row against the main table's best press at that share.
  const mainRows = records.filter((r) => r.traces === traces && r.id !== 'full' && r.window === undefined);
  const best = (rs) => rs.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  lines.push(
    '',
    'The window is what these scorers see of the answer: the last W trace tokens stand in for it. The likely',
    'reason a short one fails on verbose traces (not measured here): the last few tokens of a wordy sentence',
    'attend to its own words, not to the earlier results the answer needs.',
    ...shares.map((s) => {
      const w = best(cells.filter((r) => r.share === s));
      const m = best(mainRows.filter((r) => r.share === s));
      return `At ${Math.round(100 * s)} %: the best window row is ${w.scorer} with W = ${w.window} (${delta(w, full)}); the best row of the main table, ${pressOf(m)} (${delta(m, full)}).`;
    }),
    'Long traces want a wider window than the default: `--set eval.kvQueryWindow=32`.',
  );
  lines.push('');
}

// The second table: KaVa distilled with two of the new presses as its scorer, on the same seed-1
// backbones, beside the replication's KaVa/R-KV, KaVa/random, PCCoT (no KV loss) and no-CoT runs.
const distilled = (experiment) => {
  const dir = join(REPO, 'docs/results/runs', experiment);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('-seed1.json'))
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    : [];
};
const pressRuns = distilled(DISTILL_PRESSES);
const baseRuns = distilled(DISTILL_BASE).filter((r) => DISTILL_BASE_METHODS.includes(r.method));
if (pressRuns.length) {
  lines.push(
    '## KaVa distilled with the new presses as its scorer',
    '',
    `The latent student of KaVa (docs/results.md) with SnapKV or H2O choosing which teacher entries it`,
    `distils, seed 1, 1,000 stage-2 steps from the 3,000-step CoT backbones (records in`,
    `[results/runs/${DISTILL_PRESSES}/](results/runs/${DISTILL_PRESSES}/)), beside the replication's runs from the same`,
    `backbones ([results/runs/${DISTILL_BASE}/](results/runs/${DISTILL_BASE}/)). Test accuracy on the 400 held-out questions;`,
    'Δ is paired over the questions, with a bootstrap 95 % interval over the questions only: seeds differ by 2–4',
    'points (docs/results.md), so these intervals understate the uncertainty of a one-seed comparison.',
    '"Latents shuffled" and "placeholders" are the same model evaluated with the latents of another question',
    'of the batch, and with no latent rollout at all (kava eval --latent-usage), where the run recorded them.',
    '',
  );
  const pct = (x) => (x === undefined ? '–' : (100 * x).toFixed(1));
  const bits = (r) => [...r.perQuestion].map(Number);
  const cell = (r, ref) => {
    if (!ref || r === ref) return '–';
    const { diff, lo, hi } = pairedBootstrap(bits(r), bits(ref));
    const f = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
    return `${f(diff)} [${f(lo)}, ${f(hi)}]`;
  };
  const verdicts = [];
  for (const traces of [...new Set(pressRuns.map((r) => r.traces))].sort()) {
    const rows = [...baseRuns, ...pressRuns].filter((r) => r.traces === traces);
    // Each run names the settings of the backbone it fine-tuned (`from`): one backbone per table.
    const stage1 = new Set(rows.map((r) => JSON.parse(r.settings).from));
    if (stage1.size !== 1 || stage1.has(undefined))
      throw new Error(`eviction: the ${traces} runs of the second table do not all name one backbone they fine-tuned`);
    const of = (method) => rows.find((r) => r.method === method);
    const against = DISTILL_AGAINST.map(of);
    lines.push(
      `### ${traces} traces`,
      '',
      `| method | accuracy | ${DISTILL_AGAINST.map((m) => `Δ vs ${m} [95 % CI]`).join(' | ')} | latents shuffled | placeholders |`,
      `|---|---|${DISTILL_AGAINST.map(() => '---').join('|')}|---|---|`,
    );
    for (const method of [...DISTILL_BASE_METHODS, ...new Set(pressRuns.map((r) => r.method))]) {
      const r = of(method);
      if (!r) continue;
      lines.push(
        `| ${method} | ${pct(r.accuracy)} (${r.correct}/${r.questions}) | ${against.map((ref) => cell(r, ref)).join(' | ')} | ${pct(r.accuracyLatentsShuffled)} | ${pct(r.accuracyLatentsPlaceholder)} |`,
      );
      if (pressRuns.includes(r)) {
        const [rkv, noCot] = against;
        const vs = (ref) => pairedBootstrap(bits(r), bits(ref));
        const side = ({ lo, hi }) => (lo > 0 ? 'above' : hi < 0 ? 'below' : 'within noise of');
        verdicts.push(
          `${method} on ${traces} traces is ${side(vs(rkv))} KaVa/R-KV (${cell(r, rkv)}) and ${side(vs(noCot))} no-CoT (${cell(r, noCot)})` +
            (r.accuracyLatentsPlaceholder !== undefined
              ? `; without its latents it scores ${pct(r.accuracyLatentsPlaceholder)} against ${pct(r.accuracy)} with them.`
              : '.'),
        );
      }
    }
    lines.push('');
  }
  const allWithin = verdicts.every((v) => v.includes('is within noise of KaVa/R-KV'));
  const noneAbove = verdicts.every((v) => !v.includes('above no-CoT'));
  lines.push(
    '**Verdict.** ' + verdicts.join(' '),
    ...(allWithin && noneAbove
      ? [
          'At one seed and 1,000 stage-2 steps neither new press is told apart from R-KV as a distillation target,',
          'and none lifts the student above no-CoT: as in the replication, where R-KV, KeyDiff and random were within',
          'noise of each other, the choice of press does not move the latent student past answering at once. That',
          'is the open problem of docs/results.md (issue 36), not a property of the press. Which press keeps a',
          '*decoding* cache intact (the tables above) and which makes a better distillation target are different',
          'questions.',
        ]
      : ['The presses differ here as a distillation target; a second seed would tell whether it holds.']),
    '',
  );
}

// The chart: accuracy against the budget's share of the trace, one line per press, the full cache at 100 %.
const points = records.flatMap((r) => {
  const full = records.find((f) => f.traces === r.traces && f.id === 'full');
  if (r.id === 'full' || r.window !== undefined) return [];
  const at = (share, accuracy) => ({ traces: r.traces, press: pressOf(r), share, accuracy });
  return [at(r.share, r.accuracy), ...(full && r.share === Math.max(...SHARES) ? [at(1, full.accuracy)] : [])];
});
if (points.length) {
  const { renderSvg } = await import('@kava/cli');
  const svg = await renderSvg({
    title: 'Held-out accuracy under a KV budget while the trace is written (100 %: the full cache)',
    data: { values: points },
    width: 300,
    height: 240,
    facet: { column: { field: 'traces', type: 'nominal', title: null } },
    spec: {
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'share', type: 'quantitative', title: 'budget, share of the trace', axis: { format: '.0%' } },
        y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' } },
        color: { field: 'press', type: 'nominal', title: 'scorer (+ evictor)' },
      },
    },
  });
  writeFileSync(CHART, svg);
  lines.splice(intro, 0, `![Accuracy against the KV budget, one line per press](${basename(CHART)})`, '');
}
writeFileSync(REPORT, `${lines.join('\n')}\n`);
process.stdout.write(`wrote ${REPORT}${points.length ? ` and ${CHART}` : ''}\n`);
