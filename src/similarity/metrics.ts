/**
 * The similarity entry points: `similarity(metric, reference, candidate, lang)` and `similarityAll`.
 * Every metric returns a score in [0, 1], its components and warnings; the same prepared (parsed)
 * reference is reused across calls through a small cache, since RL scores several candidates per reference.
 */
import {
  codeTokensParsed,
  indexComments,
  isLangId,
  LANGUAGES,
  parseCode,
  rejectReason,
  type CommentIndex,
  type LangId,
  type ParseResult,
  type SyntaxNode,
} from "../lang/index.js";
import { UserError } from "../core/errors.js";
import { allNgramCounts, sentenceBleuCounts } from "./bleu.js";
import {
  codeBleu,
  DEFAULT_CODEBLEU_WEIGHTS,
  normaliseDataflow,
  subtreeMultiset,
  type CodeBleuInput,
  type CodeBleuWeights,
} from "./codebleu.js";
import { buildPdg, PDG_LANGUAGES, type Pdg } from "./pdg.js";
import { graphEditSimilarity, type GedOptions } from "./ged.js";

export type Metric = "bleu" | "codebleu" | "dfg" | "exact";
export const METRICS: readonly Metric[] = ["bleu", "codebleu", "dfg", "exact"];

export interface SimilarityResult {
  metric: Metric;
  /** In [0, 1]; never NaN. */
  score: number;
  /** Metric-specific parts (numbers, or null where a part is undefined). */
  components: Record<string, number | null>;
  warnings: string[];
}

export interface SimilarityOptions {
  /** CodeBLEU weights (default 0.25 each). */
  codebleuWeights?: Partial<CodeBleuWeights>;
  ged?: GedOptions;
  /** Longest accepted input, in characters, per side (default 200,000). */
  maxChars?: number;
}

export const DEFAULT_MAX_SIMILARITY_CHARS = 200_000;
/** Syntax trees deeper than this are not turned into dependence graphs (the builder recurses). */
export const MAX_GRAPH_DEPTH = 1000;

/** Why the graph-based parts cannot be computed for this code (too deep), or null. */
function graphBlocker(p: PreparedCode): string | null {
  return p.parse.maxDepth > MAX_GRAPH_DEPTH
    ? `nested too deeply (${p.parse.maxDepth} levels, limit ${MAX_GRAPH_DEPTH})`
    : null;
}

/** A parsed, analysed piece of code, reusable across metrics. */
export interface PreparedCode {
  lang: LangId;
  source: string;
  parse: ParseResult;
  tokens: string[];
  parseErrors: number;
  private_: { codebleu?: CodeBleuInput; pdg?: Pdg; ngrams?: Map<number, number>[]; comments?: CommentIndex };
}

function checkInput(which: string, src: unknown, maxChars: number): string {
  if (typeof src !== "string") throw new UserError(`${which} code must be a string`);
  const r = rejectReason(src, maxChars);
  if (r) throw new UserError(`${which} code: ${r}`);
  return src;
}

export function prepareCode(lang: LangId, source: string): PreparedCode {
  const parse = parseCode(lang, source);
  const comments = indexComments(lang, parse.tree.rootNode);
  return {
    lang,
    source,
    parse,
    tokens: codeTokensParsed(parse, comments),
    parseErrors: parse.errors.length,
    private_: { comments },
  };
}

function codebleuInput(p: PreparedCode): CodeBleuInput {
  if (!p.private_.codebleu) {
    const idx = p.private_.comments ?? indexComments(p.lang, p.parse.tree.rootNode);
    const st = subtreeMultiset(p.lang, p.parse.tree.rootNode, new Set<SyntaxNode>(idx.docNodes));
    const df = normaliseDataflow(pdgOf(p).dataflow);
    p.private_.codebleu = {
      tokens: p.tokens,
      ngrams: ngramsOf(p),
      subtrees: st.set,
      subtreeCount: st.count,
      dataflow: df.set,
      dataflowCount: df.count,
    };
  }
  return p.private_.codebleu;
}

function ngramsOf(p: PreparedCode): Map<number, number>[] {
  if (!p.private_.ngrams) p.private_.ngrams = allNgramCounts(p.tokens, 4);
  return p.private_.ngrams;
}

function pdgOf(p: PreparedCode): Pdg {
  if (!p.private_.pdg) {
    try {
      p.private_.pdg = buildPdg(p.lang, p.parse.tree.rootNode);
    } catch (e) {
      // safety net below MAX_GRAPH_DEPTH: a stack overflow on an unusually deep tree
      if (e instanceof RangeError)
        throw new GraphTooDeep(`nested too deeply for the dependence graph (${p.parse.maxDepth} levels)`);
      throw e;
    }
  }
  return p.private_.pdg;
}

class GraphTooDeep extends Error {}

