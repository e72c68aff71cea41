// Command-line pieces the scripts share: a usage error and positive integers.

/** A function that exits 2 with `name: message` (a usage error). */
export const failer = (name) => (message) => {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
};

/** `text` as a positive integer, or a usage error naming --`flag`. */
export function positiveInt(flag, text, fail) {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
}
