/**
 * Deduplication state: exact duplicates by a 52-bit hash of the normalised token stream, near duplicates by
 * MinHash signatures over token shingles with banded LSH, verified by the signatures' estimated Jaccard.
 *
 * Memory is compact and proportional to the number of KEPT functions only (never to the input size):
 * 16 B for the exact set, bands × ~11 B for the LSH tables and numPerm bytes of 8-bit signature per function
 * (defaults: ~16 + 176 + 128 ≈ 320 B per kept function at full tables; up to ~2x that right after a table doubles).
 */
import { hashSeq52, mix32, ngramHashes } from "./hash.js";

/** Open-addressing set of 52-bit integer keys (stored as two u32 lanes). */
export class HashSet52 {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  size = 0;
  constructor(capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
  }
  /** Adds `key`; returns false when it was already present. */
  add(key: number): boolean {
    if ((this.size + 1) * 4 > this.used.length * 3) this.grow();
    const hi = Math.floor(key / 0x100000000) >>> 0;
    const lo = key >>> 0;
    const mask = this.used.length - 1;
    let i = mix32(lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.used[i]) {
      if (this.hi[i] === hi && this.lo[i] === lo) return false;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.size++;
    return true;
  }
  private grow(): void {
    const { hi, lo, used } = this;
    const cap = used.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.add(hi[i]! * 0x100000000 + lo[i]!);
  }
  get bytes(): number {
    return this.used.length * 9;
  }
}

/** Open-addressing multimap u32 key → u32 value (insert-only); one per LSH band. */
class BandTable {
  private keys: Uint32Array;
  private vals: Uint32Array;
  private used: Uint8Array;
  size = 0;
  constructor(capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.keys = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
  }
  /** Values stored under `key`, appended to `out`. */
  lookup(key: number, out: number[]): void {
    const mask = this.used.length - 1;
    let i = mix32(key) & mask;
    while (this.used[i]) {
      if (this.keys[i] === key) out.push(this.vals[i]!);
      i = (i + 1) & mask;
    }
  }
  insert(key: number, val: number): void {
    if ((this.size + 1) * 4 > this.used.length * 3) this.grow();
    const mask = this.used.length - 1;
    let i = mix32(key) & mask;
    while (this.used[i]) i = (i + 1) & mask;
    this.used[i] = 1;
    this.keys[i] = key;
    this.vals[i] = val;
    this.size++;
  }
  private grow(): void {
    const { keys, vals, used } = this;
    const cap = used.length * 2;
    this.keys = new Uint32Array(cap);
    this.vals = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.insert(keys[i]!, vals[i]!);
  }
  get bytes(): number {
    return this.used.length * 9;
  }
}

/** Token shingles (w consecutive tokens) hashed to u32; a short stream is one shingle. */
export function shingles(tokens: readonly string[], w: number, tokenIds?: Uint32Array): Uint32Array {
  const ids = tokenIds ?? tokenHashes(tokens);
  if (ids.length === 0) return new Uint32Array(0);
  if (ids.length < w) return Uint32Array.of(hashSeq52(ids) >>> 0);
  const hs = ngramHashes(ids, w);
  const set = new Set<number>();
  for (let i = 0; i < hs.length; i++) set.add(hs[i]! >>> 0);
  return Uint32Array.from(set);
}

export function tokenHashes(tokens: readonly string[]): Uint32Array {
  const out = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let h = 0x811c9dc5;
    for (let j = 0; j < t.length; j++) {
      h ^= t.charCodeAt(j);
      h = Math.imul(h, 0x01000193);
    }
    out[i] = h >>> 0;
  }
  return out;
}

/** MinHash with `numPerm` hash functions h_k(x) = mix32(x ^ seed_k). */
export class MinHasher {
  readonly seeds: Uint32Array;
  constructor(
    readonly numPerm: number,
    seed = 1,
  ) {
    this.seeds = new Uint32Array(numPerm);
    let s = seed >>> 0;
    for (let k = 0; k < numPerm; k++) {
      s = mix32(s + 0x9e3779b9);
      this.seeds[k] = s;
    }
  }
  signature(sh: Uint32Array): Uint32Array {
    const sig = new Uint32Array(this.numPerm).fill(0xffffffff);
    for (let k = 0; k < this.numPerm; k++) {
      const seed = this.seeds[k]!;
      let m = 0xffffffff;
      for (let i = 0; i < sh.length; i++) {
        const v = mix32(sh[i]! ^ seed);
        if (v < m) m = v;
      }
      sig[k] = m;
    }
    return sig;
  }
}

