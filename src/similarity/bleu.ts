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

/** n-gram counts of orders 1..maxN. */
export function allNgramCounts(tokens: readonly string[], maxN = 4): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxN; n++) out.push(ngramCounts(tokens, n));
  return out;
}

/** Clipped matches and total candidate n-grams; `weight` weights unigrams (CodeBLEU's keyword weighting). */
export function clippedMatches(
  ref: Map<string, number>,
  cand: Map<string, number>,
  weight?: (gram: string) => number,
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
export function combineBleu(stats: Array<{ match: number; total: number }>, refLen: number, candLen: number): { score: number; components: BleuComponents } {
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
  return { score: Math.min(1, Math.max(0, score)), components: { precisions, brevityPenalty: bp, candidateLength: candLen, referenceLength: refLen } };
}

/** Smoothed sentence BLEU of candidate tokens against reference tokens. */
export function sentenceBleu(reference: readonly string[], candidate: readonly string[], maxN = 4): { score: number; components: BleuComponents } {
  return sentenceBleuCounts(allNgramCounts(reference, maxN), allNgramCounts(candidate, maxN), reference.length, candidate.length);
}

/** The same from precomputed n-gram counts (orders 1..N). */
export function sentenceBleuCounts(ref: Map<string, number>[], cand: Map<string, number>[], refLen: number, candLen: number): { score: number; components: BleuComponents } {
  return combineBleu(ref.map((r, i) => clippedMatches(r, cand[i]!)), refLen, candLen);
}
