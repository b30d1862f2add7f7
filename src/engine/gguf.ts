/**
 * GGUF v3 writer and reader, and the checkpoint -> GGUF exporter for llama.cpp.
 *
 * File layout (all little-endian):
 *   "GGUF" | u32 version=3 | u64 n_tensors | u64 n_kv
 *   n_kv x  { string key | u32 value_type | value }            (string = u64 byte length + UTF-8 bytes)
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to `general.alignment` (default 32)
 *   tensor data, each tensor starting at a multiple of the alignment (offsets are relative to this point)
 *
 * `ne` is ggml's dimension order: ne[0] is the fastest-varying (innermost) dimension, i.e. the reverse of the
 * row-major shape. An HF linear weight of shape [out, in] therefore has ne = [in, out].
 *
 * The exporter maps HF LLaMA names to llama.cpp names and permutes the rows of q_proj / k_proj: HF checkpoints
 * rotate pairs (i, i + head_dim/2) ("rotate_half"), llama.cpp's LLaMA graph rotates adjacent pairs (2i, 2i+1), so
 * within every head row a*(head_dim/2) + j moves to row 2j + a (the permutation of llama.cpp's
 * convert_hf_to_gguf.py; K uses the number of KV heads).
 */
import fs from "node:fs";
import path from "node:path";
import { loadCheckpoint, type Tensor32 } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import { toF16 } from "./safetensors.js";
import type { BpeTokenizer } from "./tokenizer.js";
import { ggufTokenizerMetadata } from "./gguf-tokenizer.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as u32 LE
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export type GgufScalarType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "bool"
  | "string"
  | "uint64"
  | "int64"
  | "float64";

const TYPE_CODE: Record<GgufScalarType | "array", number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};
const CODE_TYPE = new Map(Object.entries(TYPE_CODE).map(([k, v]) => [v, k as GgufScalarType | "array"]));

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { type: GgufScalarType; value: GgufScalar }
  | { type: "array"; itemType: GgufScalarType; value: GgufScalar[] };

/** ggml tensor types this module writes/reads. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
}

export interface GgufTensor {
  name: string;
  /** Row-major shape (outermost first), e.g. [out, in] for a linear weight. */
  shape: number[];
  type: GgmlType;
  /** F32: Float32Array; F16: Uint16Array of half bits. */
  data: Float32Array | Uint16Array;
}

/** llama.cpp token types (tokenizer.ggml.token_type). */
export enum GgufTokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export class GgufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GgufError";
  }
}

// ---------------------------------------------------------------------------------------------
// writer
// ---------------------------------------------------------------------------------------------

class ByteSink {
  private chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 16);
  private pos = 0;
  length = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.alloc(Math.max(1 << 16, n));
    this.pos = 0;
  }
  u8(v: number): void {
    this.ensure(1);
    this.cur.writeUInt8(v, this.pos);
    this.pos += 1;
    this.length += 1;
  }
  i8(v: number): void {
    this.ensure(1);
    this.cur.writeInt8(v, this.pos);
    this.pos += 1;
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.cur.writeUInt16LE(v, this.pos);
    this.pos += 2;
    this.length += 2;
  }
  i16(v: number): void {
    this.ensure(2);
    this.cur.writeInt16LE(v, this.pos);
    this.pos += 2;
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.cur.writeUInt32LE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.cur.writeInt32LE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.cur.writeFloatLE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.cur.writeDoubleLE(v, this.pos);
    this.pos += 8;
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.cur.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.ensure(8);
    this.cur.writeBigInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
    this.length += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.bytes(b);
  }
  zeros(n: number): void {
    this.ensure(n);
    this.cur.fill(0, this.pos, this.pos + n);
    this.pos += n;
    this.length += n;
  }
  toBuffer(): Buffer {
    return Buffer.concat([...this.chunks, this.cur.subarray(0, this.pos)]);
  }
}

