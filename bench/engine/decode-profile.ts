/**
 * Where the time of one decoding step goes: a random-weight model with Qwen2.5-0.5B's exact shapes decodes
 * `--steps` tokens at batch 1 through `LlamaModel.forwardCached` (after an 8-token prefill), with every kernel call
 * timed — linear layers split by weight shape ([in x out]), the other kernels by name — and the rest (JavaScript:
 * embedding, cache writes, allocation) as "other". Base matrices in f32, bf16 or f16 (`--dtypes`).
 *
 *   npx tsc -p . && node dist/bench/engine/decode-profile.js [--dtypes f32,bf16] [--threads 2] [--steps 20]
 *
 * GB/s of a linear layer = its weight bytes per call / time per call (the weights stream from memory once per
 * token at batch 1, so this is the bandwidth the kernel reaches).
 */
import { parseArgs } from "node:util";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { engineInfo, setThreads } from "../../src/engine/kernels.js";
import { LlamaModel } from "../../src/engine/model.js";
import { QWEN25_05B } from "./qwen-shape.js";

const { values } = parseArgs({
  options: {
    dtypes: { type: "string", default: "f32,bf16" },
    threads: { type: "string", default: "2" },
    steps: { type: "string", default: "20" },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
if (!(threads >= 1) || !(steps >= 1)) throw new Error("--threads and --steps must be positive integers");
setThreads(threads);
const config = ModelConfigSchema.parse({ ...QWEN25_05B, max_position_embeddings: 256 });
console.log(`# decode profile — ${new Date().toISOString()}; Qwen2.5-0.5B shapes, batch 1, threads ${threads}`);
console.log(`# engine ${JSON.stringify(engineInfo())}`);

for (const dtype of values.dtypes!.split(",") as Array<"f32" | "bf16" | "f16">) {
  const model = LlamaModel.init(config, 1234).setBaseDtype(dtype);
  const K = model.kernels as unknown as Record<string, unknown>;
  const ms = new Map<string, number>(),
    calls = new Map<string, number>(),
    bytes = new Map<string, number>();
  const wbytes = dtype === "f32" ? 4 : 2;
  for (const name of Object.keys(K)) {
    const f = K[name];
    if (typeof f !== "function") continue;
    K[name] = (...a: unknown[]) => {
      const t = performance.now();
      const r = (f as (...x: unknown[]) => unknown).apply(K, a);
      const dt = performance.now() - t;
      let key = name;
      if (name === "linearFwd" || name === "linearFwdHalf") {
        // (…, N, inDim, outDim, accumulate)
        const [inDim, outDim] = [a[a.length - 3] as number, a[a.length - 2] as number];
        key = `linear ${inDim}x${outDim}`;
        bytes.set(key, (bytes.get(key) ?? 0) + inDim * outDim * wbytes);
      }
      ms.set(key, (ms.get(key) ?? 0) + dt);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return r;
    };
  }
  const cache = model.createCache(1, 8 + steps + 1);
  model.prefill(cache, [[5, 6, 7, 8, 9, 10, 11, 12]], [0]);
  model.forwardCached(cache, Int32Array.of(99), Int32Array.of(0), [0]); // warm-up step
  ms.clear();
  calls.clear();
  bytes.clear();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) model.forwardCached(cache, Int32Array.of(100 + i), Int32Array.of(0), [0]);
  const total = (performance.now() - t0) / steps;
  console.log(
    `\n## base ${dtype}: ${total.toFixed(2)} ms/token (${(1000 / total).toFixed(2)} tok/s; forwardCached only, no sampling)`,
  );
  console.log("| part | calls/token | ms/token | share | GB/s |");
  console.log("|---|---|---|---|---|");
  let timed = 0;
  for (const [k, v] of [...ms].sort((a, b) => b[1] - a[1])) {
    timed += v;
    const gbs = bytes.has(k) ? (bytes.get(k)! / (v / 1000) / 1e9).toFixed(1) : "";
    const row = [
      k,
      (calls.get(k)! / steps).toFixed(0),
      (v / steps).toFixed(2),
      `${((100 * v) / steps / total).toFixed(1)}%`,
      gbs,
    ];
    console.log(`| ${row.join(" | ")} |`);
  }
  const other = total - timed / steps;
  console.log(`| other (JavaScript) | | ${other.toFixed(2)} | ${((100 * other) / total).toFixed(1)}% | |`);
}
