/**
 * Smoothed sentence-level BLEU over code tokens (Papineni et al. 2002), 4-gram, uniform weights, brevity
 * penalty, with add-one smoothing of the n-gram precisions for n >= 2 (Lin & Och 2004, the variant the
 * CodeXGLUE "smoothed BLEU" uses), so a sentence with no matching 4-gram still gets a graded score.
 */

export interface BleuComponents {
  /** Modified n-gram precisions p1..pN (after smoothing). */
  precisions: number[];
  brevityPenalty: number;
  candidateLength: number;
  referenceLength: number;
}

const SEP = "\u0001";

/** Counts of the n-grams of one order. */
export function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  const L = tokens.length;
  for (let i = 0; i + n <= L; i++) {
    let k = tokens[i]!;
    for (let j = 1; j < n; j++) k += SEP + tokens[i + j]!;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/**
 * n-gram counts of orders 1..maxN, keyed by a 52-bit hash of the n-gram (two independent 26-bit halves):
 * much faster than string keys; a collision (odds ~n²/2^53) could only merge two n-grams' counts.
 */
export function allNgramCounts(tokens: readonly string[], maxN = 4): Map<number, number>[] {
  const L = tokens.length;
  const a = new Int32Array(L);
  const b = new Int32Array(L);
  for (let i = 0; i < L; i++) {
    const h = tokenHash(tokens[i]!);
    a[i] = h[0];
    b[i] = h[1];
  }
  const out: Map<number, number>[] = [];
  for (let n = 1; n <= maxN; n++) {
    const m = new Map<number, number>();
    for (let i = 0; i + n <= L; i++) {
      // hash the running value before combining, so the key depends on token order
      let x = a[i]!;
      let y = b[i]!;
      for (let j = 1; j < n; j++) {
        x = mix(mix(x, 0x5bd1e995), a[i + j]!);
        y = mix(mix(y, 0x1b873593), b[i + j]!);
      }
      const k = (x & 0x3ffffff) * 0x4000000 + (y & 0x3ffffff);
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

const hashCache = new Map<string, [number, number]>();
function tokenHash(t: string): [number, number] {
  let h = hashCache.get(t);
  if (h) return h;
  let x = 0x811c9dc5;
  let y = 0x01000193;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    x = Math.imul(x ^ c, 16777619);
    y = Math.imul(y + c, 0x9e3779b1) ^ (y >>> 15);
  }
  h = [mix(x, 0x27d4eb2f), mix(y, 0x165667b1)];
  if (hashCache.size >= 200_000) hashCache.clear();
  hashCache.set(t, h);
  return h;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Clipped matches and total candidate n-grams; `weight` weights unigrams (CodeBLEU's keyword weighting). */
export function clippedMatches<K>(
  ref: Map<K, number>,
  cand: Map<K, number>,
  weight?: (gram: K) => number,
): { match: number; total: number } {
  let match = 0;
  let total = 0;
  for (const [g, c] of cand) {
    const w = weight ? weight(g) : 1;
    match += Math.min(c, ref.get(g) ?? 0) * w;
    total += c * w;
  }
  return { match, total };
}

export function brevityPenalty(refLen: number, candLen: number): number {
  if (candLen === 0) return 0;
  if (candLen >= refLen) return 1;
  return Math.exp(1 - refLen / candLen);
}

/** Combines per-order (match, total) into a smoothed BLEU score. */
export function combineBleu(
  stats: Array<{ match: number; total: number }>,
  refLen: number,
  candLen: number,
): { score: number; components: BleuComponents } {
  const precisions: number[] = [];
  let logSum = 0;
  for (let i = 0; i < stats.length; i++) {
    const { match, total } = stats[i]!;
    let p: number;
    if (i === 0) p = total > 0 ? match / total : 0;
    else p = (match + 1) / (total + 1);
    precisions.push(p);
    logSum += p > 0 ? Math.log(p) : -Infinity;
  }
  const bp = brevityPenalty(refLen, candLen);
  const score = candLen === 0 || precisions[0] === 0 ? 0 : bp * Math.exp(logSum / stats.length);
  return {
    score: Math.min(1, Math.max(0, score)),
    components: { precisions, brevityPenalty: bp, candidateLength: candLen, referenceLength: refLen },
  };
}

/** Smoothed sentence BLEU of candidate tokens against reference tokens. */
export function sentenceBleu(
  reference: readonly string[],
  candidate: readonly string[],
  maxN = 4,
): { score: number; components: BleuComponents } {
  return sentenceBleuCounts(
    allNgramCounts(reference, maxN),
    allNgramCounts(candidate, maxN),
    reference.length,
    candidate.length,
  );
}

/** The same from precomputed n-gram counts (orders 1..N). */
export function sentenceBleuCounts<K>(
  ref: Map<K, number>[],
  cand: Map<K, number>[],
  refLen: number,
  candLen: number,
): { score: number; components: BleuComponents } {
  return combineBleu(
    ref.map((r, i) => clippedMatches(r, cand[i]!)),
    refLen,
    candLen,
  );
}
