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
  const stuck = share >= ONE_ANSWER_SHARE && report.questions >= 5 ? ': it has not learnt the task yet' : '';
  const one =
    predicted === null
      ? `; the model writes no number for ${pct(share)} of the questions${stuck}`
      : stuck
        ? `; the model gives one answer (${predicted}) to ${pct(share)} of the questions${stuck}`
        : `; its most frequent answer (${predicted}) is given to ${pct(share)} of the questions`;
  return `majority-answer level (always answering the most common gold answer): ${pct(report.majorityLevel)}${one}`;
}
