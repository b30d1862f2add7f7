/** Summary statistics: mean, standard deviation, 95% t-intervals and seeded percentile-bootstrap intervals. */
import { Rng } from "./rng.js";

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
/** Population standard deviation. */
export function std(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / xs.length);
}

/** Two-sided 97.5% quantile of Student's t (df >= 1); table + normal limit, good to ~3 decimals. */
export function tQuantile975(df: number): number {
  const table: Record<number, number> = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    15: 2.131,
    20: 2.086,
    30: 2.042,
    40: 2.021,
    60: 2.0,
    120: 1.98,
  };
  if (df <= 10) return table[Math.max(1, Math.round(df))]!;
  const keys = [10, 15, 20, 30, 40, 60, 120];
  for (let i = 0; i < keys.length - 1; i++) {
    const a = keys[i]!,
      b = keys[i + 1]!;
    if (df <= b) return table[a]! + ((df - a) / (b - a)) * (table[b]! - table[a]!);
  }
  return 1.96 + (1.98 - 1.96) * (120 / df);
}

export interface MeanCI {
  mean: number;
  lo: number;
  hi: number;
  n: number;
  method: "t" | "bootstrap";
}

/** Mean with a 95% t-interval (sample std, n-1). */
export function meanCI(xs: readonly number[]): MeanCI {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { mean: m, lo: m, hi: m, n, method: "t" };
  const s = Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (n - 1));
  const h = (tQuantile975(n - 1) * s) / Math.sqrt(n);
  return { mean: m, lo: m - h, hi: m + h, n, method: "t" };
}

/** Percentile-bootstrap 95% interval of the mean (seeded, deterministic). */
export function bootstrapCI(xs: readonly number[], iters = 2000, seed = 1): MeanCI {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { mean: m, lo: m, hi: m, n, method: "bootstrap" };
  const rng = new Rng(seed);
  const means = new Float64Array(iters);
  for (let b = 0; b < iters; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)]!;
    means[b] = s / n;
  }
  means.sort();
  return {
    mean: m,
    lo: means[Math.floor(0.025 * (iters - 1))]!,
    hi: means[Math.ceil(0.975 * (iters - 1))]!,
    n,
    method: "bootstrap",
  };
}
