/**
 * Opening a model named on the command line: an http(s) URL (any OpenAI-compatible server), embedded-model
 * weights found with the one run layout (src/core/runs.ts): a run directory, its checkpoints folder or one
 * checkpoint; or an outside model (src/backends/model-ref.ts): a Hugging Face folder, a hub id (from the HF
 * cache; downloaded only with allowDownload) or a .gguf file. Every loader says which weights it picked (on
 * stderr, through `log`).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import type { Sampler } from "../core/policy.js";
import { SamplerGenerator, type SamplerChat, type TextGenerator } from "../core/generator.js";
import { CachedGenerator } from "../core/generation-cache.js";
import { resolveWeights, runDirOfWeights, runPaths, type ResolvedWeights } from "../core/runs.js";
import type { EmbeddedPolicy } from "../backends/embedded.js";
import type { BaseDtypeChoice } from "../backends/model-ref.js";
import { ADAPTER_WEIGHTS } from "../engine/lora.js";

export function isUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Prints the picked weights to stderr (the default `log` of the loaders below). */
export const logToStderr = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The weights `spec` names (see resolveWeights), announced through `log`. */
export function pickWeights(spec: string, log: (line: string) => void = logToStderr): ResolvedWeights {
  const w = resolveWeights(spec);
  log(`using weights: ${w.description}`);
  return w;
}

/** Loads the embedded policy (full training state) from a run / checkpoints folder / checkpoint. */
export async function loadPolicyFrom(
  spec: string,
  log: (line: string) => void = logToStderr,
): Promise<{ policy: EmbeddedPolicy; weights: ResolvedWeights }> {
  const weights = pickWeights(spec, log);
  const { loadEmbeddedPolicy } = await import("../backends/embedded.js");
  try {
    return { policy: loadEmbeddedPolicy(weights.weights), weights };
  } catch (e) {
    if ((e as { userFacing?: boolean }).userFacing) throw e;
    throw new UserError(`cannot load checkpoint ${weights.weights}: ${(e as Error).message}`);
  }
}

export async function loadCheckpointSampler(
  spec: string,
  log: (line: string) => void = logToStderr,
  opts: { allowDownload?: boolean; adapter?: string; baseDtype?: BaseDtypeChoice } = {},
): Promise<{ sampler: Sampler; dir: string; chat: SamplerChat | null }> {
  const { isExternalModelRef, loadPolicyForRef, samplerChatFor } = await import("../backends/model-ref.js");
  const half = opts.baseDtype === "bf16" || opts.baseDtype === "f16"; // an embedded checkpoint is f32 unless asked
  const { isLoraState } = await import("../engine/checkpoint.js");
  // an adapter-only LoRA state (a Tinker LoRA save_weights): its base from the reference it records, + the adapter
  if (isExternalModelRef(spec) || opts.adapter !== undefined || half || isLoraState(spec)) {
    const { policy, loaded } = await loadPolicyForRef(spec, {
      log,
      allowDownload: opts.allowDownload ?? false,
      baseDtype: opts.baseDtype ?? "auto",
      ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}),
    });
    const chat =
      loaded.kind === "checkpoint"
        ? await runChat(loaded.path, policy.tokenizer, log)
        : samplerChatFor(loaded, policy.tokenizer);
    if (chat && loaded.kind !== "checkpoint")
      log(`chat prompts (instruct format) go through the model's own chat template`);
    return { sampler: policy, dir: loaded.path, chat };
  }
  const { policy, weights } = await loadPolicyFrom(spec, log);
  return { sampler: policy, dir: weights.weights, chat: await runChat(weights.weights, policy.tokenizer, log) };
}

/**
 * The chat of a checkpoint inside a `train --model` run: the base model's template, kept in the run's chat.json
 * (checkpoints hold weights and tokenizer only). Null for other checkpoints (batcoder's own model has no template).
 */
