import type { EvalReport } from '@kava/core/app';

/** A model that gives one answer to at least this share of the questions is flagged. */
const ONE_ANSWER_SHARE = 0.8;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * What an accuracy is worth: the majority-answer level beside it, and a flag when the model gives
 * one answer to (almost) everything (a short run's accuracy can be exactly that level and read as
 * progress). Null for a report without the levels (older runs).
 */
export function answerLevelsLine(
  report: Pick<EvalReport, 'majorityLevel' | 'mostCommonPrediction' | 'questions'>,
): string | null {
  if (report.majorityLevel === undefined || report.mostCommonPrediction === undefined) return null;
  const { predicted, share } = report.mostCommonPrediction;
  const answer = predicted === null ? 'no number' : String(predicted);
  const one =
    share >= ONE_ANSWER_SHARE && report.questions >= 5
      ? `; the model gives one answer (${answer}) to ${pct(share)} of the questions: it has not learnt the task yet`
      : `; its most frequent answer (${answer}) is given to ${pct(share)} of the questions`;
  return `majority-answer level (always answering the most common gold answer): ${pct(report.majorityLevel)}${one}`;
}
