#!/usr/bin/env node
// Streams an original GSM8K JSONL file (default: ../shared/datasets/gsm8k/train.jsonl) through the
// gsm8k dataset format and reports, per trace style, how many records yield a trace and why the
// others do not, with wall time and peak memory. Needs the compiled core: `npx tsc -b` first.
//   node scripts/gsm8k-stats.mjs [file.jsonl]      (or: /usr/bin/time -v node scripts/gsm8k-stats.mjs)
import { resolve } from 'node:path';
import { deriveGsm8kTraces, FieldError, gsm8kFormat, jsonLines } from '@kava/core/app';

const file = resolve(process.argv[2] ?? new URL('../../shared/datasets/gsm8k/train.jsonl', import.meta.url).pathname);
const rssAfterImport = process.memoryUsage().rss;
const started = performance.now();
let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};

// 1. Per record, both styles at once (the raw derivation), with the reason a style is missing.
let records = 0;
let both = 0;
const missing = { equation: [], nl: [] };
const failed = [];
for await (const { line, value, parseError } of jsonLines(file)) {
  records++;
  if (records % 500 === 0) sample();
  try {
    if (parseError) throw new FieldError('(record)', parseError);
    const traces = deriveGsm8kTraces(value.answer);
    if (traces.equation.length > 0 && traces.nl.length > 0) both++;
    if (traces.equation.length === 0) missing.equation.push(line);
    if (traces.nl.length === 0) missing.nl.push(line);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    failed.push(`line ${line}: ${error.message}`);
  }
}
const deriveSeconds = (performance.now() - started) / 1000;

// 2. Through the dataset format, as training reads it (skipInvalid counts what a style cannot use).
const viaFormat = {};
for (const trace of ['equation', 'nl']) {
  const source = gsm8kFormat.open(file);
  let examples = 0;
  let steps = 0;
  for await (const example of source.examples({ trace, skipInvalid: true })) {
    examples++;
    steps += example.steps.length;
    if (examples % 500 === 0) sample();
  }
  viaFormat[trace] = {
    examples,
    skipped: source.skipped,
    meanSteps: +(steps / examples).toFixed(2),
    firstSkipped: source.skippedReasons.slice(0, 3),
  };
}
sample();
const totalSeconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify(
    {
      file,
      records,
      bothStyles: both,
      noEquationTrace: {
        count: missing.equation.length,
        reason: 'no <<expr=value>> annotations in the solution',
        lines: missing.equation,
      },
      noNlTrace: { count: missing.nl.length, lines: missing.nl },
      malformed: { count: failed.length, examples: failed.slice(0, 10) },
      viaFormat,
      seconds: { deriveBothStyles: +deriveSeconds.toFixed(2), total: +totalSeconds.toFixed(2) },
      memory: {
        rssAfterImportMiB: +(rssAfterImport / 2 ** 20).toFixed(1),
        peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
        peakHeapUsedMiB: +(peakHeap / 2 ** 20).toFixed(1),
      },
    },
    null,
    2,
  ),
);
