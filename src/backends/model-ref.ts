/**
 * "A model reference" as the CLI and orchestration take it, resolved and loaded into the engine:
 *
 *   - embedded-model weights in the one run layout (src/core/runs.ts resolveWeights): a checkpoint, a run
 *     directory or a checkpoints folder (its newest step checkpoint, never the frozen RL reference),
 *   - a Hugging Face model folder (config.json + safetensors),
 *   - a Hugging Face hub id (ORG/NAME[@REV]) from the local cache, or downloaded when allowed (./hub.ts),
 *   - a .gguf file (llama / qwen2 / qwen3; F32, F16, BF16, Q8_0, Q4_K, Q6_K).
 *
 * This lives in backends (not engine) because a hub id may need the network; the engine's loaders
 * (checkpoint.ts, hf.ts, gguf.ts) only read paths they are given.
 *
 * Tokenizers: an embedded checkpoint brings its BpeTokenizer; HF folders and hub ids bring tokenizer.json /
 * tokenizer_config.json as JSON and GGUF files their tokenizer.ggml.* metadata (`TokenizerSource`).
 * `tokenizerFor` turns a source into a working tokenizer: the engine's one BPE implementation, built from an
 * embedded checkpoint, a Hugging Face tokenizer.json (+ tokenizer_config.json), or a GGUF file's tokenizer.ggml.* keys.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { resolveWeights } from "../core/runs.js";
import type { ModelConfig } from "../engine/config.js";
import type { Kernels } from "../engine/kernels.js";
import { BASE_DTYPES, LlamaModel } from "../engine/model.js";
import { readSafetensorsHeader } from "../engine/safetensors.js";
import type { GenerationConfig } from "../engine/hf.js";
import type { GgufTokenizerData, GgufValue } from "../engine/gguf.js";
import { tokenizerFromGguf } from "../engine/gguf-tokenizer.js";
import { hfTokenizerFromData } from "../engine/hf-tokenizer.js";
import { ChatTemplate, parseTokenizerConfig } from "../engine/chat-template.js";
import { specialStopIds } from "../engine/special.js";
import type { SamplerChat } from "../core/generator.js";
import type { BpeTokenizer } from "../engine/tokenizer.js";
import { Rng } from "../core/rng.js";
import { EmbeddedPolicy } from "./embedded.js";
import { isHubId, resolveHubModel, type HubOptions } from "./hub.js";

export type ModelRefKind = "checkpoint" | "hf-folder" | "hub" | "gguf";

/** Where a loaded model's tokenizer comes from. */
export type TokenizerSource =
  | { kind: "bpe"; tokenizer: BpeTokenizer }
  | { kind: "tokenizer.json"; json: Record<string, unknown>; config?: Record<string, unknown> }
  | { kind: "gguf"; data: GgufTokenizerData };

export interface LoadedModelRef {
  kind: ModelRefKind;
  /** The reference as given. */
  ref: string;
  /** The local path the weights were read from (checkpoint dir, model folder / hub snapshot, .gguf file). */
  path: string;
  config: ModelConfig;
  model: LlamaModel;
  tokenizer?: TokenizerSource;
  /** Jinja chat template, when the model carries one (tokenizer_config.json, chat_template.jinja, GGUF metadata). */
  chatTemplate?: string;
  generationConfig?: GenerationConfig;
  /** One line saying what was loaded (for logs: "which weights it picked"). */
  description: string;
}

/**
 * How the base weight matrices (every linear, the embedding, the LM head) are stored; computation is f32 either way.
 * - "auto": each matrix stored as BF16/F16 in the source (HF safetensors, GGUF F16/BF16) keeps those bits, so a
 *   bf16 release takes half the memory of f32 and loses nothing; F32 and quantised (Q8_0/Q4_K/Q6_K) sources are
 *   f32. An embedded checkpoint keeps what it stores (F32; BF16/F16 matrices when a LoRA run's base was 16-bit).
 * - "bf16" / "f16": every matrix in that type (f32 sources are rounded to nearest even: a slightly different model).
 * - "f32": everything widened to f32 (needed for full fine-tuning: a 16-bit base is frozen, LoRA only).
 * Norms and biases are always f32.
 */
