/**
 * Checkpoint directories: atomic save, verified load, listing.
 *
 * Layout of a checkpoint directory:
 *   config.json            ModelConfig (Hugging Face LLaMA field names, loadable by transformers' LlamaConfig)
 *   model.safetensors      weights, F32, HF LLaMA tensor names (see src/engine/config.ts)
 *   tokenizer.json         Hugging Face tokenizer.json of the BPE tokenizer
 *   optimizer.safetensors  optimizer state tensors (optional, with optimizer.json = its metadata)
 *   state.json             { step, rng, trainerState, savedAt }
 *   manifest.json          { format, step, createdAt, files: { name: { bytes, sha256 } } }  -- written last
 *
 * An adapter-only LoRA training state (saveLoraState; format batcoder-lora-state-v1) has no model.safetensors or
 * tokenizer.json: config.json, base.json (BaseRef: the base's model reference, weights SHA-256 and dtypes),
 * adapter_config.json + adapter_model.safetensors (PEFT layout), optimizer.*, state.json and the manifest.
 *
 * Atomicity: everything is written into a temporary sibling directory (".<name>.tmp-<pid>-<rand>"), each file and
 * the directory are fsynced, then the directory is renamed onto the target name and the parent is fsynced. When the
 * target already exists it is first renamed aside (".<name>.old-<pid>-<rand>") and removed after the swap; if a
 * crash hits between those two renames, `loadCheckpoint` / `listCheckpoints` restore the aside copy. A crash at any
 * point therefore leaves either the previous checkpoint or the new one, never a mix.
 *
 * `loadCheckpoint` checks the manifest: every file present with the recorded size and SHA-256 (the hash check can
 * be turned off with verify: "size"), and reports a damaged directory with a clear error.
 */
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { ModelConfigSchema, parameterShapes, type ModelConfig } from "./config.js";
import { readSafetensors, writeSafetensors, tensorToF32, type SafeTensor, type TypedArray } from "./safetensors.js";
import { BpeTokenizer } from "./tokenizer.js";
import { isHalfTensor, type WeightTensor } from "./tensor.js";
import { fsyncPath, writeFileSynced } from "../core/jsonl.js";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadAdapter, type LoraAdapter, saveAdapter } from "./lora.js";

export const CHECKPOINT_FORMAT = "batcoder-checkpoint-v1";
/** manifest.json's format of an adapter-only LoRA state (saveLoraState): adapter + optimizer + RNG, no base. */
export const LORA_STATE_FORMAT = "batcoder-lora-state-v1";

export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  config: ModelConfig;
  /** f32, or 16-bit matrices of a frozen base (saved as BF16/F16 and read back widened to f32). */
  weights: Map<string, WeightTensor>;
  /** The tokenizer, or its tokenizer.json object. */
  tokenizer: BpeTokenizer | Record<string, unknown>;
  optimizer?: { state: Map<string, { shape: number[]; data: TypedArray }>; meta: Record<string, unknown> };
  rng?: unknown;
  trainerState?: Record<string, unknown>;
  /** Training step; defaults to trainerState.step when that is a number. */
  step?: number;
}

export interface LoadedCheckpoint {
  dir: string;
  config: ModelConfig;
  weights: Map<string, Tensor32>;
  tokenizer: BpeTokenizer;
  optimizer?: { state: Map<string, { shape: number[]; data: TypedArray }>; meta: Record<string, unknown> };
  rng?: unknown;
  trainerState?: Record<string, unknown>;
  step?: number;
  manifest: Manifest;
}

