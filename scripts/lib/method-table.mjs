// The per-method table and bar chart both experiment reports make (from-scratch and two-stage).
import { join } from 'node:path';
import { mean } from './stats.mjs';

const pct = (x) => (100 * x).toFixed(1);

/**
 * A Markdown table: per method, accuracy mean ± std (runs) for each trace style, then an
 * equation → NL drop column when both styles are there, forward passes and KV entries per
 * question per style, and the mean training seconds of a run. `cell(method, trace)` gives
 * `{ mean, std, runs, passes, kv, seconds }` or undefined; `drop(method, cells)` the drop column's
 * text; `headers` names the accuracy and drop columns.
 */
export function methodTable({ methods, traces, cell, drop, headers }) {
  const both = traces.length === 2;
  const header = [
    'method',
    ...traces.map(headers.accuracy),
    ...(both ? [headers.drop] : []),
    ...traces.map((t) => `passes/q (${t})`),
    ...traces.map((t) => `KV entries (${t})`),
    'train s/run',
  ];
  const rows = methods.map((m) => {
    const c = traces.map((t) => cell(m, t));
    const seconds = c.filter(Boolean).map((x) => x.seconds);
    return [
      m,
      ...c.map((x) => (x ? `${pct(x.mean)} ± ${pct(x.std)} (${x.runs})` : '–')),
      ...(both ? [drop(m, c)] : []),
      ...c.map((x) => (x ? x.passes.toFixed(1) : '–')),
      ...c.map((x) => (x ? x.kv.toFixed(1) : '–')),
      seconds.length ? mean(seconds).toFixed(0) : '–',
    ];
  });
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/**
 * The bar chart of the same cells (SVG): accuracy per trace style, one panel per method, with a
 * rule from mean − std to mean + std. Rendered by the CLI's report renderer (`root`: the repository).
 */
export async function methodBars({ root, cells, methods, traces, title, width, height, format }) {
  const { renderSvg } = await import('@kava/cli');
  const bars = Object.values(cells).map((c) => ({
    method: c.method,
    trace: c.trace,
    accuracy: c.mean,
    lo: Math.max(0, c.mean - c.std),
    hi: c.mean + c.std,
  }));
  return renderSvg({
    title,
    data: { values: bars },
    facet: { column: { field: 'method', type: 'nominal', title: null, sort: methods } },
    // A facet's panel size belongs to its inner spec (at the top level Vega-Lite ignores it).
    spec: {
      width,
      height,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'trace', type: 'nominal', title: null, sort: traces },
            y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format } },
            color: { field: 'trace', type: 'nominal', sort: traces },
          },
        },
        {
          mark: 'rule',
          encoding: {
            x: { field: 'trace', type: 'nominal', sort: traces },
            y: { field: 'lo', type: 'quantitative' },
            y2: { field: 'hi' },
          },
        },
      ],
    },
  });
}
