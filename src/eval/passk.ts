/**
 * The unbiased pass@k estimator (Chen et al. 2021): for a task with n samples of which c pass,
 *   pass@k = 1 - C(n - c, k) / C(n, k)
 * computed as 1 - prod_{i = n-c+1}^{n} (1 - k / i) to stay numerically stable. Defined for k <= n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || k < 1 || c < 0 || c > n) {
    throw new RangeError(`passAtK: invalid n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw new RangeError(`passAtK: k=${k} exceeds the number of samples n=${n}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Mean pass@k over tasks, each with its own (n, c); tasks with n < k are skipped (and counted). */
export function meanPassAtK(
  tasks: readonly { n: number; c: number }[],
  k: number,
): { value: number; tasks: number; skipped: number } {
  let sum = 0;
  let used = 0;
  let skipped = 0;
  for (const t of tasks) {
    if (t.n < k) {
      skipped++;
      continue;
    }
    sum += passAtK(t.n, t.c, k);
    used++;
  }
  return { value: used ? sum / used : Number.NaN, tasks: used, skipped };
}
