/**
 * Kernel microbenchmark at Qwen2.5-0.5B shapes (hidden 896, intermediate 4864, vocab 151,936, 14 heads / 2 kv heads,
 * head dim 64, 24 layers): the linear layers of one decoding step — per layer q/k/v/o and gate/up/down, then the
 * LM head — at batch 1 and at 16 sequences, as tokens/s-equivalent (rows / seconds per step, linears only: no
 * attention, norms or sampling). Variants, interleaved round by round so machine load hits them alike:
 *   - old:       Kernels.sgemm(false, true, ...) on f32 weights, the call model.ts makes today (OpenBLAS; products
 *                under 4M multiply-adds single-threaded, larger ones on OpenBLAS's threads);
 *   - f32:       Kernels.linearFwd on f32 weights (decoding shapes split W's rows over the persistent thread pool);
 *   - bf16, f16: Kernels.linearFwdHalf with the weights stored in 16 bits, widened on the fly.
 * Also: GGUF dequantisation throughput (Q8_0 / Q4_K / Q6_K / bf16 -> f32) on a 4864 x 896 tensor.
 *
 *   npx tsc -p . && node dist/bench/engine/kernels-bench.js [--threads 1,2] [--rounds 7] [--distinct 4] [--quick]
 *
 * `--distinct` layers' weights are allocated and cycled through the 24 layers (each distinct layer is 60 MB in f32,
 * so the step streams weights from memory as the real model does, without 1.4 GB of f32 layers).
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { engineInfo, getKernels, setThreads, GGML_DEQUANT_TYPES, type Kernels } from "../../src/engine/kernels.js";

const SHAPE = { hidden: 896, inter: 4864, vocab: 151936, heads: 14, kvHeads: 2, headDim: 64, layers: 24 };

const { values: opt } = parseArgs({
  options: {
    threads: { type: "string", default: "1,2" },
    rounds: { type: "string", default: "7" },
    distinct: { type: "string", default: "4" },
    quick: { type: "boolean", default: false },
  },
});
const threadList = opt.threads.split(",").map(Number);
const rounds = opt.quick ? 2 : Number(opt.rounds);
const distinct = opt.quick ? 1 : Number(opt.distinct);
const layers = opt.quick ? 4 : SHAPE.layers;

let seed = 0x9e3779b9;
function fill(n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    a[i] = ((seed >>> 0) / 4294967296 - 0.5) * scale;
  }
  return a;
}

const K: Kernels = getKernels();
if (K.name !== "native") throw new Error("kernels-bench needs the native addon (build it with bash scripts/setup.sh)");

interface Lin {
  name: string;
  inDim: number;
  outDim: number;
  f32: Float32Array;
  bf16: Uint16Array;
  f16: Uint16Array;
}
function makeLinear(name: string, inDim: number, outDim: number): Lin {
  const f32 = fill(inDim * outDim, 0.1);
  const bf16 = new Uint16Array(f32.length),
    f16 = new Uint16Array(f32.length);
  K.f32ToHalf(f32, "bf16", bf16, f32.length);
  K.f32ToHalf(f32, "f16", f16, f32.length);
  return { name, inDim, outDim, f32, bf16, f16 };
}

const { hidden: d, inter: F, vocab: V } = SHAPE;
const kvDim = SHAPE.kvHeads * SHAPE.headDim,
  qDim = SHAPE.heads * SHAPE.headDim;
const layerSets: Lin[][] = [];
for (let l = 0; l < distinct; l++) {
  layerSets.push([
    makeLinear("q", d, qDim),
    makeLinear("k", d, kvDim),
    makeLinear("v", d, kvDim),
    makeLinear("o", qDim, d),
    makeLinear("gate", d, F),
    makeLinear("up", d, F),
    makeLinear("down", F, d),
  ]);
}
const lmHead = makeLinear("lm_head", d, V);

type Variant = "old" | "f32" | "bf16" | "f16";
const VARIANTS: Variant[] = ["old", "f32", "bf16", "f16"];

function apply(v: Variant, w: Lin, x: Float32Array, out: Float32Array, N: number): void {
  if (v === "old") K.sgemm(false, true, N, w.outDim, w.inDim, 1, x, w.inDim, w.f32, w.inDim, 0, out, w.outDim);
  else if (v === "f32") K.linearFwd(x, w.f32, null, out, N, w.inDim, w.outDim);
  else K.linearFwdHalf(x, v === "bf16" ? w.bf16 : w.f16, v, null, out, N, w.inDim, w.outDim);
}

/** Seconds for one decoding step's linears (all layers + LM head) and for the LM head alone. */
function step(v: Variant, N: number, bufs: { x: Float32Array; out: Float32Array }): { total: number; head: number } {
  const t0 = process.hrtime.bigint();
  for (let l = 0; l < layers; l++) for (const w of layerSets[l % distinct]!) apply(v, w, bufs.x, bufs.out, N);
  const t1 = process.hrtime.bigint();
  apply(v, lmHead, bufs.x, bufs.out, N);
  const t2 = process.hrtime.bigint();
  return { total: Number(t2 - t0) / 1e9, head: Number(t2 - t1) / 1e9 };
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
};

