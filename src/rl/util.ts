/** Small shared helpers of the trainer: seeded RNG, statistics, atomic files, JSONL. */
import fs from "node:fs";
import path from "node:path";

/** splitmix32-style hash of a list of integers -> uint32 (derives per-step, per-request seeds). */
export function hashSeed(...xs: number[]): number {
  let h = 0x9e3779b9 >>> 0;
  for (const x of xs) {
    h = (h ^ (x >>> 0)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** mulberry32: tiny seeded PRNG in [0,1). Its whole state is one uint32 (saved in checkpoints). */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

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
  const table: Record<number, number> = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042, 40: 2.021, 60: 2.0, 120: 1.98 };
  if (df <= 10) return table[Math.max(1, Math.round(df))]!;
  const keys = [10, 15, 20, 30, 40, 60, 120];
  for (let i = 0; i < keys.length - 1; i++) {
    const a = keys[i]!, b = keys[i + 1]!;
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
  return { mean: m, lo: means[Math.floor(0.025 * (iters - 1))]!, hi: means[Math.ceil(0.975 * (iters - 1))]!, n, method: "bootstrap" };
}

/** Writes a file atomically (temp file in the same directory, fsync, rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function appendJsonl(file: string, obj: unknown): void {
  fs.appendFileSync(file, JSON.stringify(obj) + "\n");
}

/** Reads a JSONL file, skipping a torn last line (a crash mid-append). */
export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* torn line from a kill mid-write: ignored */
    }
  }
  return out;
}

/** Keeps only the records whose `step` is <= maxStep (used on resume so no step is logged twice). */
export function truncateJsonlByStep(file: string, maxStep: number): void {
  if (!fs.existsSync(file)) return;
  const keep = readJsonl<{ step?: number }>(file).filter((r) => typeof r.step !== "number" || r.step <= maxStep);
  writeFileAtomic(file, keep.map((r) => JSON.stringify(r) + "\n").join(""));
}
