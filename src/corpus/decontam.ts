/**
 * Decontamination against every benchmark the project evaluates on (data/benchmarks/): HumanEval, MBPP
 * (full and sanitized) and all MultiPL-E humaneval-* / mbpp-* files.
 *
 * Three tests, any one of which marks a function as contaminated:
 *  1. code n-grams: a `codeN`-gram (default 13) of the function's code tokens (comments dropped, literals
 *     kept) equals one of a benchmark's code (solution, prompt signature, tests). Benchmark pieces shorter
 *     than `codeN` tokens (but ≥ `minShortTokens`) match when they occur whole.
 *  2. renamed code: with identifiers abstracted (`$`, builtins and attribute names kept), the function
 *     covers ≥ `renamedCoverage` of the distinct abstract n-grams of a benchmark solution. This catches
 *     renamed and reformatted copies while a single generic n-gram (e.g. a `for $ in range(len($))` loop)
 *     does not trigger it.
 *  3. documentation n-grams: a `docN`-gram of the function's documentation words equals one of a
 *     benchmark's prompt/description words (short descriptions ≥ `minShortWords` match whole).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readJsonlStrict as readJsonl } from "../core/jsonl.js";
import { hashSeq52, ngramHashes } from "./hash.js";
import { abstractTokens, lex, words, type LexResult } from "./lexer.js";
import { tokenHashes } from "./dedup.js";
import { NgramTable, postings, type NgramTableData } from "./table.js";

export interface DecontamOptions {
  codeN: number;
  docN: number;
  renamedCoverage: number;
  /** Minimum distinct abstract n-grams a benchmark solution needs for the renamed test. */
  minRenamedNgrams: number;
  minShortTokens: number;
  minShortWords: number;
}

export const DEFAULT_DECONTAM: DecontamOptions = {
  codeN: 13,
  docN: 13,
  renamedCoverage: 0.5,
  minRenamedNgrams: 4,
  minShortTokens: 8,
  minShortWords: 6,
};

/** One piece of benchmark text that training data must not contain. */
export interface BenchmarkUnit {
  benchmark: string;
  taskId: string;
  part: "solution" | "solution-body" | "prompt" | "tests" | "description";
  lang: string;
  code?: string;
  text?: string;
  /** Index the code's exact n-grams (default true when `code` is set). */
  exact?: boolean;
  /** Index the code's identifier-abstracted n-grams for the renamed-copy test. */
  renamed?: boolean;
}

export interface ContaminationMatch {
  benchmark: string;
  task_id: string;
  part: string;
  kind: "code-ngram" | "code-renamed" | "doc-ngram";
  /** The matching n-gram (tokens or words joined by spaces), or the coverage for renamed matches. */
  evidence: string;
  coverage?: number;
}

export function defaultBenchmarksDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/corpus → repo root; also works when run from src/ via a loader (src/corpus → repo root)
  for (const up of ["../../..", "../.."]) {
    const d = path.resolve(here, up, "data/benchmarks");
    if (fs.existsSync(d)) return d;
  }
  return path.resolve(here, "../../../data/benchmarks");
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const strList = (v: unknown): string => (Array.isArray(v) ? v.filter((x) => typeof x === "string").join("\n") : "");

/**
 * Loads every benchmark under `dir` into units. Throws when the directory or an expected benchmark is
 * missing, because silently decontaminating against nothing is the worst failure of this module.
 */
