/**
 * Learning rate at `step` (0-based) of `total`: linear warm-up over the first `warmup` fraction
 * of steps (at least one step when warmup > 0), then cosine decay to zero.
 */
export function cosineWithWarmup(step: number, total: number, peak: number, warmup: number): number {
  const warmupSteps = warmup > 0 ? Math.max(1, Math.round(warmup * total)) : 0;
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, total - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * What train.teacherWarmup does to a run of `totalSteps`, in one line ("steps 1–20 of 300 train
 * the teacher only ..."), or null when nothing warms up (no warm-up, or no teacher-ce term).
 */
export function teacherWarmupPlan(teacherWarmup: number, totalSteps: number, hasTeacherTerm: boolean): string | null {
  const steps = Math.round(teacherWarmup * totalSteps);
  if (steps === 0 || !hasTeacherTerm) return null;
  return `steps 1–${steps} of ${totalSteps} train the teacher only (train.teacherWarmup ${teacherWarmup}); the full objective from step ${steps + 1}`;
}

/** "auto" evaluates during runs of at least this many steps ... */
export const AUTO_EVAL_MIN_STEPS = 100;
/** ... on held-out sets of at most this many questions (a full GSM8k test on a 1B model on a CPU takes hours). */
export const AUTO_EVAL_MAX_QUESTIONS = 500;

/**
 * The steps before the last at which a run of `totalSteps` evaluates on `questions` held-out
 * questions (the last step always evaluates). `evalEvery` "auto" gives a curve of five points on a
 * run long enough to draw one and cheap enough to evaluate: 20, 40, 60 and 80 % of the steps.
 */
export function evaluationSteps(evalEvery: number | 'auto', totalSteps: number, questions: number): number[] {
  if (questions === 0) return [];
  if (evalEvery === 'auto') {
    if (totalSteps < AUTO_EVAL_MIN_STEPS || questions > AUTO_EVAL_MAX_QUESTIONS) return [];
    return [1, 2, 3, 4].map((k) => Math.round((k * totalSteps) / 5));
  }
  if (evalEvery === 0) return [];
  const steps: number[] = [];
  for (let s = evalEvery; s < totalSteps; s += evalEvery) steps.push(s);
  return steps;
}

/** The evaluation plan in one line, for the trainer's log and the dry run. */
export function evaluationPlan(evalEvery: number | 'auto', totalSteps: number, questions: number): string {
  if (questions === 0) return 'no held-out evaluation (no held-out data)';
  const steps = evaluationSteps(evalEvery, totalSteps, questions);
  const setting = `train.evalEvery ${evalEvery}`;
  if (steps.length === 0) {
    const why =
      evalEvery !== 'auto'
        ? setting
        : totalSteps < AUTO_EVAL_MIN_STEPS
          ? `${setting}: fewer than ${AUTO_EVAL_MIN_STEPS} steps`
          : `${setting}: more than ${AUTO_EVAL_MAX_QUESTIONS} questions; set train.evalEvery or eval.limit for a curve`;
    return `held-out evaluation of ${questions} questions at the end (${why})`;
  }
  const shown = steps.length > 6 ? `every ${evalEvery} steps (${steps.length} times)` : `at steps ${steps.join(', ')}`;
  return `held-out evaluation of ${questions} questions ${shown} and at the end (${setting})`;
}
