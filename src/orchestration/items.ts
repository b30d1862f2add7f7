/**
 * Corpus → the items each stage sees: RL training items (CODE ONLY — no documentation field at all), held-out
 * evaluation items (code + canonicalised human documentation) and SFT pairs (natural code/doc pairs of the train
 * split). Held-out items come from the test split, never trained on by any stage.
 */
import fs from "node:fs";
import { UserError } from "../core/errors.js";
import type { TokenizerLike } from "../core/policy.js";
import { hashSeed } from "../core/rng.js";
import { readCorpusSync } from "../corpus/reader.js";
import type { CorpusRecord } from "../corpus/schema.js";
import type { RLConfig } from "../rl/config.js";
import type { CodeItem, HeldOutItem } from "../rl/data.js";
import { encodePlain } from "../rl/prompts.js";
import { canonicalizeDoc } from "../rl/reward.js";
import type { PairItem } from "../rl/sft.js";
import { validateDoc } from "../similarity/index.js";

// ---------------------------------------------------------------------------------------------------------
// Corpus → items
// ---------------------------------------------------------------------------------------------------------

export function readSplit(
  corpus: string,
  split: "train" | "validation" | "test",
  langs: string[] | null,
): CorpusRecord[] {
  if (!fs.existsSync(corpus))
    throw new UserError(`corpus ${corpus} does not exist (build one with \`batcoder corpus build\`)`);
  return readCorpusSync(corpus, { split, ...(langs ? { lang: langs } : {}) });
}

/** RL training items: code only (documentation dropped), within the token bounds. Fails fast when none. */
export function loadTrainItems(cfg: RLConfig, tok: TokenizerLike): CodeItem[] {
  const recs = readSplit(cfg.corpus, cfg.train_split as "train", cfg.languages);
  const items: CodeItem[] = [];
  let tooShort = 0,
    tooLong = 0;
  for (const r of recs) {
    const n = encodePlain(tok, r.code).length;
    if (n < cfg.min_code_tokens) tooShort++;
    else if (n > cfg.max_code_tokens) tooLong++;
    else items.push({ id: r.id, lang: r.lang, code: r.code, signature: r.signature });
  }
  if (items.length === 0) {
    throw new UserError(
      `corpus ${cfg.corpus} has no usable training functions in split '${cfg.train_split}'${cfg.languages ? ` for languages ${cfg.languages.join(",")}` : ""}: ` +
        `${recs.length} records, ${tooShort} shorter than min_code_tokens=${cfg.min_code_tokens}, ${tooLong} longer than max_code_tokens=${cfg.max_code_tokens}`,
    );
  }
  return items;
}

/** A cheap pre-check (before any training) that the corpus has training functions at all. */
export function checkCorpusUsable(
  corpus: string,
  split: string,
  langs: string[] | null,
): { train: number; withDoc: number } {
  const recs = readSplit(corpus, split as "train", langs);
  if (recs.length === 0) {
    throw new UserError(
      `corpus ${corpus} has zero usable functions in split '${split}'${langs ? ` for languages ${langs.join(",")}` : ""}: nothing to train on`,
    );
  }
  return { train: recs.length, withDoc: recs.filter((r) => r.doc).length };
}

function canonical(r: CorpusRecord): string | null {
  if (!r.doc) return null;
  try {
    const c = canonicalizeDoc(r.doc, { name: r.name });
    return c && c.trim() ? c.trim() : null;
  } catch {
    return null;
  }
}

/** Held-out functions WITH human documentation (canonicalised), a deterministic subset of `n`. */
export async function loadEvalItems(cfg: RLConfig, tok: TokenizerLike, n: number): Promise<HeldOutItem[]> {
  const recs = readSplit(cfg.corpus, cfg.eval_split as "test", cfg.languages);
  const items: HeldOutItem[] = [];
  for (const r of recs) {
    const nt = encodePlain(tok, r.code).length;
    if (nt < cfg.min_code_tokens || nt > cfg.max_code_tokens) continue;
    const full = canonical(r);
    // The human documentation, canonicalised and cut (whole blocks) to the documentation budget the model
    // writes and was warm-started on; the full text when even its summary is longer.
    const doc = full ? (fitDoc(full, tok, cfg.max_doc_tokens - 1) ?? full) : null;
    if (doc) items.push({ id: r.id, lang: r.lang, code: r.code, signature: r.signature, doc });
  }
  items.sort(
    (a, b) =>
      hashSeed(cfg.seed, parseInt(a.id.slice(0, 8), 16)) - hashSeed(cfg.seed, parseInt(b.id.slice(0, 8), 16)) ||
      a.id.localeCompare(b.id),
  );
  return items.slice(0, n);
}

/**
 * Shortens a canonical documentation to at most `maxTokens` tokens by keeping whole blocks (the summary first,
 * then the following paragraphs/sections while they fit), so SFT teaches documentation that ends inside the RL
 * generation budget. Returns null when even the summary does not fit or the result breaks the format.
 */
export function fitDoc(doc: string, tok: TokenizerLike, maxTokens: number): string | null {
  const blocks = doc.split(/\n\s*\n/);
  let out = "";
  for (const b of blocks) {
    const next = out ? `${out}\n\n${b}` : b;
    if (encodePlain(tok, next).length > maxTokens) break;
    out = next;
  }
  if (!out) return null;
  return validateDoc(out).valid ? out : null;
}

/**
 * Naturally occurring (code, documentation) pairs of the TRAIN split, documentation canonicalised (and, with
 * `fit`, shortened to the documentation budget); code longer than maxCodeTokens is skipped.
 */
export async function loadSftPairs(
  corpus: string,
  langs: string[] | null,
  max: number,
  fit?: { tok: TokenizerLike; maxDocTokens: number; maxCodeTokens: number },
): Promise<PairItem[]> {
  const out: PairItem[] = [];
  for (const r of readSplit(corpus, "train", langs)) {
    let doc = canonical(r);
    if (doc && fit) {
      doc =
        encodePlain(fit.tok, r.code).length <= fit.maxCodeTokens ? fitDoc(doc, fit.tok, fit.maxDocTokens - 1) : null;
    }
    if (doc) out.push({ id: r.id, lang: r.lang, code: r.code, doc, signature: r.signature });
    if (out.length >= max) break;
  }
  return out;
}
