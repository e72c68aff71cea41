import type { DatasetFormat } from '../../contracts/dataset.js';
import { FieldError, numericText, stringField } from '../record-error.js';
import { splitCot } from '../gsm8k-traces.js';
import { hasKeys, jsonFormat } from './common.js';

/**
 * GSM8k-AUG and GSM8k-AUG-NL: `{question, steps[], answer}` or `{question, cot, answer}`, as a
 * JSON array or JSON Lines. The trace style is whatever the file holds (`trace` is not checked:
 * AUG files are equation traces, AUG-NL files natural-language ones). Records with a question and
 * a numeric answer but no trace field read with no steps: a no-cot run trains on them, and a
 * method that needs traces refuses the file by name (checkTraces) instead of the sniffer failing
 * to tell its format.
 */
export const gsm8kAugFormat: DatasetFormat = jsonFormat(
  'gsm8k-aug',
  'GSM8k-AUG / AUG-NL: {question, steps[], answer} or {question, cot, answer}, JSON array or JSONL; {question, answer} reads without a trace (no-cot only)',
  (record) =>
    hasKeys(record, ['question', 'answer']) &&
    (hasKeys(record, ['steps']) ||
      hasKeys(record, ['cot']) ||
      !(typeof record!.answer === 'string' && record!.answer.includes('####'))),
  (record, _options, id) => {
    const question = stringField(record, 'question');
    const answer = numericText(stringField(record, 'answer', { numeric: true }), 'answer');
    let steps: string[];
    if ('steps' in record) {
      const raw = record.steps;
      if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string')) {
        throw new FieldError('steps', `expected an array of strings, got ${JSON.stringify(raw)?.slice(0, 60)}`);
      }
      steps = (raw as string[]).map((s) => s.trim()).filter((s) => s !== '');
    } else if ('cot' in record) {
      steps = splitCot(stringField(record, 'cot'));
    } else {
      steps = [];
    }
    return { id, question, steps, answer };
  },
);
