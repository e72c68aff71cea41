// The two-stage replication's page (report.kind: replication): per method and trace style the
// held-out accuracy over seeds, KaVa against the better of CODI and PCCoT, each latent method
// against no-CoT, the done criteria, and the backbones; results-<experiment>.md with its charts,
// its block of results.md and results.json. Made from the records alone, so any machine remakes it.
import { join } from 'node:path';
import { writeTextAtomic } from '@kava/core/app';
import { mean, pairedBootstrap, std, type Interval } from '../stats.js';
import type { RunRecord } from '../store.js';
import {
  foldInto,
  machineLine,
  type PageInput,
  pct,
  recordsOf,
  signed,
  trainHours,
  writeResultsJson,
} from './common.js';
import { type MethodCell, methodBars, methodTable } from './method-table.js';

const ci = (b: Interval) => `${signed(b.diff)} [${signed(b.lo)}, ${signed(b.hi)}]`;

/** The runs of `rs` whose seed `other` has too (so two sets of runs stand on the same backbones). */
const onSeedsOf = (rs: readonly RunRecord[], other: readonly RunRecord[]) =>
  rs.filter((r) => other.some((o) => o.seed === r.seed));

/**
 * Paired bootstrap of a − b over questions, on the seeds both sets of runs have (so both sides
 * stand on the same backbones); '–' when they share none.
 */
function pairedOverSeeds(a: readonly RunRecord[], b: readonly RunRecord[]): string {
  const [a2, b2] = [onSeedsOf(a, b), onSeedsOf(b, a)];
  if (!a2.length) return '–';
  const seeds = a2.length < Math.max(a.length, b.length) ? ` (seed ${a2.map((r) => r.seed).join(', ')})` : '';
  // The interval is over questions only; the difference on each seed shows the spread between seeds.
  const bySeed = (rs: RunRecord[]) => [...rs].sort((x, y) => x.seed - y.seed);
  const [as, bs] = [bySeed(a2), bySeed(b2)];
  const perSeed = as.length > 1 ? `; per seed ${as.map((r, i) => signed(r.accuracy - bs[i]!.accuracy)).join(', ')}` : '';
  return `${ci(pairedBootstrap(perQuestion(a2), perQuestion(b2)))}${seeds}${perSeed}`;
}

/** Per question, the correctness averaged over the given runs (all on the same test questions). */
function perQuestion(runs: readonly RunRecord[]): number[] {
  const n = Math.min(...runs.map((r) => r.perQuestion.length));
  return Array.from({ length: n }, (_, i) => mean(runs.map((r) => Number(r.perQuestion[i]))));
}

/**
 * Compared runs that started from another build of their backbone than the recorded one (a fresh
 * machine rebuilds the model, which is not committed, and other CPU kernels round differently).
 * Runs without a `backbone` record predate it and used the recorded build.
 */
