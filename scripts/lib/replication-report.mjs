// Tables, intervals and charts of the two-stage replication, made from the committed per-run
// results in docs/results/runs/<experiment>/ alone (so any machine can remake them).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { methodBars, methodTable } from './method-table.mjs';
import { mean, pairedBootstrap, std } from './stats.mjs';

const pct = (x) => (x * 100).toFixed(1);
const signed = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
const ci = (b) => `${signed(b.diff)} [${signed(b.lo)}, ${signed(b.hi)}]`;

export function readResults(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

/** The runs of `rs` whose seed `other` has too (so two sets of runs stand on the same backbones). */
const onSeedsOf = (rs, other) => rs.filter((r) => other.some((o) => o.seed === r.seed));

/**
 * Paired bootstrap of a − b over questions, on the seeds both sets of runs have (so both sides
 * stand on the same backbones); '–' when they share none.
 */
function pairedOverSeeds(a, b) {
  const [a2, b2] = [onSeedsOf(a, b), onSeedsOf(b, a)];
  if (!a2.length) return '–';
  const seeds = a2.length < Math.max(a.length, b.length) ? ` (seed ${a2.map((r) => r.seed).join(', ')})` : '';
  // The interval is over questions only; the difference on each seed shows the spread between seeds.
  const bySeed = (rs) => [...rs].sort((x, y) => x.seed - y.seed);
  const [as, bs] = [bySeed(a2), bySeed(b2)];
  const perSeed = as.length > 1 ? `; per seed ${as.map((r, i) => signed(r.accuracy - bs[i].accuracy)).join(', ')}` : '';
  return `${ci(pairedBootstrap(perQuestion(a2), perQuestion(b2)))}${seeds}${perSeed}`;
}

/** Per question, the correctness averaged over the given runs (all on the same test questions). */
function perQuestion(runs) {
  const n = Math.min(...runs.map((r) => r.perQuestion.length));
  return Array.from({ length: n }, (_, i) => mean(runs.map((r) => Number(r.perQuestion[i]))));
}

/**
 * Stage-2 runs that started from another build of their backbone than the committed stage-1 one
 * (a fresh machine rebuilds the model, which is not committed, and other CPU kernels round
 * differently). Runs without a `backbone` record predate it and used the committed build.
 */
export function otherBuilds(stage1, stage2) {
  return stage2.flatMap((r) => {
    const s1 = stage1.find((s) => s.traces === r.traces && s.seed === r.seed);
    if (!r.backbone || !s1) return [];
    const same = s1.sha256 ? r.backbone.sha256 === s1.sha256 : r.backbone.teacherAccuracy === s1.accuracy;
    return same
      ? []
      : [
          `${r.method}, ${r.traces}, seed ${r.seed}: from a rebuild of its backbone (teacher ${pct(r.backbone.teacherAccuracy)} %; the committed build's ${pct(s1.accuracy)} %)`,
        ];
  });
}

/** The KaVa variants, each compared with the better of CODI and PCCoT. */
const KAVA = ['kava-rkv', 'kava-keydiff', 'kava-random'];
/** Every method that reasons in latents, each compared with no-CoT. */
const LATENT = ['codi', 'pccot', ...KAVA];

/** What a stage-1 backbone should reach before stage 2 starts from it (issue: "plateaus (≥ 60 %)"). */
const TEACHER_BAR = 0.6;
/** Whether a stage-1 record stayed below that bar (the backbone list and the done criteria both ask). */
const belowBar = (stage1Run) => stage1Run.accuracy < TEACHER_BAR;

/**
 * The replication's done criteria, checked on the committed runs: per trace style, each seed's
 * backbone ≥ 60 %, full CoT ≥ 60 % and ≥ no-CoT + 25 points (means over the seeds both have, so
 * the gap is taken on the same backbones), and every method with every seed.
 */
function doneCheck(runsOf, stage1, methods, traces, seeds) {
  const lines = ['Done criteria (means over the seeds both methods have):', ''];
  const points = (x) => Math.round(x * 1000) / 10; // compare in tenths of a point, as printed
  for (const t of traces) {
    // The issue asks each seed's teacher to have learned the task, not only the mean.
    const backbones = seeds.map((s) => ({ s, r: stage1.find((r) => r.traces === t && r.seed === s) }));
    const listed = backbones.map(({ s, r }) => `seed ${s} ${r ? `${pct(r.accuracy)} %` : 'not trained yet'}`);
    const low = backbones.filter(({ r }) => r && belowBar(r)).map(({ s }) => s);
    const bar = `${points(TEACHER_BAR)} %`;
    const verdict = low.length
      ? `below ${bar} on seed ${low.join(', ')}`
      : backbones.every(({ r }) => r)
        ? `each ≥ ${bar}`
        : `each trained one ≥ ${bar}`;
    lines.push(`- ${t}: backbones (stage 1) ${listed.join(', ')}: ${verdict}`);
    const [fullRuns, noneRuns] = [runsOf('full-cot', t), runsOf('no-cot', t)];
    const paired = onSeedsOf(fullRuns, noneRuns);
    if (paired.length) {
      const full = mean(paired.map((r) => r.accuracy));
      const gap = full - mean(onSeedsOf(noneRuns, fullRuns).map((r) => r.accuracy));
      const holds = (f, g) => points(f) >= 60 && points(g) >= 25;
      // The criterion is on the means; a seed that misses it on its own is named, not hidden.
      const misses = paired.flatMap((r) => {
        const none = noneRuns.find((n) => n.seed === r.seed).accuracy;
        return holds(r.accuracy, r.accuracy - none)
          ? []
          : [`seed ${r.seed} (full CoT ${pct(r.accuracy)} %, gap ${signed(r.accuracy - none)})`];
      });
      lines.push(
        `- ${t}: full CoT ${pct(full)} %, no-CoT ${pct(full - gap)} %, gap ${signed(gap)} points over seed(s) ${paired.map((r) => r.seed).join(', ')}: ${holds(full, gap) ? 'holds' : 'does not hold'} (full CoT ≥ 60 % and ≥ no-CoT + 25)${paired.length > 1 ? (misses.length ? `; on its own it misses on ${misses.join(', ')}` : '; it holds on every seed on its own') : ''}`,
      );
    }
    const missing = methods.filter((m) => runsOf(m, t).length < seeds.length);
    lines.push(
      `- ${t}: ${missing.length ? `seeds still missing for ${missing.map((m) => `${m} (${runsOf(m, t).length}/${seeds.length})`).join(', ')}` : `all ${methods.length} methods have ${seeds.length} seeds`}`,
    );
  }
  return lines;
}

/**
 * Replaces what stands between `<!-- <experiment>:begin -->` and `<!-- <experiment>:end -->` in
 * `file` (docs/results.md) with `block`, so its lead table is always the committed results'; the
 * prose around it is written by hand. False when the file or its markers are absent.
 */
export function foldInto(file, experiment, block) {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const [begin, end] = [`<!-- ${experiment}:begin`, `<!-- ${experiment}:end -->`];
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  const afterBegin = text.indexOf('-->', a) + 3;
  writeFileSync(file, `${text.slice(0, afterBegin)}\n\n${block}\n\n${text.slice(b)}`);
  return true;
}

/**
 * docs/results.json: every committed run of every experiment under `runsDir`, machine-readable,
 * without the per-question strings and the settings (they stay in the records).
 */
export function writeResultsJson(runsDir, reportDir) {
  const every = readdirSync(runsDir).flatMap((e) => readResults(join(runsDir, e)));
  const list = every.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('perQuestion') && k !== 'settings')),
  );
  writeFileSync(join(reportDir, 'results.json'), `${JSON.stringify(list, null, 1)}\n`);
}

