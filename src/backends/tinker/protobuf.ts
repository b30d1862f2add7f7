/**
 * The protobuf messages of Tinker's public wire format (package `tinker_public`, proto3), as the Python SDK
 * `tinker` 0.38.0 sends and reads them: forward_backward requests go out as `application/x-protobuf`, and
 * futures of type ForwardBackwardOutput / SampleResponse come back as protobuf when the client sends
 * `Accept: application/x-protobuf`. Field numbers and types were read from the SDK's generated descriptor
 * (facts only); the encoder/decoder below is a minimal proto3 wire-format implementation of our own.
 *
 * Packed numeric payloads are little-endian byte strings, as in the SDK: token ids int32, log-probs float32,
 * a Tensor is {dense bytes | sparse_csr, dtype, shape}, a BatchedTensor concatenates per-datum bytes with int64
 * byte offsets.
 */

// ------------------------------------------------------------------------------------------------ enums

export const DType = { UNSPECIFIED: 0, FLOAT32: 1, INT64: 2, INT32: 3, BFLOAT16: 4 } as const;
export const StopReasonPb = { STOP: 0, LENGTH: 1 } as const;

// ------------------------------------------------------------------------------------------------ wire format

const WT_VARINT = 0,
  WT_I64 = 1,
  WT_LEN = 2,
  WT_I32 = 5;

class Writer {
  private chunks: Uint8Array[] = [];
  private len = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.len += b.length;
  }
  private varint(v: bigint): void {
    const out: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }
  private tag(field: number, wt: number): void {
    this.varint(BigInt((field << 3) | wt));
  }
  uint(field: number, v: number | bigint, always = false): this {
    if (!always && (v === 0 || v === 0n)) return this;
    this.tag(field, WT_VARINT);
    this.varint(typeof v === "bigint" ? v : BigInt(Math.trunc(v)));
    return this;
  }
  bool(field: number, v: boolean): this {
    return v ? this.uint(field, 1) : this;
  }
  double(field: number, v: number, always = false): this {
    if (!always && v === 0 && !Object.is(v, -0)) return this;
    this.tag(field, WT_I64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
    return this;
  }
  float(field: number, v: number, always = false): this {
    if (!always && v === 0) return this;
    this.tag(field, WT_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array, always = false): this {
    if (!always && b.length === 0) return this;
    this.tag(field, WT_LEN);
    this.varint(BigInt(b.length));
    this.push(b);
    return this;
  }
  string(field: number, s: string, always = false): this {
    return this.bytes(field, new TextEncoder().encode(s), always);
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish(), true);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

interface Field {
  no: number;
  wt: number;
  /** varint value (as bigint), or the raw bytes of a LEN / I32 / I64 field. */
  int: bigint;
  data: Uint8Array;
}

export class ProtobufError extends Error {}

function readFields(buf: Uint8Array, what: string): Field[] {
  const out: Field[] = [];
  let p = 0;
  const varint = (): bigint => {
    let x = 0n,
      shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new ProtobufError(`${what}: truncated varint`);
      const b = buf[p++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError(`${what}: varint too long`);
    }
  };
  const take = (n: number): Uint8Array => {
    if (p + n > buf.length)
      throw new ProtobufError(`${what}: truncated field (needs ${n} bytes, ${buf.length - p} left)`);
    const d = buf.subarray(p, p + n);
    p += n;
    return d;
  };
  while (p < buf.length) {
    const key = varint();
    const no = Number(key >> 3n),
      wt = Number(key & 7n);
    if (no === 0) throw new ProtobufError(`${what}: field number 0`);
    switch (wt) {
      case WT_VARINT:
        out.push({ no, wt, int: varint(), data: new Uint8Array() });
        break;
      case WT_I64:
        out.push({ no, wt, int: 0n, data: take(8) });
        break;
      case WT_LEN: {
        const n = Number(varint());
        out.push({ no, wt, int: 0n, data: take(n) });
        break;
      }
      case WT_I32:
        out.push({ no, wt, int: 0n, data: take(4) });
        break;
      default:
        throw new ProtobufError(`${what}: unsupported wire type ${wt} (field ${no})`);
    }
  }
  return out;
}

function expectWt(f: Field, wt: number, what: string): void {
  if (f.wt !== wt) throw new ProtobufError(`${what}: field ${f.no} has wire type ${f.wt}, expected ${wt}`);
}
const utf8 = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b);
const f64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

// ------------------------------------------------------------------------------------------------ packed arrays

function copyBytes(b: Uint8Array): ArrayBuffer {
  const ab = new ArrayBuffer(b.length);
  new Uint8Array(ab).set(b);
  return ab;
}
export function packInt32(xs: readonly number[]): Uint8Array {
  const a = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) a[i] = xs[i]!;
  return new Uint8Array(a.buffer);
}
export function packFloat32(xs: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}
export function packInt64(xs: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(xs.map((x) => BigInt(x))).buffer);
}
function unpack(b: Uint8Array, width: number, what: string): ArrayBuffer {
  if (b.length % width !== 0) throw new ProtobufError(`${what}: ${b.length} bytes is not a multiple of ${width}`);
  return copyBytes(b);
}
export const unpackInt32 = (b: Uint8Array, what = "int32 array") => Array.from(new Int32Array(unpack(b, 4, what)));
export const unpackFloat32 = (b: Uint8Array, what = "float32 array") =>
  Array.from(new Float32Array(unpack(b, 4, what)));