export const BASE_DTYPE_CHOICES = ["auto", ...BASE_DTYPES] as const;
export type BaseDtypeChoice = (typeof BASE_DTYPE_CHOICES)[number];

/** Parses a --base-dtype value (UserError naming the choices). */
export function parseBaseDtype(s: string | undefined, flag = "--base-dtype"): BaseDtypeChoice | undefined {
  if (s === undefined) return undefined;
  if (!(BASE_DTYPE_CHOICES as readonly string[]).includes(s))
    throw new UserError(`${flag} must be one of ${BASE_DTYPE_CHOICES.join(", ")}, got ${JSON.stringify(s)}`);
  return s as BaseDtypeChoice;
}

/** "bf16 (169 matrices), f32 (1 matrix); 988 MB of weights" — for the load log line. */
export function describeBaseDtypes(model: LlamaModel): string {
  const parts = Object.entries(model.baseDtypes()).map(([k, n]) => `${k} (${n} ${n === 1 ? "matrix" : "matrices"})`);
  return `weight matrices ${parts.join(", ")}; ${(model.weightBytes() / 1e6).toFixed(0)} MB of weights`;
}

export interface LoadModelOptions extends HubOptions {
  kernels?: Kernels;
  /** Storage of the base weight matrices (see BaseDtypeChoice); default "f32". */
  baseDtype?: BaseDtypeChoice;
  /** A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) to apply on top of the base. */
  adapter?: string;
}

/**
 * Whether `ref` names a model outside the embedded run layout: a .gguf file, a Hugging Face folder (config.json
 * without the checkpoint manifest) or a hub id that is not a local path. Synchronous, no network.
 */
export function isExternalModelRef(ref: string): boolean {
  if (!fs.existsSync(ref)) return isHubId(ref);
  const st = fs.statSync(ref);
  if (st.isFile()) return ref.endsWith(".gguf");
  return fs.existsSync(path.join(ref, "config.json")) && !fs.existsSync(path.join(ref, "manifest.json"));
}

/** Classifies a reference without loading it (throws a UserError for something that is none of the four). */
export async function resolveModelRef(
  ref: string,
  opts: HubOptions = {},
): Promise<{ kind: ModelRefKind; path: string; description?: string }> {
  if (fs.existsSync(ref)) {
    const abs = path.resolve(ref);
    const st = fs.statSync(abs);
    if (st.isFile()) {
      if (abs.endsWith(".gguf")) return { kind: "gguf", path: abs };
      throw new UserError(
        `model ${ref}: a file that is not .gguf (supported: a .gguf file, an HF model folder, a checkpoint directory, a hub id)`,
      );
    }
    // an embedded checkpoint also has config.json + model.safetensors: its manifest.json tells it apart
    if (fs.existsSync(path.join(abs, "config.json")) && !fs.existsSync(path.join(abs, "manifest.json")))
      return { kind: "hf-folder", path: abs };
    let w;
    try {
      w = resolveWeights(abs);
    } catch (e) {
      throw new UserError(
        `model ${ref}: not a Hugging Face model folder (no config.json), and ${(e as Error).message}`,
      );
    }
    return { kind: "checkpoint", path: w.weights, description: w.description };
  }
  if (isHubId(ref)) return { kind: "hub", path: await resolveHubModel(ref, opts) };
  throw new UserError(`model ${ref}: no such file or directory, and not a hub id (ORG/NAME)`);
}

/**
 * Resolves and loads a model reference into the engine (see the header comment), with `opts.adapter` attached as
 * `model.lora` when given. Nothing half-loaded is returned.
 */