async function runChat(
  weightsDir: string,
  tokenizer: EmbeddedPolicy["tokenizer"],
  log: (line: string) => void,
): Promise<SamplerChat | null> {
  const runDir = runDirOfWeights(weightsDir);
  const file = runDir ? runPaths(runDir).chat : null;
  if (!file || !fs.existsSync(file)) return null;
  const { readChatRecord, samplerChatFromRecord } = await import("../backends/model-ref.js");
  const chat = samplerChatFromRecord(readChatRecord(file), tokenizer);
  if (chat) log(`chat prompts (instruct format) go through the base model's chat template (${file})`);
  return chat;
}

export interface OpenModelOptions {
  modelName?: string;
  cacheDir?: string;
  /** HTTP requests in flight. */
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  log?: (line: string) => void;
  /** Let a hub id be downloaded into the HF cache when it is not there. */
  allowDownload?: boolean;
  /** Storage of the base weight matrices (src/backends/model-ref.ts BaseDtypeChoice; default "auto"). */
  baseDtype?: BaseDtypeChoice;
  /** A PEFT LoRA adapter folder applied on top of the model (not for a URL); see loadCheckpointSampler. */
  adapter?: string;
  /**
   * The instruct format will be asked for: a Hugging Face folder, hub id or .gguf file without a chat template is
   * refused (a UserError) instead of getting batcoder's plain "### User:" turns, which such a model never saw.
   */
  instruct?: boolean;
}

/** A TextGenerator for `batcoder eval --model`: an HTTP endpoint, or embedded weights (cached when cacheDir is set). */
export async function openModel(spec: string, opts: OpenModelOptions = {}): Promise<TextGenerator> {
  if (isUrl(spec)) {
    if (opts.adapter !== undefined)
      throw new UserError(
        `--adapter applies to a model loaded here (a checkpoint, HF folder, hub id or .gguf), not to the endpoint ${spec}`,
      );
    const { OpenAIClient } = await import("../backends/openai-client.js");
    const c = new OpenAIClient({
      baseUrl: spec,
      model: opts.modelName,
      cacheDir: opts.cacheDir,
      concurrency: opts.concurrency,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
    });
    await c.init();
    return c;
  }
  const { isExternalModelRef } = await import("../backends/model-ref.js");
  if (!isExternalModelRef(spec) && (!fs.existsSync(spec) || !fs.statSync(spec).isDirectory())) {
    throw new UserError(`model '${spec}' is neither an http(s) URL, a directory, a .gguf file nor a hub id (ORG/NAME)`);
  }
  const { sampler, dir, chat } = await loadCheckpointSampler(spec, opts.log, {
    allowDownload: opts.allowDownload ?? false,
    ...(opts.baseDtype !== undefined ? { baseDtype: opts.baseDtype } : {}),
    ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}),
  });
  if (opts.instruct && !chat && isExternalModelRef(spec)) {
    const { requireChatTemplate } = await import("../engine/chat-template.js");
    requireChatTemplate(null, spec);
  }
  const label = path.basename(dir) === "policy" ? path.basename(path.dirname(dir)) : path.basename(dir);
  // the adapter is part of the name: results files say which, and the generation cache never mixes base and adapted
  const withAdapter = opts.adapter !== undefined ? `+${adapterLabel(opts.adapter)}` : "";
  const gen = new SamplerGenerator(sampler, opts.modelName ?? `${sampler.info.modelName}@${label}${withAdapter}`, chat);
  return opts.cacheDir ? new CachedGenerator(gen, opts.cacheDir) : gen;
}

/** "adapter-name#1a2b3c4d": the adapter folder's name and the start of its weights' SHA-256. */
function adapterLabel(dir: string): string {
  const weights = path.join(dir, ADAPTER_WEIGHTS);
  const h = crypto.createHash("sha256").update(fs.readFileSync(weights)).digest("hex").slice(0, 8);
  return `${path.basename(path.resolve(dir))}#${h}`;
}
