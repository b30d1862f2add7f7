/**
 * LoRA training benchmark: tokens/s and peak RSS of LoRA fine-tuning (frozen f32 base, adapters on
 * q/k/v/o/gate/up/down, AdamW on the adapters only, cross-entropy over random tokens) in the engine vs PyTorch CPU +
 * peft (bench/engine/torch_lora_bench.py) on the SAME random-weight Qwen2-shaped HF folder, same batch shape, same
 * thread settings (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, torch.set_num_threads, the engine's
 * setThreads), each side in its own child process, alternating rounds, best round kept.
 *
 *   npx tsc -p . && node dist/bench/engine/lora-bench.js [--shape small|qwen0.5b] [--threads 2] [--rounds 2] [--base-dtype f32|bf16]
 *     [--batch 4] [--seq 128] [--steps 3] [--rank 16]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ModelConfigSchema, type ModelConfig } from "../../src/engine/config.js";
import { countParams, LlamaModel } from "../../src/engine/model.js";
import { AdamW } from "../../src/engine/optim.js";
import { LAYER_TARGETS, LoraAdapter, type LoraTarget } from "../../src/engine/lora.js";
import { loadHfFolder, saveHfFolder } from "../../src/engine/hf.js";
import { lossForwardBackward } from "../../src/engine/train.js";
import { engineInfo, getKernels, setThreads } from "../../src/engine/kernels.js";
import { Rng } from "../../src/core/rng.js";
import type { Datum } from "../../src/core/policy.js";
import { QWEN25_05B } from "./qwen-shape.js";

const QWEN2 = {
  architectures: ["Qwen2ForCausalLM"],
  model_type: "qwen2",
  rope_theta: 1e6,
  rms_norm_eps: 1e-6,
  bos_token_id: 1,
  eos_token_id: 2,
};
const SHAPES: Record<string, Record<string, unknown>> = {
  // a small model with Qwen2's structure (GQA 8:2, q/k/v bias, tied embeddings)
  small: {
    ...QWEN2,
    hidden_size: 512,
    intermediate_size: 1408,
    num_hidden_layers: 4,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    vocab_size: 16384,
    max_position_embeddings: 1024,
    tie_word_embeddings: true,
  },
  // Qwen2.5-0.5B's exact shapes (494,032,768 parameters; bench/engine/qwen-shape.ts)
  "qwen0.5b": { ...QWEN25_05B, bos_token_id: 1, eos_token_id: 2 },
};

interface Args {
  dir: string;
  threads: number;
  batch: number;
  seqLen: number;
  steps: number;
  warmup: number;
  rank: number;
  alpha: number;
  targets: string[];
  /** How the engine holds the frozen base's matrices (compute is f32 either way; PyTorch keeps f32). */
  baseDtype?: "f32" | "bf16";
}