export async function loadModel(ref: string, opts: LoadModelOptions = {}): Promise<LoadedModelRef> {
  const loaded = await loadBase(ref, opts);
  if (opts.adapter !== undefined) {
    const { loadAdapter } = await import("../engine/lora.js");
    // the base weights let loadAdapter check the LM-head copy PEFT stores with an lm_head adapter
    loaded.model.lora = loadAdapter(opts.adapter, loaded.config, loaded.model.weights);
    const c = loaded.model.lora.config;
    loaded.description += ` + LoRA adapter ${opts.adapter} (rank ${c.rank}, alpha ${c.alpha}, ${c.targetModules.join("/")})`;
  }
  return loaded;
}

async function loadBase(ref: string, opts: LoadModelOptions): Promise<LoadedModelRef> {
  const loaded = await loadBaseF32(ref, opts);
  loaded.description += ` — ${describeBaseDtypes(loaded.model)}`;
  return loaded;
}

/** The 2-D tensors an embedded checkpoint stores as BF16/F16 (a LoRA run on a 16-bit base saves its base so). */
function checkpoint16(dir: string): Map<string, "bf16" | "f16"> {
  const out = new Map<string, "bf16" | "f16">();
  for (const [k, t] of readSafetensorsHeader(path.join(dir, "model.safetensors")).tensors)
    if (t.shape.length === 2 && (t.dtype === "BF16" || t.dtype === "F16"))
      out.set(k, t.dtype === "BF16" ? "bf16" : "f16");
  return out;
}

/** Converts the matrices the choice names (see BaseDtypeChoice); `auto16` lists the 16-bit ones "auto" keeps. */
function applyBaseDtype(model: LlamaModel, choice: BaseDtypeChoice, auto16: Map<string, "bf16" | "f16">): void {
  if (choice !== "auto") {
    model.setBaseDtype(choice);
    return;
  }
  for (const dt of ["bf16", "f16"] as const)
    model.setBaseDtype(
      dt,
      [...auto16].filter(([, d]) => d === dt).map(([k]) => k),
    );
}

async function loadBaseF32(ref: string, opts: LoadModelOptions): Promise<LoadedModelRef> {
  const choice = opts.baseDtype ?? "f32";
  const { kind, path: p, description } = await resolveModelRef(ref, opts);
  if (kind === "checkpoint") {
    const { loadCheckpoint, isLoraState } = await import("../engine/checkpoint.js");
    if (isLoraState(p)) return loadLoraStateModel(p, opts);
    const ck = loadCheckpoint(p, { optimizer: false });
    const model = new LlamaModel(ck.config, ck.weights, opts.kernels);
    // a LoRA run's checkpoint holds the frozen base plus adapter/ (PEFT layout): the model is base + adapter
    const own = path.join(p, "adapter");
    let extra = "";
    if (opts.adapter === undefined && fs.existsSync(path.join(own, "adapter_config.json"))) {
      const { loadAdapter } = await import("../engine/lora.js");
      model.lora = loadAdapter(own, ck.config);
      extra = ` + its LoRA adapter (rank ${model.lora.config.rank})`;
    }
    // the checkpoint of a LoRA run on a 16-bit base stores those matrices as BF16/F16: "auto" keeps them so (exact)
    applyBaseDtype(model, choice, checkpoint16(p));
    return {
      kind,
      ref,
      path: p,
      config: ck.config,
      model,
      tokenizer: { kind: "bpe", tokenizer: ck.tokenizer },
      description: `embedded model: ${description ?? p}${extra}`,
    };
  }
  if (kind === "gguf") {
    const { loadGgufModel } = await import("../engine/gguf.js");
    const g = loadGgufModel(p);
    const model = new LlamaModel(g.config, g.weights, opts.kernels);
    const auto16 = new Map<string, "bf16" | "f16">();
    for (const [k, t] of g.sourceTypes) if (t === "F16" || t === "BF16") auto16.set(k, t === "F16" ? "f16" : "bf16");
    // exact: these f32 values were widened from 16-bit (llama's Q/K un-permutation only moves rows)
    applyBaseDtype(model, choice, auto16);
    const types = [...new Set(g.sourceTypes.values())].sort().join("/");
    const out: LoadedModelRef = {
      kind,
      ref,
      path: p,
      config: g.config,
      model,
      tokenizer: { kind: "gguf", data: g.tokenizer },
      description: `GGUF ${p} (${g.config.model_type}, ${types})`,
    };
    if (g.tokenizer.chatTemplate !== undefined) out.chatTemplate = g.tokenizer.chatTemplate;
    if (g.tokenizer.eosId !== undefined) out.generationConfig = { eosTokenIds: [g.tokenizer.eosId], raw: {} };
    return out;
  }
  const { loadHfFolder } = await import("../engine/hf.js");
  // "auto"/"bf16"/"f16": 16-bit matrices stay 16-bit straight from the file (no f32 copy is made)
  const hf = loadHfFolder(p, { keep16: choice !== "f32" });
  const model = new LlamaModel(hf.config, hf.weights, opts.kernels);
  applyBaseDtype(model, choice, new Map());
  const out: LoadedModelRef = {
    kind,
    ref,
    path: p,
    config: hf.config,
    model,
    description: `${kind === "hub" ? `hub model ${ref} from ${p}` : `HF folder ${p}`} (${hf.config.architectures[0]})`,
  };
  if (hf.tokenizerJson) {
    out.tokenizer = {
      kind: "tokenizer.json",
      json: hf.tokenizerJson,
      ...(hf.tokenizerConfig ? { config: hf.tokenizerConfig } : {}),
    };
  }
  if (hf.chatTemplate !== undefined) out.chatTemplate = hf.chatTemplate;
  if (hf.generationConfig) out.generationConfig = hf.generationConfig;
  return out;
}

