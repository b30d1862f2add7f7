/**
 * Held-out evaluation of the two directions (greedy decoding, functions never trained on):
 *   roundtrip      similarity(c, c'') where d' = policy(c), c'' = policy(d')      (the method's own objective)
 *   doc2code_human similarity(c, policy(d_human))  — d_human is the ORIGINAL documentation, canonicalised
 *   doc_bleu / doc_rougeL: the generated d' against d_human
 *   doc_valid_rate, doc_leak_rate of d'
 * Each with its mean and a 95% bootstrap interval over the functions.
 */
import type { Sampler, SampleRequest } from "../core/policy.js";
import type { HeldOutItem } from "./data.js";
import { code2docPrompt, doc2codePrompt, specialStopIds } from "./prompts.js";
import { rougeL, textBleu } from "../similarity/index.js";
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
}

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
  per_function?: { ids: string[]; roundtrip: number[]; doc2code_human: number[]; doc_bleu: number[]; doc_rougeL: number[] };
}

async function greedyAll(sampler: Sampler, prompts: number[][], maxTokens: number, batch: number, progress: () => void, temperature = 0): Promise<string[]> {
  const stop = specialStopIds(sampler.tokenizer);
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += batch) {
    const reqs: SampleRequest[] = prompts.slice(i, i + batch).map((prompt, k) => ({ prompt, n: 1, params: { maxTokens, temperature, stopTokenIds: stop, seed: 1000 + i + k } }));
    const res = await sampler.sample(reqs);
    for (const r of res) out.push(r[0]!.text.trim());
    progress();
  }
  return out;
}

/** Items must carry `doc` (the canonicalised human documentation). */
export async function evaluateHeldOut(sampler: Sampler, items: HeldOutItem[], reward: RewardBackend, cfg: HeldOutEvalOptions): Promise<HeldOutEval> {
  const tok = sampler.tokenizer;
  const withDoc = items.filter((it) => it.doc);
  const nBatches = Math.ceil(withDoc.length / cfg.batchSize) * 3;
  let done = 0;
  const tick = () => cfg.onProgress?.(++done, nBatches);
  const sig = (it: HeldOutItem) => (cfg.signatureHint && it.signature ? it.signature : null);

  const genDocs = await greedyAll(sampler, withDoc.map((it) => code2docPrompt(tok, it.code, it.lang)), cfg.maxDocTokens, cfg.batchSize, tick, cfg.temperature);
  const rtCodes = (await greedyAll(sampler, withDoc.map((it, i) => doc2codePrompt(tok, genDocs[i]!, it.lang, { signature: sig(it) })), cfg.maxCodeTokens, cfg.batchSize, tick, cfg.temperature)).map(
    (c, i) => (sig(withDoc[i]!) ?? "") + c,
  );
  const hCodes = (await greedyAll(sampler, withDoc.map((it) => doc2codePrompt(tok, it.doc, it.lang, { signature: sig(it) })), cfg.maxCodeTokens, cfg.batchSize, tick, cfg.temperature)).map(
    (c, i) => (sig(withDoc[i]!) ?? "") + c,
  );

  const rt = await reward.score(withDoc.map((it, i) => ({ code: it.code, doc: genDocs[i]!, rebuilt: rtCodes[i]!, lang: it.lang })));
  const hd = await reward.score(withDoc.map((it, i) => ({ code: it.code, doc: it.doc, rebuilt: hCodes[i]!, lang: it.lang })));
  const verdicts = await Promise.all(withDoc.map((it, i) => reward.checkDoc(genDocs[i]!, it.code, it.lang)));
  const rtSim = rt.map((s) => s.similarity);
  const hSim = hd.map((s) => s.similarity);
  const bleu = withDoc.map((it, i) => textBleu(it.doc, genDocs[i]!));
  const rl = withDoc.map((it, i) => rougeL(it.doc, genDocs[i]!));
  const keep = cfg.keepExamples ?? 8;
  return {
    n: withDoc.length,
    roundtrip: bootstrapCI(rtSim),
    doc2code_human: bootstrapCI(hSim),
    doc_bleu: bootstrapCI(bleu),
    doc_rougeL: bootstrapCI(rl),
    doc_valid_rate: verdicts.filter((v) => v.valid).length / Math.max(1, verdicts.length),
    doc_leak_rate: verdicts.filter((v) => v.leaked).length / Math.max(1, verdicts.length),
    per_function: { ids: withDoc.map((it) => it.id), roundtrip: rtSim, doc2code_human: hSim, doc_bleu: bleu, doc_rougeL: rl },
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
