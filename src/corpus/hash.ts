/**
 * Small, fast, deterministic hashes used by the corpus pipeline (n-gram keys, MinHash, LSH bands, splits).
 * Nothing here is cryptographic except `sha256Hex`, which is used for ids and manifests.
 */
import { createHash } from "node:crypto";

const textEncoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-16 code units of a string (fast; used for token ids). */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Murmur3 finaliser: a good 32-bit integer mixer. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Combines a running 32-bit hash with another 32-bit value (order-sensitive). */
export function combine32(h: number, v: number): number {
  return mix32((Math.imul(h ^ 0x9e3779b9, 31) + v) >>> 0);
}

/**
 * Hashes a sequence of 32-bit values into a 52-bit integer (exactly representable as a JS number), from two
 * independent 32-bit lanes. Collisions are negligible for the index sizes used here (< 10^8 keys).
 */
export function hashSeq52(vals: ArrayLike<number>, start = 0, end = vals.length): number {
  let a = 0x2545f491;
  let b = 0x6a09e667;
  for (let i = start; i < end; i++) {
    const v = vals[i]!;
    a = combine32(a, v);
    b = combine32(b, v ^ 0x5bd1e995);
  }
  a = combine32(a, end - start);
  return (a >>> 0) * 0x100000 + (b >>> 12);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256")
    .update(typeof data === "string" ? textEncoder.encode(data) : data)
    .digest("hex");
}

/** Uniform float in [0, 1) from a string key and a seed (deterministic across runs and machines). */
export function unitHash(key: string, seed: string): number {
  const d = createHash("sha256").update(seed).update("\u0000").update(key).digest();
  // 48 bits of the digest → [0, 1)
  return (d.readUIntBE(0, 6) as number) / 2 ** 48;
}

const B1 = 0x01000193;
const B2 = 0x5bd1e995 | 1;

function powImul(b: number, e: number): number {
  let r = 1;
  for (let i = 0; i < e; i++) r = Math.imul(r, b);
  return r;
}

/**
 * Hashes of every window of `n` consecutive values (a rolling polynomial hash in two 32-bit lanes with
 * different bases, finalised to 52 bits). Returns an empty array when there are fewer than n values.
 * Index and query must both use this function.
 */
export function ngramHashes(ids: ArrayLike<number>, n: number): Float64Array {
  const m = ids.length - n + 1;
  if (m <= 0 || n <= 0) return new Float64Array(0);
  const out = new Float64Array(m);
  const p1 = powImul(B1, n - 1);
  const p2 = powImul(B2, n - 1);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const v = ids[i]!;
    a = (Math.imul(a, B1) + v) | 0;
    b = (Math.imul(b, B2) + (v ^ 0x9e3779b9)) | 0;
  }
  for (let i = 0; ; i++) {
    out[i] = (mix32(a ^ n) >>> 0) * 0x100000 + (mix32(b + n) >>> 12);
    if (i + 1 >= m) break;
    const vo = ids[i]!;
    const vi = ids[i + n]!;
    a = (Math.imul(a - Math.imul(vo, p1), B1) + vi) | 0;
    b = (Math.imul(b - Math.imul(vo ^ 0x9e3779b9, p2), B2) + (vi ^ 0x9e3779b9)) | 0;
  }
  return out;
}
