/**
 * GGUF v3 writer and reader, the model exporter for llama.cpp (architectures llama — also used for Mistral —,
 * qwen2 and qwen3), and the GGUF -> engine model loader (F32, F16, BF16, Q8_0, Q4_K and Q6_K tensors, dequantised
 * to f32) with the file's own tokenizer metadata.
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
 * The exporter maps HF names to llama.cpp names. For the `llama` architecture it permutes the rows of q_proj /
 * k_proj (and their biases): HF checkpoints rotate pairs (i, i + head_dim/2) ("rotate_half"), llama.cpp's LLaMA
 * graph rotates adjacent pairs (2i, 2i+1), so within every head row a*(head_dim/2) + j moves to row 2j + a (K uses
 * the number of KV heads); the loader applies the inverse. qwen2/qwen3 use rotate_half in llama.cpp too ("NEOX"),
 * so their rows are kept. Llama-3 rotary scaling travels as the `rope_freqs.weight` tensor (per-frequency divisors).
 */
import fs from "node:fs";
import path from "node:path";
import { loadCheckpoint, type Tensor32 } from "./checkpoint.js";
import { UserError } from "../core/errors.js";
import { headDim, type ModelConfig, ModelConfigSchema, parameterShapes, ropeInvFreq } from "./config.js";
import { getKernels } from "./kernels.js";
import { toBf16, toF16 } from "./safetensors.js";
import { BpeTokenizer } from "./tokenizer.js";
import { ggufTokenizerMetadata } from "./gguf-tokenizer.js";
import { type WeightTensor, weightF32 } from "./tensor.js";

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

/** ggml tensor types this module writes/reads (codes from ggml.h). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
}

/** Elements per block and bytes per block of each type. */
const GGML_BLOCK: Record<GgmlType, { n: number; bytes: number }> = {
  [GgmlType.F32]: { n: 1, bytes: 4 },
  [GgmlType.F16]: { n: 1, bytes: 2 },
  [GgmlType.BF16]: { n: 1, bytes: 2 },
  [GgmlType.Q8_0]: { n: 32, bytes: 34 },
  [GgmlType.Q4_K]: { n: 256, bytes: 144 },
  [GgmlType.Q6_K]: { n: 256, bytes: 210 },
};
export const GGML_TYPE_NAMES: Record<GgmlType, string> = {
  [GgmlType.F32]: "F32",
  [GgmlType.F16]: "F16",
  [GgmlType.BF16]: "BF16",
  [GgmlType.Q8_0]: "Q8_0",
  [GgmlType.Q4_K]: "Q4_K",
  [GgmlType.Q6_K]: "Q6_K",
};

export interface GgufTensor {
  name: string;
  /** Row-major shape (outermost first), e.g. [out, in] for a linear weight. */
  shape: number[];
  type: GgmlType;
  /** F32: Float32Array; F16/BF16: Uint16Array of 16-bit patterns; quantized types: the raw blocks. */
  data: Float32Array | Uint16Array | Uint8Array;
}