export function loadBenchmarkUnits(dir: string): { units: BenchmarkUnit[]; files: string[] } {
  if (!fs.existsSync(dir)) throw new Error(`benchmark directory not found: ${dir} (needed for decontamination)`);
  const units: BenchmarkUnit[] = [];
  const files: string[] = [];
  const he = path.join(dir, "humaneval/HumanEval.jsonl.gz");
  const mb = path.join(dir, "mbpp/mbpp.jsonl.gz");
  const ms = path.join(dir, "mbpp/sanitized-mbpp.json");
  for (const f of [he, mb, ms]) if (!fs.existsSync(f)) throw new Error(`benchmark file missing: ${f}`);
  for (const r of readJsonl(he)) {
    const id = str(r.task_id);
    units.push({
      benchmark: "humaneval",
      taskId: id,
      part: "solution",
      lang: "python",
      code: str(r.prompt) + str(r.canonical_solution),
      renamed: true,
    });
    // the body alone for the renamed test: a copy without the typed signature / imports must still match
    units.push({
      benchmark: "humaneval",
      taskId: id,
      part: "solution-body",
      lang: "python",
      code: str(r.canonical_solution),
      exact: false,
      renamed: true,
    });
    units.push({ benchmark: "humaneval", taskId: id, part: "tests", lang: "python", code: str(r.test) });
    units.push({ benchmark: "humaneval", taskId: id, part: "description", lang: "python", text: str(r.prompt) });
  }
  files.push(he);
  for (const r of readJsonl(mb)) {
    const id = String(r.task_id);
    units.push({ benchmark: "mbpp", taskId: id, part: "solution", lang: "python", code: str(r.code), renamed: true });
    units.push({
      benchmark: "mbpp",
      taskId: id,
      part: "tests",
      lang: "python",
      code: [str(r.test_setup_code), strList(r.test_list), strList(r.challenge_test_list)].join("\n"),
    });
    units.push({ benchmark: "mbpp", taskId: id, part: "description", lang: "python", text: str(r.text) });
  }
  files.push(mb);
  const san = JSON.parse(fs.readFileSync(ms, "utf8")) as Record<string, unknown>[];
  for (const r of san) {
    const id = String(r.task_id);
    units.push({
      benchmark: "mbpp-sanitized",
      taskId: id,
      part: "solution",
      lang: "python",
      code: str(r.code),
      renamed: true,
    });
    units.push({
      benchmark: "mbpp-sanitized",
      taskId: id,
      part: "tests",
      lang: "python",
      code: strList(r.test_imports) + "\n" + strList(r.test_list),
    });
    units.push({ benchmark: "mbpp-sanitized", taskId: id, part: "description", lang: "python", text: str(r.prompt) });
  }
  files.push(ms);
  const mdir = path.join(dir, "multipl-e");
  const mfiles = fs.existsSync(mdir)
    ? fs
        .readdirSync(mdir)
        .filter((f) => /^(humaneval|mbpp)-.+\.jsonl(\.gz)?$/.test(f))
        .sort()
    : [];
  if (mfiles.length === 0) throw new Error(`no MultiPL-E files found in ${mdir}`);
  for (const f of mfiles) {
    const bench = "multipl-e/" + f.replace(/\.jsonl(\.gz)?$/, "");
    const flang = f.replace(/^(humaneval|mbpp)-/, "").replace(/\.jsonl(\.gz)?$/, "");
    for (const r of readJsonl(path.join(mdir, f))) {
      const id = str(r.name) || str(r.source_task_id);
      const lang = str(r.language) || flang;
      units.push({ benchmark: bench, taskId: id, part: "prompt", lang, code: str(r.prompt) });
      units.push({ benchmark: bench, taskId: id, part: "tests", lang, code: str(r.tests) });
      units.push({ benchmark: bench, taskId: id, part: "description", lang, text: str(r.prompt) });
    }
    files.push(path.join(mdir, f));
  }
  return { units, files };
}

/**
 * Low-information n-grams (fewer than n/3 distinct tokens, e.g. `-1, -1, -1, …` or `0, 0, 0, …`) are not
 * indexed: they match any table of constants and say nothing about where code came from.
 */
function diverse(ids: Uint32Array, start: number, n: number): boolean {
  let distinct = 0;
  for (let i = start; i < start + n; i++) {
    let j = start;
    while (j < i && ids[j] !== ids[i]) j++;
    if (j === i) distinct++;
  }
  return distinct * 3 >= n;
}

export interface BenchmarkIndexData {
  opts: DecontamOptions;
  infos: UnitInfo[];
  code: NgramTableData;
  abs: NgramTableData;
  doc: NgramTableData;
  codeShort: [number, NgramTableData][];
  docShort: [number, NgramTableData][];
  benchmarks: string[];
}

interface UnitInfo {
  unit: BenchmarkUnit;
  nAbstract: number;
}

