/**
 * Hugging Face model folders: `config.json` -> ModelConfig, weights from `model.safetensors` or a sharded
 * `model.safetensors.index.json`, `generation_config.json`, and the tokenizer files passed through as JSON/text
 * for the tokenizer layer. Also the writer (tests, merge-and-export): a folder transformers can load.
 *
 * Loading is all-or-nothing: every shard is checked (present, readable, names/shapes/dtypes as the config
 * requires) before a model is returned; any problem is a UserError naming the file and what was expected.
 *
 * Weights are stored as F32, F16 or BF16 and computed in f32: every conversion goes through `weightToF32` (the
 * kernels' halfToF32).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { ARCHITECTURES, type Architecture, type ModelConfig, ModelConfigSchema, parameterShapes } from "./config.js";
import {
  readSafetensors,
  readSafetensorsHeader,
  type SafeTensor,
  tensorToF32,
  toBf16,
  toF16,
  writeSafetensors,
} from "./safetensors.js";
import { isHalfTensor, type WeightTensor, weightF32 } from "./tensor.js";
import { getKernels } from "./kernels.js";

export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES) as Architecture[];
/** Weight dtypes a folder may store. */
export const HF_WEIGHT_DTYPES = ["F32", "F16", "BF16"] as const;
export type HfWeightDtype = (typeof HF_WEIGHT_DTYPES)[number];

/** Tensors HF folders may carry that the model does not use (older checkpoints saved rotary buffers). */
const IGNORED_TENSOR = /\.rotary_emb\.inv_freq$/;

/**
 * The single conversion from stored weights to the engine's compute type (f32): BF16/F16 are widened by the
 * engine kernels' `halfToF32` (native, exact), F32 is used as stored.
 */
export function weightToF32(t: SafeTensor): Float32Array {
  if (t.dtype !== "BF16" && t.dtype !== "F16") return tensorToF32(t);
  const n = t.data.length;
  const out = new Float32Array(n);
  getKernels().halfToF32(t.data as Uint16Array, t.dtype === "BF16" ? "bf16" : "f16", out, n);
  return out;
}

/** Sampling defaults from generation_config.json (fields the engine uses; the raw object is kept too). */
export interface GenerationConfig {
  eosTokenIds: number[];
  bosTokenId?: number;
  padTokenId?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  doSample?: boolean;
  maxNewTokens?: number;
  repetitionPenalty?: number;
  raw: Record<string, unknown>;
}