/** Bytes a tensor of `n` elements takes in `type` (n must be a multiple of the block size). */
export function ggmlTensorBytes(type: GgmlType, n: number, name = "tensor"): number {
  const b = GGML_BLOCK[type];
  if (!b) throw new GgufError(`gguf: ${name} has unsupported ggml type ${type}`);
  if (n % b.n !== 0)
    throw new GgufError(
      `gguf: ${name} has ${n} elements, not a multiple of the ${GGML_TYPE_NAMES[type]} block (${b.n})`,
    );
  return (n / b.n) * b.bytes;
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

export interface WriteGgufOptions {
  alignment?: number;
}

/**
 * Writes a GGUF v3 file. `metadata` is written in insertion order; `general.alignment` is added when a non-default
 * alignment is requested.
 */
export function writeGguf(
  file: string,
  metadata: Map<string, GgufValue>,
  tensors: GgufTensor[],
  opts: WriteGgufOptions = {},
): void {
  const align = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(align) || align <= 0 || align % 8 !== 0)
    throw new GgufError(`gguf: alignment must be a positive multiple of 8, got ${align}`);
  const md = new Map(metadata);
  if (align !== GGUF_DEFAULT_ALIGNMENT) md.set("general.alignment", { type: "uint32", value: align });
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufError(`gguf: duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) >= 64)
      throw new GgufError(`gguf: tensor name too long (ggml limit 63 bytes): ${t.name}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const quant = t.type === GgmlType.Q8_0 || t.type === GgmlType.Q4_K || t.type === GgmlType.Q6_K;
    const len = quant ? ggmlTensorBytes(t.type, n, t.name) : n;
    if (t.data.length !== len)
      throw new GgufError(
        `gguf: tensor ${t.name} has ${t.data.length} values, ${GGML_TYPE_NAMES[t.type]} [${t.shape}] needs ${len}`,
      );
    if (t.type === GgmlType.F32 && !(t.data instanceof Float32Array))
      throw new GgufError(`gguf: F32 tensor ${t.name} needs a Float32Array`);
    if ((t.type === GgmlType.F16 || t.type === GgmlType.BF16) && !(t.data instanceof Uint16Array)) {
      throw new GgufError(`gguf: ${GGML_TYPE_NAMES[t.type]} tensor ${t.name} needs a Uint16Array`);
    }
    if (quant && !(t.data instanceof Uint8Array))
      throw new GgufError(`gguf: ${GGML_TYPE_NAMES[t.type]} tensor ${t.name} needs a Uint8Array of blocks`);
    if (t.shape.length < 1 || t.shape.length > 4)
      throw new GgufError(`gguf: tensor ${t.name} must have 1..4 dimensions`);
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
    off += Math.ceil(t.data.byteLength / align) * align;
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

/**
 * Reads a GGUF v2/v3 file. Tensor data stays raw (F32: Float32Array, F16/BF16: Uint16Array, quantized: Uint8Array
 * blocks; see dequantize). A tensor type outside GgmlType is a UserError naming the supported types.
 */
export function readGguf(file: string): GgufFile {
  // read straight into one ArrayBuffer (tensor views share it; no second copy of a multi-GB file)
  const size = fs.statSync(file).size;
  const ab = new ArrayBuffer(size);
  const fd = fs.openSync(file, "r");
  try {
    for (let off = 0; off < size; ) {
      const n = fs.readSync(
        fd,
        new Uint8Array(ab, off, Math.min(1 << 26, size - off)),
        0,
        Math.min(1 << 26, size - off),
        off,
      );
      if (n === 0) throw new GgufError(`gguf: ${file}: file shrank while reading`);
      off += n;
    }
  } finally {
    fs.closeSync(fd);
  }
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
        return (need(1), (p += 1), dv.getUint8(p - 1));
      case "int8":
        return (need(1), (p += 1), dv.getInt8(p - 1));
      case "uint16":
        return (need(2), (p += 2), dv.getUint16(p - 2, true));
      case "int16":
        return (need(2), (p += 2), dv.getInt16(p - 2, true));
      case "uint32":
        return u32();
      case "int32":
        return (need(4), (p += 4), dv.getInt32(p - 4, true));
      case "float32":
        return (need(4), (p += 4), dv.getFloat32(p - 4, true));
      case "float64":
        return (need(8), (p += 8), dv.getFloat64(p - 8, true));
      case "bool":
        return (need(1), (p += 1), dv.getUint8(p - 1) !== 0);
      case "string":
        return str();
      case "uint64":
        return (need(8), (p += 8), dv.getBigUint64(p - 8, true));
      case "int64":
        return (need(8), (p += 8), dv.getBigInt64(p - 8, true));
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
    if (!(t.type in GGML_BLOCK)) {
      throw new UserError(
        `gguf: ${file}: tensor ${t.name} has ggml type ${t.type}, which this reader cannot dequantise ` +
          `(supported: ${Object.values(GGML_TYPE_NAMES).join(", ")}); re-quantise the file to one of those`,
      );
    }
    if (t.offset % alignment !== 0) fail(`tensor ${t.name} offset ${t.offset} is not aligned to ${alignment}`);
    const n = t.ne.reduce((a, b) => a * b, 1);
    const type = t.type as GgmlType;
    const bytes = ggmlTensorBytes(type, n, t.name);
    const at = dataStart + t.offset;
    if (at + bytes > ab.byteLength) fail(`tensor ${t.name} runs past the end of the file`);
    const data =
      type === GgmlType.F32
        ? new Float32Array(ab, at, n)
        : type === GgmlType.F16 || type === GgmlType.BF16
          ? new Uint16Array(ab, at, n)
          : new Uint8Array(ab, at, bytes);
    tensors.set(t.name, {
      name: t.name,
      ne: t.ne,
      shape: [...t.ne].reverse(),
      type: t.type as GgmlType,
      data,
      offset: t.offset,
    });
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
  if (rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0)
    throw new GgufError(`gguf: cannot permute ${rows} rows into ${nHeads} heads`);
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

/** Inverse of permuteRotaryRows (llama.cpp adjacent pairs -> HF rotate_half). */
export function unpermuteRotaryRows(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  if (rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0)
    throw new GgufError(`gguf: cannot permute ${rows} rows into ${nHeads} heads`);
  const hd = rows / nHeads;
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let a = 0; a < 2; a++) {
      for (let j = 0; j < half; j++) {
        const dst = (h * hd + a * half + j) * cols;
        const src = (h * hd + 2 * j + a) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// quantized blocks (layouts of ggml-common.h; dequantisation is the kernels' `dequantize`)
// ---------------------------------------------------------------------------------------------

/** Q8_0 (block of 32: f16 scale d, 32 x int8 q; x = d * q), scale = max|x| / 127 rounded to f16. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = ggmlTensorBytes(GgmlType.Q8_0, x.length) / 34;
  const out = new Uint8Array(nb * 34);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const d = amax / 127;
    const bits = toF16(Float32Array.of(d))[0]!;
    out[b * 34] = bits & 0xff;
    out[b * 34 + 1] = bits >> 8;
    const id = d ? 1 / d : 0;
    for (let i = 0; i < 32; i++) {
      const v = x[b * 32 + i]! * id;
      out[b * 34 + 2 + i] = (Math.sign(v) * Math.round(Math.abs(v))) & 0xff;
    }
  }
  return out;
}

/**
 * Any readable GGUF tensor as f32 (a copy), through the engine kernels' `dequantize` (native, bit-identical to
 * ggml's dequantize_row_*, with a TypeScript fallback): the one place quantized/half tensors become f32.
 */
export function dequantize(t: GgufTensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  getKernels().dequantize(t.type, bytes, out, n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// exporter
// ---------------------------------------------------------------------------------------------

const LAYER_NAMES: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.o_proj.bias": "attn_output.bias",
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};
const LAYER_NAMES_BACK = new Map(Object.entries(LAYER_NAMES).map(([hf, g]) => [g, hf]));

/** HF parameter name -> llama.cpp tensor name (undefined for names llama.cpp has no use for). */
export function ggufTensorName(hf: string): string | undefined {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return undefined;
  const t = LAYER_NAMES[m[2]!];
  return t ? `blk.${m[1]}.${t}` : undefined;
}

/** llama.cpp tensor name -> HF parameter name (undefined for tensors the engine does not load). */
export function hfTensorName(gguf: string): string | undefined {
  if (gguf === "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf === "output_norm.weight") return "model.norm.weight";
  if (gguf === "output.weight") return "lm_head.weight";
  const m = /^blk\.(\d+)\.(.+)$/.exec(gguf);
  if (!m) return undefined;
  const t = LAYER_NAMES_BACK.get(m[2]!);
  return t ? `model.layers.${m[1]}.${t}` : undefined;
}

/** llama.cpp architecture name of a model type (Mistral runs as llama). */
export function ggufArchitecture(c: Pick<ModelConfig, "model_type">): "llama" | "qwen2" | "qwen3" {
  return c.model_type === "qwen2" ? "qwen2" : c.model_type === "qwen3" ? "qwen3" : "llama";
}
export const GGUF_ARCHITECTURES = ["llama", "qwen2", "qwen3"] as const;

export type GgufDtype = "f32" | "f16" | "bf16" | "q8_0";
export const GGUF_DTYPES: readonly GgufDtype[] = ["f32", "f16", "bf16", "q8_0"];
/** general.file_type (llama_ftype) of each export dtype. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };

export interface ExportOptions {
  dtype?: GgufDtype;
  /** general.name (default: the checkpoint directory name). */
  name?: string;
}

/** Tokenizer content of a GGUF file (tokenizer.ggml.*), as written and as read. */
export interface GgufTokenizerData {
  /** tokenizer.ggml.model, e.g. "gpt2" (byte-level BPE) or "llama" (SentencePiece). */
  model: string;
  /** tokenizer.ggml.pre: llama.cpp's pre-tokenizer name (e.g. "gpt-2", "qwen2", "llama-bpe"). */
  pre?: string;
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  /** tokenizer.ggml.scores: SentencePiece scores ("llama": llama.cpp merges the highest-scoring pair first). */
  scores?: number[];
  /** tokenizer.ggml.add_space_prefix ("llama"; llama.cpp's default true). */
  addSpacePrefix?: boolean;
  bosId?: number;
  eosId?: number;
  padId?: number;
  /** tokenizer.ggml.unknown_token_id. */
  unkId?: number;
  addBos?: boolean;
  addEos?: boolean;
  chatTemplate?: string;
}

/** GGUF tokenizer data of the engine's own BPE tokenizer. */
export function bpeTokenizerData(tokenizer: BpeTokenizer, config: ModelConfig): GgufTokenizerData {
  const meta = ggufTokenizerMetadata(tokenizer);
  const pad = config.pad_token_id ?? tokenizer.tokenId("<|pad|>");
  if (meta.model === "llama") {
    // SentencePiece ("llama"): scores instead of merges; BOS/EOS as the tokenizer's template adds them
    const data: GgufTokenizerData = {
      model: "llama",
      tokens: meta.tokens,
      tokenTypes: meta.types,
      merges: [],
      scores: meta.scores!,
      addSpacePrefix: meta.addSpacePrefix!,
      bosId: config.bos_token_id,
      eosId: config.eos_token_id,
      addBos: meta.addBos,
      addEos: meta.addEos,
    };
    if (meta.unkId !== undefined && meta.unkId >= 0) data.unkId = meta.unkId;
    if (pad !== undefined) data.padId = pad;
    return data;
  }
  const data: GgufTokenizerData = {
    model: "gpt2",
    pre: meta.pre!,
    tokens: meta.tokens,
    tokenTypes: meta.types,
    merges: meta.merges,
    bosId: config.bos_token_id,
    eosId: config.eos_token_id,
    addBos: false,
    addEos: false,
  };
  if (pad !== undefined) data.padId = pad;
  return data;
}

/** Metadata for llama.cpp: architecture hyper-parameters and the tokenizer. */
export function buildGgufMetadata(
  config: ModelConfig,
  tokenizer: BpeTokenizer | GgufTokenizerData,
  opts: { dtype: GgufDtype; name: string },
): Map<string, GgufValue> {
  const md = new Map<string, GgufValue>();
  const u32 = (k: string, v: number): void => void md.set(k, { type: "uint32", value: v });
  const f32 = (k: string, v: number): void => void md.set(k, { type: "float32", value: v });
  const str = (k: string, v: string): void => void md.set(k, { type: "string", value: v });
  const arch = ggufArchitecture(config);
  const hd = headDim(config);
  str("general.architecture", arch);
  str("general.name", opts.name);
  u32("general.file_type", FILE_TYPE[opts.dtype]);
  u32(`${arch}.context_length`, config.max_position_embeddings);
  u32(`${arch}.embedding_length`, config.hidden_size);
  u32(`${arch}.block_count`, config.num_hidden_layers);
  u32(`${arch}.feed_forward_length`, config.intermediate_size);
  u32(`${arch}.attention.head_count`, config.num_attention_heads);
  u32(`${arch}.attention.head_count_kv`, config.num_key_value_heads);
  u32(`${arch}.attention.key_length`, hd);
  u32(`${arch}.attention.value_length`, hd);
  f32(`${arch}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps);
  f32(`${arch}.rope.freq_base`, config.rope_theta);
  u32(`${arch}.rope.dimension_count`, hd);
  u32(`${arch}.vocab_size`, config.vocab_size);

  const tk = tokenizer instanceof BpeTokenizer ? bpeTokenizerData(tokenizer, config) : tokenizer;
  const tokens = [...tk.tokens];
  const types = [...tk.tokenTypes];
  const scores = tk.scores ? [...tk.scores] : undefined;
  if (tokens.length > config.vocab_size) {
    throw new GgufError(
      `gguf: tokenizer has ${tokens.length} tokens but the model's vocab_size is ${config.vocab_size}`,
    );
  }
  // the embedding matrix may be padded beyond the tokenizer: name the extra rows, never used for tokenization
  for (let id = tokens.length; id < config.vocab_size; id++) {
    tokens.push(`[PAD${id}]`);
    types.push(GgufTokenType.UNUSED);
    scores?.push(0);
  }
  str("tokenizer.ggml.model", tk.model);
  if (tk.pre !== undefined) str("tokenizer.ggml.pre", tk.pre);
  md.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens });
  md.set("tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: types });
  if (tk.model !== "llama" || tk.merges.length > 0)
    md.set("tokenizer.ggml.merges", { type: "array", itemType: "string", value: tk.merges });
  if (scores) md.set("tokenizer.ggml.scores", { type: "array", itemType: "float32", value: scores });
  if (tk.addSpacePrefix !== undefined)
    md.set("tokenizer.ggml.add_space_prefix", { type: "bool", value: tk.addSpacePrefix });
  u32("tokenizer.ggml.bos_token_id", tk.bosId ?? config.bos_token_id);
  u32("tokenizer.ggml.eos_token_id", tk.eosId ?? config.eos_token_id);
  if (tk.unkId !== undefined) u32("tokenizer.ggml.unknown_token_id", tk.unkId);
  if (tk.padId !== undefined) u32("tokenizer.ggml.padding_token_id", tk.padId);
  md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: tk.addBos ?? false });
  md.set("tokenizer.ggml.add_eos_token", { type: "bool", value: tk.addEos ?? false });
  if (tk.chatTemplate !== undefined) str("tokenizer.chat_template", tk.chatTemplate);
  return md;
}

/** Llama-3 rotary scaling as llama.cpp's rope_freqs tensor: per frequency, base inv_freq / scaled inv_freq. */
export function ropeFreqFactors(config: ModelConfig): Float32Array | undefined {
  if (!config.rope_scaling) return undefined;
  const scaled = ropeInvFreq(config);
  const base = ropeInvFreq({ ...config, rope_scaling: undefined });
  return Float32Array.from(base, (b, j) => b / scaled[j]!);
}

/** GGUF tensors (llama.cpp names; Q/K rows permuted for the llama architecture) from HF-named weights. */
export function buildGgufTensors(config: ModelConfig, weights: Map<string, Tensor32>, dtype: GgufDtype): GgufTensor[] {
  const out: GgufTensor[] = [];
  const H = config.num_attention_heads;
  const Hkv = config.num_key_value_heads;
  const permute = ggufArchitecture(config) === "llama";
  for (const [hf, t] of weights) {
    const name = ggufTensorName(hf);
    if (!name) throw new GgufError(`gguf: no llama.cpp name for weight ${hf}`);
    if (hf === "lm_head.weight" && config.tie_word_embeddings) continue;
    let data = t.data;
    const rows = t.shape[0]!,
      cols = t.shape.length > 1 ? t.shape[1]! : 1;
    if (permute && /self_attn\.q_proj\.(weight|bias)$/.test(hf)) data = permuteRotaryRows(data, H, rows, cols);
    else if (permute && /self_attn\.k_proj\.(weight|bias)$/.test(hf)) data = permuteRotaryRows(data, Hkv, rows, cols);
    // llama.cpp keeps 1-D tensors (norms, biases) in F32 whatever the file type
    if (t.shape.length === 1 || dtype === "f32") out.push({ name, shape: t.shape, type: GgmlType.F32, data });
    else if (dtype === "f16") out.push({ name, shape: t.shape, type: GgmlType.F16, data: toF16(data) });
    else if (dtype === "bf16") out.push({ name, shape: t.shape, type: GgmlType.BF16, data: toBf16(data) });
    else out.push({ name, shape: t.shape, type: GgmlType.Q8_0, data: quantizeQ8_0(data) });
  }
  const freqs = ropeFreqFactors(config);
  if (freqs) out.push({ name: "rope_freqs.weight", shape: [freqs.length], type: GgmlType.F32, data: freqs });
  return out;
}

/** Writes a model (config + HF-named f32 weights + tokenizer) as a GGUF file llama.cpp can run. */
export function exportModelGguf(
  outFile: string,
  config: ModelConfig,
  weights: Map<string, WeightTensor>,
  tokenizer: BpeTokenizer | GgufTokenizerData,
  opts: ExportOptions = {},
): { tensors: number; bytes: number } {
  const dtype = opts.dtype ?? "f32";
  if (!GGUF_DTYPES.includes(dtype))
    throw new GgufError(`gguf: dtype must be one of ${GGUF_DTYPES.join(", ")}, got ${String(dtype)}`);
  const md = buildGgufMetadata(config, tokenizer, { dtype, name: opts.name ?? "model" });
  // 16-bit base matrices are widened (exact) and converted to the export dtype like f32 ones
  const w32 = new Map<string, Tensor32>();
  for (const [k, t] of weights) w32.set(k, { shape: t.shape, data: weightF32(t) });
  const tensors = buildGgufTensors(config, w32, dtype);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeGguf(outFile, md, tensors);
  return { tensors: tensors.length, bytes: fs.statSync(outFile).size };
}

/** Exports a checkpoint directory (saveCheckpoint layout) to a GGUF file llama.cpp can run. */
export function exportGguf(
  checkpointDir: string,
  outFile: string,
  opts: ExportOptions = {},
): { tensors: number; bytes: number } {
  const dtype = opts.dtype ?? "f32";
  if (!GGUF_DTYPES.includes(dtype))
    throw new GgufError(`gguf: dtype must be one of ${GGUF_DTYPES.join(", ")}, got ${String(dtype)}`);
  const ck = loadCheckpoint(checkpointDir, { optimizer: false });
  const name = opts.name ?? path.basename(path.resolve(checkpointDir));
  return exportModelGguf(outFile, ck.config, ck.weights, ck.tokenizer, { dtype, name });
}

// ---------------------------------------------------------------------------------------------
// loader: GGUF -> engine model
// ---------------------------------------------------------------------------------------------

/** A model read from a GGUF file: engine config, HF-named f32 weights, and the file's tokenizer. */
export interface GgufModel {
  config: ModelConfig;
  weights: Map<string, Tensor32>;
  tokenizer: GgufTokenizerData;
  /** ggml type name of each source tensor (e.g. "Q8_0"). */
  sourceTypes: Map<string, string>;
}

function mdValue(md: Map<string, GgufValue>, key: string): GgufScalar | GgufScalar[] | undefined {
  return md.get(key)?.value;
}

/** Tokenizer metadata (tokenizer.ggml.*) of a GGUF file. */
export function ggufTokenizerData(md: Map<string, GgufValue>, where = "gguf"): GgufTokenizerData {
  const tokens = mdValue(md, "tokenizer.ggml.tokens");
  if (!Array.isArray(tokens))
    throw new UserError(`${where}: no tokenizer.ggml.tokens array (the file carries no tokenizer)`);
  const types = mdValue(md, "tokenizer.ggml.token_type");
  const merges = mdValue(md, "tokenizer.ggml.merges");
  const id = (k: string): number | undefined => {
    const v = mdValue(md, k);
    return typeof v === "number" || typeof v === "bigint" ? Number(v) : undefined;
  };
  const bool = (k: string): boolean | undefined => {
    const v = mdValue(md, k);
    return typeof v === "boolean" ? v : undefined;
  };
  const out: GgufTokenizerData = {
    model: String(mdValue(md, "tokenizer.ggml.model") ?? "gpt2"),
    tokens: tokens.map(String),
    tokenTypes: Array.isArray(types) ? types.map(Number) : tokens.map(() => GgufTokenType.NORMAL),
    merges: Array.isArray(merges) ? merges.map(String) : [],
  };
  const pre = mdValue(md, "tokenizer.ggml.pre");
  if (typeof pre === "string") out.pre = pre;
  const scores = mdValue(md, "tokenizer.ggml.scores");
  if (Array.isArray(scores)) out.scores = scores.map(Number);
  const asp = bool("tokenizer.ggml.add_space_prefix");
  if (asp !== undefined) out.addSpacePrefix = asp;
  const [bos, eos, pad, unk] = [
    id("tokenizer.ggml.bos_token_id"),
    id("tokenizer.ggml.eos_token_id"),
    id("tokenizer.ggml.padding_token_id"),
    id("tokenizer.ggml.unknown_token_id"),
  ];
  if (bos !== undefined) out.bosId = bos;
  if (eos !== undefined) out.eosId = eos;
  if (pad !== undefined) out.padId = pad;
  if (unk !== undefined) out.unkId = unk;
  const ab = bool("tokenizer.ggml.add_bos_token"),
    ae = bool("tokenizer.ggml.add_eos_token");
  if (ab !== undefined) out.addBos = ab;
  if (ae !== undefined) out.addEos = ae;
  const ct = mdValue(md, "tokenizer.chat_template");
  if (typeof ct === "string") out.chatTemplate = ct;
  return out;
}

/**
 * Recovers Llama-3 rope_scaling from a rope_freqs tensor. llama.cpp stores only the per-frequency divisors f_j:
 * 1 above the high-frequency cut, `factor` below the low-frequency cut, and in between 1/f = (1-s)/factor + s
 * with s linear in 1/wavelength. With low_freq_factor fixed to 1, two interpolated frequencies determine
 * high_freq_factor and the original context; one fixes the context with high_freq_factor 4; none gives the
 * Llama-3 defaults (4, 8192). The result must reproduce every divisor, or the file is rejected.
 */
function llama3ScalingFromFreqs(
  freqs: Float32Array,
  base: Omit<ModelConfig, "rope_scaling">,
  where: string,
): ModelConfig["rope_scaling"] {
  let factor = 1;
  for (const f of freqs) factor = Math.max(factor, f);
  const inv = ropeInvFreq({ ...base, rope_scaling: undefined });
  const pts: Array<{ x: number; s: number }> = [];
  for (let j = 0; j < freqs.length; j++) {
    const f = freqs[j]!;
    if (f > 1 + 1e-6 && f < factor * (1 - 1e-6))
      pts.push({ x: inv[j]! / (2 * Math.PI), s: (1 / f - 1 / factor) / (1 - 1 / factor) });
  }
  let hff = 4,
    orig = 8192;
  if (pts.length >= 2) {
    const [p, q] = [pts[0]!, pts[pts.length - 1]!];
    const a = (q.s - p.s) / (q.x - p.x),
      b = p.s - a * p.x; // s = a/wave + b = a*x + b
    hff = 1 - 1 / b;
    orig = a * (hff - 1);
  } else if (pts.length === 1) orig = (1 + (hff - 1) * pts[0]!.s) / pts[0]!.x;
  const scaling = {
    rope_type: "llama3" as const,
    factor,
    low_freq_factor: 1,
    high_freq_factor: Number(hff.toPrecision(6)),
    original_max_position_embeddings: Math.round(orig),
  };
  const again =
    Number.isFinite(orig) && orig > 0 ? ropeFreqFactors({ ...base, rope_scaling: scaling } as ModelConfig) : undefined;
  for (let j = 0; j < freqs.length; j++) {
    if (!again || Math.abs(again[j]! - freqs[j]!) > 1e-4 * freqs[j]!) {
      throw new UserError(
        `${where}: rope_freqs.weight does not follow Llama-3 rotary scaling; other frequency factors are not supported`,
      );
    }
  }
  return scaling;
}

/** Builds the engine model (config + f32 weights) from a parsed GGUF file. */
export function ggufToModel(g: GgufFile, where = "gguf"): GgufModel {
  const md = g.metadata;
  const arch = mdValue(md, "general.architecture");
  if (typeof arch !== "string" || !(GGUF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new UserError(
      `${where}: unsupported GGUF architecture ${JSON.stringify(arch)}; supported: ${GGUF_ARCHITECTURES.join(", ")}`,
    );
  }
  const num = (k: string, required = true): number | undefined => {
    const v = mdValue(md, `${arch}.${k}`);
    if (typeof v === "number" || typeof v === "bigint") return Number(v);
    if (Array.isArray(v)) throw new UserError(`${where}: ${arch}.${k} varies per layer, which is not supported`);
    if (required) throw new UserError(`${where}: missing metadata ${arch}.${k}`);
    return undefined;
  };
  const scalingType = mdValue(md, `${arch}.rope.scaling.type`);
  if (scalingType !== undefined && scalingType !== "none") {
    throw new UserError(
      `${where}: ${arch}.rope.scaling.type ${JSON.stringify(scalingType)} is not supported (only none, or Llama-3 rope_freqs)`,
    );
  }
  const tokenizer = ggufTokenizerData(md, where);
  const embd = g.tensors.get("token_embd.weight");
  if (!embd) throw new UserError(`${where}: no token_embd.weight tensor`);
  const d = num("embedding_length")!,
    H = num("attention.head_count")!;
  const hd = num("attention.key_length", false) ?? d / H;
  const ropeDim = num("rope.dimension_count", false) ?? hd;
  if (ropeDim !== hd)
    throw new UserError(`${where}: partial rotary (rope.dimension_count ${ropeDim} < head dim ${hd}) is not supported`);
  const valueLen = num("attention.value_length", false) ?? hd;
  if (valueLen !== hd)
    throw new UserError(`${where}: attention.value_length ${valueLen} differs from key_length ${hd}; not supported`);
  const modelType = arch === "llama" ? "llama" : arch;
  const archName = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" }[
    arch as "llama" | "qwen2" | "qwen3"
  ];
  const hasBias = g.tensors.has("blk.0.attn_q.bias");
  const base = {
    architectures: [archName],
    model_type: modelType,
    vocab_size: embd.shape[0]!,
    hidden_size: d,
    intermediate_size: num("feed_forward_length")!,
    num_hidden_layers: num("block_count")!,
    num_attention_heads: H,
    num_key_value_heads: num("attention.head_count_kv", false) ?? H,
    ...(hd !== d / H ? { head_dim: hd } : {}),
    max_position_embeddings: num("context_length")!,
    // float32 in the file: back to the shortest decimal that rounds to it (1e-5, not 9.99999974e-6)
    rms_norm_eps: Number(num("attention.layer_norm_rms_epsilon")!.toPrecision(7)),
    rope_theta: Number((num("rope.freq_base", false) ?? 10000).toPrecision(7)),
    tie_word_embeddings: !g.tensors.has("output.weight"),
    bos_token_id: tokenizer.bosId ?? 0,
    eos_token_id: tokenizer.eosId ?? 0,
    ...(tokenizer.padId !== undefined ? { pad_token_id: tokenizer.padId } : {}),
    attention_bias: modelType !== "qwen2" && hasBias,
    torch_dtype: "float32",
  };
  const parsed0 = ModelConfigSchema.safeParse(base);
  if (!parsed0.success)
    throw new UserError(
      `${where}: metadata does not describe a valid model: ${parsed0.error.issues.map((i) => i.message).join("; ")}`,
    );
  let config = parsed0.data;
  const freqs = g.tensors.get("rope_freqs.weight");
  if (freqs)
    config = ModelConfigSchema.parse({
      ...config,
      rope_scaling: llama3ScalingFromFreqs(dequantize(freqs), config, where),
    });
  if (modelType === "llama" && hasBias && !g.tensors.has("blk.0.attn_output.bias")) {
    throw new UserError(`${where}: llama file with q/k/v biases but no attn_output.bias is not supported`);
  }
  const expected = parameterShapes(config);
  const weights = new Map<string, Tensor32>();
  const sourceTypes = new Map<string, string>();
  const problems: string[] = [];
  const permute = arch === "llama";
  for (const [gname, t] of g.tensors) {
    if (gname === "rope_freqs.weight") continue;
    const hf = hfTensorName(gname);
    const shape = hf ? expected.get(hf) : undefined;
    if (!hf || !shape) {
      problems.push(`unexpected tensor ${gname}`);
      continue;
    }
    if (t.shape.join(",") !== shape.join(",")) {
      problems.push(`${gname} has shape [${t.shape}], expected [${shape}]`);
      continue;
    }
    let data = dequantize(t);
    const rows = shape[0]!,
      cols = shape.length > 1 ? shape[1]! : 1;
    if (permute && /self_attn\.q_proj\./.test(hf))
      data = unpermuteRotaryRows(data, config.num_attention_heads, rows, cols);
    else if (permute && /self_attn\.k_proj\./.test(hf))
      data = unpermuteRotaryRows(data, config.num_key_value_heads, rows, cols);
    weights.set(hf, { shape: [...shape], data });
    sourceTypes.set(hf, GGML_TYPE_NAMES[t.type]);
  }
  for (const name of expected.keys())
    if (!weights.has(name)) problems.push(`missing tensor ${ggufTensorName(name) ?? name}`);
  if (problems.length) {
    const more = problems.length > 6 ? ` (and ${problems.length - 6} more)` : "";
    throw new UserError(
      `${where}: tensors do not match the ${arch} metadata: ${problems.slice(0, 6).join("; ")}${more}`,
    );
  }
  return { config, weights, tokenizer, sourceTypes };
}

/** Reads a GGUF file into an engine model (see ggufToModel). */
export function loadGgufModel(file: string): GgufModel {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such GGUF file`);
  let g: GgufFile;
  try {
    g = readGguf(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
  return ggufToModel(g, file);
}
