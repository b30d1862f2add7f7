/**
 * A scale-out recipe: an RL config (the same keys as `batcoder rl --config`) plus a `recipe` block saying which
 * base model it is meant for, what the paper reports, and the assumptions of a cost estimate. `estimateCost`
 * derives tokens and GPU-hours from the config; `recipeCommands` prints the exact commands for a Tinker service
 * and for a self-hosted SkyRL tx + vLLM; `dryRun` (src/cli/commands/recipe.ts) runs the whole orchestration on a
 * tiny local model with the recipe's batch shapes.
 */
import fs from "node:fs";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { parseConfig, type RLConfig } from "../rl/config.js";

export const RecipeSchema = z
  .object({
    description: z.string(),
    /** Hugging Face id of the base model the recipe targets. */
    base_model: z.string().min(1),
    /** Parameters of the base model (billions): drives the FLOP count. */
    params_b: z.number().positive(),
    lora_rank: z.number().int().positive(),
    /** What the paper reports (pass@1, %) and where it comes from. */
    expected: z.record(z.string(), z.number()),
    source: z.string(),
    /** Which settings are the paper's (public) and which are ours; free text per key. */
    provenance: z.record(z.string(), z.string()),
    /** Functions in the RL corpus (for the epoch count and the data-prep note). */
    corpus_functions: z.number().int().positive(),
    cost: z
      .object({
        gpu: z.string(),
        /** Dense bf16 peak of one GPU, TFLOP/s. */
        peak_tflops: z.number().positive(),
        /** Model FLOP utilisation assumed for the training passes and for generation (decode is memory-bound). */
        train_mfu: z.number().positive().max(1),
        sample_mfu: z.number().positive().max(1),
        /** Average prompt tokens around a code (code→doc) and around a doc (doc→code): instructions + payload. */
        code2doc_prompt_tokens: z.number().positive(),
        doc2code_prompt_tokens: z.number().positive(),
        /** Average generated length as a fraction of the max_*_tokens budget. */
        fill: z.number().positive().max(1),
        /** GPU price per hour (USD), for the dollar line only. */
        usd_per_gpu_hour: z.number().nonnegative(),
      })
      .strict(),
  })
  .strict();
export type Recipe = z.infer<typeof RecipeSchema>;