/**
 * The tokenizer of a loaded model (the HF-tokenizer seam, see the header): the embedded BPE for checkpoints and
 * for tokenizer.json files in its format; anything else is a UserError saying what is missing.
 */
export function tokenizerFor(loaded: Pick<LoadedModelRef, "ref" | "tokenizer">): BpeTokenizer {
  const src = loaded.tokenizer;
  if (!src) throw new UserError(`model ${loaded.ref} has no tokenizer (no tokenizer.json next to config.json)`);
  if (src.kind === "bpe") return src.tokenizer;
  if (src.kind === "tokenizer.json") return hfTokenizerFromData(src.json, src.config ?? null).tokenizer;
  // a GGUF file's own tokenizer: the tokenizer.ggml.* keys, as the GGUF reader parsed them
  const d = src.data;
  const md = new Map<string, GgufValue>();
  md.set("tokenizer.ggml.model", { type: "string", value: d.model });
  if (d.pre !== undefined) md.set("tokenizer.ggml.pre", { type: "string", value: d.pre });
  md.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: d.tokens });
  md.set("tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: d.tokenTypes });
  md.set("tokenizer.ggml.merges", { type: "array", itemType: "string", value: d.merges });
  if (d.scores !== undefined) md.set("tokenizer.ggml.scores", { type: "array", itemType: "float32", value: d.scores });
  if (d.addSpacePrefix !== undefined)
    md.set("tokenizer.ggml.add_space_prefix", { type: "bool", value: d.addSpacePrefix });
  if (d.unkId !== undefined) md.set("tokenizer.ggml.unknown_token_id", { type: "uint32", value: d.unkId });
  if (d.bosId !== undefined) md.set("tokenizer.ggml.bos_token_id", { type: "uint32", value: d.bosId });
  if (d.eosId !== undefined) md.set("tokenizer.ggml.eos_token_id", { type: "uint32", value: d.eosId });
  if (d.padId !== undefined) md.set("tokenizer.ggml.padding_token_id", { type: "uint32", value: d.padId });
  // absent flags stay absent: llama.cpp's defaults differ per tokenizer model (SentencePiece adds BOS)
  if (d.addBos !== undefined) md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: d.addBos });
  if (d.addEos !== undefined) md.set("tokenizer.ggml.add_eos_token", { type: "bool", value: d.addEos });
  return tokenizerFromGguf(md);
}