/** The n-gram index over all benchmark units. */
export class BenchmarkIndex {
  readonly opts: DecontamOptions;
  private readonly infos: UnitInfo[] = [];
  private code: NgramTable;
  private readonly codeShort = new Map<number, NgramTable>();
  private abs: NgramTable;
  private doc: NgramTable;
  private readonly docShort = new Map<number, NgramTable>();
  readonly stats = { units: 0, codeNgrams: 0, abstractNgrams: 0, docNgrams: 0, benchmarks: new Set<string>() };

  constructor(units: BenchmarkUnit[], opts: Partial<DecontamOptions> = {}) {
    this.opts = { ...DEFAULT_DECONTAM, ...opts };
    const big = units.length > 0;
    this.code = new NgramTable(big ? 1 << 20 : 16);
    this.abs = new NgramTable(big ? 1 << 16 : 16);
    this.doc = new NgramTable(big ? 1 << 18 : 16);
    const { codeN, docN, minShortTokens, minShortWords, minRenamedNgrams } = this.opts;
    for (const unit of units) {
      const uid = this.infos.length;
      const info: UnitInfo = { unit, nAbstract: 0 };
      this.infos.push(info);
      this.stats.benchmarks.add(unit.benchmark);
      if (unit.code !== undefined) {
        const lr = lex(unit.lang, unit.code);
        const ids = tokenHashes(lr.tokens);
        if (unit.exact === false) {
          /* renamed-only unit */
        } else if (ids.length >= codeN) {
          const hs = ngramHashes(ids, codeN);
          for (let i = 0; i < hs.length; i++) if (diverse(ids, i, codeN)) this.code.add(hs[i]!, uid);
        } else if (ids.length >= minShortTokens) {
          let m = this.codeShort.get(ids.length);
          if (!m) this.codeShort.set(ids.length, (m = new NgramTable()));
          m.add(hashSeq52(ids), uid);
        }
        if (unit.renamed) {
          const aids = tokenHashes(abstractTokens(lr));
          const distinct = new Set<number>(ngramHashes(aids, codeN));
          if (distinct.size >= minRenamedNgrams) {
            info.nAbstract = distinct.size;
            for (const h of distinct) this.abs.add(h, uid);
          }
        }
      }
      if (unit.text !== undefined) {
        const w = words(unit.text);
        const ids = tokenHashes(w);
        if (ids.length >= docN) {
          for (const h of ngramHashes(ids, docN)) this.doc.add(h, uid);
        } else if (ids.length >= minShortWords) {
          let m = this.docShort.get(ids.length);
          if (!m) this.docShort.set(ids.length, (m = new NgramTable()));
          m.add(hashSeq52(ids), uid);
        }
      }
    }
    this.stats.units = this.infos.length;
    this.stats.codeNgrams = this.code.size;
    this.stats.abstractNgrams = this.abs.size;
    this.stats.docNgrams = this.doc.size;
  }

  /** The index as plain data (typed arrays, unit metadata without the benchmark text) for worker threads. */
  toData(): BenchmarkIndexData {
    const meta = (u: BenchmarkUnit): BenchmarkUnit => ({
      benchmark: u.benchmark,
      taskId: u.taskId,
      part: u.part,
      lang: u.lang,
    });
    return {
      opts: this.opts,
      infos: this.infos.map((i) => ({ unit: meta(i.unit), nAbstract: i.nAbstract })),
      code: this.code.toData(),
      abs: this.abs.toData(),
      doc: this.doc.toData(),
      codeShort: [...this.codeShort].map(([k, t]) => [k, t.toData()] as [number, NgramTableData]),
      docShort: [...this.docShort].map(([k, t]) => [k, t.toData()] as [number, NgramTableData]),
      benchmarks: [...this.stats.benchmarks],
    };
  }

  static fromData(d: BenchmarkIndexData): BenchmarkIndex {
    const idx = new BenchmarkIndex([], d.opts);
    const w = idx as unknown as {
      infos: UnitInfo[];
      code: NgramTable;
      abs: NgramTable;
      doc: NgramTable;
      codeShort: Map<number, NgramTable>;
      docShort: Map<number, NgramTable>;
    };
    w.infos.push(...d.infos);
    w.code = NgramTable.fromData(d.code);
    w.abs = NgramTable.fromData(d.abs);
    w.doc = NgramTable.fromData(d.doc);
    for (const [k, t] of d.codeShort) w.codeShort.set(k, NgramTable.fromData(t));
    for (const [k, t] of d.docShort) w.docShort.set(k, NgramTable.fromData(t));
    for (const b of d.benchmarks) idx.stats.benchmarks.add(b);
    idx.stats.units = d.infos.length;
    idx.stats.codeNgrams = w.code.size;
    idx.stats.abstractNgrams = w.abs.size;
    idx.stats.docNgrams = w.doc.size;
    return idx;
  }