export function loadRecipe(file: string): { recipe: Recipe; rl: RLConfig; raw: Record<string, unknown> } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`cannot read recipe ${file}: ${(e as Error).message}`);
  }
  const { recipe, warmstart: _ws, ...rest } = raw as { recipe?: unknown; warmstart?: unknown };
  const r = RecipeSchema.safeParse(recipe);
  if (!r.success)
    throw new UserError(
      `${file}: "recipe" is invalid: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return { recipe: r.data, rl: parseConfig(rest, file), raw };
}

export interface CostEstimate {
  /** Per RL step. */
  step: {
    code2doc_sequences: number;
    doc2code_sequences: number;
    prompt_tokens: number;
    generated_tokens: number;
    /** Tokens through forward+backward (prompt + completion, × ppo_epochs). */
    trained_tokens: number;
    /** Tokens through extra forward passes (reference log-probs for the KL; recomputed old log-probs). */
    forward_only_tokens: number;
  };
  steps: number;
  epochs_over_corpus: number;
  tokens: { prompt: number; generated: number; trained: number; forward_only: number; total_processed: number };
  flops: { sampling: number; training: number; forward_only: number; total: number };
  gpu_hours: { sampling: number; training: number; forward_only: number; total: number };
  usd: number;
  assumptions: string[];
}

/**
 * Tokens and GPU-hours of an RL run, from its config. FLOPs: 2·N per processed token for a forward pass (prefill
 * and decode alike) and 6·N for forward+backward (full-gradient bound; LoRA saves the weight-gradient third, so
 * this is an upper bound for LoRA), N = params. GPU-hours = FLOPs / (peak × MFU) / 3600.
 */
export function estimateCost(rl: RLConfig, recipe: Recipe): CostEstimate {
  const c = recipe.cost;
  const n = recipe.params_b * 1e9;
  const docs = rl.rollout_batch_size * rl.num_docs_per_code;
  const rebuilds = docs * rl.num_codes_per_doc;
  const docLen = rl.max_doc_tokens * c.fill;
  const codeLen = (rl.max_rebuild_tokens ?? rl.max_code_tokens + 16) * c.fill;
  const promptTokens = docs * c.code2doc_prompt_tokens + rebuilds * (c.doc2code_prompt_tokens + docLen);
  const generated = docs * docLen + rebuilds * codeLen;
  const seqTokens = promptTokens + generated;
  const trained = seqTokens * rl.ppo_epochs;
  const passes = (rl.kl_coef > 0 ? 1 : 0) + (rl.old_logprobs === "recompute" ? 1 : 0);
  const forwardOnly = seqTokens * passes;
  const steps = rl.max_steps;
  const total = (x: number) => x * steps;
  const fSample = 2 * n * total(seqTokens);
  const fTrain = 6 * n * total(trained);
  const fFwd = 2 * n * total(forwardOnly);
  const hours = (f: number, mfu: number) => f / (c.peak_tflops * 1e12 * mfu) / 3600;
  const gh = {
    sampling: hours(fSample, c.sample_mfu),
    training: hours(fTrain, c.train_mfu),
    forward_only: hours(fFwd, c.train_mfu),
    total: 0,
  };
  gh.total = gh.sampling + gh.training + gh.forward_only;
  return {
    step: {
      code2doc_sequences: docs,
      doc2code_sequences: rebuilds,
      prompt_tokens: promptTokens,
      generated_tokens: generated,
      trained_tokens: trained,
      forward_only_tokens: forwardOnly,
    },
    steps,
    epochs_over_corpus: (steps * rl.rollout_batch_size) / recipe.corpus_functions,
    tokens: {
      prompt: total(promptTokens),
      generated: total(generated),
      trained: total(trained),
      forward_only: total(forwardOnly),
      total_processed: total(seqTokens + trained + forwardOnly),
    },
    flops: { sampling: fSample, training: fTrain, forward_only: fFwd, total: fSample + fTrain + fFwd },
    gpu_hours: gh,
    usd: gh.total * c.usd_per_gpu_hour,
    assumptions: [
      `N = ${recipe.params_b}e9 parameters; 2N FLOPs/token forward (prefill and decode), 6N forward+backward (an upper bound with LoRA)`,
      `${c.gpu}: ${c.peak_tflops} TFLOP/s bf16 dense peak; MFU ${c.train_mfu} for training passes, ${c.sample_mfu} for generation`,
      `prompts ~${c.code2doc_prompt_tokens} tokens (code→doc) and ~${c.doc2code_prompt_tokens} + the doc (doc→code); completions fill ${Math.round(c.fill * 100)}% of max_doc_tokens / max_rebuild_tokens`,
      `${passes} extra forward pass(es) per step (${[rl.kl_coef > 0 ? "reference log-probs for the KL" : "", rl.old_logprobs === "recompute" ? "recomputed old log-probs" : ""].filter(Boolean).join(", ") || "none"}); reward computation (CPU) not counted`,
    ],
  };
}

const fmt = (x: number) =>
  x >= 1e12
    ? `${(x / 1e12).toFixed(2)}T`
    : x >= 1e9
      ? `${(x / 1e9).toFixed(2)}G`
      : x >= 1e6
        ? `${(x / 1e6).toFixed(2)}M`
        : x >= 1e3
          ? `${(x / 1e3).toFixed(1)}k`
          : x.toFixed(0);

export function formatCost(e: CostEstimate): string {
  return [
    `per step: ${e.step.code2doc_sequences} code→doc + ${e.step.doc2code_sequences} doc→code sequences; ${fmt(e.step.prompt_tokens)} prompt + ${fmt(e.step.generated_tokens)} generated tokens; ${fmt(e.step.trained_tokens)} trained, ${fmt(e.step.forward_only_tokens)} forward-only`,
    `${e.steps} steps (${e.epochs_over_corpus.toFixed(2)} epochs over the corpus): ${fmt(e.tokens.generated)} generated, ${fmt(e.tokens.trained)} trained, ${fmt(e.tokens.total_processed)} tokens processed in all`,
    `FLOPs: sampling ${e.flops.sampling.toExponential(2)}, training ${e.flops.training.toExponential(2)}, forward-only ${e.flops.forward_only.toExponential(2)}`,
    `GPU-hours: ${e.gpu_hours.total.toFixed(1)} (sampling ${e.gpu_hours.sampling.toFixed(1)}, training ${e.gpu_hours.training.toFixed(1)}, forward-only ${e.gpu_hours.forward_only.toFixed(1)}) ≈ $${e.usd.toFixed(0)}`,
    "assumptions:",
    ...e.assumptions.map((a) => `  - ${a}`),
  ].join("\n");
}

/** The exact commands to run a recipe file on a Tinker service and on self-hosted SkyRL tx + vLLM (not run here). */
export function recipeCommands(file: string, recipe: Recipe): string {
  return `# NOT RUN HERE (no GPU, no network): the commands as they would be typed.
# 0. the RL corpus: code only (decontaminated against HumanEval / MBPP by \`batcoder corpus build\`)
batcoder corpus build --input ~/src/your-python-code --lang python --out corpus/
huggingface-cli download ${recipe.base_model} tokenizer.json --local-dir tok/

# 1a. On Thinking Machines' Tinker (the SDK's default service URL; key from the Tinker console)
export TINKER_API_KEY=tml-...
batcoder rl --config ${file} --corpus corpus/ \\
  --policy-url https://tinker.thinkingmachines.dev/services/tinker-prod \\
  --base-model ${recipe.base_model} --lora-rank ${recipe.lora_rank} --tokenizer tok/tokenizer.json

# 1b. Self-hosted: SkyRL tx speaks the same API (run in SkyRL's skyrl-tx/ checkout), vLLM as its sampler
vllm serve ${recipe.base_model} --enable-lora --max-lora-rank ${recipe.lora_rank} --port 8001
uv run --extra gpu --extra tinker -m tx.tinker.api --base-model ${recipe.base_model} \\
  --max-lora-rank ${recipe.lora_rank} --port 8000 --external-inference-url http://127.0.0.1:8001
batcoder rl --config ${file} --corpus corpus/ --policy-url http://127.0.0.1:8000 \\
  --base-model ${recipe.base_model} --lora-rank ${recipe.lora_rank} --tokenizer tok/tokenizer.json

# 2. evaluation: serve the trained LoRA (downloaded from the service) with vLLM, then
batcoder eval --benchmark humaneval --model http://127.0.0.1:8001/v1 --n 1 --k 1
batcoder eval --benchmark mbpp --model http://127.0.0.1:8001/v1 --n 1 --k 1
# expected (paper, pass@1): ${Object.entries(recipe.expected)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}`;
}