/**
 * The chat path of a loaded model for `SamplerGenerator` and `batcoder serve`'s /v1/chat/completions: the reference's
 * own Jinja chat template (HF folder: tokenizer_config.json / chat_template.jinja with its special-token variables;
 * GGUF: tokenizer.chat_template with its bos/eos tokens) and the token ids that end its turn (EOS, every special
 * added token such as <|im_end|> / <|eot_id|>, and generation_config.json's eos_token_id list). `null` when the
 * reference carries no template (an embedded checkpoint).
 */
export function samplerChatFor(
  loaded: Pick<LoadedModelRef, "chatTemplate" | "tokenizer" | "generationConfig">,
  tokenizer: BpeTokenizer,
): (SamplerChat & { template: ChatTemplate }) | null {
  const rec = chatRecordOf(loaded);
  return rec ? samplerChatFromRecord(rec, tokenizer) : null;
}

/**
 * Everything a model's chat needs, as JSON: the template, the tokenizer_config.json fields it may read (bos_token,
 * eos_token, …; not the added-token table) and the generation config's EOS ids. A `train --model` run keeps it in
 * runs/NAME/chat.json (core/runs.ts RUN_FILES.chat), since its checkpoints hold weights and tokenizer only.
 */
export interface ChatRecord {
  chat_template: string;
  tokenizer_config: Record<string, unknown>;
  eos_token_ids: number[];
}

/** The ChatRecord of a loaded model, or null when it has no chat template. */
export function chatRecordOf(
  loaded: Pick<LoadedModelRef, "chatTemplate" | "tokenizer" | "generationConfig">,
): ChatRecord | null {
  if (loaded.chatTemplate === undefined) return null;
  const src = loaded.tokenizer;
  const cfg: Record<string, unknown> = src?.kind === "tokenizer.json" && src.config ? { ...src.config } : {};
  delete cfg.added_tokens_decoder;
  delete cfg.chat_template;
  if (src?.kind === "gguf") {
    if (src.data.bosId !== undefined && src.data.tokens[src.data.bosId] !== undefined)
      cfg.bos_token = src.data.tokens[src.data.bosId];
    if (src.data.eosId !== undefined && src.data.tokens[src.data.eosId] !== undefined)
      cfg.eos_token = src.data.tokens[src.data.eosId];
  }
  return {
    chat_template: loaded.chatTemplate,
    tokenizer_config: cfg,
    eos_token_ids: [...(loaded.generationConfig?.eosTokenIds ?? [])],
  };
}