export interface Manifest {
  format: string;
  step?: number;
  createdAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Expected HF weight names and shapes for a config (= parameterShapes of src/engine/config.ts). */
export function expectedWeightShapes(c: ModelConfig): Map<string, number[]> {
  return parameterShapes(c);
}

/** Throws a CheckpointError unless every expected weight is present with its shape and length. */
export function validateWeights(config: ModelConfig, weights: Map<string, WeightTensor>, where = "checkpoint"): void {
  const problems: string[] = [];
  for (const [name, shape] of expectedWeightShapes(config)) {
    const w = weights.get(name);
    if (!w) problems.push(`missing ${name}`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape ${JSON.stringify(w.shape)}, expected ${JSON.stringify(shape)}`);
    } else if (
      !(w.data instanceof Float32Array || (isHalfTensor(w) && shape.length === 2)) ||
      w.data.length !== shape.reduce((a, b) => a * b, 1)
    ) {
      problems.push(`${name} data is not a Float32Array (or a 16-bit matrix) of the right length`);
    }
  }
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
    throw new CheckpointError(`${where}: weights do not match config: ${problems.slice(0, 5).join("; ")}${more}`);
  }
}

// ---------------------------------------------------------------------------------------------
// file helpers
// ---------------------------------------------------------------------------------------------

function sha256File(file: string): string {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const TMP_RE = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]+$/;

/**
 * Repairs the effects of a crash during saveCheckpoint for the checkpoint `target`:
 * - target missing but an ".old" copy exists (crash between the two renames): the copy is renamed back;
 * - leftover ".old" copies next to an existing target, and ".tmp" dirs of dead processes, are removed.
 */
export function recoverCheckpoint(target: string): void {
  const parent = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  const olds: string[] = [];
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m || m[1] !== base) continue;
    const pid = Number(m[3]);
    if (m[2] === "tmp") {
      if (!pidAlive(pid)) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
    } else if (!pidAlive(pid) || pid === process.pid) olds.push(n);
  }
  if (olds.length === 0) return;
  if (!fs.existsSync(target)) {
    // choose the newest complete aside copy
    const complete = olds
      .map((n) => path.join(parent, n))
      .filter((p) => fs.existsSync(path.join(p, "manifest.json")))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    if (complete.length > 0) {
      fs.renameSync(complete[0]!, target);
      fsyncPath(parent);
    }
  }
  for (const n of olds) {
    const p = path.join(parent, n);
    if (fs.existsSync(p)) fs.rmSync(p, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// save
// ---------------------------------------------------------------------------------------------

function tokenizerJSON(t: Checkpoint["tokenizer"]): Record<string, unknown> {
  if (t instanceof BpeTokenizer) return t.toHuggingFaceJSON();
  if (t && typeof t === "object") {
    BpeTokenizer.fromJSON(t); // validate
    return t;
  }
  throw new CheckpointError("checkpoint: tokenizer must be a BpeTokenizer or a tokenizer.json object");
}

/** Saves a checkpoint atomically into `dir` (replacing an existing checkpoint there). */
export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  const parsed = ModelConfigSchema.safeParse(ckpt.config);
  if (!parsed.success) throw new CheckpointError(`checkpoint: invalid config: ${parsed.error.message}`);
  const config = parsed.data;
  validateWeights(config, ckpt.weights, "saveCheckpoint");
  const tokJson = tokenizerJSON(ckpt.tokenizer);
  const tokSize =
    ckpt.tokenizer instanceof BpeTokenizer ? ckpt.tokenizer.vocabSize : BpeTokenizer.fromJSON(tokJson).vocabSize;
  if (tokSize > config.vocab_size) {
    throw new CheckpointError(
      `saveCheckpoint: tokenizer has ${tokSize} tokens but config.vocab_size is ${config.vocab_size}`,
    );
  }
  const step =
    ckpt.step ?? (typeof ckpt.trainerState?.step === "number" ? (ckpt.trainerState.step as number) : undefined);

  writeCheckpointDir(dir, CHECKPOINT_FORMAT, step, (tmp) => {
    writeFileSynced(path.join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
    const wt = new Map<string, SafeTensor>();
    for (const [k, v] of ckpt.weights)
      wt.set(k, {
        dtype: isHalfTensor(v) ? (v.dtype === "bf16" ? "BF16" : "F16") : "F32",
        shape: v.shape,
        data: v.data,
      });
    writeSafetensors(path.join(tmp, "model.safetensors"), wt, { format: "pt" }, { fsync: true });
    writeFileSynced(path.join(tmp, "tokenizer.json"), JSON.stringify(tokJson));
    writeOptimizerAndState(tmp, ckpt, step);
  });
}

/** optimizer.safetensors + optimizer.json (when there is an optimizer state) and state.json. */
function writeOptimizerAndState(
  tmp: string,
  ckpt: Pick<Checkpoint, "optimizer" | "rng" | "trainerState">,
  step: number | undefined,
): void {
  if (ckpt.optimizer) {
    const ot = new Map<string, SafeTensor>();
    for (const [k, v] of ckpt.optimizer.state) ot.set(k, { dtype: dtypeOf(v.data, k), shape: v.shape, data: v.data });
    writeSafetensors(path.join(tmp, "optimizer.safetensors"), ot, undefined, { fsync: true });
    writeFileSynced(path.join(tmp, "optimizer.json"), JSON.stringify(ckpt.optimizer.meta ?? {}, null, 2) + "\n");
  }
  const state = {
    step,
    rng: ckpt.rng ?? null,
    trainerState: ckpt.trainerState ?? null,
    savedAt: new Date().toISOString(),
  };
  writeFileSynced(path.join(tmp, "state.json"), JSON.stringify(state, null, 2) + "\n");
}

/**
 * The atomic part of a save: `write` fills a temporary sibling directory, every file in it is fsynced and listed
 * in manifest.json (format, step, sizes, SHA-256), then the directory replaces `dir` (see the header).
 */
function writeCheckpointDir(dir: string, format: string, step: number | undefined, write: (tmp: string) => void): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  fs.mkdirSync(parent, { recursive: true });
  recoverCheckpoint(target);
  const rand = crypto.randomBytes(4).toString("hex");
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}-${rand}`);
  fs.mkdirSync(tmp);
  try {
    write(tmp);
    const files: Manifest["files"] = {};
    for (const name of fs.readdirSync(tmp).sort()) {
      const p = path.join(tmp, name);
      fsyncPath(p);
      files[name] = { bytes: fs.statSync(p).size, sha256: sha256File(p) };
    }
    const manifest: Manifest = { format, step, createdAt: new Date().toISOString(), files };
    writeFileSynced(path.join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
    fsyncPath(tmp);

    let aside: string | undefined;
    if (fs.existsSync(target)) {
      aside = path.join(parent, `.${base}.old-${process.pid}-${rand}`);
      fs.renameSync(target, aside);
    }
    fs.renameSync(tmp, target);
    fsyncPath(parent);
    if (aside) fs.rmSync(aside, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    recoverCheckpoint(target);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// adapter-only LoRA training states
// ---------------------------------------------------------------------------------------------

/**
 * What a LoRA state records of the frozen base it was trained on: a reference to reload it (a model id or path), the
 * SHA-256 of its weights as held (`baseWeightsSha256`) and their storage types, so a different base is refused.
 */
export interface BaseRef {
  model: string;
  sha256: string;
  dtypes: Record<string, number>;
}

export interface LoraState {
  /** The base's config (the adapter's shapes follow from it). */
  config: ModelConfig;
  base: BaseRef;
  adapter: LoraAdapter;
  optimizer?: Checkpoint["optimizer"];
  rng?: unknown;
  trainerState?: Record<string, unknown>;
  step?: number;
}

/**
 * SHA-256 over a model's base weights as held: for each tensor in name order its name, storage type (f32 / bf16 /
 * f16), shape and bytes. Equal hashes mean bit-identical weights in the same storage, hence the same forward pass.
 */
export function baseWeightsSha256(weights: Map<string, WeightTensor>): string {
  const h = crypto.createHash("sha256");
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}\0${isHalfTensor(t) ? t.dtype : "f32"}\0${t.shape.join(",")}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
}

/**
 * Saves an adapter-only LoRA training state atomically into `dir`: the adapter in the PEFT layout
 * (adapter_config.json + adapter_model.safetensors, so the folder is itself a PEFT adapter), its AdamW state
 * (optimizer.safetensors / optimizer.json), state.json (step, RNG, trainer state), config.json and base.json (the
 * base reference) — but no base weights. manifest.json's format is LORA_STATE_FORMAT.
 */
export function saveLoraState(dir: string, st: LoraState): void {
  const config = ModelConfigSchema.parse(st.config);
  const step = st.step ?? (typeof st.trainerState?.step === "number" ? (st.trainerState.step as number) : undefined);
  writeCheckpointDir(dir, LORA_STATE_FORMAT, step, (tmp) => {
    writeFileSynced(path.join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
    writeFileSynced(path.join(tmp, "base.json"), JSON.stringify(st.base, null, 2) + "\n");
    saveAdapter(tmp, st.adapter, { baseModel: st.base.model });
    writeOptimizerAndState(tmp, st, step);
  });
}

/** True when `dir` holds an adapter-only LoRA state (saveLoraState), false for anything else. */
export function isLoraState(dir: string): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Partial<Manifest>;
    return m.format === LORA_STATE_FORMAT;
  } catch {
    return false; // no manifest (or not JSON): not a LoRA state; loadCheckpoint reports what it is
  }
}

/** Loads (and verifies) an adapter-only LoRA state written by saveLoraState. */
export function loadLoraState(dir: string, opts: LoadOptions = {}): LoraState & { manifest: Manifest } {
  const target = path.resolve(dir);
  const manifest = verifyCheckpoint(target, opts.verify ?? "sha256");
  if (manifest.format !== LORA_STATE_FORMAT)
    throw new CheckpointError(`${dir} is a full checkpoint (${manifest.format}), not an adapter-only LoRA state`);
  const config = parseConfig(target, dir);
  const b = readJson(path.join(target, "base.json"), `LoRA state ${dir}: base.json`) as Partial<BaseRef>;
  if (typeof b.model !== "string" || typeof b.sha256 !== "string" || !b.dtypes || typeof b.dtypes !== "object")
    throw new CheckpointError(`LoRA state ${dir}: base.json is not {model, sha256, dtypes}`);
  const adapter = loadAdapter(target, config);
  const { rng, trainerState, step } = readState(target, dir);
  const out: LoraState & { manifest: Manifest } = {
    config,
    base: { model: b.model, sha256: b.sha256, dtypes: b.dtypes },
    adapter,
    manifest,
    ...(rng != null ? { rng } : {}),
    ...(trainerState != null ? { trainerState } : {}),
    ...(typeof step === "number" ? { step } : {}),
  };
  const optimizer = readOptimizer(target, dir, manifest, opts);
  if (optimizer) out.optimizer = optimizer;
  return out;
}

function dtypeOf(d: TypedArray, name: string): SafeTensor["dtype"] {
  if (d instanceof Float32Array) return "F32";
  if (d instanceof Float64Array) return "F64";
  if (d instanceof Int32Array) return "I32";
  if (d instanceof BigInt64Array) return "I64";
  if (d instanceof Uint8Array) return "U8";
  if (d instanceof Uint32Array) return "U32";
  if (d instanceof Int8Array) return "I8";
  if (d instanceof Int16Array) return "I16";
  if (d instanceof Uint16Array) return "U16";
  if (d instanceof BigUint64Array) return "U64";
  throw new CheckpointError(`saveCheckpoint: optimizer tensor '${name}' has an unsupported array type`);
}

// ---------------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
  /** "sha256" (default) checks sizes and hashes of every file; "size" only sizes. */
  verify?: "sha256" | "size";
  /** Load the optimizer state when present (default true). */
  optimizer?: boolean;
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new CheckpointError(`${what}: ${(e as Error).message}`);
  }
}

/** Reads and checks the manifest of a checkpoint directory; throws a CheckpointError describing the damage. */
export function verifyCheckpoint(dir: string, verify: "sha256" | "size" = "sha256"): Manifest {
  const target = path.resolve(dir);
  recoverCheckpoint(target);
  if (!fs.existsSync(target)) throw new CheckpointError(`checkpoint ${dir} does not exist`);
  if (!fs.statSync(target).isDirectory()) throw new CheckpointError(`checkpoint ${dir} is not a directory`);
  const mpath = path.join(target, "manifest.json");
  if (!fs.existsSync(mpath)) {
    throw new CheckpointError(
      `checkpoint ${dir} is incomplete or damaged: manifest.json is missing (the save did not finish?)`,
    );
  }
  const m = readJson(mpath, `checkpoint ${dir}: manifest.json is unreadable`) as Manifest;
  if (
    !m ||
    (m.format !== CHECKPOINT_FORMAT && m.format !== LORA_STATE_FORMAT) ||
    !m.files ||
    typeof m.files !== "object"
  ) {
    throw new CheckpointError(
      `checkpoint ${dir}: manifest.json is not a ${CHECKPOINT_FORMAT} or ${LORA_STATE_FORMAT} manifest`,
    );
  }
  const need =
    m.format === LORA_STATE_FORMAT
      ? ["config.json", "base.json", ADAPTER_CONFIG, ADAPTER_WEIGHTS, "state.json"]
      : ["config.json", "model.safetensors", "tokenizer.json", "state.json"];
  for (const required of need) {
    if (!(required in m.files)) throw new CheckpointError(`checkpoint ${dir}: manifest does not list ${required}`);
  }
  const entries = Object.entries(m.files);
  for (const [name] of entries) {
    if (name.includes("/") || name.includes("\\") || name.startsWith(".."))
      throw new CheckpointError(`checkpoint ${dir}: bad file name in manifest: ${name}`);
  }
  const missing = entries.filter(([name]) => !fs.existsSync(path.join(target, name))).map(([name]) => name);
  if (missing.length)
    throw new CheckpointError(
      `checkpoint ${dir} is damaged: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing`,
    );
  for (const [name, info] of entries) {
    const size = fs.statSync(path.join(target, name)).size;
    if (size !== info.bytes)
      throw new CheckpointError(`checkpoint ${dir} is damaged: ${name} has ${size} bytes, manifest says ${info.bytes}`);
  }
  if (verify === "sha256") {
    for (const [name, info] of entries) {
      if (sha256File(path.join(target, name)) !== info.sha256) {
        throw new CheckpointError(`checkpoint ${dir} is damaged: ${name} does not match its SHA-256 in the manifest`);
      }
    }
  }
  return m;
}

/** Loads (and verifies) a checkpoint directory written by saveCheckpoint. */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): LoadedCheckpoint {
  const target = path.resolve(dir);
  const manifest = verifyCheckpoint(target, opts.verify ?? "sha256");
  if (manifest.format === LORA_STATE_FORMAT) {
    const b = readJson(path.join(target, "base.json"), `LoRA state ${dir}: base.json`) as Partial<BaseRef>;
    throw new CheckpointError(
      `${dir} is an adapter-only LoRA training state (no base weights; base: ${String(b.model)}): load its base ` +
        "model, attach a LoRA adapter and load the state into that policy (e.g. a Tinker load_weights), or use the " +
        "folder as a PEFT adapter (--adapter)",
    );
  }
  const config = parseConfig(target, dir);
  let st;
  try {
    st = readSafetensors(path.join(target, "model.safetensors"));
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: ${(e as Error).message}`);
  }
  const weights = new Map<string, Tensor32>();
  for (const [k, t] of st.tensors) weights.set(k, { shape: t.shape, data: tensorToF32(t) });
  validateWeights(config, weights, `checkpoint ${dir}`);
  let tokenizer: BpeTokenizer;
  try {
    tokenizer = BpeTokenizer.load(path.join(target, "tokenizer.json"));
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: ${(e as Error).message}`);
  }
  const state = readState(target, dir);
  const out: LoadedCheckpoint = {
    dir: target,
    config,
    weights,
    tokenizer,
    manifest,
    ...(state.rng != null ? { rng: state.rng } : {}),
    ...(state.trainerState != null ? { trainerState: state.trainerState } : {}),
    ...(typeof state.step === "number" ? { step: state.step } : {}),
  };
  const optimizer = readOptimizer(target, dir, manifest, opts);
  if (optimizer) out.optimizer = optimizer;
  return out;
}