function checkScalar(key: string, type: GgufScalarType, v: GgufScalar): void {
  const bad = (): never => {
    throw new GgufError(`gguf: value of '${key}' is not a valid ${type}: ${String(v)}`);
  };
  const intIn = (lo: number, hi: number): void => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) bad();
  };
  switch (type) {
    case "uint8":
      return intIn(0, 255);
    case "int8":
      return intIn(-128, 127);
    case "uint16":
      return intIn(0, 65535);
    case "int16":
      return intIn(-32768, 32767);
    case "uint32":
      return intIn(0, 4294967295);
    case "int32":
      return intIn(-2147483648, 2147483647);
    case "float32":
    case "float64":
      if (typeof v !== "number") bad();
      return;
    case "bool":
      if (typeof v !== "boolean") bad();
      return;
    case "string":
      if (typeof v !== "string") bad();
      return;
    case "uint64":
      if (!((typeof v === "number" && Number.isSafeInteger(v) && v >= 0) || (typeof v === "bigint" && v >= 0n))) bad();
      return;
    case "int64":
      if (!((typeof v === "number" && Number.isSafeInteger(v)) || typeof v === "bigint")) bad();
      return;
  }
}

function writeScalar(s: ByteSink, type: GgufScalarType, v: GgufScalar): void {
  switch (type) {
    case "uint8":
      return s.u8(v as number);
    case "int8":
      return s.i8(v as number);
    case "uint16":
      return s.u16(v as number);
    case "int16":
      return s.i16(v as number);
    case "uint32":
      return s.u32(v as number);
    case "int32":
      return s.i32(v as number);
    case "float32":
      return s.f32(v as number);
    case "float64":
      return s.f64(v as number);
    case "bool":
      return s.u8(v ? 1 : 0);
    case "string":
      return s.str(v as string);
    case "uint64":
      return s.u64(v as number | bigint);
    case "int64":
      return s.i64(v as number | bigint);
  }
}

const GGML_TYPE_SIZE: Record<GgmlType, number> = { [GgmlType.F32]: 4, [GgmlType.F16]: 2 };

export interface WriteGgufOptions {
  alignment?: number;
}

/**
 * Writes a GGUF v3 file. `metadata` is written in insertion order; `general.alignment` is added when a non-default
 * alignment is requested.
 */
