/**
 * Worker-thread entry for parallel per-file analysis (see analyze.ts and pool.ts). Receives its config and
 * the benchmark index (built once by the main thread, as typed arrays) once, then answers {seq, task} messages with {seq, result}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BenchmarkIndex, type BenchmarkIndexData } from "./decontam.js";
import { FileAnalyzer, type AnalyzeConfig, type FileTask } from "./analyze.js";

interface Init {
  cfg: AnalyzeConfig;
  bench: BenchmarkIndexData | null;
}

const init = workerData as Init;
const bench = init.bench ? BenchmarkIndex.fromData(init.bench) : null;
const analyzer = new FileAnalyzer(init.cfg, bench);

parentPort!.on("message", (msg: { seq: number; task: FileTask }) => {
  analyzer.analyze(msg.task).then(
    (result) => parentPort!.postMessage({ seq: msg.seq, result }),
    (e: unknown) =>
      parentPort!.postMessage({ seq: msg.seq, result: { functions: [], error: String((e as Error)?.message ?? e) } }),
  );
});
parentPort!.postMessage({ ready: true });