  static load(dir: string, opts: Partial<DecontamOptions> = {}): BenchmarkIndex {
    return new BenchmarkIndex(loadBenchmarkUnits(dir).units, opts);
  }

  private match(
    uid: number,
    kind: ContaminationMatch["kind"],
    evidence: string,
    coverage?: number,
  ): ContaminationMatch {
    const u = this.infos[uid]!.unit;
    const m: ContaminationMatch = { benchmark: u.benchmark, task_id: u.taskId, part: u.part, kind, evidence };
    if (coverage !== undefined) m.coverage = Math.round(coverage * 1000) / 1000;
    return m;
  }

  /**
   * Checks one function. `lang` is the lexer language; `code` is the function without comments;
   * `doc` its documentation (or null). Returns the matches (empty when clean), at most `limit`.
   */
  check(lang: string, code: string | LexResult, doc: string | null, limit = 5): ContaminationMatch[] {
    const out: ContaminationMatch[] = [];
    const seen = new Set<number>();
    const add = (uid: number, kind: ContaminationMatch["kind"], ev: string, cov?: number): void => {
      if (seen.has(uid) || out.length >= limit) return;
      seen.add(uid);
      out.push(this.match(uid, kind, ev, cov));
    };
    const { codeN, docN, renamedCoverage } = this.opts;
    const lr = typeof code === "string" ? lex(lang, code) : code;
    const ids = tokenHashes(lr.tokens);
    const hs = ngramHashes(ids, codeN);
    for (let i = 0; i < hs.length && out.length < limit; i++) {
      const hit = this.code.get(hs[i]!);
      if (hit !== null)
        for (const uid of postings(hit)) add(uid, "code-ngram", lr.tokens.slice(i, i + codeN).join(" "));
    }
    for (const [len, m] of this.codeShort) {
      for (let i = 0; i + len <= ids.length && out.length < limit; i++) {
        const hit = m.get(hashSeq52(ids, i, i + len));
        if (hit !== null)
          for (const uid of postings(hit)) add(uid, "code-ngram", lr.tokens.slice(i, i + len).join(" "));
      }
    }
    if (out.length < limit && this.abs.size > 0) {
      const aids = tokenHashes(abstractTokens(lr));
      const distinct = new Set<number>(ngramHashes(aids, codeN));
      const counts = new Map<number, number>();
      for (const h of distinct) {
        const hit = this.abs.get(h);
        if (hit !== null) for (const uid of postings(hit)) counts.set(uid, (counts.get(uid) ?? 0) + 1);
      }
      const ranked = [...counts]
        .map(([uid, c]) => [uid, c / this.infos[uid]!.nAbstract] as const)
        .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      for (const [uid, cov] of ranked) {
        if (cov < renamedCoverage) break;
        add(uid, "code-renamed", `${counts.get(uid)}/${this.infos[uid]!.nAbstract} abstract ${codeN}-grams`, cov);
      }
    }
    if (doc && out.length < limit) {
      const w = words(doc);
      const wids = tokenHashes(w);
      const dh = ngramHashes(wids, docN);
      for (let i = 0; i < dh.length && out.length < limit; i++) {
        const hit = this.doc.get(dh[i]!);
        if (hit !== null) for (const uid of postings(hit)) add(uid, "doc-ngram", w.slice(i, i + docN).join(" "));
      }
      for (const [len, m] of this.docShort) {
        for (let i = 0; i + len <= wids.length && out.length < limit; i++) {
          const hit = m.get(hashSeq52(wids, i, i + len));
          if (hit !== null) for (const uid of postings(hit)) add(uid, "doc-ngram", w.slice(i, i + len).join(" "));
        }
      }
    }
    return out;
  }
}