const idList = (v: unknown): number[] =>
  (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter(
    (x): x is number => Number.isInteger(x) && x >= 0,
  );
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function readJsonFile(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new UserError(`${what}: ${file} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/** generation_config.json (object) -> GenerationConfig. */
export function parseGenerationConfig(raw: Record<string, unknown>): GenerationConfig {
  const g: GenerationConfig = { eosTokenIds: idList(raw.eos_token_id), raw };
  const bos = idList(raw.bos_token_id)[0],
    pad = idList(raw.pad_token_id)[0];
  if (bos !== undefined) g.bosTokenId = bos;
  if (pad !== undefined) g.padTokenId = pad;
  const t = num(raw.temperature),
    k = num(raw.top_k),
    p = num(raw.top_p),
    m = num(raw.max_new_tokens),
    r = num(raw.repetition_penalty);
  if (t !== undefined) g.temperature = t;
  if (k !== undefined) g.topK = k;
  if (p !== undefined) g.topP = p;
  if (m !== undefined) g.maxNewTokens = m;
  if (r !== undefined) g.repetitionPenalty = r;
  if (typeof raw.do_sample === "boolean") g.doSample = raw.do_sample;
  return g;
}

/**
 * HF config.json (object) -> ModelConfig. Unknown architectures, activations, rope scaling types or an enabled
 * sliding window on Qwen are UserErrors naming what is supported.
 */
export function configFromHf(raw: Record<string, unknown>, where = "config.json"): ModelConfig {
  const archs = raw.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : undefined;
  const supported = SUPPORTED_ARCHITECTURES.join(", ");
  if (!arch || !(arch in ARCHITECTURES)) {
    throw new UserError(
      `${where}: unsupported architecture ${arch ? JSON.stringify(arch) : "(no 'architectures' field)"}` +
        `${raw.model_type ? ` (model_type ${JSON.stringify(raw.model_type)})` : ""}; supported: ${supported}`,
    );
  }
  const modelType = ARCHITECTURES[arch as Architecture];
  const act = raw.hidden_act ?? "silu";
  if (act !== "silu") throw new UserError(`${where}: hidden_act ${JSON.stringify(act)} is not supported (only "silu")`);
  if (raw.mlp_bias === true) throw new UserError(`${where}: mlp_bias=true is not supported`);
  let ropeScaling: ModelConfig["rope_scaling"];
  const rs = raw.rope_scaling as Record<string, unknown> | null | undefined;
  if (rs && typeof rs === "object") {
    const type = rs.rope_type ?? rs.type;
    if (type === "default") ropeScaling = undefined;
    else if (type !== "llama3") {
      throw new UserError(
        `${where}: rope_scaling type ${JSON.stringify(type)} is not supported (supported: "llama3", or none)`,
      );
    } else {
      ropeScaling = {
        rope_type: "llama3",
        factor: rs.factor as number,
        low_freq_factor: rs.low_freq_factor as number,
        high_freq_factor: rs.high_freq_factor as number,
        original_max_position_embeddings: rs.original_max_position_embeddings as number,
      };
    }
  }
  let slidingWindow: number | undefined;
  if (modelType === "mistral") slidingWindow = num(raw.sliding_window);
  else if (raw.use_sliding_window === true) {
    throw new UserError(`${where}: use_sliding_window=true is not supported for ${arch} (only full attention)`);
  }
  const eos = idList(raw.eos_token_id);
  const bos = idList(raw.bos_token_id)[0] ?? eos[0];
  const pad = idList(raw.pad_token_id)[0];
  const candidate: Record<string, unknown> = {
    architectures: [arch],
    model_type: modelType,
    vocab_size: raw.vocab_size,
    hidden_size: raw.hidden_size,
    intermediate_size: raw.intermediate_size,
    num_hidden_layers: raw.num_hidden_layers,
    num_attention_heads: raw.num_attention_heads,
    num_key_value_heads: raw.num_key_value_heads ?? raw.num_attention_heads,
    head_dim: raw.head_dim ?? undefined,
    max_position_embeddings: raw.max_position_embeddings,
    rms_norm_eps: raw.rms_norm_eps ?? 1e-6,
    rope_theta: raw.rope_theta ?? 10000,
    rope_scaling: ropeScaling,
    sliding_window: slidingWindow,
    tie_word_embeddings: raw.tie_word_embeddings ?? false,
    bos_token_id: bos ?? 0,
    eos_token_id: eos[0] ?? 0,
    pad_token_id: pad,
    attention_bias: modelType === "qwen2" ? false : (raw.attention_bias ?? false),
    torch_dtype:
      typeof raw.torch_dtype === "string" ? raw.torch_dtype : typeof raw.dtype === "string" ? raw.dtype : "float32",
  };
  for (const k of Object.keys(candidate)) if (candidate[k] === undefined) delete candidate[k];
  const parsed = ModelConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
    throw new UserError(`${where}: not a valid ${arch} config: ${issues}`);
  }
  return parsed.data;
}

/** ModelConfig -> the config.json transformers reads for its architecture. */
export function hfConfigJson(c: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: c.architectures,
    model_type: c.model_type,
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    max_position_embeddings: c.max_position_embeddings,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling ?? null,
    tie_word_embeddings: c.tie_word_embeddings,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    hidden_act: c.hidden_act,
    torch_dtype: c.torch_dtype,
  };
  if (c.head_dim !== undefined) out.head_dim = c.head_dim;
  if (c.pad_token_id !== undefined) out.pad_token_id = c.pad_token_id;
  if (c.model_type === "llama" || c.model_type === "mistral" || c.model_type === "qwen3")
    out.attention_bias = c.attention_bias;
  if (c.model_type === "llama") out.mlp_bias = false;
  if (c.model_type === "mistral") out.sliding_window = c.sliding_window ?? null;
  if (c.model_type === "qwen2" || c.model_type === "qwen3") out.use_sliding_window = false;
  return out;
}

/** Shard file -> tensor names, from model.safetensors.index.json or the single model.safetensors. */
export function weightFiles(dir: string): Map<string, string[]> {
  const single = path.join(dir, "model.safetensors");
  const index = path.join(dir, "model.safetensors.index.json");
  const files = new Map<string, string[]>();
  if (fs.existsSync(index)) {
    const raw = readJsonFile(index, "model index");
    const wm = raw.weight_map;
    if (!wm || typeof wm !== "object" || Array.isArray(wm))
      throw new UserError(`model index: ${index} has no weight_map object`);
    for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof file !== "string" || file.includes("/") || file.includes("\\") || file.startsWith(".")) {
        throw new UserError(
          `model index: ${index}: tensor ${name} maps to an invalid shard name ${JSON.stringify(file)}`,
        );
      }
      if (!files.has(file)) files.set(file, []);
      files.get(file)!.push(name);
    }
    for (const file of files.keys()) {
      if (!fs.existsSync(path.join(dir, file))) {
        throw new UserError(
          `model index: shard ${file} listed in ${index} is missing (${files.get(file)!.length} tensors)`,
        );
      }
    }
    return files;
  }
  if (fs.existsSync(single)) {
    files.set("model.safetensors", []);
    return files;
  }
  if (
    fs.existsSync(path.join(dir, "pytorch_model.bin")) ||
    fs.existsSync(path.join(dir, "pytorch_model.bin.index.json"))
  ) {
    throw new UserError(
      `${dir}: only PyTorch .bin weights found; convert them to safetensors (supported: model.safetensors, model.safetensors.index.json)`,
    );
  }
  throw new UserError(`${dir}: no model.safetensors or model.safetensors.index.json`);
}

/**
 * Reads and validates all weights of a folder for `config`: every expected tensor present once, with the
 * expected shape and a floating dtype (F32/F16/BF16), nothing unexpected (tied folders may carry an unused
 * lm_head.weight). Headers are all checked before any data is read. With `keep16`, 2-D matrices stored as BF16/F16
 * are kept as those bits (a `HalfTensor`: a frozen base at half the memory, no f32 copy is ever made); everything
 * else is widened to f32.
 */
export function readHfWeights(
  dir: string,
  config: ModelConfig,
  opts: { keep16?: boolean; sourceDtypes?: Map<string, HfWeightDtype> } = {},
): Map<string, WeightTensor> {
  const expected = parameterShapes(config);
  const files = weightFiles(dir);
  const where = new Map<string, string>();
  const problems: string[] = [];
  for (const [file, listed] of files) {
    const full = path.join(dir, file);
    let header;
    try {
      header = readSafetensorsHeader(full);
    } catch (e) {
      throw new UserError(`${full}: ${(e as Error).message}`);
    }
    for (const name of listed)
      if (!header.tensors.has(name)) problems.push(`${name} is listed for ${file} but not in it`);
    for (const [name, t] of header.tensors) {
      if (IGNORED_TENSOR.test(name)) continue;
      if (name === "lm_head.weight" && config.tie_word_embeddings) continue;
      const shape = expected.get(name);
      if (!shape) {
        problems.push(`unexpected tensor ${name} in ${file}`);
        continue;
      }
      if (where.has(name)) problems.push(`${name} appears in both ${where.get(name)} and ${file}`);
      where.set(name, file);
      if (!(HF_WEIGHT_DTYPES as readonly string[]).includes(t.dtype)) {
        problems.push(`${name} in ${file} has dtype ${t.dtype} (supported: ${HF_WEIGHT_DTYPES.join(", ")})`);
      }
      if (t.shape.join(",") !== shape.join(","))
        problems.push(`${name} in ${file} has shape [${t.shape}], the config needs [${shape}]`);
    }
  }
  for (const name of expected.keys()) if (!where.has(name)) problems.push(`missing tensor ${name}`);
  if (problems.length) {
    const more = problems.length > 6 ? ` (and ${problems.length - 6} more)` : "";
    throw new UserError(
      `${dir}: weights do not match config.json (${config.architectures[0]}): ${problems.slice(0, 6).join("; ")}${more}`,
    );
  }
  const weights = new Map<string, WeightTensor>();
  const kept16 = (t: { dtype: string; shape: number[] }) =>
    !!opts.keep16 && t.shape.length === 2 && (t.dtype === "BF16" || t.dtype === "F16");
  for (const file of files.keys()) {
    const st = readSafetensors(path.join(dir, file));
    // Tensors kept as stored (F32, or 16-bit matrices with keep16) may stay views into the file's buffer, so loading
    // needs no second copy of the weights; unless most of that buffer would be dead weight kept alive by them (e.g.
    // an unused lm_head of a tied model, or a 16-bit file widened to f32): then every tensor is copied out.
    let total = 0,
      asStored = 0;
    for (const [name, t] of st.tensors) {
      total += t.data.byteLength;
      if (where.get(name) === file && (t.dtype === "F32" || kept16(t))) asStored += t.data.byteLength;
    }
    const views = asStored >= 0.95 * total;
    for (const [name, t] of st.tensors) {
      if (where.get(name) !== file) continue;
      opts.sourceDtypes?.set(name, t.dtype as HfWeightDtype);
      if (kept16(t)) {
        const bits = t.data as Uint16Array;
        weights.set(name, {
          shape: t.shape,
          data: views ? bits : bits.slice(),
          dtype: t.dtype === "BF16" ? "bf16" : "f16",
        });
        continue;
      }
      const data = weightToF32(t);
      weights.set(name, { shape: t.shape, data: data.buffer === t.data.buffer && !views ? data.slice() : data });
    }
  }
  return weights;
}

/** What a Hugging Face folder holds, loaded and validated. */
export interface HfFolder {
  dir: string;
  config: ModelConfig;
  /** f32, except 2-D BF16/F16 matrices when loaded with `keep16` (see readHfWeights). */
  weights: Map<string, WeightTensor>;
  /** The stored dtype of each tensor (F32, F16, BF16). */
  sourceDtypes: Map<string, HfWeightDtype>;
  generationConfig?: GenerationConfig;
  /** tokenizer.json / tokenizer_config.json as parsed JSON, when present (for the tokenizer layer). */
  tokenizerJson?: Record<string, unknown>;
  tokenizerConfig?: Record<string, unknown>;
  /** The chat template: tokenizer_config.json's chat_template (string or the "default" entry) or chat_template.jinja. */
  chatTemplate?: string;
}

/** Is `dir` a Hugging Face model folder (has config.json with `architectures`)? */
export function isHfFolder(dir: string): boolean {
  const f = path.join(dir, "config.json");
  if (!fs.existsSync(f)) return false;
  try {
    const raw = JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, unknown>;
    return (
      Array.isArray(raw.architectures) &&
      (fs.existsSync(path.join(dir, "model.safetensors")) ||
        fs.existsSync(path.join(dir, "model.safetensors.index.json")))
    );
  } catch {
    return false; // not JSON: not an HF folder (the caller reports what the reference is not)
  }
}

function chatTemplateOf(dir: string, tokCfg: Record<string, unknown> | undefined): string | undefined {
  const jinja = path.join(dir, "chat_template.jinja");
  if (fs.existsSync(jinja)) return fs.readFileSync(jinja, "utf8");
  const ct = tokCfg?.chat_template;
  if (typeof ct === "string") return ct;
  if (Array.isArray(ct)) {
    const named = ct as Array<{ name?: unknown; template?: unknown }>;
    const d = named.find((t) => t.name === "default") ?? named[0];
    if (d && typeof d.template === "string") return d.template;
  }
  return undefined;
}

/**
 * Loads a Hugging Face model folder (config, weights, generation config, tokenizer files). `keep16`: keep BF16/F16
 * weight matrices as stored (see readHfWeights).
 */
export function loadHfFolder(dir: string, opts: { keep16?: boolean } = {}): HfFolder {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new UserError(`${dir}: not a directory`);
  const config = configFromHf(
    readJsonFile(path.join(abs, "config.json"), "model config"),
    path.join(abs, "config.json"),
  );
  const sourceDtypes = new Map<string, HfWeightDtype>();
  const weights = readHfWeights(abs, config, { ...opts, sourceDtypes });
  const out: HfFolder = { dir: abs, config, weights, sourceDtypes };
  const gen = path.join(abs, "generation_config.json");
  if (fs.existsSync(gen)) out.generationConfig = parseGenerationConfig(readJsonFile(gen, "generation config"));
  const tj = path.join(abs, "tokenizer.json");
  if (fs.existsSync(tj)) out.tokenizerJson = readJsonFile(tj, "tokenizer");
  const tc = path.join(abs, "tokenizer_config.json");
  if (fs.existsSync(tc)) out.tokenizerConfig = readJsonFile(tc, "tokenizer config");
  const ct = chatTemplateOf(abs, out.tokenizerConfig);
  if (ct !== undefined) out.chatTemplate = ct;
  return out;
}

export interface SaveHfOptions {
  /** Stored dtype of every weight (default F32). */
  dtype?: HfWeightDtype;
  /** Split into this many shards with a model.safetensors.index.json (default 1: a single model.safetensors). */
  shards?: number;
  generationConfig?: Record<string, unknown>;
  /** Extra files (name -> contents), e.g. tokenizer.json, tokenizer_config.json. */
  extraFiles?: Record<string, string>;
}

/** Writes a Hugging Face model folder (config.json, safetensors weights, optional extra files). */
export function saveHfFolder(
  dir: string,
  config: ModelConfig,
  weights: Map<string, WeightTensor>,
  opts: SaveHfOptions = {},
): void {
  const dtype = opts.dtype ?? "F32";
  const shards = opts.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1)
    throw new UserError(`saveHfFolder: shards must be a positive integer, got ${shards}`);
  const expected = parameterShapes(config);
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t || t.shape.join(",") !== shape.join(","))
      throw new UserError(`saveHfFolder: weight ${name} is missing or not of shape [${shape}]`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const torchDtype = { F32: "float32", F16: "float16", BF16: "bfloat16" }[dtype];
  fs.writeFileSync(
    path.join(dir, "config.json"),
    JSON.stringify({ ...hfConfigJson(config), torch_dtype: torchDtype }, null, 2) + "\n",
  );
  const names = [...expected.keys()];
  const per = Math.ceil(names.length / shards);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let s = 0; s < shards; s++) {
    const file =
      shards === 1
        ? "model.safetensors"
        : `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const part = new Map<string, SafeTensor>();
    for (const name of names.slice(s * per, (s + 1) * per)) {
      const t = weights.get(name)!;
      const same = isHalfTensor(t) && (t.dtype === "bf16" ? "BF16" : "F16") === dtype;
      const f = same ? null : weightF32(t);
      const data = same ? t.data : dtype === "F32" ? f! : dtype === "F16" ? toF16(f!) : toBf16(f!);
      part.set(name, { dtype, shape: t.shape, data });
      weightMap[name] = file;
      totalSize += data.byteLength;
    }
    writeSafetensors(path.join(dir, file), part, { format: "pt" });
  }
  if (shards > 1) {
    fs.writeFileSync(
      path.join(dir, "model.safetensors.index.json"),
      JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + "\n",
    );
  }
  if (opts.generationConfig)
    fs.writeFileSync(path.join(dir, "generation_config.json"), JSON.stringify(opts.generationConfig, null, 2) + "\n");
  for (const [name, text] of Object.entries(opts.extraFiles ?? {})) fs.writeFileSync(path.join(dir, name), text);
}