const info = engineInfo();
console.log(
  `# kernels-bench  ${new Date().toISOString()}  node ${process.version}  ` +
    `cpu: ${os.cpus()[0]?.model}  cores: ${os.cpus().length}`,
);
console.log(
  `# kernels: ${info.kernels}, OpenBLAS core ${info.blasCore} ` +
    `(coretype ${info.coretype.value ?? "default"}, ${info.coretype.source})`,
);
console.log(
  `# load average at start: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
console.log(
  `# Qwen2.5-0.5B shapes, ${layers} layers (${distinct} distinct weight sets) + LM head ${d}x${V}; ` +
    `rounds ${rounds}, median reported`,
);

const rows: string[] = [];
for (const threads of threadList) {
  setThreads(threads);
  for (const N of [1, 16]) {
    const bufs = { x: fill(N * F, 1), out: new Float32Array(N * V) };
    for (const v of VARIANTS) step(v, N, bufs); // warm-up (page in, pool start)
    const tot: Record<Variant, number[]> = { old: [], f32: [], bf16: [], f16: [] };
    const head: Record<Variant, number[]> = { old: [], f32: [], bf16: [], f16: [] };
    for (let r = 0; r < rounds; r++) {
      for (const v of VARIANTS) {
        const s = step(v, N, bufs);
        tot[v].push(s.total);
        head[v].push(s.head);
      }
    }
    const base = median(tot.old);
    for (const v of VARIANTS) {
      const t = median(tot[v]),
        h = median(head[v]);
      const bytes = v === "bf16" || v === "f16" ? 2 : 4;
      const gbps = (d * V * bytes) / h / 1e9;
      rows.push(
        `| ${threads} | ${N} | ${v} | ${(N / t).toFixed(1)} | ${(t * 1e3).toFixed(1)} | ${(h * 1e3).toFixed(1)} | ` +
          `${gbps.toFixed(1)} | ${(base / t).toFixed(2)}x |`,
      );
    }
  }
}
console.log(
  "\n| threads | rows (sequences) | variant | tokens/s (linears only) | ms / step | ms LM head | LM head GB/s " +
    "| speed vs old |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);

// dequantisation throughput: one 4864 x 896 tensor per type
const n = F * d;
const drows: string[] = [];
for (const threads of threadList) {
  setThreads(threads);
  for (const type of ["Q8_0", "Q4_K", "Q6_K", "BF16"] as const) {
    const { id, values, bytes } = GGML_DEQUANT_TYPES[type];
    const src = new Uint8Array((n / values) * bytes);
    const dv = new DataView(src.buffer);
    for (let i = 0; i < src.length; i++) src[i] = (i * 2654435761) >>> 24;
    // finite f16 scales where the layout keeps them
    const scales = type === "Q8_0" ? [0] : type === "Q4_K" ? [0, 2] : type === "Q6_K" ? [208] : [];
    for (let b = 0; b < n / values; b++) for (const o of scales) dv.setUint16(b * bytes + o, 0x2000, true);
    const dst = new Float32Array(n);
    K.dequantize(id, src, dst, n);
    const times: number[] = [];
    for (let r = 0; r < Math.max(3, rounds); r++) {
      const t0 = process.hrtime.bigint();
      K.dequantize(id, src, dst, n);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const t = median(times);
    drows.push(`| ${threads} | ${type} | ${(n / t / 1e6).toFixed(0)} | ${(src.length / t / 1e9).toFixed(2)} |`);
  }
}
console.log("\n| threads | type | M values/s | GB/s read |");
console.log("|---|---|---|---|");
for (const r of drows) console.log(r);
console.log(
  `# load average at end: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
