import { FieldError } from './record-error.js';

/** Both trace styles derived from one original GSM8K answer. */
export interface Gsm8kTraces {
  /** The calculator annotations in order, each as `<<expr=value>>`. */
  equation: string[];
  /** The solution lines with the annotations removed. */
  nl: string[];
  /** The final answer after `####`, commas removed. */
  answer: string;
}

const ANNOTATION = /<<([^<>]*)>>/g;

/**
 * Splits an original GSM8K answer ("...48/2 = <<48/2=24>>24 clips...\n#### 72") into the
 * equation trace, the natural-language trace and the final answer. Throws FieldError("answer")
 * when there is no `#### n` line or an annotation is not `expr=value`; an empty trace is
 * returned as an empty list (the caller decides whether the requested style may be empty).
 */
export function deriveGsm8kTraces(text: string): Gsm8kTraces {
  const marker = text.lastIndexOf('####');
  if (marker < 0) throw new FieldError('answer', 'expected the final answer after "####", found no "####"');
  const answer = text
    .slice(marker + 4)
    .trim()
    .replace(/,/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(answer)) {
    throw new FieldError('answer', `expected a number after "####", got ${JSON.stringify(answer)}`);
  }
  const body = text.slice(0, marker);
  const equation: string[] = [];
  for (const match of body.matchAll(ANNOTATION)) {
    const inner = match[1]!.trim();
    if (!/^[^=]+=[^=]+$/.test(inner)) {
      throw new FieldError(
        'answer',
        `expected annotations of the form <<expr=value>>, got ${JSON.stringify(match[0])}`,
      );
    }
    equation.push(`<<${inner}>>`);
  }
  const nl = body
    .split('\n')
    .map((line) =>
      line
        .replace(ANNOTATION, '')
        .replace(/[ \t]{2,}/g, ' ')
        .trim(),
    )
    .filter((line) => line !== '');
  return { equation, nl, answer };
}

/**
 * The chain-of-thought steps written in a `cot` string: the `<<...>>` annotations when there are
 * any (GSM8k-AUG), otherwise its lines, otherwise its sentences (GSM8k-AUG-NL).
 */
export function splitCot(cot: string): string[] {
  const annotations = [...cot.matchAll(ANNOTATION)].map((m) => m[0]);
  if (annotations.length > 0) return annotations;
  const lines = cot
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length > 1) return lines;
  return cot
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
