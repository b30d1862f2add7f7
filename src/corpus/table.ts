/**
 * Open-addressing hash table from 52-bit integer keys (n-gram hashes) to small posting lists of unit ids.
 * Stored in typed arrays (≈ 12–24 B per key) instead of a Map of arrays, which keeps the benchmark index of
 * ~1M n-grams at a few tens of MB and makes lookups allocation-free.
 */
import { mix32 } from "./hash.js";

export class NgramTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** uid + 1 for a single posting, -(k + 1) for overflow list k, 0 for an empty slot. */
  private val: Int32Array;
  private readonly overflow: number[][] = [];
  size = 0;
  constructor(capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
  }
  private slot(hi: number, lo: number): number {
    const mask = this.val.length - 1;
    let i = mix32(lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.val[i] !== 0 && (this.hi[i] !== hi || this.lo[i] !== lo)) i = (i + 1) & mask;
    return i;
  }
  add(key: number, uid: number): void {
    if ((this.size + 1) * 2 > this.val.length) this.grow();
    const hi = Math.floor(key / 0x100000000) >>> 0;
    const lo = key >>> 0;
    const i = this.slot(hi, lo);
    const v = this.val[i]!;
    if (v === 0) {
      this.hi[i] = hi;
      this.lo[i] = lo;
      this.val[i] = uid + 1;
      this.size++;
    } else if (v > 0) {
      if (v - 1 !== uid) {
        this.overflow.push([v - 1, uid]);
        this.val[i] = -this.overflow.length;
      }
    } else {
      const list = this.overflow[-v - 1]!;
      if (list[list.length - 1] !== uid) list.push(uid);
    }
  }
  /** Posting list of `key` (shared, do not modify), or null. */
  get(key: number): readonly number[] | number | null {
    const hi = Math.floor(key / 0x100000000) >>> 0;
    const lo = key >>> 0;
    const v = this.val[this.slot(hi, lo)]!;
    if (v === 0) return null;
    return v > 0 ? v - 1 : this.overflow[-v - 1]!;
  }
  /** Plain typed-array form (structured-clone friendly) for sending the table to worker threads. */
  toData(): NgramTableData {
    const offsets = new Int32Array(this.overflow.length + 1);
    let n = 0;
    for (let i = 0; i < this.overflow.length; i++) {
      offsets[i] = n;
      n += this.overflow[i]!.length;
    }
    offsets[this.overflow.length] = n;
    const flat = new Int32Array(n);
    let k = 0;
    for (const l of this.overflow) for (const v of l) flat[k++] = v;
    return { hi: this.hi, lo: this.lo, val: this.val, offsets, flat, size: this.size };
  }

  static fromData(d: NgramTableData): NgramTable {
    const t = new NgramTable(1);
    t.hi = d.hi;
    t.lo = d.lo;
    t.val = d.val;
    t.size = d.size;
    for (let i = 0; i + 1 < d.offsets.length; i++)
      (t.overflow as number[][]).push(Array.from(d.flat.subarray(d.offsets[i]!, d.offsets[i + 1]!)));
    return t;
  }

  private grow(): void {
    const { hi, lo, val } = this;
    const cap = val.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    const mask = cap - 1;
    for (let j = 0; j < val.length; j++) {
      if (val[j] === 0) continue;
      let i = mix32(lo[j]! ^ Math.imul(hi[j]!, 0x9e3779b1)) & mask;
      while (this.val[i] !== 0) i = (i + 1) & mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      this.val[i] = val[j]!;
    }
  }
}

export interface NgramTableData {
  hi: Uint32Array;
  lo: Uint32Array;
  val: Int32Array;
  offsets: Int32Array;
  flat: Int32Array;
  size: number;
}

/** Iterates a posting (single id or list). */
export function postings(p: readonly number[] | number): readonly number[] {
  return typeof p === "number" ? [p] : p;
}
