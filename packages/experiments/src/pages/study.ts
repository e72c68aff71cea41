// The latent study's page (report.kind: study or probe; why the latent students do not beat
// answering at once): the grid with seed-aware intervals, how much each latent method's accuracy
// depends on its latents, the gradient each loss term contributes, the recipe probe's choice and
// the budget curve. Made from the records alone.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextAtomic } from '@kava/core/app';
import { mean, pairedBootstrap, seedQuestionBootstrap, std, type Interval } from '../stats.js';
import type { RunRecord } from '../store.js';
import {
  foldInto,
  machineLine,
  type PageInput,
  pct,
  readResults,
  recordsOf,
  signed,
  trainHours,
  writeResultsJson,
} from './common.js';

const bits = (s: string) => [...s].map(Number);

/** The latent methods (their records carry the latent-usage check). */
const LATENT_FAMILIES = ['codi', 'pccot', 'kava'];
/** Whether `method` reasons in latents (a family's name, or a variant of it). */
export const isLatent = (method: string): boolean =>
  LATENT_FAMILIES.some((f) => method === f || method.startsWith(`${f}-`));

/** a − b on the seeds both have: the seed-aware interval, each seed's difference, and the question-only one. */
export interface Comparison extends Interval {
  seeds: number[];
  perSeed: number[];
  questionOnly: Interval;
}

/**
 * `a − b` over the seeds both have, paired question by question: the seed-aware interval (seeds
 * and questions resampled) first, the question-only one (correctness averaged over seeds) as the
 * labelled second column. `pickA`/`pickB` read a run's per-question string (default: its answers).
 */
export function compare(
  a: readonly RunRecord[],
  b: readonly RunRecord[],
  pickA: (r: RunRecord) => string = (r) => r.perQuestion,
  pickB: (r: RunRecord) => string = pickA,
): Comparison | null {
  const seeds = a
    .map((r) => r.seed)
    .filter((s) => b.some((r) => r.seed === s))
    .sort((x, y) => x - y);
  if (!seeds.length) return null;
  const at = (rs: readonly RunRecord[], s: number) => rs.find((r) => r.seed === s)!;
  const A = seeds.map((s) => bits(pickA(at(a, s))));
  const B = seeds.map((s) => bits(pickB(at(b, s))));
  const two = seedQuestionBootstrap(A, B);
  const avg = (rows: number[][]) => rows[0]!.map((_, i) => mean(rows.map((r) => r[i]!)));
  const questionOnly = pairedBootstrap(avg(A), avg(B));
  return { seeds, ...two, questionOnly };
}

const interval = (c: Interval) => `${signed(c.diff)} [${signed(c.lo)}, ${signed(c.hi)}]`;
const row = (label: string, c: Comparison | null) =>
  c
    ? `| ${label} | ${interval(c)} | ${c.perSeed.map(signed).join(', ')} | ${interval(c.questionOnly)} | ${c.seeds.join(', ')} |`
    : `| ${label} | – | – | – | – |`;
const COMPARISON_HEAD = [
  '| difference, points | seed-aware 95 % CI | per seed | questions only (secondary) | seeds |',
  '|---|---|---|---|---|',
];

/** The pairs the study answers, per trace style, as [a, b]. */
function comparisonsOf(methods: readonly string[]): [string, string][] {
  const has = (m: string) => methods.includes(m);
  const pairs: [string, string][] = [];
  for (const latent of ['kava-rkv', 'codi', 'pccot', 'kava-random'])
    if (has(latent) && has('no-cot')) pairs.push([latent, 'no-cot']);
  for (const rival of ['codi', 'pccot']) if (has('kava-rkv') && has(rival)) pairs.push(['kava-rkv', rival]);
  if (has('kava-rkv') && has('kava-random')) pairs.push(['kava-rkv', 'kava-random']);
  if (has('full-cot') && has('no-cot')) pairs.push(['full-cot', 'no-cot']);
  for (const m of methods.filter((x) => x !== 'kava-rkv' && x.startsWith('kava-rkv-'))) pairs.push([m, 'kava-rkv']);
  for (const m of methods.filter((x) => x.startsWith('codi-'))) pairs.push([m, 'codi']);
  return pairs;
}

/**
 * The recipe rule, stated before the probe ran (docs/results.md): per method family, the variant
 * with the best validation accuracy; a tie keeps the committed recipe.
 */