export function writeGguf(file: string, metadata: Map<string, GgufValue>, tensors: GgufTensor[], opts: WriteGgufOptions = {}): void {
  const align = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(align) || align <= 0 || align % 8 !== 0) throw new GgufError(`gguf: alignment must be a positive multiple of 8, got ${align}`);
  const md = new Map(metadata);
  if (align !== GGUF_DEFAULT_ALIGNMENT) md.set("general.alignment", { type: "uint32", value: align });
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufError(`gguf: duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) >= 64) throw new GgufError(`gguf: tensor name too long (ggml limit 63 bytes): ${t.name}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new GgufError(`gguf: tensor ${t.name} has ${t.data.length} values, shape [${t.shape}] needs ${n}`);
    if (t.type === GgmlType.F32 && !(t.data instanceof Float32Array)) throw new GgufError(`gguf: F32 tensor ${t.name} needs a Float32Array`);
    if (t.type === GgmlType.F16 && !(t.data instanceof Uint16Array)) throw new GgufError(`gguf: F16 tensor ${t.name} needs a Uint16Array`);
    if (t.shape.length < 1 || t.shape.length > 4) throw new GgufError(`gguf: tensor ${t.name} must have 1..4 dimensions`);
  }
  const s = new ByteSink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(tensors.length);
  s.u64(md.size);
  for (const [key, v] of md) {
    s.str(key);
    if (v.type === "array") {
      s.u32(TYPE_CODE.array);
      s.u32(TYPE_CODE[v.itemType]);
      s.u64(v.value.length);
      for (const x of v.value) {
        checkScalar(key, v.itemType, x);
        writeScalar(s, v.itemType, x);
      }
    } else {
      if (!(v.type in TYPE_CODE)) throw new GgufError(`gguf: unknown value type ${String(v.type)} for '${key}'`);
      checkScalar(key, v.type, v.value);
      s.u32(TYPE_CODE[v.type]);
      writeScalar(s, v.type, v.value);
    }
  }
  let off = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    s.str(t.name);
    s.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) s.u64(t.shape[i]!);
    s.u32(t.type);
    s.u64(off);
    offsets.push(off);
    const bytes = t.data.length * GGML_TYPE_SIZE[t.type];
    off += Math.ceil(bytes / align) * align;
  }
  const pad = (align - (s.length % align)) % align;
  s.zeros(pad);
  const header = s.toBuffer();
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    writeAllFd(fd, header);
    const zeros = Buffer.alloc(align);
    for (const t of tensors) {
      const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      writeAllFd(fd, b);
      const p = (align - (b.length % align)) % align;
      if (p) writeAllFd(fd, zeros.subarray(0, p));
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

function writeAllFd(fd: number, b: Uint8Array): void {
  for (let o = 0; o < b.length; ) o += fs.writeSync(fd, b, o, Math.min(1 << 26, b.length - o));
}

// ---------------------------------------------------------------------------------------------
// reader
// ---------------------------------------------------------------------------------------------

export interface GgufFile {
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensor & { ne: number[]; offset: number }>;
}

/** Reads a GGUF v2/v3 file with F32/F16 tensors (for tests and inspection). */
export function readGguf(file: string): GgufFile {
  const buf = fs.readFileSync(file);
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  const dv = new DataView(ab);
  let p = 0;
  const fail = (msg: string): never => {
    throw new GgufError(`gguf: ${file}: ${msg}`);
  };
  const need = (n: number): void => {
    if (p + n > ab.byteLength) fail(`truncated at byte ${p}`);
  };
  const u32 = (): number => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`u64 value too large at byte ${p - 8}`);
    return Number(v);
  };
  const str = (): string => {
    const n = u64();
    need(n);
    const s = Buffer.from(ab, p, n).toString("utf8");
    p += n;
    return s;
  };
  const scalar = (type: GgufScalarType): GgufScalar => {
    switch (type) {
      case "uint8":
        return need(1), (p += 1), dv.getUint8(p - 1);
      case "int8":
        return need(1), (p += 1), dv.getInt8(p - 1);
      case "uint16":
        return need(2), (p += 2), dv.getUint16(p - 2, true);
      case "int16":
        return need(2), (p += 2), dv.getInt16(p - 2, true);
      case "uint32":
        return u32();
      case "int32":
        return need(4), (p += 4), dv.getInt32(p - 4, true);
      case "float32":
        return need(4), (p += 4), dv.getFloat32(p - 4, true);
      case "float64":
        return need(8), (p += 8), dv.getFloat64(p - 8, true);
      case "bool":
        return need(1), (p += 1), dv.getUint8(p - 1) !== 0;
      case "string":
        return str();
      case "uint64":
        return need(8), (p += 8), dv.getBigUint64(p - 8, true);
      case "int64":
        return need(8), (p += 8), dv.getBigInt64(p - 8, true);
    }
  };
  if (u32() !== GGUF_MAGIC) fail("not a GGUF file (bad magic)");
  const version = u32();
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version}`);
  const nTensors = u64();
  const nKv = u64();
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const code = u32();
    const type = CODE_TYPE.get(code);
    if (!type) fail(`unknown value type ${code} for key ${key}`);
    if (type === "array") {
      const itemCode = u32();
      const itemType = CODE_TYPE.get(itemCode);
      if (!itemType || itemType === "array") fail(`unsupported array item type ${itemCode} for key ${key}`);
      const n = u64();
      const arr: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) arr[j] = scalar(itemType as GgufScalarType);
      metadata.set(key, { type: "array", itemType: itemType as GgufScalarType, value: arr });
    } else metadata.set(key, { type: type!, value: scalar(type as GgufScalarType) });
  }
  const alignV = metadata.get("general.alignment");
  const alignment = alignV && alignV.type !== "array" ? Number(alignV.value) : GGUF_DEFAULT_ALIGNMENT;
  const infos: Array<{ name: string; ne: number[]; type: number; offset: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    if (nd < 1 || nd > 4) fail(`tensor ${name} has ${nd} dimensions`);
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64());
    const type = u32();
    const offset = u64();
    infos.push({ name, ne, type, offset });
  }
  const dataStart = Math.ceil(p / alignment) * alignment;
  const tensors: GgufFile["tensors"] = new Map();
  for (const t of infos) {
    if (t.type !== GgmlType.F32 && t.type !== GgmlType.F16) fail(`tensor ${t.name} has unsupported ggml type ${t.type}`);
    if (t.offset % alignment !== 0) fail(`tensor ${t.name} offset ${t.offset} is not aligned to ${alignment}`);
    const n = t.ne.reduce((a, b) => a * b, 1);
    const bytes = n * GGML_TYPE_SIZE[t.type as GgmlType];
    const at = dataStart + t.offset;
    if (at + bytes > ab.byteLength) fail(`tensor ${t.name} runs past the end of the file`);
    const data = t.type === GgmlType.F32 ? new Float32Array(ab, at, n) : new Uint16Array(ab, at, n);
    tensors.set(t.name, { name: t.name, ne: t.ne, shape: [...t.ne].reverse(), type: t.type as GgmlType, data, offset: t.offset });
  }
  return { version, alignment, metadata, tensors };
}

// ---------------------------------------------------------------------------------------------
// exporter
// ---------------------------------------------------------------------------------------------

/**
 * Reorders the rows of an HF q_proj/k_proj weight ([nHeads*headDim, in]) from rotate_half pairing to llama.cpp's
 * adjacent pairing: in each head, row a*(headDim/2) + j goes to row 2j + a.
 */
export function permuteRotaryRows(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  if (rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0) throw new GgufError(`gguf: cannot permute ${rows} rows into ${nHeads} heads`);
  const hd = rows / nHeads;
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let a = 0; a < 2; a++) {
      for (let j = 0; j < half; j++) {
        const src = (h * hd + a * half + j) * cols;
        const dst = (h * hd + 2 * j + a) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** HF parameter name -> llama.cpp tensor name (undefined for names llama.cpp has no use for). */
export function ggufTensorName(hf: string): string | undefined {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return undefined;
  const map: Record<string, string> = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
  };
  const t = map[m[2]!];
  return t ? `blk.${m[1]}.${t}` : undefined;
}

export interface ExportOptions {
  dtype?: "f32" | "f16";
  /** general.name (default: the checkpoint directory name). */
  name?: string;
}

/** Metadata for llama.cpp: architecture hyper-parameters and the tokenizer. */
export function buildGgufMetadata(config: ModelConfig, tokenizer: BpeTokenizer, opts: { dtype: "f32" | "f16"; name: string }): Map<string, GgufValue> {
  const md = new Map<string, GgufValue>();
  const u32 = (k: string, v: number): void => void md.set(k, { type: "uint32", value: v });
  const f32 = (k: string, v: number): void => void md.set(k, { type: "float32", value: v });
  const str = (k: string, v: string): void => void md.set(k, { type: "string", value: v });
  str("general.architecture", "llama");
  str("general.name", opts.name);
  u32("general.file_type", opts.dtype === "f16" ? 1 : 0);
  u32("llama.context_length", config.max_position_embeddings);
  u32("llama.embedding_length", config.hidden_size);
  u32("llama.block_count", config.num_hidden_layers);
  u32("llama.feed_forward_length", config.intermediate_size);
  u32("llama.attention.head_count", config.num_attention_heads);
  u32("llama.attention.head_count_kv", config.num_key_value_heads);
  f32("llama.attention.layer_norm_rms_epsilon", config.rms_norm_eps);
  f32("llama.rope.freq_base", config.rope_theta);
  u32("llama.rope.dimension_count", config.hidden_size / config.num_attention_heads);
  u32("llama.vocab_size", config.vocab_size);

  const tk = ggufTokenizerMetadata(tokenizer);
  const tokens = tk.tokens;
  const types: number[] = tk.types;
  if (tokens.length > config.vocab_size) {
    throw new GgufError(`gguf: tokenizer has ${tokens.length} tokens but the model's vocab_size is ${config.vocab_size}`);
  }
  // the embedding matrix may be padded beyond the tokenizer: name the extra rows, never used for tokenization
  for (let id = tokens.length; id < config.vocab_size; id++) {
    tokens.push(`[PAD${id}]`);
    types.push(GgufTokenType.UNUSED);
  }
  str("tokenizer.ggml.model", "gpt2");
  str("tokenizer.ggml.pre", tk.pre);
  md.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens });
  md.set("tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: types });
  md.set("tokenizer.ggml.merges", { type: "array", itemType: "string", value: tk.merges });
  u32("tokenizer.ggml.bos_token_id", config.bos_token_id);
  u32("tokenizer.ggml.eos_token_id", config.eos_token_id);
  const pad = config.pad_token_id ?? tokenizer.tokenId("<|pad|>");
  if (pad !== undefined) u32("tokenizer.ggml.padding_token_id", pad);
  md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: false });
  md.set("tokenizer.ggml.add_eos_token", { type: "bool", value: false });
  return md;
}

