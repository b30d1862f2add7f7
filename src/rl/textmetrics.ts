/**
 * Natural-language metrics for generated documentation vs the human documentation: sentence BLEU-4 with
 * add-one smoothing for n > 1 (Lin & Och 2004, "BLEU+1") and ROUGE-L F1 (longest common subsequence).
 * Tokens: lower-cased words and single punctuation marks.
 */
export function textTokens(s: string): string[] {
  return s.toLowerCase().match(/[a-z0-9_]+|[^\sa-z0-9_]/g) ?? [];
}

function ngrams(xs: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= xs.length; i++) {
    const k = xs.slice(i, i + n).join("\u0001");
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Smoothed sentence BLEU-4 in [0, 1]. Empty candidate -> 0; identical non-empty texts -> 1. */
export function sentenceBleu(reference: string, candidate: string): number {
  const r = textTokens(reference);
  const c = textTokens(candidate);
  if (c.length === 0 || r.length === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= 4; n++) {
    const cn = ngrams(c, n);
    const rn = ngrams(r, n);
    let match = 0;
    let total = 0;
    for (const [k, v] of cn) {
      total += v;
      match += Math.min(v, rn.get(k) ?? 0);
    }
    const p = n === 1 ? (total ? match / total : 0) : (match + 1) / (total + 1);
    if (p === 0) return 0;
    logSum += Math.log(p) / 4;
  }
  const bp = c.length >= r.length ? 1 : Math.exp(1 - r.length / c.length);
  return bp * Math.exp(logSum);
}

/** ROUGE-L F1 (beta = 1) over word tokens. */
export function rougeL(reference: string, candidate: string): number {
  const r = textTokens(reference);
  const c = textTokens(candidate);
  if (r.length === 0 || c.length === 0) return 0;
  let prev = new Array<number>(c.length + 1).fill(0);
  for (let i = 1; i <= r.length; i++) {
    const cur = new Array<number>(c.length + 1).fill(0);
    for (let j = 1; j <= c.length; j++) cur[j] = r[i - 1] === c[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  const lcs = prev[c.length]!;
  if (lcs === 0) return 0;
  const p = lcs / c.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}
