// Command-line pieces the experiment scripts share: a usage error, comma lists, positive
// integers, and which cells of the grid (methods x trace styles x seeds) to run.

/** A function that exits 2 with `name: message` (a usage error). */
export const failer = (name) => (message) => {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
};

/** "a, b,,c" -> ["a", "b", "c"]. */
export const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `text` as a positive integer, or a usage error naming --`flag`. */
export function positiveInt(flag, text, fail) {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
}

/** The methods (checked against `catalogue`), trace styles and seeds named by the flags, or their defaults. */
export function gridSelection(args, catalogue, defaults, fail) {
  const methods = list(args.methods ?? Object.keys(catalogue).join(','));
  for (const m of methods)
    if (!catalogue[m]) fail(`--methods: unknown method "${m}" (known: ${Object.keys(catalogue).join(', ')})`);
  const traces = list(args.traces ?? defaults.traces);
  for (const t of traces) if (t !== 'equation' && t !== 'nl') fail(`--traces: expected equation and/or nl, got "${t}"`);
  const seeds = list(args.seeds ?? defaults.seeds).map((s) =>
    /^\d+$/.test(s) ? Number(s) : fail(`--seeds: expected non-negative integers, got "${s}"`),
  );
  return { methods, traces, seeds };
}
