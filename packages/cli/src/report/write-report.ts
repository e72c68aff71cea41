import { answerLevelsLine } from './answer-levels.js';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeTextAtomic } from '@kava/core/app';
import { readRun, type EvalRow, type MetricsRow } from './read-run.js';

/** Renders a Vega-Lite spec to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Mean of a term over the first or last `fraction` of the steps that log it (smooths a noisy
 * curve; terms that start later, e.g. after a teacher warm-up, are compared over their own steps).
 * `total` is a weighted sum whose terms change when a teacher warm-up ends, so it is compared only
 * over the steps that log the same terms as the last step: the warm-up's teacher-only total is
 * another quantity than the full objective.
 */
export function windowMean(rows: readonly MetricsRow[], term: string, end: 'first' | 'last', fraction = 0.1): number {
  const finalTerms = Object.keys(rows[rows.length - 1]?.losses ?? {})
    .sort()
    .join(',');
  const phase = term === 'total' ? rows.filter((r) => Object.keys(r.losses).sort().join(',') === finalTerms) : rows;
  const values = phase.map((r) => r.losses[term]).filter((v): v is number => v !== undefined);
  const n = Math.max(1, Math.round(values.length * fraction));
  const slice = end === 'first' ? values.slice(0, n) : values.slice(-n);
  return slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length);
}

/**
 * The step axis of both charts: from 0 to the run's total steps, integer ticks. Left to itself,
 * Vega-Lite gives a run with one evaluation a one-point domain and a single tick "20.000000".
 */
function stepAxis(totalSteps: number): object {
  return {
    field: 'step',
    type: 'quantitative',
    title: 'step',
    scale: { domain: [0, Math.max(1, totalSteps)], nice: false },
    axis: { format: 'd', tickMinStep: 1 },
  };
}

/**
 * The last step of a teacher warm-up: the last step that logged other terms than the final step
 * does (during the warm-up only teacher-ce trains), or null when the run had none.
 */
export function warmupEnd(metrics: readonly MetricsRow[]): number | null {
  const terms = (m: MetricsRow) => Object.keys(m.losses).sort().join(',');
  const last = metrics.at(-1);
  if (!last) return null;
  const warm = metrics.filter((m) => terms(m) !== terms(last));
  return warm.length ? warm.at(-1)!.step : null;
}

export function lossChart(metrics: readonly MetricsRow[]): object {
  const values = metrics.flatMap((m) =>
    Object.entries(m.losses).map(([term, value]) => ({
      step: m.step,
      term,
      value,
      // During a teacher warm-up the total is the teacher CE alone: dashed, it does not hide it.
      line: term === 'total' ? 'weighted total' : 'term',
    })),
  );
  const x = stepAxis(metrics[metrics.length - 1]?.totalSteps ?? 1);
  const end = warmupEnd(metrics);
  const lines = {
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x,
      y: {
        field: 'value',
        type: 'quantitative',
        title: 'loss (symlog scale: linear near 0, logarithmic above 1)',
        scale: { type: 'symlog' },
      },
      color: { field: 'term', type: 'nominal', title: 'term' },
      strokeDash: {
        field: 'line',
        type: 'nominal',
        title: 'line',
        scale: {
          range: [
            [1, 0],
            [5, 3],
          ],
        },
      },
    },
  };
  const marker =
    end === null
      ? []
      : [
          {
            data: { values: [{ step: end, label: `teacher warm-up ends (step ${end})` }] },
            layer: [
              { mark: { type: 'rule', color: '#888', strokeDash: [2, 2] }, encoding: { x } },
              {
                mark: { type: 'text', align: 'left', dx: 4, dy: -120, color: '#555', fontSize: 10 },
                encoding: { x, text: { field: 'label' } },
              },
            ],
          },
        ];
  return {
    title: 'Training losses (unweighted terms; total is weighted)',
    layer: [lines, ...marker],
    width: 560,
    height: 260,
  };
}

/** Each term's gradient norm alone (train.gradNormEvery) beside the step's, on a log scale. */
function gradientChart(metrics: readonly MetricsRow[]): object {
  const values = metrics
    .filter((m) => m.termGradNorms)
    .flatMap((m) => [
      ...Object.entries(m.termGradNorms!).map(([term, value]) => ({ step: m.step, term, value })),
      { step: m.step, term: 'all terms (the step)', value: m.gradNorm },
    ])
    .filter((v) => v.value > 0);
  return {
    title: 'Gradient norm of each weighted term alone',
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 1.5 },
    encoding: {
      x: stepAxis(metrics[metrics.length - 1]?.totalSteps ?? 1),
      y: { field: 'value', type: 'quantitative', title: 'gradient norm (log)', scale: { type: 'log' } },
      color: { field: 'term', type: 'nominal', title: 'term' },
    },
    width: 560,
    height: 200,
  };
}

