/**
 * Generation speed of the embedded engine vs llama.cpp (node-llama-cpp 3.21.1, CPU build) on a random-weight model
 * with Qwen2.5-0.5B's exact shapes (Qwen2ForCausalLM: 24 layers, hidden 896, 14 heads / 2 KV heads, MLP 4864,
 * vocab 151,936, tied embeddings; 494M parameters). The same weights (same seed) are exported to GGUF in F32 and
 * F16 for llama.cpp; the engine computes in f32 with its base matrices held in f32 and/or bf16 (`--engine-dtypes`,
 * LlamaModel.setBaseDtype: bf16 rounds the same weights, llama.cpp's F16 file rounds them to f16). Both sides: same thread count, greedy decoding, a 16-token prompt
 * then `--gen-tokens` new tokens for B sequences at once (llama.cpp: B sequences of one context decoded together);
 * tokens/s = B * generated tokens / wall time including the prompt. Every measurement runs in its own process.
 *
 *   npx tsc -p . && node dist/bench/engine/llamacpp.js [--threads 2] [--batches 1,16] [--gen-tokens 64]
 *     [--dtypes f32,f16] [--engine-dtypes f32,bf16] [--rounds 1] [--layers 24]
 *
 * `--layers` < 24 gives a quicker, smaller run (NOT the 0.5B shapes; the header says so).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ModelConfigSchema, type ModelConfig } from "../../src/engine/config.js";
import { bpeTokenizerData, exportModelGguf } from "../../src/engine/gguf.js";
import { engineInfo, setThreads } from "../../src/engine/kernels.js";
import { LlamaModel } from "../../src/engine/model.js";
import { Rng } from "../../src/core/rng.js";
import { generate } from "../../src/engine/sampler.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import type { TokenizerLike } from "../../src/core/policy.js";
import { QWEN25_05B } from "./qwen-shape.js";

/** Qwen2.5-0.5B(-Coder)(-Instruct) config.json shapes (bench/engine/qwen-shape.ts), ids of the bench's tiny tokenizer. */
function qwen05Config(layers: number): ModelConfig {
  return ModelConfigSchema.parse({ ...QWEN25_05B, num_hidden_layers: layers, bos_token_id: 1, eos_token_id: 2 });
}

interface Job {
  mode: "export" | "engine" | "llama";
  dir: string;
  layers: number;
  threads: number;
  batch: number;
  promptLen: number;
  genTokens: number;
  dtype?: "f32" | "f16";
  /** How the engine holds its base matrices (compute is f32 either way). */
  engineDtype?: "f32" | "bf16" | "f16";
}

function prompts(j: Job, vocab: number): number[][] {
  const rng = new Rng(77);
  return Array.from({ length: j.batch }, () => Array.from({ length: j.promptLen }, () => 300 + rng.int(vocab - 300)));
}

async function runJob(j: Job): Promise<Record<string, unknown>> {
  const config = qwen05Config(j.layers);
  if (j.mode === "export") {
    const t0 = performance.now();
    const model = LlamaModel.init(config, 1234);
    const tok = await BpeTokenizer.train(["def f(x):\n    return x\n"], { vocabSize: 300 });
    const tk = { ...bpeTokenizerData(tok, config), bosId: 1, eosId: 2 };
    for (const dtype of ["f32", "f16"] as const)
      exportModelGguf(path.join(j.dir, `${dtype}.gguf`), config, model.weights, tk, {
        dtype,
        name: "qwen2.5-0.5b-shaped",
      });
    return { nParams: model.nParams(), exportSeconds: (performance.now() - t0) / 1000 };
  }
  const ps = prompts(j, config.vocab_size);
  if (j.mode === "engine") {
    setThreads(j.threads);
    const model = LlamaModel.init(config, 1234).setBaseDtype(j.engineDtype ?? "f32");
    // EOS can never be produced (id -1): every sequence generates exactly genTokens tokens
    const tok: TokenizerLike = {
      encode: () => [],
      decode: () => "",
      tokenId: () => undefined,
      vocabSize: config.vocab_size,
      eosId: -1,
      bosId: 1,
    };
    const reqs = ps.map((p) => ({ prompt: p, n: 1, params: { maxTokens: j.genTokens, temperature: 0 } }));
    generate(
      model,
      tok,
      reqs.map((r) => ({ ...r, params: { ...r.params, maxTokens: 4 } })),
      new Rng(1),
      { maxBatch: j.batch },
    ); // warm-up
    const t0 = performance.now();
    const res = generate(model, tok, reqs, new Rng(1), { maxBatch: j.batch });
    const secs = (performance.now() - t0) / 1000;
    const n = res.reduce((a, r) => a + r[0]!.tokens.length, 0);
    return {
      tokens: n,
      seconds: secs,
      tokensPerSecond: n / secs,
      engine: engineInfo(),
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      weightsMB: model.weightBytes() / 2 ** 20,
      firstTokens: res[0]![0]!.tokens.slice(0, 8),
    };
  }
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: j.threads });
  const lm = await llama.loadModel({ modelPath: path.join(j.dir, `${j.dtype}.gguf`) });
  const ctx = await lm.createContext({
    contextSize: Math.max(256, j.batch * (j.promptLen + j.genTokens + 8)),
    sequences: j.batch,
    threads: j.threads,
    flashAttention: false,
  });
  const seqs = Array.from({ length: j.batch }, () => ctx.getSequence());
  const gen = async (n: number): Promise<number[][]> =>
    Promise.all(
      seqs.map(async (s, i) => {
        await s.clearHistory();
        const out: number[] = [];
        for await (const t of s.evaluate(ps[i]! as never[], { temperature: 0 })) {
          out.push(t as number);
          if (out.length >= n) break;
        }
        return out;
      }),
    );
  await gen(4); // warm-up
  const t0 = performance.now();
  const res = await gen(j.genTokens);
  const secs = (performance.now() - t0) / 1000;
  const n = res.reduce((a, r) => a + r.length, 0);
  const out = {
    tokens: n,
    seconds: secs,
    tokensPerSecond: n / secs,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    firstTokens: res[0]!.slice(0, 8),
  };
  await ctx.dispose();
  await lm.dispose();
  await llama.dispose();
  return out;
}

