import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  writeSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
  parseSafetensors,
  f32ToF16Bits,
  f16BitsToF32,
  f32ToBf16Bits,
  bf16BitsToF32,
  toF16,
  tensorToF32,
  type SafeTensor,
} from "../../src/engine/safetensors.js";

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "st-"));
}

function sample(): Map<string, SafeTensor> {
  const m = new Map<string, SafeTensor>();
  m.set("w", { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -1e30]) });
  m.set("ids", { dtype: "I64", shape: [3], data: BigInt64Array.from([1n, -2n, 9007199254740993n]) });
  m.set("half", { dtype: "F16", shape: [2], data: Uint16Array.from([f32ToF16Bits(1.5), f32ToF16Bits(-0.25)]) });
  m.set("b", { dtype: "U8", shape: [5], data: Uint8Array.from([1, 2, 3, 4, 5]) });
  m.set("scalar", { dtype: "F64", shape: [], data: Float64Array.from([Math.PI]) });
  m.set("empty", { dtype: "I32", shape: [0, 4], data: new Int32Array(0) });
  return m;
}

test("write/read round-trip keeps dtypes, shapes, data and metadata", () => {
  const dir = tmpdir();
  try {
    const f = path.join(dir, "a.safetensors");
    writeSafetensors(f, sample(), { format: "pt", note: "hi" });
    const r = readSafetensors(f);
    assert.deepEqual(r.metadata, { format: "pt", note: "hi" });
    for (const [k, t] of sample()) {
      const u = r.tensors.get(k)!;
      assert.equal(u.dtype, t.dtype, k);
      assert.deepEqual(u.shape, t.shape, k);
      assert.deepEqual([...u.data], [...t.data], k);
      assert.equal(u.data.constructor, t.data.constructor, k);
    }
    const h = readSafetensorsHeader(f);
    assert.deepEqual(h.tensors.get("w"), { dtype: "F32", shape: [2, 3] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("file layout follows the spec: u64 LE header size, space padding to 8, contiguous offsets", () => {
  const buf = serializeSafetensors(sample(), { format: "pt" });
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = buf.subarray(8, 8 + n).toString("utf8");
  assert.match(header, /^\{/);
  assert.match(header, /\}\s*$/);
  assert.equal(header.trimEnd().length + (header.length - header.trimEnd().length), n);
  assert.ok(/^ *$/.test(header.slice(header.lastIndexOf("}") + 1)));
  const obj = JSON.parse(header) as Record<string, { data_offsets: [number, number] }>;
  const offs = Object.entries(obj)
    .filter(([k]) => k !== "__metadata__")
    .map(([, v]) => v.data_offsets)
    .sort((a, b) => a[0] - b[0]);
  let pos = 0;
  for (const [b, e] of offs) {
    assert.equal(b, pos);
    pos = e;
  }
  assert.equal(8 + n + pos, buf.length);
});

test("reads files whose header length is not a multiple of 8 (unaligned data)", () => {
  // hand-built file, as another writer might produce it
  const data = Float32Array.from([1, 2, 3]);
  const hdr = JSON.stringify({ x: { dtype: "F32", shape: [3], data_offsets: [0, 12] } });
  assert.notEqual(hdr.length % 4, 0);
  const buf = Buffer.alloc(8 + hdr.length + 12);
  buf.writeBigUInt64LE(BigInt(hdr.length), 0);
  buf.write(hdr, 8);
  Buffer.from(data.buffer).copy(buf, 8 + hdr.length);
  const r = parseSafetensors(buf);
  assert.deepEqual([...r.tensors.get("x")!.data], [1, 2, 3]);
});

test("validation: clear errors for damaged or inconsistent files", () => {
  const good = serializeSafetensors(sample());
  const n = Number(good.readBigUInt64LE(0));
  assert.throws(() => parseSafetensors(good.subarray(0, 5)), /too small/);
  assert.throws(() => parseSafetensors(good.subarray(0, good.length - 4)), /trailing|truncated|ends at/);
  assert.throws(() => parseSafetensors(good.subarray(0, 8 + n - 3)), /runs past the end/);
  const big = Buffer.from(good);
  big.writeBigUInt64LE(1n << 40n, 0);
  assert.throws(() => parseSafetensors(big), /limit/);
  const notJson = Buffer.from(good);
  notJson.write("{x", 8);
  assert.throws(() => parseSafetensors(notJson), /not valid JSON/);
  const mk = (h: object, dataLen: number): Buffer => {
    const s = JSON.stringify(h);
    const b = Buffer.alloc(8 + s.length + dataLen);
    b.writeBigUInt64LE(BigInt(s.length), 0);
    b.write(s, 8);
    return b;
  };
  assert.throws(
    () => parseSafetensors(mk({ a: { dtype: "F99", shape: [1], data_offsets: [0, 4] } }, 4)),
    /unsupported dtype/,
  );
  assert.throws(() => parseSafetensors(mk({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4)), /needs 8/);
  assert.throws(
    () => parseSafetensors(mk({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4)),
    /invalid shape/,
  );
  assert.throws(
    () =>
      parseSafetensors(
        mk(
          {
            a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
            b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
          },
          12,
        ),
      ),
    /hole/,
  );
  assert.throws(
    () =>
      parseSafetensors(
        mk(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
          },
          8,
        ),
      ),
    /overlaps/,
  );
  assert.throws(() => parseSafetensors(mk({ __metadata__: { a: 1 } }, 0)), /must be a string/);
  assert.throws(() => readSafetensors("/nonexistent/x.safetensors"), /cannot read/);
  // writer-side validation
  const bad = new Map<string, SafeTensor>([["x", { dtype: "F32", shape: [3], data: new Float32Array(2) }]]);
  assert.throws(() => serializeSafetensors(bad), /has 2 elements/);
  const wrongType = new Map<string, SafeTensor>([["x", { dtype: "F32", shape: [2], data: new Float64Array(2) }]]);
  assert.throws(() => serializeSafetensors(wrongType), /needs a Float32Array/);
});

test("half-precision conversions: exact cases, rounding, specials", () => {
  for (const x of [0, 1, -1, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1.5, 3.140625]) {
    assert.equal(f16BitsToF32(f32ToF16Bits(x)), x, String(x));
  }
  assert.equal(f32ToF16Bits(1e6), 0x7c00);
  assert.equal(f32ToF16Bits(-1e6), 0xfc00);
  assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
  assert.equal(f32ToF16Bits(2 ** -26), 0);
  // 1 + 2^-11 is exactly between 1 and the next half (1 + 2^-10): ties to even -> 1
  assert.equal(f16BitsToF32(f32ToF16Bits(1 + 2 ** -11)), 1);
  assert.equal(f16BitsToF32(f32ToF16Bits(1 + 3 * 2 ** -11)), 1 + 2 * 2 ** -10);
  // relative error of random values stays within half an ulp (2^-11)
  let seed = 1;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 1000; i++) {
    const x = (rnd() - 0.5) * 100;
    const y = f16BitsToF32(f32ToF16Bits(x));
    assert.ok(Math.abs(y - x) <= Math.abs(x) * 2 ** -11 + 2 ** -25, `${x} -> ${y}`);
    const z = bf16BitsToF32(f32ToBf16Bits(x));
    assert.ok(Math.abs(z - x) <= Math.abs(x) * 2 ** -8, `${x} -> bf16 ${z}`);
  }
  const t = tensorToF32({ dtype: "F16", shape: [2], data: toF16(Float32Array.from([0.5, -2])) });
  assert.deepEqual([...t], [0.5, -2]);
});
