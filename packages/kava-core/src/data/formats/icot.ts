import type { DatasetFormat } from '../../contracts/dataset.js';
import { readLines } from '../read-lines.js';
import { FieldError, numericText } from '../record-error.js';
import { RecordSource } from '../record-source.js';
import { splitCot } from '../gsm8k-traces.js';

/** Parses one `question||<<a>> <<b>> #### answer` line. */
export function parseIcotLine(text: string): { question: string; steps: string[]; answer: string } {
  const bar = text.indexOf('||');
  if (bar < 0) throw new FieldError('question', 'expected "question||steps #### answer", found no "||"');
  const question = text.slice(0, bar).trim();
  if (question === '') throw new FieldError('question', 'expected a question before "||", got an empty string');
  const rest = text.slice(bar + 2);
  const marker = rest.lastIndexOf('####');
  if (marker < 0) throw new FieldError('answer', 'expected "#### answer" after the steps, found no "####"');
  const written = rest.slice(marker + 4).trim();
  if (written === '') throw new FieldError('answer', 'expected an answer after "####", got an empty string');
  const answer = numericText(written, 'answer');
  const cot = rest.slice(0, marker).trim();
  return { question, steps: cot === '' ? [] : splitCot(cot), answer };
}

/** The iCoT text format, one `question||<<a>> <<b>> #### answer` per line. */
export const icotFormat: DatasetFormat = {
  name: 'icot',
  description: 'iCoT text: one "question||<<a>> <<b>> #### answer" per line',
  sniff: (head) => {
    const first = head.split('\n').find((l) => l.trim() !== '');
    return (
      first !== undefined &&
      !first.trimStart().startsWith('{') &&
      !first.trimStart().startsWith('[') &&
      first.includes('||') &&
      first.includes('####')
    );
  },
  open(file) {
    return new RecordSource<string>(
      'icot',
      file,
      async function* () {
        for await (const { line, text } of readLines(file)) {
          if (text.trim() !== '') yield { line, value: text };
        }
      },
      (text, _options, id) => ({ id, ...parseIcotLine(text) }),
    );
  },
};