/** Estimated Jaccard similarity of two full MinHash signatures. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
}

/** Exact Jaccard similarity of two shingle sets (for tests and verification). */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  const sa = new Set(a);
  let inter = 0;
  const sb = new Set(b);
  for (const x of sb) if (sa.has(x)) inter++;
  const union = sa.size + sb.size - inter;
  return union === 0 ? 1 : inter / union;
}

export interface NearDupOptions {
  threshold: number;
  numPerm: number;
  bands: number;
  shingle: number;
  seed?: number;
}

/**
 * Streaming near-duplicate index: `check(tokens)` returns the index of an earlier kept function whose
 * estimated Jaccard ≥ threshold, or -1 after inserting this one as a new representative.
 */
export class NearDupIndex {
  private readonly hasher: MinHasher;
  private readonly rows: number;
  private readonly tables: BandTable[];
  /** 8-bit (b-bit minwise) signatures of kept functions, numPerm bytes each. */
  private sigs: Uint8Array;
  private count = 0;
  constructor(readonly opts: NearDupOptions) {
    if (opts.numPerm % opts.bands !== 0)
      throw new Error(`numPerm (${opts.numPerm}) must be a multiple of bands (${opts.bands})`);
    this.hasher = new MinHasher(opts.numPerm, opts.seed ?? 1);
    this.rows = opts.numPerm / opts.bands;
    this.tables = Array.from({ length: opts.bands }, () => new BandTable());
    this.sigs = new Uint8Array(opts.numPerm * 1024);
  }
  get size(): number {
    return this.count;
  }
  get bytes(): number {
    return this.sigs.length + this.tables.reduce((s, t) => s + t.bytes, 0);
  }
  /** Probability that a pair with Jaccard s becomes an LSH candidate: 1 - (1 - s^r)^b. */
  candidateProbability(s: number): number {
    return 1 - (1 - s ** this.rows) ** this.opts.bands;
  }
  check(tokens: readonly string[], tokenIds?: Uint32Array): { dupOf: number; similarity: number } {
    return this.checkSignature(this.hasher.signature(shingles(tokens, this.opts.shingle, tokenIds)));
  }

  /** As `check`, for a signature computed elsewhere (same numPerm and seed, e.g. in a worker). */
  checkSignature(sig: Uint32Array): { dupOf: number; similarity: number } {
    const P = this.opts.numPerm;
    const bandKeys = new Uint32Array(this.opts.bands);
    const cands: number[] = [];
    for (let b = 0; b < this.opts.bands; b++) {
      let h = 0x2545f491 ^ b;
      for (let r = 0; r < this.rows; r++) h = mix32((Math.imul(h, 31) + sig[b * this.rows + r]!) >>> 0);
      bandKeys[b] = h;
      this.tables[b]!.lookup(h, cands);
    }
    let best = -1;
    let bestSim = 0;
    if (cands.length) {
      const seen = new Set<number>();
      for (const c of cands) {
        if (seen.has(c)) continue;
        seen.add(c);
        let eq = 0;
        const off = c * P;
        for (let k = 0; k < P; k++) if (this.sigs[off + k] === (sig[k]! & 0xff)) eq++;
        // b-bit correction: unequal values still agree on 8 bits with probability 1/256
        const est = (eq / P - 1 / 256) / (1 - 1 / 256);
        if (est >= this.opts.threshold && est > bestSim) {
          best = c;
          bestSim = est;
        }
      }
    }
    if (best >= 0) return { dupOf: best, similarity: Math.min(1, bestSim) };
    const id = this.count++;
    if ((id + 1) * P > this.sigs.length) {
      const grown = new Uint8Array(this.sigs.length * 2);
      grown.set(this.sigs);
      this.sigs = grown;
    }
    for (let k = 0; k < P; k++) this.sigs[id * P + k] = sig[k]! & 0xff;
    for (let b = 0; b < this.opts.bands; b++) this.tables[b]!.insert(bandKeys[b]!, id);
    return { dupOf: -1, similarity: 0 };
  }
}
