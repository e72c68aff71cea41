import { basename, join, resolve } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeTextAtomic } from '@kava/core/app';
import { readRun, type EvalRow, type MetricsRow } from './read-run.js';
import { renderSvg, windowMean } from './write-report.js';

/**
 * `kava report RUN RUN ...`: several runs side by side. One image with their weighted total
 * losses and held-out accuracies overlaid (a colour per run), and a table of what each run was
 * (method, scorer) and where it ended.
 */

interface RunSummary {
  label: string;
  dir: string;
  metrics: MetricsRow[];
  evals: EvalRow[];
  config: Record<string, unknown>;
}

/** Short, distinct labels: the folder names, with their parent where two are the same. */
function labels(dirs: readonly string[]): string[] {
  const names = dirs.map((d) => basename(d));
  return dirs.map((d, i) =>
    names.filter((n) => n === names[i]).length > 1 ? `${basename(resolve(d, '..'))}/${names[i]}` : names[i]!,
  );
}

const pick = (config: Record<string, unknown>, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);

const pct = (x: number | undefined) => (x === undefined ? '' : `${(100 * x).toFixed(1)}%`);

/** The comparison table, one row per run. */
export function comparisonTable(runs: readonly RunSummary[]): string {
  const lines = [
    '| run | method | scorer | steps | total (last 10 % of steps) | accuracy | majority level | latents shuffled | placeholder |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const last = r.metrics.at(-1);
    const final = r.evals.at(-1);
    const method = String(pick(r.config, 'method') ?? '');
    const latent = ['kava', 'codi', 'pccot'].includes(method);
    const scorer = method === 'kava' ? String(pick(r.config, 'compression.scorer') ?? '') : '';
    const total = last && 'total' in last.losses ? windowMean(r.metrics, 'total', 'last').toPrecision(4) : '';
    lines.push(
      `| ${r.label} | ${method} | ${scorer} | ${last ? `${last.step}/${last.totalSteps}` : '0'} | ${total} | ${pct(final?.accuracy)}${final ? ` (step ${final.step})` : ''} | ${pct(final?.majorityLevel)} | ${latent ? pct(final?.accuracyLatentsShuffled) : ''} | ${latent ? pct(final?.accuracyLatentsPlaceholder) : ''} |`,
    );
  }
  return lines.join('\n');
}

function chart(title: string, values: object[], y: object, height: number): object {
  return {
    title,
    data: { values },
    mark: { type: 'line', point: values.length < 200, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } },
      y,
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
    width: 560,
    height,
  };
}

/** Writes `comparison.svg` and `comparison.md` into `outDir`; returns their paths and the text. */
export async function writeComparison(
  runDirs: readonly string[],
  outDir: string,
): Promise<{ image: string; summary: string; text: string }> {
  const names = labels(runDirs);
  const runs: RunSummary[] = runDirs.map((dir, i) => ({ label: names[i]!, dir: resolve(dir), ...readRun(dir) }));
  const totals = runs.flatMap((r) =>
    r.metrics
      .filter((m) => m.losses.total !== undefined)
      .map((m) => ({ run: r.label, step: m.step, value: m.losses.total })),
  );
  const accuracies = runs.flatMap((r) => r.evals.map((e) => ({ run: r.label, step: e.step, accuracy: e.accuracy })));
  const charts = [
    chart(
      'Weighted total loss',
      totals,
      { field: 'value', type: 'quantitative', title: 'loss (symlog scale)', scale: { type: 'symlog' } },
      240,
    ),
  ];
  if (accuracies.length)
    charts.push(
      chart(
        'Held-out accuracy',
        accuracies,
        {
          field: 'accuracy',
          type: 'quantitative',
          title: 'accuracy',
          scale: { domain: [0, 1] },
          axis: { format: '.0%' },
        },
        180,
      ),
    );
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: charts,
    config: { background: 'white' },
  } as TopLevelSpec);
  const text = [
    '# Runs compared',
    '',
    ...runs.map((r) => `- ${r.label}: ${r.dir}`),
    '',
    comparisonTable(runs),
    '',
  ].join('\n');
  const image = join(outDir, 'comparison.svg');
  const summary = join(outDir, 'comparison.md');
  writeTextAtomic(image, svg);
  writeTextAtomic(summary, text);
  return { image, summary, text };
}
