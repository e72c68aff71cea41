/**
 * The GSM8K answer rule (KAVA-METHOD.md §6): strip commas, take the last number matching
 * `-?\d+\.?\d*`, compare as floats.
 */
const NUMBER = /-?\d+\.?\d*/g;

/** The last number in `text` after removing commas, or null when there is none. */
export function extractAnswer(text: string): number | null {
  const matches = text.replace(/,/g, '').match(NUMBER);
  if (!matches) return null;
  const value = Number.parseFloat(matches[matches.length - 1]!);
  return Number.isFinite(value) ? value : null;
}

/** Float comparison of a predicted number with the gold answer (text or number), to 1e-6 relative. */
export function answersMatch(predicted: number | null, gold: string | number): boolean {
  const target = typeof gold === 'number' ? gold : extractAnswer(gold);
  if (predicted === null || target === null) return false;
  return Math.abs(predicted - target) <= 1e-6 * Math.max(1, Math.abs(target));
}
