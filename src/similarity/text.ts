/**
 * Natural-language metrics for generated documentation vs the human documentation: sentence BLEU-4 with
 * add-one smoothing for n > 1 (Lin & Och 2004, "BLEU+1") and ROUGE-L F1 (longest common subsequence).
 * Tokens: lower-cased words and single punctuation marks.
 */
import { sentenceBleu } from "./bleu.js";

export function textTokens(s: string): string[] {
  return s.toLowerCase().match(/[a-z0-9_]+|[^\sa-z0-9_]/g) ?? [];
}

/**
 * Smoothed sentence BLEU-4 of two texts in [0, 1] (the same BLEU as code similarity, over word tokens). Empty
 * candidate or reference -> 0; identical non-empty texts -> 1.
 */
export function textBleu(reference: string, candidate: string): number {
  const r = textTokens(reference);
  const c = textTokens(candidate);
  if (c.length === 0 || r.length === 0) return 0;
  return sentenceBleu(r, c).score;
}

/** ROUGE-L F1 (beta = 1) over word tokens. */
export function rougeL(reference: string, candidate: string): number {
  const r = textTokens(reference);
  const c = textTokens(candidate);
  if (r.length === 0 || c.length === 0) return 0;
  let prev = new Array<number>(c.length + 1).fill(0);
  for (let i = 1; i <= r.length; i++) {
    const cur = new Array<number>(c.length + 1).fill(0);
    for (let j = 1; j <= c.length; j++)
      cur[j] = r[i - 1] === c[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  const lcs = prev[c.length]!;
  if (lcs === 0) return 0;
  const p = lcs / c.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}