export const unpackInt64 = (b: Uint8Array, what = "int64 array") =>
  Array.from(new BigInt64Array(unpack(b, 8, what)), (x) => Number(x));
function unpackBf16(b: Uint8Array, what: string): number[] {
  const u = new Uint16Array(unpack(b, 2, what));
  const f = new Float32Array(1),
    v = new Uint32Array(f.buffer);
  return Array.from(u, (x) => {
    v[0] = x << 16;
    return f[0]!;
  });
}

// ------------------------------------------------------------------------------------------------ Tensor

/** A dense or sparse-CSR tensor as the SDK's TensorData carries it (values widened to JS numbers). */
export interface PbTensor {
  dtype: "float32" | "int64";
  shape: number[];
  data: number[];
  sparseCrow?: number[];
  sparseCol?: number[];
}

function decodeValues(b: Uint8Array, dtype: number, what: string): { dtype: PbTensor["dtype"]; data: number[] } {
  switch (dtype) {
    case DType.FLOAT32:
      return { dtype: "float32", data: unpackFloat32(b, what) };
    case DType.BFLOAT16:
      return { dtype: "float32", data: unpackBf16(b, what) };
    case DType.INT64:
      return { dtype: "int64", data: unpackInt64(b, what) };
    case DType.INT32:
      return { dtype: "int64", data: unpackInt32(b, what) };
    default:
      throw new ProtobufError(
        `${what}: unsupported dtype enum ${dtype} (supported: FLOAT32=1, INT64=2, INT32=3, BFLOAT16=4)`,
      );
  }
}

export function encodeTensor(t: PbTensor): Writer {
  const w = new Writer();
  const vals = t.dtype === "float32" ? packFloat32(t.data) : packInt64(t.data);
  if (t.sparseCrow) {
    const csr = new Writer()
      .bytes(1, vals, true)
      .bytes(2, packInt64(t.sparseCrow), true)
      .bytes(3, packInt64(t.sparseCol ?? []), true);
    w.message(2, csr);
  } else {
    w.bytes(1, vals, true);
  }
  w.uint(3, t.dtype === "float32" ? DType.FLOAT32 : DType.INT64);
  // a plain 1-D tensor goes without a shape, as the SDK sends a TensorData made from a list
  const oneD = !t.sparseCrow && t.shape.length === 1 && t.shape[0] === t.data.length;
  if (!oneD) for (const s of t.shape) w.uint(4, s, true);
  return w;
}

export function decodeTensor(buf: Uint8Array, what: string): PbTensor {
  let dense: Uint8Array | null = null,
    csr: Uint8Array | null = null,
    dtype = 0;
  const shape: number[] = [];
  for (const f of readFields(buf, what)) {
    if (f.no === 1) expectWt(f, WT_LEN, what), (dense = f.data);
    else if (f.no === 2) expectWt(f, WT_LEN, what), (csr = f.data);
    else if (f.no === 3) expectWt(f, WT_VARINT, what), (dtype = Number(f.int));
    else if (f.no === 4) {
      if (f.wt === WT_VARINT) shape.push(Number(BigInt.asIntN(64, f.int)));
      else if (f.wt === WT_LEN) shape.push(...readPackedVarints(f.data, what));
      else throw new ProtobufError(`${what}: shape has wire type ${f.wt}`);
    }
  }
  if (csr) {
    let values: Uint8Array = new Uint8Array(),
      crow: Uint8Array = new Uint8Array(),
      col: Uint8Array = new Uint8Array();
    for (const f of readFields(csr, `${what}.sparse_csr`)) {
      if (f.no === 1) values = f.data;
      else if (f.no === 2) crow = f.data;
      else if (f.no === 3) col = f.data;
    }
    const v = decodeValues(values, dtype, `${what}.sparse_csr.values`);
    return {
      ...v,
      shape,
      sparseCrow: unpackInt64(crow, `${what}.crow_indices`),
      sparseCol: unpackInt64(col, `${what}.col_indices`),
    };
  }
  const v = decodeValues(dense ?? new Uint8Array(), dtype, `${what}.dense`);
  return { ...v, shape: shape.length ? shape : [v.data.length] };
}

