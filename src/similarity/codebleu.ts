/**
 * CodeBLEU (Ren et al. 2020) with its four parts, sentence-level:
 *  - ngram:    smoothed BLEU over code tokens;
 *  - weighted: the same with unigrams weighted by keyword-ness (keywords 1, other tokens 0.2);
 *  - syntax:   matching of syntax subtrees;
 *  - dataflow: matching of data-flow items (variable, relation, parent variables) after variables are
 *              renamed by order of first appearance.
 *
 * Fixes relative to the reference implementation (CodeXGLUE / the `codebleu` package):
 *  1. A data-flow match of zero counts as zero. (The package substituted full credit for a zero score via
 *     `dataflow_match_score or 1`.) When the *reference* has no data flow at all and neither does the
 *     candidate, the part is undefined: it is reported as null and its weight is spread over the other
 *     parts, with a warning, instead of being counted as 0 or 1.
 *  2. The syntax part is an F1 score (precision and recall) over the multisets of subtrees, not recall
 *     alone, so padding the candidate with extra code lowers it instead of leaving it unchanged. Subtrees
 *     are compared structurally (named node types), leaves excluded (every identifier would match every
 *     identifier).
 *  3. Data-flow items are compared as multisets with parents sorted, so the order in which parents were
 *     collected does not matter; the part is also an F1 score for the same reason as (2).
 */
import { LANGUAGES, type LangId, type SyntaxNode } from "../lang/index.js";
import { clippedMatches, combineBleu, type BleuComponents } from "./bleu.js";

export interface CodeBleuWeights {
  ngram: number;
  weighted: number;
  syntax: number;
  dataflow: number;
}
export const DEFAULT_CODEBLEU_WEIGHTS: CodeBleuWeights = { ngram: 0.25, weighted: 0.25, syntax: 0.25, dataflow: 0.25 };

export interface CodeBleuInput {
  tokens: string[];
  /** n-gram counts of orders 1..4 of `tokens` (hashed keys, see allNgramCounts). */
  ngrams: Map<number, number>[];
  /** Multiset of structural subtree ids. */
  subtrees: Map<number, number>;
  subtreeCount: number;
  /** Normalised data-flow items. */
  dataflow: Map<string, number>;
  dataflowCount: number;
}

export interface CodeBleuComponents {
  ngram: number;
  weighted: number;
  syntax: number;
  dataflow: number | null;
  bleu: BleuComponents;
  weights: CodeBleuWeights;
}

/**
 * Structural subtree multiset: every named, non-comment node with at least one named child, identified by
 * a hash of its type and its named children's hashes (so equal subtrees get equal ids across trees). The
 * hash is 52 bits wide (two 26-bit halves); a collision would only ever merge two distinct subtrees.
 */
export function subtreeMultiset(
  lang: LangId,
  root: SyntaxNode,
  skip?: Set<SyntaxNode>,
): { set: Map<number, number>; count: number } {
  const comments = new Set(LANGUAGES[lang].commentNodeTypes);
  const set = new Map<number, number>();
  let count = 0;
  const hA = new Map<SyntaxNode, number>();
  const hB = new Map<SyntaxNode, number>();
  const stack: Array<[SyntaxNode, boolean]> = [[root, false]];
  while (stack.length) {
    const [n, done] = stack.pop()!;
    if (!done) {
      stack.push([n, true]);
      for (let i = n.children.length - 1; i >= 0; i--) {
        const c = n.children[i]!;
        if (c.named && !comments.has(c.type) && !skip?.has(c)) stack.push([c, false]);
      }
      continue;
    }
    const t = typeHash(n.type);
    let a = mix32(t, 0x2545f491);
    let b = mix32(t, 0x68e31da4);
    let kids = 0;
    for (const c of n.children) {
      const ca = hA.get(c);
      if (ca === undefined) continue;
      a = mix32(a, ca);
      b = mix32(b, hB.get(c)!);
      kids++;
    }
    hA.set(n, a);
    hB.set(n, b);
    if (kids) {
      const k = (a & 0x3ffffff) * 0x4000000 + (b & 0x3ffffff);
      set.set(k, (set.get(k) ?? 0) + 1);
      count++;
    }
  }
  return { set, count };
}

const typeHashes = new Map<string, number>();
function typeHash(t: string): number {
  let h = typeHashes.get(t);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619);
    if (typeHashes.size < 100_000) typeHashes.set(t, h);
  }
  return h;
}

