import type { DatasetFormat } from '../../contracts/dataset.js';
import { numericAnswer, stringField } from '../record-error.js';
import { hasKeys, jsonFormat } from './common.js';

/** GSM8k-Hard: `{input, code, target}` JSONL. Evaluation only: examples have no steps (the trace option is ignored). */
export const gsm8kHardFormat: DatasetFormat = jsonFormat(
  'gsm8k-hard',
  'GSM8k-Hard {input, code, target} JSONL (evaluation only: no traces)',
  (record) => hasKeys(record, ['input', 'code', 'target']),
  (record, _options, id) => {
    return { id, question: stringField(record, 'input'), steps: [], answer: numericAnswer(record, 'target') };
  },
);

/**
 * SVAMP: a JSON array of `{Body, Question, Equation, Answer}` (question = Body + " " + Question)
 * or `{input, target}` JSONL. Evaluation only: examples have no steps (the trace option is ignored).
 */
export const svampFormat: DatasetFormat = jsonFormat(
  'svamp',
  'SVAMP [{Body, Question, Equation, Answer}] JSON or {input, target} JSONL (evaluation only: no traces)',
  (record) =>
    hasKeys(record, ['Body', 'Question', 'Answer']) ||
    (record !== undefined && hasKeys(record, ['input', 'target']) && !('code' in record)),
  (record, _options, id) => {
    if ('Body' in record || 'Question' in record) {
      const body = stringField(record, 'Body').trim();
      const question = stringField(record, 'Question').trim();
      return { id, question: `${body} ${question}`, steps: [], answer: numericAnswer(record, 'Answer') };
    }
    return { id, question: stringField(record, 'input'), steps: [], answer: numericAnswer(record, 'target') };
  },
);