// small LRU of prepared references (GRPO groups score many candidates against one reference)
const CACHE_SIZE = 64;
const cache = new Map<string, PreparedCode>();
function prepareCached(lang: LangId, source: string): PreparedCode {
  const key = `${lang}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const p = prepareCode(lang, source);
  cache.set(key, p);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return p;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function metricOn(metric: Metric, ref: PreparedCode, cand: PreparedCode, opts: SimilarityOptions): SimilarityResult {
  const warnings: string[] = [];
  if (cand.parseErrors > 0)
    warnings.push(`candidate has ${cand.parseErrors} syntax error(s); scored on the partial tree`);
  if (ref.parseErrors > 0)
    warnings.push(`reference has ${ref.parseErrors} syntax error(s); scored on the partial tree`);
  if (cand.tokens.length === 0) {
    warnings.push("candidate has no code tokens");
    return { metric, score: 0, components: {}, warnings };
  }
  if (metric === "codebleu" || (metric === "dfg" && PDG_LANGUAGES.includes(ref.lang))) {
    const rb = graphBlocker(ref);
    if (rb) throw new UserError(`reference code is ${rb}`);
    const cb = graphBlocker(cand);
    if (cb) {
      warnings.push(`candidate is ${cb}; scored 0`);
      return { metric, score: 0, components: {}, warnings };
    }
  }
  switch (metric) {
    case "exact": {
      const eq = ref.tokens.length === cand.tokens.length && ref.tokens.every((t, i) => t === cand.tokens[i]);
      return {
        metric,
        score: eq ? 1 : 0,
        components: { tokensRef: ref.tokens.length, tokensCand: cand.tokens.length },
        warnings,
      };
    }
    case "bleu": {
      const b = sentenceBleuCounts(ngramsOf(ref), ngramsOf(cand), ref.tokens.length, cand.tokens.length);
      const [p1, p2, p3, p4] = b.components.precisions;
      return {
        metric,
        score: clamp01(b.score),
        components: {
          p1: p1 ?? 0,
          p2: p2 ?? 0,
          p3: p3 ?? 0,
          p4: p4 ?? 0,
          brevityPenalty: b.components.brevityPenalty,
          candidateLength: cand.tokens.length,
          referenceLength: ref.tokens.length,
        },
        warnings,
      };
    }
    case "codebleu": {
      const w = { ...DEFAULT_CODEBLEU_WEIGHTS, ...(opts.codebleuWeights ?? {}) };
      const r = codeBleu(ref.lang, codebleuInput(ref), codebleuInput(cand), w, warnings);
      const c = r.components;
      return {
        metric,
        score: clamp01(r.score),
        components: { ngram: c.ngram, weighted: c.weighted, syntax: c.syntax, dataflow: c.dataflow },
        warnings,
      };
    }
    case "dfg": {
      if (!PDG_LANGUAGES.includes(ref.lang)) {
        const cb = metricOn("codebleu", ref, cand, opts);
        return {
          metric,
          score: cb.score,
          components: { ...cb.components, fallbackCodebleu: 1 },
          warnings: [
            ...cb.warnings,
            `dfg: no dependence-graph support for ${LANGUAGES[ref.lang].name}; fell back to CodeBLEU`,
          ],
        };
      }
      const g = graphEditSimilarity(pdgOf(ref), pdgOf(cand), opts.ged);
      if (g.greedy) warnings.push("dfg: a node class was too large for the exact assignment; used a greedy one");
      return {
        metric,
        score: clamp01(g.similarity),
        components: {
          structural: g.structural,
          semanticEdits: g.semanticEdits,
          cost: g.cost,
          maxCost: g.maxCost,
          nodesRef: g.nodes1,
          nodesCand: g.nodes2,
          edgesRef: g.edges1,
          edgesCand: g.edges2,
          relabelled: g.relabelled,
          deleted: g.deleted,
          inserted: g.inserted,
          edgesKept: g.edgesKept,
        },
        warnings,
      };
    }
  }
}

function prepPair(
  reference: string,
  candidate: string,
  lang: LangId,
  opts: SimilarityOptions,
): [PreparedCode, PreparedCode] {
  if (!isLangId(lang)) throw new UserError(`unknown language '${String(lang)}'`);
  const max = opts.maxChars ?? DEFAULT_MAX_SIMILARITY_CHARS;
  checkInput("reference", reference, max);
  checkInput("candidate", candidate, max);
  if (reference.trim() === "") throw new UserError("reference code is empty");
  const ref = prepareCached(lang, reference);
  if (ref.tokens.length === 0) throw new UserError("reference code has no code tokens (only comments or whitespace?)");
  const cand = candidate === reference ? ref : prepareCode(lang, candidate);
  return [ref, cand];
}

/**
 * Similarity of `candidate` to `reference` (both source code in `lang`, whose grammar must be loaded).
 * Throws UserError for an unknown language, binary / oversized input or an empty reference; an empty or
 * unparseable candidate scores 0 (with a warning) rather than throwing.
 */
export function similarity(
  metric: Metric,
  reference: string,
  candidate: string,
  lang: LangId,
  opts: SimilarityOptions = {},
): SimilarityResult {
  if (!METRICS.includes(metric))
    throw new UserError(`unknown metric '${String(metric)}' (expected one of ${METRICS.join(", ")})`);
  const [ref, cand] = prepPair(reference, candidate, lang, opts);
  return guarded(metric, ref, cand, opts);
}

/** metricOn, with a graph that could not be built reported like an over-deep tree. */
function guarded(metric: Metric, ref: PreparedCode, cand: PreparedCode, opts: SimilarityOptions): SimilarityResult {
  try {
    return metricOn(metric, ref, cand, opts);
  } catch (e) {
    if (!(e instanceof GraphTooDeep)) throw e;
    if (ref.private_.pdg === undefined) throw new UserError(`reference code is ${e.message}`);
    return { metric, score: 0, components: {}, warnings: [`candidate is ${e.message}; scored 0`] };
  }
}

/** Every metric on one pair (parsing each side once). */
export function similarityAll(
  reference: string,
  candidate: string,
  lang: LangId,
  opts: SimilarityOptions = {},
): Record<Metric, SimilarityResult> {
  const [ref, cand] = prepPair(reference, candidate, lang, opts);
  const out = {} as Record<Metric, SimilarityResult>;
  for (const m of METRICS) out[m] = guarded(m, ref, cand, opts);
  return out;
}
