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
