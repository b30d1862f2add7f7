/**
 * Held-out evaluation of the two directions (greedy decoding, functions never trained on):
 *   roundtrip      similarity(c, c'') where d' = policy(c), c'' = policy(d')      (the method's own objective)
 *   doc2code_human similarity(c, policy(d_human))  — d_human is the ORIGINAL documentation, canonicalised
 *   doc_bleu / doc_rougeL: the generated d' against d_human
 *   doc_valid_rate, doc_leak_rate of d'
 * and the headline metrics that RL does NOT optimise (`headline`, also per language):
 *   behavioural equivalence rate of round trips: share of c'' with behaviour score 1.0 (executable originals)
 *   pass rate of c'' on the original's generated inputs: mean share of inputs on which c'' agrees with c
 *   doc→code from human docs by behaviour (equivalence rate and pass rate of policy(d_human))
 *   doc↔code 3-/4-gram overlap of d' (`docCodeOverlap`), leak rate, documentation length (tokens)
 * Each with its mean and a 95% bootstrap interval over the functions. Behaviour runs in the sandboxed runner
 * given as `behaviour` (src/behaviour); without one the behavioural metrics are absent.
 */
import type { Sampler, SampleRequest } from "../core/policy.js";
import type { HeldOutItem } from "./data.js";
import { chatCodeAnswer, code2docPrompt, doc2codePrompt, specialStopIds } from "./prompts.js";
import type { ChatTemplate } from "../engine/chat-template.js";
import { docCodeOverlap, rougeL, textBleu } from "../similarity/index.js";
import { BEHAVIOUR_LANGS, type BehaviourResult, type BehaviourRunner } from "../behaviour/index.js";
import { isLangId } from "../lang/index.js";
import type { RewardBackend } from "./trainer.js";
import { bootstrapCI, type MeanCI } from "../core/stats.js";

export interface HeldOutEvalOptions {
  maxDocTokens: number;
  maxCodeTokens: number;
  batchSize: number;
  signatureHint: boolean;
  /** 0 = greedy (default); > 0 = seeded sampling at this temperature. */
  temperature?: number;
  /** How many per-function examples to keep in the result (for the report). */
  keepExamples?: number;
  onProgress?: (done: number, total: number) => void;
  /** Sandboxed behaviour runner for the behavioural headline metrics (none = those are absent). */
  behaviour?: BehaviourRunner | null;
  /** The model's own chat template: prompts as conversations, rebuilds cut at their closing fence (see trainer). */
  chat?: ChatTemplate | null;
}

/** Per-function headline metrics (null = not applicable: the original is not executable, or no runner). */
export const HEADLINE_KEYS = [
  "rt_equiv",
  "rt_pass",
  "human_equiv",
  "human_pass",
  "overlap3",
  "overlap4",
  "leak",
  "doc_len",
] as const;
export type HeadlineKey = (typeof HEADLINE_KEYS)[number];
export const HEADLINE_LABELS: Record<HeadlineKey, string> = {
  rt_equiv: "round trips behaviourally equivalent (share)",
  rt_pass: "round-trip pass rate on the original's inputs",
  human_equiv: "doc→code from human docs: equivalent (share)",
  human_pass: "doc→code from human docs: pass rate",
  overlap3: "doc↔code 3-gram overlap (share of doc 3-grams)",
  overlap4: "doc↔code 4-gram overlap (share of doc 4-grams)",
  leak: "doc leak rate",
  doc_len: "doc length (tokens)",
};
export type Headline = Partial<Record<HeadlineKey, MeanCI>> & { n: number; n_executable: number };

export interface EvalExample {
  id: string;
  lang: string;
  code: string;
  human_doc: string;
  generated_doc: string;
  roundtrip_code: string;
  roundtrip_similarity: number;
  human_doc_code: string;
  human_doc_similarity: number;
}