function readPackedVarints(b: Uint8Array, what: string): number[] {
  const out: number[] = [];
  let p = 0;
  while (p < b.length) {
    let x = 0n,
      shift = 0n;
    for (;;) {
      if (p >= b.length) throw new ProtobufError(`${what}: truncated packed varint`);
      const c = b[p++]!;
      x |= BigInt(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
      shift += 7n;
    }
    out.push(Number(BigInt.asIntN(64, x)));
  }
  return out;
}

/** Densifies a tensor (CSR entries not listed take `pad`). */
export function tensorValues(t: PbTensor, pad = 0): number[] {
  if (!t.sparseCrow) return t.data;
  const [rows, cols] = [t.shape[0] ?? 0, t.shape[1] ?? 0];
  const out = new Array<number>(rows * cols).fill(pad);
  for (let r = 0; r < rows; r++) {
    for (let k = t.sparseCrow[r]!; k < t.sparseCrow[r + 1]!; k++) out[r * cols + t.sparseCol![k]!] = t.data[k]!;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ ForwardBackwardRequest

export interface PbDatum {
  /** model_input as encoded-text chunks (token ids); image / audio chunks are refused. */
  chunks: number[][];
  lossFnInputs: Record<string, PbTensor>;
}

export interface PbForwardBackwardRequest {
  modelId: string;
  seqId: number;
  data: PbDatum[];
  lossFn: string;
  /** loss_fn_config (float map) merged with loss_fn_config_v2 (number | text), v2 winning, as servers do. */
  lossFnConfig: Record<string, number | string>;
  forwardOnly: boolean;
}

export function encodeForwardBackwardRequest(r: PbForwardBackwardRequest): Uint8Array {
  const w = new Writer().string(1, r.modelId).uint(2, r.seqId);
  for (const d of r.data) {
    const dw = new Writer();
    for (const c of d.chunks) dw.message(1, new Writer().message(1, new Writer().bytes(1, packInt32(c))));
    for (const [k, t] of Object.entries(d.lossFnInputs))
      dw.message(2, new Writer().string(1, k, true).message(2, encodeTensor(t)));
    w.message(3, dw);
  }
  w.string(4, r.lossFn);
  // Dual-written as the SDK does: numbers into the legacy float map AND v2; text only into v2. Fields in number order.
  const cfg = Object.entries(r.lossFnConfig);
  for (const [k, v] of cfg) if (typeof v === "number") w.message(5, new Writer().string(1, k, true).double(2, v, true));
  w.bool(6, r.forwardOnly);
  for (const [k, v] of cfg) {
    const val = typeof v === "number" ? new Writer().double(1, v, true) : new Writer().string(2, v, true);
    w.message(7, new Writer().string(1, k, true).message(2, val));
  }
  return w.finish();
}

function decodeChunk(buf: Uint8Array, what: string): number[] {
  for (const f of readFields(buf, what)) {
    if (f.no === 1) {
      let tokens: Uint8Array = new Uint8Array();
      for (const g of readFields(f.data, `${what}.encoded_text`)) if (g.no === 1) tokens = g.data;
      return unpackInt32(tokens, `${what}.encoded_text.tokens`);
    }
    if (f.no === 2 || f.no === 3)
      throw new ProtobufError(
        `${what}: ${f.no === 2 ? "image" : "dmel (audio)"} chunks are not supported (text models only)`,
      );
  }
  throw new ProtobufError(`${what}: empty chunk`);
}

export function decodeForwardBackwardRequest(buf: Uint8Array): PbForwardBackwardRequest {
  const what = "ForwardBackwardRequest";
  const r: PbForwardBackwardRequest = {
    modelId: "",
    seqId: 0,
    data: [],
    lossFn: "",
    lossFnConfig: {},
    forwardOnly: false,
  };
  const v2: Record<string, number | string> = {};
  for (const f of readFields(buf, what)) {
    switch (f.no) {
      case 1:
        r.modelId = utf8(f.data);
        break;
      case 2:
        r.seqId = Number(BigInt.asIntN(32, f.int));
        break;
      case 3: {
        const i = r.data.length;
        const d: PbDatum = { chunks: [], lossFnInputs: {} };
        for (const g of readFields(f.data, `${what}.data[${i}]`)) {
          if (g.no === 1) d.chunks.push(decodeChunk(g.data, `${what}.data[${i}].model_input[${d.chunks.length}]`));
          else if (g.no === 2) {
            let key = "",
              val: Uint8Array | null = null;
            for (const h of readFields(g.data, `${what}.data[${i}].loss_fn_inputs`)) {
              if (h.no === 1) key = utf8(h.data);
              else if (h.no === 2) val = h.data;
            }
            d.lossFnInputs[key] = decodeTensor(val ?? new Uint8Array(), `${what}.data[${i}].loss_fn_inputs.${key}`);
          }
        }
        r.data.push(d);
        break;
      }
      case 4:
        r.lossFn = utf8(f.data);
        break;
      case 5: {
        let key = "",
          val = 0;
        for (const h of readFields(f.data, `${what}.loss_fn_config`)) {
          if (h.no === 1) key = utf8(h.data);
          else if (h.no === 2) expectWt(h, WT_I64, `${what}.loss_fn_config`), (val = f64(h.data));
        }
        r.lossFnConfig[key] = val;
        break;
      }
      case 6:
        r.forwardOnly = f.int !== 0n;
        break;
      case 7: {
        let key = "",
          val: number | string = 0;
        for (const h of readFields(f.data, `${what}.loss_fn_config_v2`)) {
          if (h.no === 1) key = utf8(h.data);
          else if (h.no === 2) {
            for (const q of readFields(h.data, `${what}.loss_fn_config_v2.${key}`)) {
              if (q.no === 1) val = f64(q.data);
              else if (q.no === 2) val = utf8(q.data);
            }
          }
        }
        v2[key] = val;
        break;
      }
      default:
      // unknown fields are skipped, as proto3 requires
    }
  }
  Object.assign(r.lossFnConfig, v2);
  return r;
}

// ------------------------------------------------------------------------------------------------ ForwardBackwardOutput

export interface PbForwardBackwardOutput {
  lossFnOutputType: string;
  /** Per datum: field name -> values (float32) with the per-datum shape. */
  lossFnOutputs: Record<string, { dtype: PbTensor["dtype"]; data: number[] }>[];
  metrics: Record<string, number>;
}

/** Encodes all datums' outputs as ONE ArrayRecord with a BatchedTensor per field (as the service does). */
export function encodeForwardBackwardOutput(o: PbForwardBackwardOutput): Uint8Array {
  const w = new Writer().string(1, o.lossFnOutputType);
  const rec = new Writer().string(1, o.lossFnOutputType).uint(3, o.lossFnOutputs.length);
  const names = o.lossFnOutputs.length ? Object.keys(o.lossFnOutputs[0]!) : [];
  for (const name of names) {
    const dtype = o.lossFnOutputs[0]![name]!.dtype;
    const parts = o.lossFnOutputs.map((d, i) => {
      const t = d[name];
      if (!t) throw new Error(`ForwardBackwardOutput: datum ${i} lacks output field '${name}'`);
      return dtype === "float32" ? packFloat32(t.data) : packInt64(t.data);
    });
    const offsets = [0];
    for (const p of parts) offsets.push(offsets[offsets.length - 1]! + p.length);
    const data = new Uint8Array(offsets[offsets.length - 1]!);
    parts.forEach((p, i) => data.set(p, offsets[i]!));
    const bt = new Writer()
      .bytes(1, data)
      .bytes(2, packInt64(offsets))
      .uint(3, dtype === "float32" ? DType.FLOAT32 : DType.INT64);
    rec.message(2, new Writer().string(1, name, true).message(2, bt));
  }
  w.message(2, rec);
  for (const [k, v] of Object.entries(o.metrics)) w.message(3, new Writer().string(1, k, true).double(2, v, true));
  return w.finish();
}

export function decodeForwardBackwardOutput(buf: Uint8Array): PbForwardBackwardOutput {
  const what = "ForwardBackwardOutput";
  const out: PbForwardBackwardOutput = { lossFnOutputType: "", lossFnOutputs: [], metrics: {} };
  for (const f of readFields(buf, what)) {
    if (f.no === 1) out.lossFnOutputType = utf8(f.data).split(":").pop()!;
    else if (f.no === 3) {
      let key = "",
        val = 0;
      for (const h of readFields(f.data, `${what}.metrics`)) {
        if (h.no === 1) key = utf8(h.data);
        else if (h.no === 2) val = f64(h.data);
      }
      out.metrics[key] = val;
    } else if (f.no === 2) {
      let numDatums = 0;
      const fields: [string, { dtype: number; data: Uint8Array; offsets: number[] }][] = [];
      for (const g of readFields(f.data, `${what}.loss_fn_outputs`)) {
        if (g.no === 3) numDatums = Number(g.int);
        else if (g.no === 2) {
          let name = "",
            bt: Uint8Array = new Uint8Array();
          for (const h of readFields(g.data, `${what}.loss_fn_outputs.fields`)) {
            if (h.no === 1) name = utf8(h.data);
            else if (h.no === 2) bt = h.data;
          }
          let data: Uint8Array = new Uint8Array(),
            offsets: Uint8Array = new Uint8Array(),
            dtype = 0;
          for (const q of readFields(bt, `${what}.loss_fn_outputs.${name}`)) {
            if (q.no === 1) data = q.data;
            else if (q.no === 2) offsets = q.data;
            else if (q.no === 3) dtype = Number(q.int);
          }
          fields.push([name, { dtype, data, offsets: unpackInt64(offsets, `${what}.${name}.offsets`) }]);
        }
      }
      if (numDatums === 0 && fields.length) numDatums = fields[0]![1].offsets.length - 1;
      const base = out.lossFnOutputs.length;
      for (let i = 0; i < numDatums; i++) out.lossFnOutputs.push({});
      for (const [name, bt] of fields) {
        for (let i = 0; i < numDatums; i++) {
          const slice = bt.data.subarray(bt.offsets[i]!, bt.offsets[i + 1]!);
          out.lossFnOutputs[base + i]![name] = decodeValues(slice, bt.dtype, `${what}.${name}[${i}]`);
        }
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ SampleResponse

export interface PbSampledSequence {
  stopReason: "stop" | "length";
  tokens: number[];
  logprobs: number[] | null;
}
export interface PbSampleResponse {
  sequences: PbSampledSequence[];
  /** One per prompt token; the first is NaN (no context), as the service sends it. */
  promptLogprobs: number[] | null;
  promptCacheHitTokens: number;
}

export function encodeSampleResponse(r: PbSampleResponse): Uint8Array {
  const w = new Writer();
  for (const s of r.sequences) {
    const sw = new Writer()
      .uint(1, s.stopReason === "length" ? StopReasonPb.LENGTH : StopReasonPb.STOP)
      .bytes(2, packInt32(s.tokens));
    if (s.logprobs) sw.bytes(3, packFloat32(s.logprobs), true);
    w.message(1, sw);
  }
  if (r.promptLogprobs) w.bytes(2, packFloat32(r.promptLogprobs), true);
  w.uint(4, r.promptCacheHitTokens);
  return w.finish();
}

export function decodeSampleResponse(buf: Uint8Array): PbSampleResponse {
  const what = "SampleResponse";
  const out: PbSampleResponse = { sequences: [], promptLogprobs: null, promptCacheHitTokens: 0 };
  for (const f of readFields(buf, what)) {
    if (f.no === 1) {
      const s: PbSampledSequence = { stopReason: "stop", tokens: [], logprobs: null };
      for (const g of readFields(f.data, `${what}.sequences`)) {
        if (g.no === 1) {
          const v = Number(g.int);
          if (v !== StopReasonPb.STOP && v !== StopReasonPb.LENGTH)
            throw new ProtobufError(`${what}: unknown stop_reason enum ${v}`);
          s.stopReason = v === StopReasonPb.LENGTH ? "length" : "stop";
        } else if (g.no === 2) s.tokens = unpackInt32(g.data, `${what}.tokens`);
        else if (g.no === 3) s.logprobs = unpackFloat32(g.data, `${what}.logprobs`);
      }
      out.sequences.push(s);
    } else if (f.no === 2) out.promptLogprobs = unpackFloat32(f.data, `${what}.prompt_logprobs`);
    else if (f.no === 4) out.promptCacheHitTokens = Number(f.int);
  }
  return out;
}

export { f32 as readFloat32 };
