/**
 * A small pool of analysis workers. `submit` returns a promise per file; the pipeline awaits them in
 * submission order, so output order (and bytes) do not depend on the number of workers.
 */
import { Worker } from "node:worker_threads";
import type { AnalyzeConfig, FileResult, FileTask } from "./analyze.js";
import type { BenchmarkIndexData } from "./decontam.js";

interface Pending {
  resolve: (r: FileResult) => void;
  reject: (e: Error) => void;
}

export class AnalyzerPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly owner = new Map<number, number>();
  private seq = 0;
  private failed: Error | null = null;

  constructor(n: number, init: { cfg: AnalyzeConfig; bench: BenchmarkIndexData | null }) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: init });
      w.on("message", (m: { seq?: number; result?: FileResult }) => {
        if (m.seq === undefined) return;
        const p = this.pending.get(m.seq);
        if (!p) return;
        this.pending.delete(m.seq);
        this.load[this.owner.get(m.seq)!]!--;
        this.owner.delete(m.seq);
        p.resolve(m.result!);
      });
      const fail = (e: Error): void => {
        this.failed ??= e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      w.on("error", fail);
      w.on("exit", (code) => {
        if (code !== 0) fail(new Error(`analysis worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  submit(task: FileTask): Promise<FileResult> {
    if (this.failed) return Promise.reject(this.failed);
    const seq = this.seq++;
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    this.load[best]!++;
    this.owner.set(seq, best);
    return new Promise<FileResult>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.workers[best]!.postMessage({ seq, task });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
