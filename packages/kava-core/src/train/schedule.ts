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