/** A sampler's chat from a ChatRecord (null when the template renders nothing usable), for `tokenizer`'s ids. */
export function samplerChatFromRecord(
  rec: ChatRecord,
  tokenizer: BpeTokenizer,
): (SamplerChat & { template: ChatTemplate }) | null {
  const template = ChatTemplate.fromConfig(
    parseTokenizerConfig({ ...rec.tokenizer_config, chat_template: rec.chat_template }),
  );
  if (template === null) return null;
  const eos = rec.eos_token_ids.filter((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize);
  const stopTokenIds = [...new Set([...specialStopIds(tokenizer), ...eos])].sort((a, b) => a - b);
  return { template, stopTokenIds };
}

/** Reads runs/NAME/chat.json (a ChatRecord); a damaged file is a UserError naming it. */
export function readChatRecord(file: string): ChatRecord {
  let o: Partial<ChatRecord>;
  try {
    o = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<ChatRecord>;
  } catch (e) {
    throw new UserError(`${file}: not a readable chat record (${(e as Error).message})`);
  }
  if (
    typeof o.chat_template !== "string" ||
    typeof o.tokenizer_config !== "object" ||
    o.tokenizer_config === null ||
    !Array.isArray(o.eos_token_ids)
  )
    throw new UserError(`${file}: not a chat record (expected {chat_template, tokenizer_config, eos_token_ids})`);
  return o as ChatRecord;
}

/**
 * A policy over any model reference (sampling, log-probs, and training for full fine-tuning), with the
 * reference's tokenizer. Announces which weights it loaded through `log`.
 */
export async function loadPolicyForRef(
  ref: string,
  opts: LoadModelOptions & { seed?: number; modelName?: string; log?: (line: string) => void } = {},
): Promise<{ policy: EmbeddedPolicy; loaded: LoadedModelRef }> {
  const loaded = await loadModel(ref, opts);
  opts.log?.(`using weights: ${loaded.description}`);
  const tokenizer = tokenizerFor(loaded);
  const name = opts.modelName ?? (loaded.kind === "hub" ? ref : path.basename(loaded.path));
  return { policy: new EmbeddedPolicy(loaded.model, tokenizer, new Rng(opts.seed ?? 0), { modelName: name }), loaded };
}

/**
 * An adapter-only LoRA training state (a Tinker LoRA model's `tinker://…/weights/…` state, see
 * EmbeddedPolicy.saveAdapterState) as a model: its base loaded from the reference the state records (base.json
 * `model`: a path or hub id), in the storage the state was trained with, checked against the recorded weights hash
 * (a base that changed since is refused), and the state's adapter attached. `opts.baseDtype` other than auto then
 * converts the base as asked. Used by loadModel for a LoRA state directory (eval / serve / serve --training).
 */
async function loadLoraStateModel(dir: string, opts: LoadModelOptions): Promise<LoadedModelRef> {
  const { loadLoraState, baseWeightsSha256, isLoraState } = await import("../engine/checkpoint.js");
  const st = loadLoraState(dir, { optimizer: false });
  if (opts.adapter !== undefined)
    throw new UserError(
      `model ${dir} is a LoRA training state that carries its adapter: --adapter does not apply to it`,
    );
  const baseRef = st.base.model;
  if (!fs.existsSync(baseRef) && !isHubId(baseRef))
    throw new UserError(
      `LoRA state ${dir}: its base '${baseRef}' is neither a path nor a hub id here (the state holds no base ` +
        "weights): start a server on that base and load the state into it (Tinker load_weights)",
    );
  if (fs.existsSync(baseRef) && isLoraState(baseRef))
    throw new UserError(`LoRA state ${dir}: its base '${baseRef}' is itself an adapter-only LoRA state`);
  const kinds = Object.keys(st.base.dtypes);
  // one storage type for every matrix: ask for it (exact for a source already in it); a mix: keep the source's
  const recorded: BaseDtypeChoice = kinds.length === 1 ? (kinds[0] as BaseDtypeChoice) : "auto";
  const loaded = await loadBaseF32(baseRef, { ...opts, baseDtype: recorded });
  const sha = baseWeightsSha256(loaded.model.weights);
  if (sha !== st.base.sha256)
    throw new UserError(
      `LoRA state ${dir} was trained on base '${baseRef}' with weights sha256 ${st.base.sha256.slice(0, 16)}…, ` +
        `but that base now loads with sha256 ${sha.slice(0, 16)}… (${describeBaseDtypes(loaded.model)}): the base ` +
        "changed since the state was saved; a LoRA state applies only to the base it was trained on",
    );
  loaded.model.lora = st.adapter;
  const asked = opts.baseDtype ?? "auto";
  if (asked !== "auto" && asked !== recorded) applyBaseDtype(loaded.model, asked, new Map());
  const c = st.adapter.config;
  loaded.description +=
    ` + the LoRA adapter of state ${dir} (rank ${c.rank}, alpha ${c.alpha}, ${c.targetModules.join("/")}, ` +
    `step ${st.step ?? "?"})`;
  return loaded;
}

/**
 * A policy from an adapter-only LoRA training state: the model of loadModel (its base from the recorded reference,
 * checked against the recorded hash, with the adapter), then the state loaded into it, so the optimizer, step and
 * RNGs continue where the state left off (`batcoder serve STATE --training`).
 */
export async function loadPolicyForLoraState(
  dir: string,
  opts: Omit<LoadModelOptions, "adapter" | "baseDtype"> & { log?: (line: string) => void } = {},
): Promise<{ policy: EmbeddedPolicy; loaded: LoadedModelRef }> {
  const r = await loadPolicyForRef(dir, { ...opts, baseDtype: "auto" });
  await r.policy.loadState(dir);
  return r;
}
