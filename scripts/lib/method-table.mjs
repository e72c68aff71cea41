// The per-method table both experiment reports print (from-scratch and two-stage).
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