function engineWorker(a: Args): Record<string, unknown> {
  setThreads(a.threads);
  const hf = loadHfFolder(a.dir);
  const model = new LlamaModel(hf.config, hf.weights);
  if (a.baseDtype === "bf16") model.setBaseDtype("bf16");
  model.lora = LoraAdapter.init(
    hf.config,
    { rank: a.rank, alpha: a.alpha, targetModules: a.targets as LoraTarget[] },
    0,
  );
  const opt = new AdamW(getKernels());
  const rng = new Rng(1);
  const V = hf.config.vocab_size;
  const step = () => {
    const datums: Datum[] = [];
    for (let b = 0; b < a.batch; b++) {
      const w = Array.from({ length: a.seqLen + 1 }, () => rng.int(V));
      datums.push({
        modelInput: w.slice(0, -1),
        lossInputs: { targetTokens: w.slice(1), weights: new Array(a.seqLen).fill(1) },
      });
    }
    const grads = model.zeroGrads();
    lossForwardBackward(model, datums, { kind: "cross_entropy" }, grads);
    opt.update(model.trainableWeights(), grads, {
      learningRate: 1e-4,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0,
      maxGradNorm: 1,
    });
  };
  for (let i = 0; i < a.warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < a.steps; i++) step();
  const dt = (performance.now() - t0) / 1000;
  return {
    tokensPerSecond: (a.batch * a.seqLen * a.steps) / dt,
    secondsPerStep: dt / a.steps,
    trainable: model.lora.nParams(),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    engine: engineInfo().kernels,
  };
}

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 1 << 26, timeout: 60 * 60_000 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return { ...(JSON.parse(line) as Record<string, unknown>), stderr: r.stderr };
  } catch {
    return { error: `exit ${r.status ?? r.signal}: ${r.stderr.slice(-800)}` };
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      worker: { type: "string" },
      shape: { type: "string", default: "small" },
      threads: { type: "string", default: "2" },
      rounds: { type: "string", default: "2" },
      batch: { type: "string", default: "4" },
      seq: { type: "string", default: "128" },
      steps: { type: "string", default: "3" },
      rank: { type: "string", default: "16" },
      dir: { type: "string" },
      "base-dtype": { type: "string", default: "f32" },
    },
  });
  if (values.worker) {
    console.log(JSON.stringify(engineWorker(JSON.parse(values.worker) as Args)));
    return;
  }
  const shape = SHAPES[values.shape!];
  if (!shape) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(", ")}`);
  const threads = Number(values.threads);
  const config: ModelConfig = ModelConfigSchema.parse(shape);
  const dir = values.dir ?? path.join(os.tmpdir(), `lora-bench-${values.shape}`);
  if (!fs.existsSync(path.join(dir, "model.safetensors"))) {
    const m = LlamaModel.init(config, 1234);
    saveHfFolder(dir, config, m.weights, { dtype: "F32" });
  }
  const rank = Number(values.rank);
  const a: Args = {
    dir,
    threads,
    batch: Number(values.batch),
    seqLen: Number(values.seq),
    steps: Number(values.steps),
    warmup: 1,
    rank,
    alpha: 2 * rank,
    targets: [...LAYER_TARGETS],
    baseDtype: values["base-dtype"] === "bf16" ? "bf16" : "f32",
  };
  if (values["base-dtype"] !== "f32" && values["base-dtype"] !== "bf16")
    throw new Error("--base-dtype must be f32 or bf16 (the engine's frozen base; PyTorch's stays f32)");
  const info = engineInfo();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
  };
  if (info.coretype.value) env.OPENBLAS_CORETYPE = info.coretype.value;
  const self = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(self), "../../..");
  const py = path.join(root, ".venv/bin/python");
  const torchScript = path.join(root, "bench/engine/torch_lora_bench.py");
  console.log(
    `# LoRA training benchmark — ${new Date().toISOString()}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    `# shape ${values.shape} (${countParams(config).toLocaleString("en-US")} parameters): ${JSON.stringify(shape)}`,
  );
  console.log(
    `# batch ${a.batch} x ${a.seqLen} tokens, ${a.steps} timed steps after ${a.warmup} warm-up, rank ${rank}, alpha ${a.alpha}, targets ${a.targets.join(",")}; frozen base: engine ${a.baseDtype}, PyTorch f32`,
  );
  console.log(
    `# threads ${threads}: OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=${threads}, torch.set_num_threads(${threads}), engine setThreads(${threads}); OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE ?? "(unset)"}`,
  );
  let ours: Record<string, unknown> = {},
    torch: Record<string, unknown> = {};
  const better = (x: Record<string, unknown>, y: Record<string, unknown>) =>
    typeof y.tokensPerSecond === "number" &&
    !(typeof x.tokensPerSecond === "number" && x.tokensPerSecond >= y.tokensPerSecond)
      ? y
      : x;
  for (let r = 0; r < Math.max(1, Number(values.rounds)); r++) {
    const o = runChild(process.execPath, [self, "--worker", JSON.stringify(a)], env);
    console.log(`# round ${r + 1} engine: ${JSON.stringify({ ...o, stderr: undefined })}`);
    ours = better(ours, o);
    const t = runChild(py, [torchScript, JSON.stringify(a)], env);
    console.log(`# round ${r + 1} torch: ${JSON.stringify({ ...t, stderr: undefined })}`);
    if (r === 0 && typeof t.stderr === "string")
      console.log(
        t.stderr
          .split("\n")
          .map((l) => `#   ${l}`)
          .join("\n"),
      );
    torch = better(torch, t);
  }
  const f = (x: unknown, d = 0) => (typeof x === "number" ? x.toFixed(d) : "-");
  const ratio =
    typeof ours.tokensPerSecond === "number" && typeof torch.tokensPerSecond === "number"
      ? (ours.tokensPerSecond / torch.tokensPerSecond).toFixed(2) + "x"
      : "-";
  console.log(
    "| shape | trainable (ours / torch) | ours tok/s | torch+peft tok/s | ours/torch | ours peak MB | torch peak MB |",
  );
  console.log("|---|---|---|---|---|---|---|");
  console.log(
    `| ${values.shape} | ${f(ours.trainable)} / ${f(torch.trainable)} | ${f(ours.tokensPerSecond, 1)} | ${f(torch.tokensPerSecond, 1)} | ${ratio} | ${f(ours.peakRssMB)} | ${f(torch.peakRssMB)} |`,
  );
}

main();
