/**
 * Safetensors reader/writer (https://github.com/huggingface/safetensors format):
 *
 *   [8 bytes: N, u64 little-endian][N bytes: UTF-8 JSON header, padded with spaces][data buffer]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the start of
 * the data buffer) and may hold "__metadata__": {string: string}. The writer pads the header so the data buffer
 * starts at a multiple of 8 bytes, stores tensors back to back in name order, and the reader validates everything
 * (sizes, offsets, no holes or overlaps, dtypes) with clear errors.
 *
 * Data types map to typed arrays; F16 and BF16 are carried as raw 16-bit patterns in Uint16Array (see the
 * conversion helpers below).
 */
import fs from "node:fs";
import os from "node:os";

export type Dtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "F64"
  | "I64"
  | "U64";

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface SafeTensor {
  dtype: Dtype;
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const DTYPE_INFO: Record<
  Dtype,
  { bytes: number; ctor: new (buf: ArrayBuffer, off: number, len: number) => TypedArray }
> = {
  BOOL: { bytes: 1, ctor: Uint8Array },
  U8: { bytes: 1, ctor: Uint8Array },
  I8: { bytes: 1, ctor: Int8Array },
  I16: { bytes: 2, ctor: Int16Array },
  U16: { bytes: 2, ctor: Uint16Array },
  F16: { bytes: 2, ctor: Uint16Array },
  BF16: { bytes: 2, ctor: Uint16Array },
  I32: { bytes: 4, ctor: Int32Array },
  U32: { bytes: 4, ctor: Uint32Array },
  F32: { bytes: 4, ctor: Float32Array },
  F64: { bytes: 8, ctor: Float64Array },
  I64: { bytes: 8, ctor: BigInt64Array },
  U64: { bytes: 8, ctor: BigUint64Array },
};

const EXPECTED_ARRAY: Record<Dtype, string> = {
  BOOL: "Uint8Array",
  U8: "Uint8Array",
  I8: "Int8Array",
  I16: "Int16Array",
  U16: "Uint16Array",
  F16: "Uint16Array",
  BF16: "Uint16Array",
  I32: "Int32Array",
  U32: "Uint32Array",
  F32: "Float32Array",
  F64: "Float64Array",
  I64: "BigInt64Array",
  U64: "BigUint64Array",
};

export const SAFETENSORS_DTYPES = Object.keys(DTYPE_INFO) as Dtype[];
/** Largest header we accept (the reference implementation uses the same limit). */
const MAX_HEADER = 100_000_000;

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw new SafetensorsError("safetensors: big-endian hosts are not supported");
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Serializes tensors to an in-memory safetensors image (header + data). */
function buildHeader(
  tensors: Map<string, SafeTensor>,
  metadata: Record<string, string> | undefined,
): { header: Buffer; names: string[]; total: number } {
  const names = [...tensors.keys()].sort();
  const hdr: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new SafetensorsError(`safetensors: metadata value for '${k}' must be a string`);
    }
    hdr.__metadata__ = metadata;
  }
  let off = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new SafetensorsError("safetensors: '__metadata__' is not a valid tensor name");
    const t = tensors.get(name)!;
    const info = DTYPE_INFO[t.dtype];
    if (!info) throw new SafetensorsError(`safetensors: tensor '${name}' has unsupported dtype ${String(t.dtype)}`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new SafetensorsError(`safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(t.shape)}`);
    }
    const ctorName = t.data?.constructor?.name;
    if (ctorName !== EXPECTED_ARRAY[t.dtype]) {
      throw new SafetensorsError(
        `safetensors: tensor '${name}' (${t.dtype}) needs a ${EXPECTED_ARRAY[t.dtype]}, got ${ctorName}`,
      );
    }
    const n = numel(t.shape);
    if (t.data.length !== n) {
      throw new SafetensorsError(
        `safetensors: tensor '${name}' has ${t.data.length} elements but shape ${JSON.stringify(t.shape)} needs ${n}`,
      );
    }
    const bytes = n * info.bytes;
    hdr[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(hdr);
  const raw = Buffer.byteLength(json);
  const padded = Math.ceil((8 + raw) / 8) * 8 - 8;
  json += " ".repeat(padded - raw);
  const header = Buffer.alloc(8 + padded);
  header.writeBigUInt64LE(BigInt(padded), 0);
  header.write(json, 8, "utf8");
  return { header, names, total: off };
}

export interface WriteOptions {
  /** fsync the file before closing (default false; checkpoint.ts syncs itself). */
  fsync?: boolean;
}

/** Writes a safetensors file. Tensors are stored in name order; metadata values must be strings. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, SafeTensor>,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): void {
  assertLittleEndian();
  const { header, names } = buildHeader(tensors, metadata);
  const fd = fs.openSync(file, "w");
  try {
    writeAll(fd, header);
    for (const name of names) {
      const d = tensors.get(name)!.data;
      writeAll(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
    if (opts.fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  const CHUNK = 1 << 26;
  for (let off = 0; off < bytes.length; ) {
    const n = fs.writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
    off += n;
  }
}

/** Serializes to a Buffer (for tests and in-memory use). */
export function serializeSafetensors(tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): Buffer {
  assertLittleEndian();
  const { header, names, total } = buildHeader(tensors, metadata);
  const out = Buffer.alloc(header.length + total);
  header.copy(out, 0);
  let off = header.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
    off += d.byteLength;
  }
  return out;
}