export interface HeldOutEval {
  n: number;
  roundtrip: MeanCI;
  doc2code_human: MeanCI;
  doc_bleu: MeanCI;
  doc_rougeL: MeanCI;
  doc_valid_rate: number;
  doc_leak_rate: number;
  examples: EvalExample[];
  /** Per-function scores, aligned with `ids`, so two evaluations of the same functions can be compared paired. */
  per_function?: {
    ids: string[];
    langs?: string[];
    roundtrip: number[];
    doc2code_human: number[];
    doc_bleu: number[];
    doc_rougeL: number[];
  } & Partial<Record<HeadlineKey, (number | null)[]>>;
  /** The metrics RL does not optimise, over all functions and per language. */
  headline?: Headline;
  headline_by_lang?: Record<string, Headline>;
}

/** Mean and CI of each headline metric over the functions where it applies (rows selects a subset). */
export function headlineOf(pf: Partial<Record<HeadlineKey, (number | null)[]>>, rows: number[]): Headline {
  const out: Headline = {
    n: rows.length,
    n_executable: rows.filter((i) => typeof pf.rt_pass?.[i] === "number").length,
  };
  for (const k of HEADLINE_KEYS) {
    const xs = rows.map((i) => pf[k]?.[i]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
    if (xs.length) out[k] = bootstrapCI(xs);
  }
  return out;
}

async function greedyAll(
  sampler: Sampler,
  prompts: number[][],
  maxTokens: number,
  batch: number,
  progress: () => void,
  temperature = 0,
): Promise<string[]> {
  const stop = specialStopIds(sampler.tokenizer);
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += batch) {
    const reqs: SampleRequest[] = prompts.slice(i, i + batch).map((prompt, k) => ({
      prompt,
      n: 1,
      params: { maxTokens, temperature, stopTokenIds: stop, seed: 1000 + i + k },
    }));
    const res = await sampler.sample(reqs);
    for (const r of res) out.push(r[0]!.text.trim());
    progress();
  }
  return out;
}