export interface DryRunResult {
  runDir: string;
  steps: number;
  /** Requests the local Tinker server handled, by endpoint. */
  serverCounts: Record<string, number>;
  lossPaths: Record<string, number>;
  /** Sequences sampled per step (code→doc, doc→code), as the recipe's batch shapes say. */
  shapes: { code2doc: number; doc2code: number };
}

/**
 * Runs the whole orchestration of a recipe (corpus → rollouts → rewards → advantages → updates over the Tinker
 * protocol → checkpoints → held-out eval) against a LOCAL Tinker-protocol server with a tiny random model, keeping
 * the recipe's batch shapes (rollout_batch_size, num_docs_per_code, num_codes_per_doc, mini-batches, epochs,
 * estimator, KL) and shrinking only the token budgets (code ≤ 96 tokens, completions ≤ 6) and the step count. The client uses the stock Tinker paths
 * (no batcoder extensions), as it would against the real service.
 */
export async function dryRun(opts: {
  file: string;
  corpus?: string;
  steps?: number;
  outputDir?: string;
  log?: (s: string) => void;
}): Promise<DryRunResult> {
  const { recipe, raw } = loadRecipe(opts.file);
  const { recipe: _r, warmstart: _w, ...rlRaw } = raw as Record<string, unknown>;
  const steps = opts.steps ?? 1;
  const cfg = parseConfig(
    {
      ...rlRaw,
      run_name: `${String(rlRaw.run_name ?? "recipe")}-dryrun`,
      output_dir: opts.outputDir ?? "runs",
      corpus: opts.corpus ?? "data/corpus/default",
      max_steps: steps,
      min_code_tokens: 8,
      max_code_tokens: 96,
      max_doc_tokens: 6,
      max_rebuild_tokens: 6,
      warmup_steps: 0,
      save_steps: steps,
      eval_steps: 0,
      eval_at_start: false,
      eval_at_end: true,
      eval_size: 4,
      log_samples_per_step: 1,
    },
    `${opts.file} (dry run)`,
  );
  const log = opts.log ?? (() => {});
  const { createEmbeddedPolicy } = await import("../backends/embedded.js");
  const { ByteTokenizer } = await import("../engine/tokenizer.js");
  const { MODEL_PRESETS } = await import("../engine/config.js");
  const { serveTinker } = await import("../backends/tinker/server.js");
  const { connectTinkerPolicy } = await import("../backends/tinker/client.js");
  const { runRL } = await import("./rl-run.js");
  const path = await import("node:path");
  const runDir = path.join(cfg.output_dir, cfg.run_name);
  const policy = createEmbeddedPolicy({
    config: { ...MODEL_PRESETS.tiny, max_position_embeddings: 1024 },
    tokenizer: new ByteTokenizer(),
    seed: cfg.seed,
    modelName: "dry-run-tiny",
  });
  const { server, url } = await serveTinker({
    policy,
    port: 0,
    stateRoot: path.join(runDir, "tinker-states"),
    baseModel: `dry-run/${recipe.base_model}`,
  });
  try {
    const remote = await connectTinkerPolicy(url, {
      useExtensions: false,
      loraRank: recipe.lora_rank,
      log,
      heartbeatMs: 0,
    });
    log(
      `recipe dry run: ${recipe.base_model} replaced by a tiny random model behind a local Tinker-protocol server (${url})`,
    );
    await runRL({ cfg, policy: remote, resume: false, progress: false, log });
    await remote.close();
    return {
      runDir,
      steps,
      serverCounts: { ...server.counts },
      lossPaths: { ...remote.lossPaths },
      shapes: {
        code2doc: cfg.rollout_batch_size * cfg.num_docs_per_code,
        doc2code: cfg.rollout_batch_size * cfg.num_docs_per_code * cfg.num_codes_per_doc,
      },
    };
  } finally {
    await server.close();
  }
}