/**
 * The committed records an experiment's report reads: its own folder's and `shared` (records of
 * another experiment's folder it builds on: the ablations' backbones and reference runs are the
 * grid's), the stage-1 backbones apart, and the stage-2 runs of `seeds` by method and trace style.
 */
export function recordsOf(resultsDir, shared, seeds) {
  const all = [...readResults(resultsDir), ...shared];
  const stage1 = all.filter((r) => r.method === 'stage1-full-cot');
  const stage2 = all.filter((r) => r.method !== 'stage1-full-cot' && seeds.includes(r.seed));
  const runsOf = (method, trace) => stage2.filter((r) => r.method === method && r.traces === trace);
  return { all, stage1, stage2, runsOf };
}

export async function writeReport({
  experiment,
  root,
  resultsDir,
  shared = [],
  reportDir,
  methods,
  traces,
  seeds,
  quick,
  wallMinutes,
}) {
  const { all, stage1, stage2, runsOf } = recordsOf(resultsDir, shared, seeds);
  const cells = {};
  for (const m of methods)
    for (const t of traces) {
      const rs = runsOf(m, t);
      if (rs.length)
        cells[`${m}/${t}`] = {
          method: m,
          trace: t,
          runs: rs.length,
          mean: mean(rs.map((r) => r.accuracy)),
          std: std(rs.map((r) => r.accuracy)),
          passes: mean(rs.map((r) => r.forwardPassesPerQuestion)),
          kv: mean(rs.map((r) => r.kvEntriesPerQuestion)),
          seconds: mean(rs.map((r) => r.trainSeconds)),
        };
    }
  const cell = (m, t) => cells[`${m}/${t}`];
  const table = methodTable({
    methods,
    traces,
    cell,
    headers: { accuracy: (t) => `${t} % (mean ± std, n)`, drop: 'eq → NL drop, points [95 % CI]' },
    drop: (m) => {
      const [a, b] = traces.map((t) => runsOf(m, t));
      return pairedOverSeeds(a, b);
    },
  });

  // KaVa against the better of CODI and PCCoT, and full CoT against no-CoT, paired over questions.
  const comparisons = [];
  for (const t of traces) {
    for (const k of KAVA.filter((m) => methods.includes(m))) {
      const kava = runsOf(k, t);
      // The better rival by its mean on the seeds KaVa has too, so the choice and the comparison
      // stand on the same backbones.
      const rivals = ['codi', 'pccot']
        .map((m) => ({ m, rs: runsOf(m, t) }))
        .filter((x) => onSeedsOf(x.rs, kava).length);
      if (!kava.length || !rivals.length) continue;
      const score = (x) => mean(onSeedsOf(x.rs, kava).map((r) => r.accuracy));
      const best = rivals.sort((a, b) => score(b) - score(a))[0];
      comparisons.push(
        `- ${t}: ${k} − ${best.m} (the better of CODI/PCCoT) = ${pairedOverSeeds(kava, best.rs)} points`,
      );
    }
    // Does the scorer matter: R-KV's choice of tokens against a random one.
    const [rkv, random] = [runsOf('kava-rkv', t), runsOf('kava-random', t)];
    if (rkv.length && random.length)
      comparisons.push(`- ${t}: kava-rkv − kava-random = ${pairedOverSeeds(rkv, random)} points`);
    const full = runsOf('full-cot', t);
    const none = runsOf('no-cot', t);
    if (full.length && none.length)
      comparisons.push(`- ${t}: full-cot − no-cot = ${pairedOverSeeds(full, none)} points`);
  }
  // The ablations: each variant against the KaVa/R-KV run it changes one setting of.
  for (const t of traces)
    for (const v of methods.filter((m) => m.startsWith('kava-rkv-'))) {
      const [variant, reference] = [runsOf(v, t), runsOf('kava-rkv', t)];
      if (variant.length && reference.length)
        comparisons.push(`- ${t}: ${v} − kava-rkv = ${pairedOverSeeds(variant, reference)} points`);
    }
  // Do the latents help at all: each latent method against answering at once, from the same backbone.
  const latent = LATENT.filter((m) => methods.includes(m));
  const overNoCot = [
    `| latent method − no-cot, points [95 % CI] | ${traces.join(' | ')} |`,
    `|---|${traces.map(() => '---|').join('')}`,
    ...latent.map(
      (m) =>
        `| ${m} | ${traces.map((t) => (runsOf(m, t).length && runsOf('no-cot', t).length ? pairedOverSeeds(runsOf(m, t), runsOf('no-cot', t)) : '–')).join(' | ')} |`,
    ),
  ];
  if (methods.includes('no-cot')) comparisons.push('', ...overNoCot);

  const teachers = stage1.map(
    (r) =>
      `${r.traces} seed ${r.seed}: ${pct(r.accuracy)} % (${r.correct}/${r.questions}; curve ${r.curve.map((c) => `${c.step}: ${pct(c.accuracy)}`).join(', ')})${belowBar(r) ? ` **below the ${pct(TEACHER_BAR)} % a backbone should reach**` : ''}`,
  );
  const rebuilt = otherBuilds(stage1, stage2);
  const done = doneCheck(runsOf, stage1, methods, traces, seeds); // in the report and in results.md's block
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${loadavg()[0].toFixed(1)}`;
  const trainHours = all.reduce((s, r) => s + (r.trainSeconds ?? 0), 0) / 3600;
  const md = [
    `# Two-stage replication: ${experiment}`,
    '',
    `machine (this call): ${machine}  `,
    `this call's wall time: ${wallMinutes.toFixed(1)} min; training time of every committed run together: ${trainHours.toFixed(1)} h  `,
    '',
    '## Stage 1 (full CoT, whole trace): held-out accuracy of each backbone',
    '',
    ...teachers.map((t) => `- ${t}`),
    '',
    ...(rebuilt.length
      ? [
          "Stage-2 runs that started from another build of their seed's backbone (the same settings and seed, trained again on another machine; paired comparisons with the seed's other runs then compare two backbones):",
          '',
          ...rebuilt.map((t) => `- ${t}`),
          '',
        ]
      : []),
    '## Stage 2',
    '',
    table,
    '',
    ...done,
    '',
    'Paired bootstrap over held-out questions (correctness averaged over the seeds both sides have; 10,000 resamples):',
    '',
    ...comparisons,
    '',
  ].join('\n');
  const base = experiment === 'two-stage' ? 'results-replication' : `results-${experiment}`;
  writeFileSync(join(reportDir, `${base}.md`), md);
  const lead = [
    `![Held-out accuracy after stage 2, mean ± std over seeds](${base}.svg)`,
    '',
    table,
    '',
    'Paired bootstrap over held-out questions (correctness averaged over the seeds both sides have; 10,000 resamples; the interval is over questions, not seeds):',
    '',
    ...comparisons,
    '',
    ...done,
    '',
    `![Held-out accuracy during stage 2, mean over seeds](${base}-curves.svg)`,
    '',
    `Training time of all ${all.length} committed runs: ${trainHours.toFixed(1)} h. Each backbone and the runs behind every mean: [${base}.md](${base}.md).`,
  ].join('\n');
  if (foldInto(join(reportDir, 'results.md'), experiment, lead))
    process.stdout.write(`updated the ${experiment} block of ${join(reportDir, 'results.md')}\n`);

  writeResultsJson(dirname(resultsDir), reportDir);

  const { renderSvg } = await import('@kava/cli');
  const curves = stage2.flatMap((r) =>
    r.curve.map((p) => ({ method: r.method, trace: r.traces, seed: r.seed, step: p.step, accuracy: p.accuracy })),
  );
  const barSvg = await methodBars({
    root,
    cells,
    methods,
    traces,
    title: `Held-out accuracy after stage 2 (${experiment}, mean ± std over seeds)`,
    width: 90,
    height: 220,
    format: '.0%',
  });
  writeFileSync(join(reportDir, `${base}.svg`), barSvg);
  const curveSvg = await renderSvg({
    title: 'Held-out accuracy during stage 2 (mean over seeds)',
    data: { values: curves },
    width: 260,
    height: 200,
    facet: { column: { field: 'trace', type: 'nominal', title: null, sort: traces } },
    spec: {
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { aggregate: 'mean', field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' } },
        color: { field: 'method', type: 'nominal', sort: methods },
      },
    },
  });
  writeFileSync(join(reportDir, `${base}-curves.svg`), curveSvg);
  process.stdout.write(
    `\n${table}\n\n${comparisons.join('\n')}\n\nwrote ${join(reportDir, base)}.md, .svg, -curves.svg and ${join(reportDir, 'results.json')} (from ${resultsDir})\n`,
  );
}