/** Items must carry `doc` (the canonicalised human documentation). */
export async function evaluateHeldOut(
  sampler: Sampler,
  items: HeldOutItem[],
  reward: RewardBackend,
  cfg: HeldOutEvalOptions,
): Promise<HeldOutEval> {
  const tok = sampler.tokenizer;
  const withDoc = items.filter((it) => it.doc);
  const nBatches = Math.ceil(withDoc.length / cfg.batchSize) * 3;
  let done = 0;
  const tick = () => cfg.onProgress?.(++done, nBatches);
  const sig = (it: HeldOutItem) => (cfg.signatureHint && it.signature ? it.signature : null);
  const chat = cfg.chat ?? null;
  const codeOf = (text: string) => (chat ? chatCodeAnswer(text) : text);

  const genDocs = await greedyAll(
    sampler,
    withDoc.map((it) => code2docPrompt(tok, it.code, it.lang, { chat })),
    cfg.maxDocTokens,
    cfg.batchSize,
    tick,
    cfg.temperature,
  );
  const rtCodes = (
    await greedyAll(
      sampler,
      withDoc.map((it, i) => doc2codePrompt(tok, genDocs[i]!, it.lang, { signature: sig(it), chat })),
      cfg.maxCodeTokens,
      cfg.batchSize,
      tick,
      cfg.temperature,
    )
  ).map((c, i) => (sig(withDoc[i]!) ?? "") + codeOf(c));
  const hCodes = (
    await greedyAll(
      sampler,
      withDoc.map((it) => doc2codePrompt(tok, it.doc, it.lang, { signature: sig(it), chat })),
      cfg.maxCodeTokens,
      cfg.batchSize,
      tick,
      cfg.temperature,
    )
  ).map((c, i) => (sig(withDoc[i]!) ?? "") + codeOf(c));

  const rt = await reward.score(
    withDoc.map((it, i) => ({ code: it.code, doc: genDocs[i]!, rebuilt: rtCodes[i]!, lang: it.lang })),
  );
  const hd = await reward.score(
    withDoc.map((it, i) => ({ code: it.code, doc: it.doc, rebuilt: hCodes[i]!, lang: it.lang })),
  );
  const verdicts = await Promise.all(withDoc.map((it, i) => reward.checkDoc(genDocs[i]!, it.code, it.lang)));
  const rtSim = rt.map((s) => s.similarity);
  const hSim = hd.map((s) => s.similarity);
  // ---- headline metrics (not optimised) ----
  const behLangs = new Set<string>(BEHAVIOUR_LANGS);
  const bIdx = cfg.behaviour ? withDoc.map((it, i) => (behLangs.has(it.lang) ? i : -1)).filter((i) => i >= 0) : [];
  const runBeh = async (codes: string[]): Promise<Map<number, BehaviourResult>> => {
    if (!cfg.behaviour || !bIdx.length) return new Map();
    const res = await cfg.behaviour.compare(
      bIdx.map((i) => ({ lang: withDoc[i]!.lang, original: withDoc[i]!.code, rebuilt: codes[i]! })),
    );
    return new Map(bIdx.map((i, k) => [i, res[k]!]));
  };
  const [rtBeh, hBeh] = [await runBeh(rtCodes), await runBeh(hCodes)];
  const score = (m: Map<number, BehaviourResult>, i: number) => {
    const r = m.get(i);
    return r && r.executable && r.score !== null ? r.score : null;
  };
  const eq = (x: number | null) => (x === null ? null : x >= 1 ? 1 : 0);
  const overlaps = withDoc.map((it, i) => (isLangId(it.lang) ? docCodeOverlap(genDocs[i]!, it.code, it.lang) : null));
  const headlinePf: Record<HeadlineKey, (number | null)[]> = {
    rt_pass: withDoc.map((_, i) => score(rtBeh, i)),
    rt_equiv: withDoc.map((_, i) => eq(score(rtBeh, i))),
    human_pass: withDoc.map((_, i) => score(hBeh, i)),
    human_equiv: withDoc.map((_, i) => eq(score(hBeh, i))),
    overlap3: overlaps.map((o) => (o ? o.doc3 : null)),
    overlap4: overlaps.map((o) => (o ? o.doc4 : null)),
    leak: [],
    doc_len: genDocs.map((d) => tok.encode(d).length),
  };
  const bleu = withDoc.map((it, i) => textBleu(it.doc, genDocs[i]!));
  const rl = withDoc.map((it, i) => rougeL(it.doc, genDocs[i]!));
  headlinePf.leak = verdicts.map((v) => (v.leaked ? 1 : 0));
  const all = withDoc.map((_, i) => i);
  const byLang: Record<string, Headline> = {};
  for (const lang of [...new Set(withDoc.map((it) => it.lang))].sort())
    byLang[lang] = headlineOf(
      headlinePf,
      all.filter((i) => withDoc[i]!.lang === lang),
    );
  const keep = cfg.keepExamples ?? 8;
  return {
    n: withDoc.length,
    roundtrip: bootstrapCI(rtSim),
    doc2code_human: bootstrapCI(hSim),
    doc_bleu: bootstrapCI(bleu),
    doc_rougeL: bootstrapCI(rl),
    doc_valid_rate: verdicts.filter((v) => v.valid).length / Math.max(1, verdicts.length),
    doc_leak_rate: verdicts.filter((v) => v.leaked).length / Math.max(1, verdicts.length),
    per_function: {
      ids: withDoc.map((it) => it.id),
      langs: withDoc.map((it) => it.lang),
      roundtrip: rtSim,
      doc2code_human: hSim,
      doc_bleu: bleu,
      doc_rougeL: rl,
      ...headlinePf,
    },
    headline: headlineOf(headlinePf, all),
    headline_by_lang: byLang,
    examples: withDoc.slice(0, keep).map((it, i) => ({
      id: it.id,
      lang: it.lang,
      code: it.code,
      human_doc: it.doc,
      generated_doc: genDocs[i]!,
      roundtrip_code: rtCodes[i]!,
      roundtrip_similarity: rtSim[i]!,
      human_doc_code: hCodes[i]!,
      human_doc_similarity: hSim[i]!,
    })),
  };
}