/** Lines on clipping and each term's gradient norm (the median over its measurements, first and last half). */
export function gradientSummary(metrics: readonly MetricsRow[]): string[] {
  const lines: string[] = [];
  const known = metrics.filter((m) => m.clipped !== undefined);
  if (known.length) {
    const fired = known.filter((m) => m.clipped).length;
    lines.push(
      '',
      `clipping (train.clip) scaled the gradient on ${fired} of ${known.length} steps (${((100 * fired) / known.length).toFixed(1)} %)`,
    );
  }
  const measured = metrics.filter((m) => m.termGradNorms);
  if (!measured.length) return lines;
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)]! : NaN;
  };
  const half = Math.ceil(measured.length / 2);
  const terms = [...new Set(measured.flatMap((m) => Object.keys(m.termGradNorms!)))];
  lines.push(
    '',
    `Gradient norm each weighted term alone contributes (median over ${measured.length} measured steps):`,
    '',
    '| term | first half | second half |',
    '|---|---|---|',
  );
  const row = (name: string, pick: (m: MetricsRow) => number | undefined) => {
    const at = (rows: readonly MetricsRow[]) =>
      median(rows.map(pick).filter((v): v is number => v !== undefined)).toPrecision(3);
    lines.push(`| ${name} | ${at(measured.slice(0, half))} | ${at(measured.slice(half))} |`);
  };
  for (const term of terms) row(term, (m) => m.termGradNorms![term]);
  row('all terms (the step)', (m) => m.gradNorm);
  return lines;
}

export function evalChart(evals: readonly EvalRow[], totalSteps: number): object {
  return {
    title: `Held-out accuracy (${[...new Set(evals.map((e) => e.mode))].join(', ')} mode)`,
    data: { values: evals.map((e) => ({ step: e.step, accuracy: e.accuracy })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: stepAxis(totalSteps),
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: 'accuracy',
        scale: { domain: [0, 1] },
        axis: { format: '.0%', values: [0, 0.25, 0.5, 0.75, 1] },
      },
    },
    width: 560,
    height: 160,
  };
}

/** The text summary of a run: steps, each term's start → end, throughput, evaluations. */
export function summarize(runDir: string, metrics: readonly MetricsRow[], evals: readonly EvalRow[]): string {
  const lines = [`# Run report`, '', `run: ${runDir}`];
  if (metrics.length === 0) {
    lines.push('', 'No training steps recorded yet.');
    return `${lines.join('\n')}\n`;
  }
  const last = metrics[metrics.length - 1]!;
  const seconds = metrics.reduce((s, m) => s + (m.seconds ?? 0), 0);
  const speeds = metrics.map((m) => m.tokensPerSecond).sort((a, b) => a - b);
  lines.push(
    `steps: ${last.step}/${last.totalSteps}, ${seconds.toFixed(0)} s of training, median ${Math.round(speeds[Math.floor(speeds.length / 2)]!)} tokens/s`,
    '',
  );
  lines.push('| term | first 10% of its steps | last 10% of its steps | change |', '|---|---|---|---|');
  for (const term of Object.keys(last.losses)) {
    const a = windowMean(metrics, term, 'first');
    const b = windowMean(metrics, term, 'last');
    lines.push(
      `| ${term} | ${a.toPrecision(4)} | ${b.toPrecision(4)} | ${a !== 0 ? `${(((b - a) / Math.abs(a)) * 100).toFixed(1)}%` : ''} |`,
    );
  }
  const warmup = metrics.filter((m) => Object.keys(m.losses).length !== Object.keys(last.losses).length).length;
  if (warmup > 0 && 'total' in last.losses)
    lines.push(
      '',
      `total is compared over the ${metrics.length - warmup} steps of the full objective; the first ${warmup} steps (teacher warm-up) weighed fewer terms.`,
    );
  lines.push(...gradientSummary(metrics));
  if (evals.length) {
    lines.push(
      '',
      '| step | mode | accuracy | correct | passes/question | KV entries/question |',
      '|---|---|---|---|---|---|',
    );
    for (const e of evals) {
      lines.push(
        `| ${e.step} | ${e.mode} | ${(100 * e.accuracy).toFixed(1)}% | ${e.correct}/${e.questions} | ${e.forwardPassesPerQuestion.toFixed(1)} | ${e.kvEntriesPerQuestion.toFixed(1)} |`,
      );
    }
    const levels = answerLevelsLine(evals.at(-1)!);
    if (levels) lines.push('', `At step ${evals.at(-1)!.step}: ${levels}.`);
    const usage = evals.filter((e) => e.accuracyLatentsShuffled !== undefined).at(-1);
    if (usage)
      lines.push(
        '',
        `latent usage at step ${usage.step}: ${(100 * usage.accuracy).toFixed(1)}% with its own latents, ${(100 * usage.accuracyLatentsShuffled!).toFixed(1)}% with another question's (shuffled across the batch), ${(100 * usage.accuracyLatentsPlaceholder!).toFixed(1)}% with the placeholder in every latent slot; near its own, the answers do not depend on the latents.`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `report.svg` (loss curves and held-out accuracy over training) and `report.md` (a short
 * text summary) into a run directory. Called at the end of `kava train` and by `kava report`.
 */
export async function writeReport(runDir: string): Promise<{ image: string; summary: string; text: string }> {
  const { metrics, evals } = readRun(runDir);
  const charts: object[] = [lossChart(metrics)];
  if (metrics.some((m) => m.termGradNorms)) charts.push(gradientChart(metrics));
  if (evals.length)
    charts.push(evalChart(evals, metrics[metrics.length - 1]?.totalSteps ?? Math.max(...evals.map((e) => e.step))));
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: charts,
    config: { background: 'white' },
  } as TopLevelSpec);
  const image = join(runDir, 'report.svg');
  const summary = join(runDir, 'report.md');
  const text = summarize(runDir, metrics, evals);
  writeTextAtomic(image, svg);
  writeTextAtomic(summary, text);
  return { image, summary, text };
}