interface HeaderEntry {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(
  buf: Uint8Array,
  fileSize: number,
  where: string,
): { entries: Map<string, HeaderEntry>; metadata: Record<string, string>; dataStart: number } {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`safetensors: ${where}: ${msg}`);
  };
  if (fileSize < 8) fail(`file is too small (${fileSize} bytes) to hold a header`);
  const n64 = Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is larger than the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > fileSize)
    fail(`header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  if (buf.length < 8 + n) fail("internal: header not fully read");
  const text = Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString("utf8");
  if (!text.startsWith("{")) fail("header does not start with '{'");
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) fail("header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(obj as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!v || typeof v !== "object" || Array.isArray(v)) fail("__metadata__ must be an object");
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== "string") fail(`__metadata__.${k} must be a string`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    if (!v || typeof v !== "object") fail(`entry '${name}' is not an object`);
    const e = v as Record<string, unknown>;
    const dtype = e.dtype as Dtype;
    if (typeof dtype !== "string" || !(dtype in DTYPE_INFO))
      fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)
    ) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`tensor '${name}' has data_offsets with end < begin`);
    const want = numel(shape as number[]) * DTYPE_INFO[dtype].bytes;
    if (end - begin !== want)
      fail(`tensor '${name}' spans ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${want}`);
    if (end > dataLen) fail(`tensor '${name}' ends at byte ${end} of a ${dataLen}-byte data buffer: file truncated?`);
    entries.set(name, { dtype, shape: shape as number[], begin, end });
  }
  // the data buffer must be covered exactly, without holes or overlaps
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== pos)
      fail(
        e.begin < pos
          ? `tensor '${name}' overlaps the previous tensor`
          : `hole in the data buffer before tensor '${name}'`,
      );
    pos = e.end;
  }
  if (pos !== dataLen) fail(`data buffer has ${dataLen - pos} trailing bytes not covered by any tensor`);
  return { entries, metadata, dataStart };
}

function materialize(ab: ArrayBuffer, byteOffset: number, e: HeaderEntry): TypedArray {
  const info = DTYPE_INFO[e.dtype];
  const n = (e.end - e.begin) / info.bytes;
  const off = byteOffset + e.begin;
  if (off % info.bytes === 0) return new info.ctor(ab, off, n);
  // unaligned (foreign writers): copy
  const copy = new ArrayBuffer(e.end - e.begin);
  new Uint8Array(copy).set(new Uint8Array(ab, off, e.end - e.begin));
  return new info.ctor(copy, 0, n);
}

/** Parses a safetensors image held in memory. Tensor arrays may share the buffer. */
export function parseSafetensors(bytes: Uint8Array, where = "<buffer>"): SafetensorsFile {
  assertLittleEndian();
  const { entries, metadata, dataStart } = parseHeader(bytes, bytes.length, where);
  const tensors = new Map<string, SafeTensor>();
  // make sure we have a private, aligned ArrayBuffer
  let ab: ArrayBuffer;
  let base: number;
  if (bytes.byteOffset % 8 === 0 && bytes.buffer instanceof ArrayBuffer) {
    ab = bytes.buffer;
    base = bytes.byteOffset + dataStart;
  } else {
    ab = new ArrayBuffer(bytes.length);
    new Uint8Array(ab).set(bytes);
    base = dataStart;
  }
  for (const [name, e] of entries)
    tensors.set(name, { dtype: e.dtype, shape: e.shape.slice(), data: materialize(ab, base, e) });
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export function readSafetensors(file: string): SafetensorsFile {
  assertLittleEndian();
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new SafetensorsError(`safetensors: cannot read ${file}: ${(e as Error).message}`);
  }
  const ab = new ArrayBuffer(size);
  const view = new Uint8Array(ab);
  const fd = fs.openSync(file, "r");
  try {
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, view, off, Math.min(1 << 26, size - off), off);
      if (n === 0) throw new SafetensorsError(`safetensors: ${file}: file shrank while reading`);
      off += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return parseSafetensors(view, file);
}

/** Reads only the header (names, dtypes, shapes, metadata) without loading the data. */
export function readSafetensorsHeader(file: string): {
  tensors: Map<string, { dtype: Dtype; shape: number[] }>;
  metadata: Record<string, string>;
} {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, "r");
  try {
    const lenBuf = Buffer.alloc(8);
    if (size >= 8) fs.readSync(fd, lenBuf, 0, 8, 0);
    const n = size >= 8 ? Number(lenBuf.readBigUInt64LE(0)) : 0;
    const len = Math.min(size, 8 + Math.min(n, MAX_HEADER + 1));
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, 0);
    const { entries, metadata } = parseHeader(buf, size, file);
    const tensors = new Map<string, { dtype: Dtype; shape: number[] }>();
    for (const [k, e] of entries) tensors.set(k, { dtype: e.dtype, shape: e.shape });
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// half-precision conversions
// ---------------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even; overflow -> inf, NaN kept. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** IEEE half bits -> number. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** float32 -> bfloat16 bits (round to nearest even). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff;
  const r = b + 0x7fff + ((b >>> 16) & 1);
  return (r >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

export function toF16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32ToF16Bits(data[i]!);
  return out;
}

export function toBf16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32ToBf16Bits(data[i]!);
  return out;
}

/** Any floating tensor (F32/F16/BF16/F64) as a Float32Array (F32 data is returned as is). */
export function tensorToF32(t: SafeTensor): Float32Array {
  switch (t.dtype) {
    case "F32":
      return t.data as Float32Array;
    case "F64":
      return Float32Array.from(t.data as Float64Array);
    case "F16": {
      const d = t.data as Uint16Array;
      const out = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = f16BitsToF32(d[i]!);
      return out;
    }
    case "BF16": {
      const d = t.data as Uint16Array;
      const out = new Float32Array(d.length);
      const o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < d.length; i++) o32[i] = d[i]! << 16;
      return out;
    }
    default:
      throw new SafetensorsError(`safetensors: expected a floating-point tensor, got ${t.dtype}`);
  }
}