function child(j: Job, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--job", JSON.stringify(j)], {
    encoding: "utf8",
    env,
    maxBuffer: 1 << 24,
    timeout: 60 * 60_000,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { error: `exit ${r.status}: ${r.stderr.slice(-800)}` };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      job: { type: "string" },
      threads: { type: "string", default: "2" },
      batches: { type: "string", default: "1,16" },
      "gen-tokens": { type: "string", default: "64" },
      "prompt-len": { type: "string", default: "16" },
      dtypes: { type: "string", default: "f32,f16" },
      "engine-dtypes": { type: "string", default: "f32,bf16" },
      rounds: { type: "string", default: "1" },
      layers: { type: "string", default: "24" },
      dir: { type: "string" },
    },
  });
  if (values.job) {
    console.log(JSON.stringify(await runJob(JSON.parse(values.job) as Job)));
    return;
  }
  const threads = Number(values.threads),
    layers = Number(values.layers),
    rounds = Math.max(1, Number(values.rounds));
  const base = { layers, threads, promptLen: Number(values["prompt-len"]), genTokens: Number(values["gen-tokens"]) };
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "bench-llamacpp-"));
  const info = engineInfo();
  const env = { ...process.env };
  if (info.coretype.value) env.OPENBLAS_CORETYPE = info.coretype.value;
  console.log(
    `# engine vs llama.cpp generation — ${new Date().toISOString()}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    `# model: Qwen2.5-0.5B shapes${layers === 24 ? "" : ` but ${layers} layers (NOT the full 0.5B model)`}, random weights; threads ${threads}; ` +
      `prompt ${base.promptLen}, ${base.genTokens} new tokens, greedy; engine kernels ${info.kernels}, OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE ?? "(unset)"}`,
  );
  if (!fs.existsSync(path.join(dir, "f16.gguf"))) {
    const ex = child({ ...base, mode: "export", dir, batch: 1 }, env);
    console.log(`# exported GGUF F32/F16 to ${dir}: ${JSON.stringify(ex)}`);
  }
  const dtypes = values.dtypes!.split(",").filter(Boolean) as Array<"f32" | "f16">;
  const engineDtypes = values["engine-dtypes"]!.split(",") as Array<"f32" | "bf16" | "f16">;
  console.log(
    "| batch | engine base | engine tok/s | " +
      dtypes.map((d) => `llama.cpp ${d.toUpperCase()} tok/s | engine / llama.cpp ${d.toUpperCase()}`).join(" | ") +
      " | engine peak MB |",
  );
  console.log("|---|---|---|" + dtypes.map(() => "---|---").join("|") + "|---|");
  const best = (a: Record<string, unknown> | undefined, b: Record<string, unknown>) =>
    a &&
    typeof a.tokensPerSecond === "number" &&
    !(typeof b.tokensPerSecond === "number" && b.tokensPerSecond > a.tokensPerSecond)
      ? a
      : b;
  for (const batch of values.batches!.split(",").map(Number)) {
    const ours: Record<string, Record<string, unknown> | undefined> = {};
    const theirs: Record<string, Record<string, unknown> | undefined> = {};
    for (let r = 0; r < rounds; r++) {
      for (const engineDtype of engineDtypes)
        ours[engineDtype] = best(ours[engineDtype], child({ ...base, mode: "engine", dir, batch, engineDtype }, env));
      for (const dtype of dtypes)
        theirs[dtype] = best(theirs[dtype], child({ ...base, mode: "llama", dir, batch, dtype }, env));
    }
    const tps = (x: Record<string, unknown> | undefined) =>
      typeof x?.tokensPerSecond === "number" ? x.tokensPerSecond : NaN;
    for (const e of engineDtypes) {
      const cells = dtypes.map((d) => `${tps(theirs[d]).toFixed(2)} | ${(tps(ours[e]) / tps(theirs[d])).toFixed(2)}x`);
      console.log(
        `| ${batch} | ${e} | ${tps(ours[e]).toFixed(2)} | ${cells.join(" | ")} | ${Math.round(Number(ours[e]?.peakRssMB ?? NaN))} |`,
      );
    }
    const all = [
      ...engineDtypes.map((e) => [`engine ${e}`, ours[e]] as const),
      ...dtypes.map((d) => [`llama.cpp ${d}`, theirs[d]] as const),
    ];
    for (const [k, v] of all) {
      if (v?.error) console.log(`#   ${k} batch ${batch}: ${String(v.error)}`);
      else
        console.log(
          `#   ${k} batch ${batch}: ${v?.tokens} tokens in ${Number(v?.seconds).toFixed(1)} s, first tokens ${JSON.stringify(v?.firstTokens)}`,
        );
    }
  }
  console.log(
    `# load average at end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  if (!values.dir) fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
