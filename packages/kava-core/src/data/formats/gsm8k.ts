import type { DatasetFormat } from '../../contracts/dataset.js';
import { FieldError, stringField } from '../record-error.js';
import { deriveGsm8kTraces } from '../gsm8k-traces.js';
import { hasKeys, jsonFormat } from './common.js';

/**
 * The original GSM8K JSONL: `{question, answer}` where the answer is the worked solution with
 * `<<expr=value>>` annotations and a final `#### n`. Both trace styles come from it: `equation`
 * (the annotations) and `nl` (the lines with annotations removed). When a style is requested
 * (training), a record whose trace comes out empty is malformed for that style (95 of the 7,473
 * training records have no annotations). Without `trace` (evaluation) every record is yielded,
 * with its equation steps or none, so a test split is never cut short.
 */
export const gsm8kFormat: DatasetFormat = jsonFormat(
  'gsm8k',
  'original GSM8K JSONL {question, answer: "...<<a*b=c>>...\\n#### n"}; equation and nl traces derived',
  (record) =>
    record !== undefined &&
    hasKeys(record, ['question', 'answer']) &&
    !('steps' in record) &&
    !('cot' in record) &&
    typeof record.answer === 'string' &&
    record.answer.includes('####'),
  (record, options, id) => {
    const question = stringField(record, 'question');
    const traces = deriveGsm8kTraces(stringField(record, 'answer'));
    const style = options.trace ?? 'equation';
    const steps = traces[style];
    if (steps.length === 0 && options.trace !== undefined) {
      throw new FieldError(
        'answer',
        style === 'equation'
          ? 'has no <<expr=value>> annotations, so no equation trace can be derived'
          : 'has no solution text before "####", so no natural-language trace can be derived',
      );
    }
    return { id, question, steps, answer: traces.answer };
  },
);
