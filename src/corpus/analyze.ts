/**
 * The pure, per-file half of the pipeline: extraction with the language layer, function filters,
 * decontamination, and the dedup keys (exact hash, MinHash signature). It holds no state across files, so it
 * runs in the main thread or in worker threads with identical results; the stateful half (dedup decisions,
 * splits, writing) stays in pipeline.ts and consumes results in input order.
 */
import { extractFunctions, isLanguageLoaded, loadLanguage, type LangId } from "../lang/index.js";
import type { BenchmarkIndex, ContaminationMatch } from "./decontam.js";
import { MinHasher, shingles, tokenHashes } from "./dedup.js";
import { isLicenseCode, isLicenseText, isTestFunctionName, isTrivialBody, type FunctionDropReason } from "./filters.js";
import { hashSeq52, sha256Hex } from "./hash.js";
import { lex } from "./lexer.js";
import type { CorpusConfig } from "./schema.js";

export interface FileTask {
  lang: LangId;
  text: string;
  repo: string;
  path: string;
}

export interface Candidate {
  id: string;
  name: string;
  class_name: string | null;
  kind: string;
  signature: string;
  code: string;
  doc: string | null;
  docWasLicense: boolean;
  start_line: number;
  end_line: number;
  n_lines: number;
  n_tokens: number;
  /** 52-bit exact-duplicate key. */
  exactKey: number;
  /** MinHash signature (near dedup), or null when near dedup is off. */
  sig: Uint32Array | null;
}

export type FunctionOutcome =
  | { drop: FunctionDropReason; docWasLicense?: boolean }
  | {
      contaminated: {
        id: string;
        name: string;
        class_name: string | null;
        start_line: number;
        code: string;
        doc: string | null;
        matches: ContaminationMatch[];
      };
      docWasLicense: boolean;
    }
  | { candidate: Candidate };

export interface FileResult {
  functions: FunctionOutcome[];
  /** Set when the language layer threw. */
  error?: string;
}

export type AnalyzeConfig = Pick<
  CorpusConfig,
  | "minLines"
  | "maxLines"
  | "minTokens"
  | "maxTokens"
  | "excludeTests"
  | "dropTrivial"
  | "maxTrivialTokens"
  | "requireDoc"
  | "dedup"
>;

function countLines(s: string): number {
  let n = 1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

export class FileAnalyzer {
  private readonly hasher: MinHasher | null;
  constructor(
    private readonly cfg: AnalyzeConfig,
    private readonly bench: BenchmarkIndex | null,
  ) {
    this.hasher = cfg.dedup.near ? new MinHasher(cfg.dedup.numPerm, 1) : null;
  }

  async analyze(t: FileTask): Promise<FileResult> {
    if (!isLanguageLoaded(t.lang)) await loadLanguage(t.lang);
    let fns;
    try {
      fns = extractFunctions(t.lang, t.text).functions;
    } catch (e) {
      return { functions: [], error: (e as Error).message };
    }
    const cfg = this.cfg;
    const lang = t.lang;
    const out: FunctionOutcome[] = [];
    for (const fn of fns) {
      const drop = (reason: FunctionDropReason, docWasLicense = false): void => {
        out.push(docWasLicense ? { drop: reason, docWasLicense } : { drop: reason });
      };
      if (fn.nested) {
        drop("nested");
        continue;
      }
      if (fn.hasErrors) {
        drop("parse-error");
        continue;
      }
      if (cfg.excludeTests && isTestFunctionName(fn.name)) {
        drop("test-function");
        continue;
      }
      const code = fn.codeStripped.replace(/\s+$/, "");
      if (!code.trim()) {
        drop("trivial-body");
        continue;
      }
      const nLines = countLines(code);
      if (nLines < cfg.minLines) {
        drop("too-few-lines");
        continue;
      }
      if (nLines > cfg.maxLines) {
        drop("too-many-lines");
        continue;
      }
      const lr = lex(lang, code);
      const nTokens = lr.tokens.length;
      if (nTokens < cfg.minTokens) {
        drop("too-few-tokens");
        continue;
      }
      if (nTokens > cfg.maxTokens) {
        drop("too-many-tokens");
        continue;
      }
      if (cfg.dropTrivial && isTrivialBody(lang, code, fn.signature, cfg.maxTrivialTokens)) {
        drop("trivial-body");
        continue;
      }
      if (isLicenseCode(code)) {
        drop("license-text");
        continue;
      }
      let doc = fn.doc && fn.doc.trim() ? fn.doc.trim() : null;
      let docWasLicense = false;
      if (doc && isLicenseText(doc)) {
        doc = null;
        docWasLicense = true;
      }
      if (cfg.requireDoc && !doc) {
        drop("no-doc", docWasLicense);
        continue;
      }
      const id = sha256Hex(`${t.repo}\u0000${t.path}\u0000${fn.startLine}\u0000${fn.name}`).slice(0, 16);
      if (this.bench) {
        const matches = this.bench.check(lang, lr, doc);
        if (matches.length) {
          out.push({
            contaminated: { id, name: fn.name, class_name: fn.className, start_line: fn.startLine, code, doc, matches },
            docWasLicense,
          });
          continue;
        }
      }
      const ids = tokenHashes(lr.tokens);
      const exactKey = hashSeq52([...ids, lang.length, ...tokenHashes([lang])]);
      const sig = this.hasher ? this.hasher.signature(shingles(lr.tokens, cfg.dedup.shingle, ids)) : null;
      out.push({
        candidate: {
          id,
          name: fn.name,
          class_name: fn.className,
          kind: fn.kind,
          signature: fn.signature,
          code,
          doc,
          docWasLicense,
          start_line: fn.startLine,
          end_line: fn.endLine,
          n_lines: nLines,
          n_tokens: nTokens,
          exactKey,
          sig,
        },
      });
    }
    return { functions: out };
  }
}