export function otherBuilds(stage1: readonly RunRecord[], stage2: readonly RunRecord[]): string[] {
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

/** What a stage-1 backbone should reach before stage 2 starts from it ("plateaus (≥ 60 %)"). */
const TEACHER_BAR = 0.6;
/** Whether a stage-1 record stayed below that bar (the backbone list and the done criteria both ask). */
const belowBar = (stage1Run: RunRecord) => stage1Run.accuracy < TEACHER_BAR;

type RunsOf = (method: string, trace: string) => RunRecord[];

/**
 * The replication's done criteria, checked on the records: per trace style, each seed's backbone
 * ≥ 60 %, full CoT ≥ 60 % and ≥ no-CoT + 25 points (means over the seeds both have, so the gap is
 * taken on the same backbones), and every method with every seed.
 */
function doneCheck(
  runsOf: RunsOf,
  stage1: readonly RunRecord[],
  methods: readonly string[],
  traces: readonly string[],
  seeds: readonly number[],
): string[] {
  const lines = ['Done criteria (means over the seeds both methods have):', ''];
  const points = (x: number) => Math.round(x * 1000) / 10; // compare in tenths of a point, as printed
  for (const t of traces) {
    // Each seed's teacher must have learned the task, not only the mean.
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
      const holds = (f: number, g: number) => points(f) >= 60 && points(g) >= 25;
      // The criterion is on the means; a seed that misses it on its own is named, not hidden.
      const misses = paired.flatMap((r) => {
        const none = noneRuns.find((n) => n.seed === r.seed)!.accuracy;
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

/** The page's file name: the first replication keeps its historical name. */
export const replicationPageName = (experiment: string): string =>
  experiment === 'two-stage' ? 'results-replication' : `results-${experiment}`;

/** Writes results-<experiment>.md, .svg and -curves.svg, the results.md block and results.json. */
export async function writeReplicationPage(input: PageInput): Promise<string[]> {
  const { experiment, methods, traces, seeds, reportDir, render, print } = input;
  const { all, stage1, stage2, runsOf } = recordsOf(input);
  const cells: MethodCell[] = [];
  for (const m of methods)
    for (const t of traces) {
      const rs = runsOf(m, t);
      if (rs.length)
        cells.push({
          method: m,
          trace: t,
          runs: rs.length,
          mean: mean(rs.map((r) => r.accuracy)),
          std: std(rs.map((r) => r.accuracy)),
          passes: mean(rs.map((r) => r.forwardPassesPerQuestion ?? Number.NaN)),
          kv: mean(rs.map((r) => r.kvEntriesPerQuestion ?? Number.NaN)),
          seconds: mean(rs.map((r) => r.trainSeconds)),
        });
    }
  const cell = (m: string, t: string) => cells.find((c) => c.method === m && c.trace === t);
  const table = methodTable({
    methods,
    traces,
    cell,
    headers: { accuracy: (t) => `${t} % (mean ± std, n)`, drop: 'eq → NL drop, points [95 % CI]' },
    drop: (m) => {
      const [a, b] = traces.map((t) => runsOf(m, t));
      return pairedOverSeeds(a!, b!);
    },
  });

  // KaVa against the better of CODI and PCCoT, and full CoT against no-CoT, paired over questions.
  const comparisons: string[] = [];
  for (const t of traces) {
    for (const k of KAVA.filter((m) => methods.includes(m))) {
      const kava = runsOf(k, t);
      // The better rival by its mean on the seeds KaVa has too, so the choice and the comparison
      // stand on the same backbones.
      const rivals = ['codi', 'pccot']
        .map((m) => ({ m, rs: runsOf(m, t) }))
        .filter((x) => onSeedsOf(x.rs, kava).length);
      if (!kava.length || !rivals.length) continue;
      const score = (x: { rs: RunRecord[] }) => mean(onSeedsOf(x.rs, kava).map((r) => r.accuracy));
      const best = rivals.sort((a, b) => score(b) - score(a))[0]!;
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
    if (full.length && none.length) comparisons.push(`- ${t}: full-cot − no-cot = ${pairedOverSeeds(full, none)} points`);
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
  const done = doneCheck(runsOf, stage1, methods, traces, seeds); // in the page and in results.md's block
  const hours = trainHours(all);
  const md = [
    `# Two-stage replication: ${experiment}`,
    '',
    `machine (this call): ${machineLine()}  `,
    `this call's wall time: ${input.wallMinutes.toFixed(1)} min; training time of every committed run together: ${hours.toFixed(1)} h  `,
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
  const base = replicationPageName(experiment);
  const page = join(reportDir, `${base}.md`);
  writeTextAtomic(page, md);
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
    `Training time of all ${all.length} committed runs: ${hours.toFixed(1)} h. Each backbone and the runs behind every mean: [${base}.md](${base}.md).`,
  ].join('\n');
  const written = [page];
  const results = join(reportDir, 'results.md');
  if (foldInto(results, experiment, lead)) written.push(results);
  writeResultsJson(input.runsRoot, reportDir);
  written.push(join(reportDir, 'results.json'));

  const curves = stage2.flatMap((r) =>
    r.curve.map((p) => ({ method: r.method, trace: r.traces, seed: r.seed, step: p.step, accuracy: p.accuracy })),
  );
  const barSvg = await methodBars({
    render,
    cells,
    methods,
    traces,
    title: `Held-out accuracy after stage 2 (${experiment}, mean ± std over seeds)`,
    width: 90,
    height: 220,
    format: '.0%',
  });
  writeTextAtomic(join(reportDir, `${base}.svg`), barSvg);
  const curveSvg = await render({
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
  writeTextAtomic(join(reportDir, `${base}-curves.svg`), curveSvg);
  written.push(join(reportDir, `${base}.svg`), join(reportDir, `${base}-curves.svg`));
  print(`\n${table}\n\n${comparisons.join('\n')}\n`);
  return written;
}
