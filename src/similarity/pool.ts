/**
 * RewardPool: scores batches of back-translation rewards on worker threads (all cores by default), so
 * reward computation never becomes the training bottleneck. Results come back in job order. Small batches
 * are scored in-process (a worker round trip costs more than they do). Jobs for the same reference should be
 * adjacent (a GRPO group): chunks are contiguous, so each worker parses a reference once (it caches them).
 *
 *   const pool = new RewardPool({ workers: 2 });
 *   const results = await pool.score([{ code, doc, rebuilt, lang: "python", cfg }]);
 *   await pool.close();
 *
 * A job that fails (bad original code, bad config) yields `{error, userFacing}` in its slot instead of
 * failing the batch. A crashed worker is replaced and its chunk is rescored in-process.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { loadLanguage, type LangId } from "../lang/index.js";
import {
  reward,
  resolveRewardConfig,
  type DocCheck,
  type RewardBreakdown,
  type RewardConfig,
  type RewardConfigInput,
} from "./reward.js";

/** One reconstruction to score. `L`: the language type (a checked `LangId` here; a plain string before checking). */
export interface RewardJob<L extends string = LangId> {
  code: string;
  doc: string;
  rebuilt: string;
  lang: L;
  cfg?: RewardConfigInput | RewardConfig;
  /** The documentation's checks, when already made (then they are not redone per reconstruction). */
  docCheck?: DocCheck;
}
export type RewardJobResult = RewardBreakdown | { error: string; userFacing: boolean };

export function isRewardError(r: RewardJobResult): r is { error: string; userFacing: boolean } {
  return (r as { error?: string }).error !== undefined;
}

export interface RewardPoolOptions {
  /** Worker threads (default: all cores, os.availableParallelism()). 0 = always in-process. */
  workers?: number;
  /** Batches with fewer jobs than this are scored in-process (default 8). */
  inProcessBelow?: number;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class RewardPool {
  readonly size: number;
  private readonly inProcessBelow: number;
  private slots: Slot[] = [];
  private nextId = 1;
  private pending = new Map<
    number,
    { resolve: (r: RewardJobResult[]) => void; reject: (e: Error) => void; slot: Slot; jobs: RewardJob[] }
  >();
  private closed = false;
  private queue: Array<() => void> = [];

  constructor(opts: RewardPoolOptions = {}) {
    const n =
      opts.workers ?? (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
    if (!Number.isInteger(n) || n < 0) throw new Error(`RewardPool: workers must be a non-negative integer, got ${n}`);
    this.size = n;
    this.inProcessBelow = opts.inProcessBelow ?? 8;
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./pool-worker.js", import.meta.url));
    const slot: Slot = { worker, busy: false };
    worker.on("message", (msg: { id: number; results: RewardJobResult[] }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      slot.busy = false;
      p.resolve(msg.results);
      this.queue.shift()?.();
    });
    const fail = (err: Error): void => {
      // rescore this worker's outstanding chunks in-process, replace the worker
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        scoreInProcess(p.jobs).then(p.resolve, p.reject);
      }
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      if (!this.closed) void err;
      this.queue.shift()?.();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed && code !== 0) fail(new Error(`reward worker exited with code ${code}`));
    });
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      if (this.slots.length < this.size) {
        const s = this.spawn();
        s.busy = true;
        return s;
      }
      await new Promise<void>((res) => this.queue.push(res));
    }
  }

  private async runChunk(jobs: RewardJob[]): Promise<RewardJobResult[]> {
    const slot = await this.acquire();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot, jobs });
      slot.worker.ref();
      slot.worker.postMessage({ id, jobs });
    }).finally(() => {
      if (!this.pending.size) for (const s of this.slots) s.worker.unref();
    }) as Promise<RewardJobResult[]>;
  }

  /** Scores the jobs; results are in job order. */
  async score(jobs: RewardJob[]): Promise<RewardJobResult[]> {
    if (this.closed) throw new Error("RewardPool is closed");
    if (!Array.isArray(jobs)) throw new Error("RewardPool.score expects an array of jobs");
    if (jobs.length === 0) return [];
    // validate configs up front, once per distinct object, so workers get plain resolved configs
    const resolved = new Map<unknown, RewardConfig | Error>();
    const prepared = jobs.map((j) => {
      if (!resolved.has(j.cfg)) {
        try {
          resolved.set(j.cfg, resolveRewardConfig(j.cfg));
        } catch (e) {
          resolved.set(j.cfg, e as Error);
        }
      }
      const c = resolved.get(j.cfg)!;
      return { ...j, cfg: c instanceof Error ? j.cfg : c };
    });
    if (this.size === 0 || jobs.length < this.inProcessBelow) return scoreInProcess(prepared);
    const nChunks = Math.min(this.size * 4, Math.ceil(jobs.length / 4));
    const per = Math.ceil(jobs.length / nChunks);
    const chunks: RewardJob[][] = [];
    for (let i = 0; i < prepared.length; i += per) chunks.push(prepared.slice(i, i + per));
    const parts = await Promise.all(chunks.map((c) => this.runChunk(c)));
    return parts.flat();
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.slots.map((s) => s.worker);
    this.slots = [];
    for (const q of this.queue.splice(0)) q();
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** Scores jobs on the calling thread (loads the needed grammars first). */
export async function scoreInProcess(jobs: RewardJob[]): Promise<RewardJobResult[]> {
  const langs = new Set(jobs.map((j) => j.lang));
  for (const l of langs) {
    try {
      await loadLanguage(l);
    } catch {
      /* reported per job below */
    }
  }
  return jobs.map((j) => {
    try {
      return reward(j.code, j.doc, j.rebuilt, j.lang, j.cfg, j.docCheck);
    } catch (e) {
      const err = e as Error & { userFacing?: boolean };
      return { error: err?.message ?? String(e), userFacing: !!err?.userFacing };
    }
  });
}