export function chooseRecipes(runs: readonly RunRecord[]): Record<string, string> {
  const families: Record<string, RunRecord[]> = { 'kava-rkv': [], codi: [] };
  for (const r of runs)
    for (const f of Object.keys(families)) if (r.method === f || r.method.startsWith(`${f}-`)) families[f]!.push(r);
  return Object.fromEntries(
    Object.entries(families)
      .filter(([, rs]) => rs.length)
      .map(([f, rs]) => {
        const best = [...rs].sort(
          (a, b) => b.accuracy - a.accuracy || (a.method === f ? -1 : b.method === f ? 1 : 0),
        )[0]!;
        return [f, best.method];
      }),
  );
}

/** Writes results-<experiment>.md, the results.md block and results.json; `probe`: the recipe probe's page. */
export async function writeStudyPage(input: PageInput, probe: boolean): Promise<string[]> {
  const { experiment, methods, traces, reportDir, print } = input;
  const { all, stage1, stage2: runs, runsOf: unsorted } = recordsOf(input);
  const runsOf = (m: string, t: string) => unsorted(m, t).sort((a, b) => a.seed - b.seed);
  const present = (t: string) => methods.filter((m) => runsOf(m, t).length);
  const split = probe ? 'validation' : 'held-out test';
  const commit = (r: RunRecord) => (r.code as { commit?: string | null } | undefined)?.commit?.slice(0, 10) ?? 'unrecorded';
  const lines = [
    `# ${probe ? 'Recipe probe' : 'Latent study'}: ${experiment}`,
    '',
    `machine (this call): ${machineLine()}  `,
    `this call's wall time: ${input.wallMinutes.toFixed(1)} min; training time of every committed run together: ${trainHours(all).toFixed(1)} h  `,
    `code of the runs: ${[...new Set(runs.map(commit))].join(', ')}  `,
    '',
    `Backbones (stage 1, 3,000 steps, committed in two-stage-stage1-3000): ${stage1.map((r) => `${r.traces} seed ${r.seed} ${pct(r.accuracy)} %`).join('; ') || 'none found'}`,
    '',
  ];
  for (const t of traces) {
    const ms = present(t);
    if (!ms.length) continue;
    lines.push(
      `## ${t === 'nl' ? 'Verbose NL traces' : 'Equation traces'}: ${split} accuracy after ${stepsOf(runs.find((r) => r.traces === t))} stage-2 steps`,
      '',
      '| method | accuracy % (mean ± std, n) | per seed | latents shuffled % | placeholder latents % | steps clipped % | train min (mean) |',
      '|---|---|---|---|---|---|---|',
    );
    for (const m of ms) {
      const rs = runsOf(m, t);
      const acc = rs.map((r) => r.accuracy);
      const usage = (k: 'accuracyLatentsShuffled' | 'accuracyLatentsPlaceholder') =>
        rs.every((r) => r[k] !== undefined) ? pct(mean(rs.map((r) => r[k]!))) : '–';
      const clip = rs.every((r) => r.clipFraction != null) ? pct(mean(rs.map((r) => r.clipFraction!))) : '–';
      lines.push(
        `| ${m} | ${pct(mean(acc))} ± ${pct(std(acc))} (${rs.length}) | ${rs.map((r) => `${r.seed}: ${pct(r.accuracy)}`).join(', ')} | ${usage('accuracyLatentsShuffled')} | ${usage('accuracyLatentsPlaceholder')} | ${clip} | ${(mean(rs.map((r) => r.trainSeconds)) / 60).toFixed(0)} |`,
      );
    }
    const pairs = comparisonsOf(ms);
    if (pairs.length) lines.push('', ...COMPARISON_HEAD);
    for (const [a, b] of pairs) lines.push(row(`${a} − ${b}`, compare(runsOf(a, t), runsOf(b, t))));
    // How much of each latent method's accuracy needs its own latents.
    const latent = ms.filter((m) => isLatent(m) && runsOf(m, t).every((r) => r.perQuestionLatentsShuffled));
    if (latent.length) {
      lines.push(
        '',
        "Dependence on the latents (own latents − another question's, and − the placeholder):",
        '',
        ...COMPARISON_HEAD,
      );
      for (const m of latent) {
        const rs = runsOf(m, t);
        const own = (r: RunRecord) => r.perQuestion;
        lines.push(row(`${m}: own − shuffled`, compare(rs, rs, own, (r) => r.perQuestionLatentsShuffled!)));
        lines.push(row(`${m}: own − placeholder`, compare(rs, rs, own, (r) => r.perQuestionLatentsPlaceholder!)));
      }
    }
    const measured = ms.filter((m) => runsOf(m, t).some((r) => r.termGradNorms));
    if (measured.length) {
      const terms = [
        ...new Set(measured.flatMap((m) => runsOf(m, t).flatMap((r) => Object.keys(r.termGradNorms ?? {})))),
      ];
      lines.push(
        '',
        'Gradient norm each weighted term alone contributes (median over the measured steps of the second half of each run, mean over seeds; `step` is the whole gradient before clipping):',
        '',
        `| method | ${terms.join(' | ')} |`,
        `|---|${terms.map(() => '---|').join('')}`,
      );
      for (const m of measured) {
        const rs = runsOf(m, t).filter((r) => r.termGradNorms);
        const cell = (term: string) => {
          const xs = rs.map((r) => r.termGradNorms![term]?.secondHalf).filter((x): x is number => x != null);
          return xs.length ? mean(xs).toPrecision(3) : '–';
        };
        lines.push(`| ${m} | ${terms.map(cell).join(' | ')} |`);
      }
    }
    lines.push('');
  }
  // The eq → NL drop, per method with both styles.
  if (traces.length > 1) {
    const both = methods.filter((m) => traces.every((t) => runsOf(m, t).length));
    if (both.length) {
      lines.push('## Equation → verbose NL', '', ...COMPARISON_HEAD);
      for (const m of both) lines.push(row(`${m}: NL − equation`, compare(runsOf(m, 'nl'), runsOf(m, 'equation'))));
      lines.push('');
    }
  }
  if (probe) {
    const picks = chooseRecipes(runs.filter((r) => r.traces === 'nl'));
    lines.push(
      "## The rule's choice",
      '',
      'Rule (stated before the runs): per method family, the variant with the best validation accuracy; a tie keeps the committed recipe.',
      '',
      ...Object.entries(picks).map(([f, m]) => `- ${f}: **${m}**`),
      '',
    );
  }
  // The budget curve: the same runs at every stage-2 budget recorded for this study.
  const family = experiment.replace(/-stage2-\d+.*$/, '');
  const { runsRoot } = input;
  const budgets = existsSync(runsRoot)
    ? readdirSync(runsRoot)
        .filter((d) => d.startsWith(`${family}-stage2-`))
        .map((d) => ({ d, steps: Number(d.match(/-stage2-(\d+)/)![1]), rs: readResults(join(runsRoot, d)) }))
        .sort((a, b) => a.steps - b.steps)
    : [];
  if (budgets.length > 1) {
    const ids = [...new Set(budgets.flatMap((b) => b.rs.map((r) => r.id)))].filter(
      (id) => budgets.filter((b) => b.rs.some((r) => r.id === id)).length > 1,
    );
    if (ids.length) {
      lines.push(
        '## Budget curve',
        '',
        `| run | ${budgets.map((b) => `${b.steps} steps`).join(' | ')} |`,
        `|---|${budgets.map(() => '---|').join('')}`,
      );
      for (const id of ids.sort())
        lines.push(
          `| ${id} | ${budgets
            .map((b) => b.rs.find((r) => r.id === id))
            .map((r) => (r ? pct(r.accuracy) : '–'))
            .join(' | ')} |`,
        );
      lines.push('');
    }
  }
  const md = lines.join('\n');
  const base = `results-${experiment}`;
  const page = join(reportDir, `${base}.md`);
  writeTextAtomic(page, md);
  const written = [page];
  const block = lines
    .slice(lines.findIndex((l) => l.startsWith('## ')))
    .join('\n')
    .replace(/^## /gm, '### ');
  const results = join(reportDir, 'results.md');
  if (foldInto(results, experiment, `${block}\nEvery run's record: [${base}.md](${base}.md).`)) written.push(results);
  writeResultsJson(runsRoot, reportDir);
  written.push(join(reportDir, 'results.json'));
  print(`\n${md}\n`);
  return written;
}

/** The stage-2 steps a run trained: recorded by the study's harness, else its curve's last step. */
function stepsOf(r: RunRecord | undefined): number | string {
  if (!r) return '?';
  return (r.stage2Steps as number | undefined) ?? r.curve.at(-1)?.step ?? '?';
}