function parseConfig(target: string, dir: string): ModelConfig {
  const rawConfig = readJson(path.join(target, "config.json"), `checkpoint ${dir}: config.json`);
  const parsed = ModelConfigSchema.safeParse(rawConfig);
  if (!parsed.success) throw new CheckpointError(`checkpoint ${dir}: invalid config.json: ${parsed.error.message}`);
  return parsed.data;
}

function readState(
  target: string,
  dir: string,
): { step?: number; rng?: unknown; trainerState?: Record<string, unknown> | null } {
  return readJson(path.join(target, "state.json"), `checkpoint ${dir}: state.json`) as {
    step?: number;
    rng?: unknown;
    trainerState?: Record<string, unknown> | null;
  };
}

function readOptimizer(
  target: string,
  dir: string,
  manifest: Manifest,
  opts: LoadOptions,
): LoadedCheckpoint["optimizer"] | undefined {
  if (!((opts.optimizer ?? true) && "optimizer.safetensors" in manifest.files)) return undefined;
  let os;
  try {
    os = readSafetensors(path.join(target, "optimizer.safetensors"));
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: ${(e as Error).message}`);
  }
  const state2 = new Map<string, { shape: number[]; data: TypedArray }>();
  for (const [k, t] of os.tensors) state2.set(k, { shape: t.shape, data: t.data });
  const meta = fs.existsSync(path.join(target, "optimizer.json"))
    ? (readJson(path.join(target, "optimizer.json"), `checkpoint ${dir}: optimizer.json`) as Record<string, unknown>)
    : {};
  return { state: state2, meta };
}

// ---------------------------------------------------------------------------------------------
// listing
// ---------------------------------------------------------------------------------------------

export interface CheckpointInfo {
  dir: string;
  name: string;
  step?: number;
  createdAt: string;
}

/**
 * Complete checkpoints (those with a manifest) directly inside runDir, oldest first (by step, then creation time).
 * Half-written temp directories are ignored (and removed when their writer is dead).
 */
export function listCheckpoints(runDir: string): CheckpointInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch {
    return [];
  }
  // repair crashed swaps first
  const bases = new Set<string>();
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (m) bases.add(m[1]!);
  }
  for (const b of bases) recoverCheckpoint(path.join(path.resolve(runDir), b));
  if (bases.size) names = fs.readdirSync(runDir);
  const out: CheckpointInfo[] = [];
  for (const n of names) {
    if (n.startsWith(".")) continue;
    const dir = path.join(path.resolve(runDir), n);
    const mp = path.join(dir, "manifest.json");
    if (!fs.existsSync(mp)) continue;
    let m: Manifest;
    try {
      m = JSON.parse(fs.readFileSync(mp, "utf8")) as Manifest;
    } catch {
      continue;
    }
    if (m.format !== CHECKPOINT_FORMAT) continue;
    out.push({ dir, name: n, ...(typeof m.step === "number" ? { step: m.step } : {}), createdAt: m.createdAt });
  }
  out.sort(
    (a, b) => (a.step ?? -1) - (b.step ?? -1) || a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name),
  );
  return out;
}

/** Removes all but the `keep` most recent checkpoints in runDir; returns the removed directories. */
export function pruneCheckpoints(runDir: string, keep: number): string[] {
  const all = listCheckpoints(runDir);
  const drop = all.slice(0, Math.max(0, all.length - Math.max(1, keep)));
  for (const c of drop) fs.rmSync(c.dir, { recursive: true, force: true });
  return drop.map((c) => c.dir);
}