/** GGUF tensors (llama.cpp names, Q/K rows permuted) from HF-named weights. */
export function buildGgufTensors(config: ModelConfig, weights: Map<string, Tensor32>, dtype: "f32" | "f16"): GgufTensor[] {
  const out: GgufTensor[] = [];
  const H = config.num_attention_heads;
  const Hkv = config.num_key_value_heads;
  for (const [hf, t] of weights) {
    const name = ggufTensorName(hf);
    if (!name) throw new GgufError(`gguf: no llama.cpp name for weight ${hf}`);
    if (hf === "lm_head.weight" && config.tie_word_embeddings) continue;
    let data = t.data;
    if (hf.endsWith("self_attn.q_proj.weight")) data = permuteRotaryRows(data, H, t.shape[0]!, t.shape[1]!);
    else if (hf.endsWith("self_attn.k_proj.weight")) data = permuteRotaryRows(data, Hkv, t.shape[0]!, t.shape[1]!);
    // llama.cpp keeps 1-D tensors (norms) in F32 whatever the file type
    if (dtype === "f16" && t.shape.length > 1) out.push({ name, shape: t.shape, type: GgmlType.F16, data: toF16(data) });
    else out.push({ name, shape: t.shape, type: GgmlType.F32, data });
  }
  return out;
}

/** Exports a checkpoint directory (saveCheckpoint layout) to a GGUF file llama.cpp can run. */
export function exportGguf(checkpointDir: string, outFile: string, opts: ExportOptions = {}): { tensors: number; bytes: number } {
  const dtype = opts.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f16") throw new GgufError(`gguf: dtype must be f32 or f16, got ${String(dtype)}`);
  const ck = loadCheckpoint(checkpointDir, { optimizer: false });
  const name = opts.name ?? path.basename(path.resolve(checkpointDir));
  const md = buildGgufMetadata(ck.config, ck.tokenizer, { dtype, name });
  const tensors = buildGgufTensors(ck.config, ck.weights, dtype);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeGguf(outFile, md, tensors);
  return { tensors: tensors.length, bytes: fs.statSync(outFile).size };
}
