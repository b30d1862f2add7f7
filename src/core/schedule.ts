/** The one learning-rate schedule: linear warmup, then cosine decay to a floor (a floor of 1 = constant after warmup). */

export interface Schedule {
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of the peak (default 0.1; 1 keeps the peak after warmup). */
  minLrRatio?: number;
}

/** Linear warmup to peakLr over warmupSteps, then cosine decay to minLrRatio*peakLr at totalSteps. `step` is 0-based. */
export function lrAt(step: number, s: Schedule): number {
  const minR = s.minLrRatio ?? 0.1;
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  return s.peakLr * (minR + (1 - minR) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