function mix32(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Normalises data-flow items: variables renamed v0, v1, ... by first appearance; parents sorted. */
export function normaliseDataflow(items: Array<[string, string, string[]]>): {
  set: Map<string, number>;
  count: number;
} {
  const names = new Map<string, string>();
  const nm = (s: string): string => {
    let v = names.get(s);
    if (v === undefined) {
      v = `v${names.size}`;
      names.set(s, v);
    }
    return v;
  };
  const set = new Map<string, number>();
  for (const [v, rel, parents] of items) {
    const k = `${nm(v)}|${rel}|${parents.map(nm).sort().join(",")}`;
    set.set(k, (set.get(k) ?? 0) + 1);
  }
  return { set, count: items.length };
}

function multisetF1<K>(a: Map<K, number>, aCount: number, b: Map<K, number>, bCount: number): number {
  if (aCount === 0 && bCount === 0) return 1;
  if (aCount === 0 || bCount === 0) return 0;
  let inter = 0;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y) inter += Math.min(x, y);
  }
  if (inter === 0) return 0;
  const p = inter / bCount;
  const r = inter / aCount;
  return (2 * p * r) / (p + r);
}

/** Clipped unigram matches with keywords weighted 1 and other tokens 0.2 (CodeBLEU's weighted n-gram part). */
function keywordWeighted(ref: CodeBleuInput, cand: CodeBleuInput, kw: Set<string>): { match: number; total: number } {
  return clippedMatches(unigrams(ref), unigrams(cand), (g) => (kw.has(g) ? 1 : 0.2));
}

const unigramCache = new WeakMap<CodeBleuInput, Map<string, number>>();
function unigrams(x: CodeBleuInput): Map<string, number> {
  let m = unigramCache.get(x);
  if (!m) {
    m = new Map();
    for (const t of x.tokens) m.set(t, (m.get(t) ?? 0) + 1);
    unigramCache.set(x, m);
  }
  return m;
}

const keywordSets = new Map<LangId, Set<string>>();
function keywordSet(lang: LangId): Set<string> {
  let k = keywordSets.get(lang);
  if (!k) keywordSets.set(lang, (k = new Set(LANGUAGES[lang].keywords)));
  return k;
}

export function codeBleu(
  lang: LangId,
  ref: CodeBleuInput,
  cand: CodeBleuInput,
  weights: CodeBleuWeights = DEFAULT_CODEBLEU_WEIGHTS,
  warnings: string[] = [],
): { score: number; components: CodeBleuComponents } {
  const kw = keywordSet(lang);
  const plain: Array<{ match: number; total: number }> = [];
  const weighted: Array<{ match: number; total: number }> = [];
  for (let n = 1; n <= 4; n++) {
    const r = ref.ngrams[n - 1]!;
    const c = cand.ngrams[n - 1]!;
    const s = clippedMatches(r, c);
    plain.push(s);
    weighted.push(n === 1 ? keywordWeighted(ref, cand, kw) : s);
  }
  const ng = combineBleu(plain, ref.tokens.length, cand.tokens.length);
  const wg = combineBleu(weighted, ref.tokens.length, cand.tokens.length);
  const syntax = multisetF1(ref.subtrees, ref.subtreeCount, cand.subtrees, cand.subtreeCount);
  let dataflow: number | null;
  if (ref.dataflowCount === 0 && cand.dataflowCount === 0) {
    dataflow = null;
    warnings.push("codebleu: neither code has data flow; the data-flow weight is spread over the other parts");
  } else dataflow = multisetF1(ref.dataflow, ref.dataflowCount, cand.dataflow, cand.dataflowCount);
  const wsum = weights.ngram + weights.weighted + weights.syntax + (dataflow === null ? 0 : weights.dataflow);
  let score: number;
  if (wsum <= 0) {
    score = (ng.score + wg.score + syntax) / 3;
    warnings.push("codebleu: all weight was on the undefined data-flow part; used the mean of the other parts");
  } else
    score =
      (weights.ngram * ng.score +
        weights.weighted * wg.score +
        weights.syntax * syntax +
        (dataflow === null ? 0 : weights.dataflow * dataflow)) /
      wsum;
  return {
    score: Math.min(1, Math.max(0, score)),
    components: { ngram: ng.score, weighted: wg.score, syntax, dataflow, bleu: ng.components, weights },
  };
}
