/**
 * `batcoder document`, `implement` and `roundtrip` as functions: files → functions (src/lang), the model's two
 * directions (./directions.ts), documentation written in each language's convention (src/lang/docwrite.ts),
 * checked for format and leaks (src/similarity checkDoc), optionally kept only when the model rebuilds the
 * code from it (`minRoundtrip`), and applied as a unified diff (src/core/diff.ts) or in place (atomic write).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { unifiedDiff } from "../core/diff.js";
import { writeFileAtomic } from "../core/jsonl.js";
import { ProgressBar } from "../core/progress.js";
import {
  LANG_IDS,
  LANGUAGES,
  applyDocs,
  detectLanguage,
  docTargets,
  loadLanguage,
  type DocEdit,
  type DocTarget,
  type LangId,
} from "../lang/index.js";
import { checkDoc, similarity, type Metric } from "../similarity/index.js";
import { directorySources, normalizeInput } from "../corpus/sources.js";
import { isIgnored, parseGitignore } from "../corpus/gitignore.js";
import type { BatDirections } from "./directions.js";

export interface SourceText {
  /** Path as the user named it (or below a named directory). */
  path: string;
  lang: LangId;
  text: string;
}

export interface FileProblem {
  path: string;
  reason: string;
}

/** Decodes a file strictly: binary (NUL bytes) and non-UTF-8 content are refused with a reason. */
export function decodeSource(buf: Buffer): { text: string } | { reason: string } {
  if (buf.includes(0)) return { reason: "binary file (contains NUL bytes)" };
  try {
    let text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text };
  } catch {
    return { reason: "not valid UTF-8" };
  }
}

export interface CollectOptions {
  /** gitignore-style globs a file must match (any), relative to the named directory. */
  include?: string[];
  /** gitignore-style globs that drop files (in addition to .gitignore files). */
  exclude?: string[];
  /** Force the language of every file. */
  lang?: LangId;
}

/**
 * The source files named by `paths`: a file named directly must be readable UTF-8 text in a known language
 * (otherwise a UserError naming the file and what is supported); files found in directories (walked with
 * .gitignore honoured, the corpus reader's walk) are kept when their language is known and they decode,
 * and listed in `skipped` otherwise.
 */
export async function collectSources(
  paths: readonly string[],
  opts: CollectOptions = {},
): Promise<{ files: SourceText[]; skipped: FileProblem[] }> {
  if (paths.length === 0) throw new UserError("no PATH given (files or directories)");
  const include = opts.include?.length ? parseGitignore(opts.include.join("\n"), "") : null;
  const files: SourceText[] = [];
  const skipped: FileProblem[] = [];
  const known = `known languages: ${LANG_IDS.join(", ")} (by extension, file name or #! line; or pass --lang)`;
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new UserError(`${p}: no such file or directory`);
    }
    if (st.isFile()) {
      const dec = decodeSource(fs.readFileSync(p));
      if ("reason" in dec) throw new UserError(`${p}: ${dec.reason}; document reads UTF-8 source files`);
      const lang = opts.lang ?? detectLanguage(p, dec.text.split("\n", 1)[0]);
      if (!lang) throw new UserError(`${p}: unknown language; ${known}`);
      files.push({ path: p, lang, text: dec.text });
      continue;
    }
    if (!st.isDirectory()) throw new UserError(`${p}: not a regular file or directory`);
    for await (const f of directorySources(normalizeInput({ path: p, exclude: opts.exclude ?? [] }))) {
      if (include && !isIgnored(include, f.path, false)) continue;
      const rel = path.join(p, f.path);
      const byExt = opts.lang ?? detectLanguage(f.path);
      const buf = await f.read!();
      const dec = decodeSource(buf);
      const lang = byExt ?? ("text" in dec ? detectLanguage(f.path, dec.text.split("\n", 1)[0]) : null);
      if (!lang) continue; // not source code: silently not ours
      if ("reason" in dec) {
        skipped.push({ path: rel, reason: dec.reason });
        continue;
      }
      files.push({ path: rel, lang, text: dec.text });
    }
  }
  return { files, skipped };
}

export type FunctionStatus = "documented" | "has-doc" | "skipped" | "failed";

export interface FunctionOutcome {
  name: string;
  line: number;
  status: FunctionStatus;
  reason?: string;
  doc?: string;
  /** Similarity of the rebuild from `doc` (when `minRoundtrip` was asked). */
  roundtrip?: number;
}

export interface FileOutcome {
  path: string;
  lang: LangId;
  functions: FunctionOutcome[];
  /** The new text (when something was documented and it still parses). */
  newText?: string;
  diff?: string;
  /** Set when the file was left alone because of a problem (e.g. the result would not parse). */
  failed?: string;
  written?: boolean;
}

export interface DocumentSummary {
  files: number;
  filesChanged: number;
  /** Functions that got documentation. */
  documented: number;
  /** Functions that already had documentation (left alone). */
  alreadyDocumented: number;
  skipped: number;
  failed: number;
  filesFailed: number;
  filesSkipped: number;
}

export interface DocumentOptions extends CollectOptions {
  paths: string[];
  /** null: only look (`--check`). */
  directions: BatDirections | null;
  overwrite?: boolean;
  write?: boolean;
  /** Keep only docs from which the model rebuilds code with similarity ≥ this (metric `metric`). */
  minRoundtrip?: number;
  metric?: Metric;
  maxDocTokens?: number;
  maxCodeTokens?: number;
  seed?: number;
  /** Functions per model call. */
  batchSize?: number;
  progress?: boolean;
}

/** The function's input to the model: its code without comments and docstrings (what the RL trained on). */
export function modelCode(t: DocTarget): string {
  return t.fn.codeStripped.replace(/\s+$/, "");
}

function summarise(outcomes: FileOutcome[], skippedFiles: FileProblem[]): DocumentSummary {
  const fns = outcomes.flatMap((o) => o.functions);
  return {
    files: outcomes.length,
    filesChanged: outcomes.filter((o) => o.newText !== undefined).length,
    documented: fns.filter((f) => f.status === "documented").length,
    alreadyDocumented: fns.filter((f) => f.status === "has-doc").length,
    skipped: fns.filter((f) => f.status === "skipped").length,
    failed: fns.filter((f) => f.status === "failed").length,
    filesFailed: outcomes.filter((o) => o.failed).length,
    filesSkipped: skippedFiles.length,
  };
}

/**
 * Documents every undocumented function of the files (every function with `overwrite`). Returns the per-file
 * outcomes (with a diff) and a summary; with `write` the changed files are replaced atomically.
 */
export async function documentFiles(
  opts: DocumentOptions,
): Promise<{ outcomes: FileOutcome[]; skippedFiles: FileProblem[]; summary: DocumentSummary }> {
  const { files, skipped: skippedFiles } = await collectSources(opts.paths, opts);
  for (const l of new Set(files.map((f) => f.lang))) await loadLanguage(l);
  const plans = files.map((f) => ({ file: f, targets: docTargets(f.lang, f.text) }));
  const todoCount = plans.reduce(
    (s, p) => s + p.targets.filter((t) => !t.skip && (!t.documented || opts.overwrite)).length,
    0,
  );
  const bar = new ProgressBar("document", todoCount, (opts.progress ?? false) && opts.directions !== null);
  let done = 0;
  const outcomes: FileOutcome[] = [];
  const metric = opts.metric ?? "codebleu";
  for (const { file, targets } of plans) {
    const out: FileOutcome = { path: file.path, lang: file.lang, functions: [] };
    outcomes.push(out);
    const todo: DocTarget[] = [];
    for (const t of targets) {
      const base = { name: t.fn.name, line: t.fn.startLine };
      if (t.documented && !opts.overwrite) out.functions.push({ ...base, status: "has-doc" });
      else if (t.skip)
        out.functions.push({
          ...base,
          status: "skipped",
          reason: opts.directions || t.documented ? t.skip : `undocumented (${t.skip})`,
        });
      else todo.push(t);
    }
    if (!opts.directions) {
      for (const t of todo)
        out.functions.push({
          name: t.fn.name,
          line: t.fn.startLine,
          status: "skipped",
          reason: "undocumented (check only)",
        });
      out.functions.sort((a, b) => a.line - b.line);
      continue;
    }
    const edits: DocEdit[] = [];
    const bs = opts.batchSize ?? 16;
    for (let i = 0; i < todo.length; i += bs) {
      const chunk = todo.slice(i, i + bs);
      const docs = (
        await opts.directions.document(
          chunk.map((t) => ({ code: modelCode(t), lang: file.lang })),
          { maxTokens: opts.maxDocTokens, seed: opts.seed },
        )
      ).map((d) => d[0] ?? "");
      let sims: (number | undefined)[] = chunk.map(() => undefined);
      const checks = chunk.map((t, k) => checkDoc(docs[k]!, modelCode(t), file.lang));
      if (opts.minRoundtrip !== undefined) {
        const ok = chunk.map((_, k) => checks[k]!.valid && !checks[k]!.leaked && docs[k]!.trim() !== "");
        const idx = chunk.map((_, k) => k).filter((k) => ok[k]);
        const rebuilt = await opts.directions.implement(
          idx.map((k) => ({ doc: docs[k]!, lang: file.lang })),
          { maxTokens: opts.maxCodeTokens, seed: opts.seed },
        );
        sims = chunk.map(() => undefined);
        idx.forEach(
          (k, j) => (sims[k] = similarity(metric, modelCode(chunk[k]!), rebuilt[j]![0] ?? "", file.lang).score),
        );
      }
      chunk.forEach((t, k) => {
        const doc = docs[k]!.trim();
        const c = checks[k]!;
        const base = { name: t.fn.name, line: t.fn.startLine, doc };
        let reason: string | null = null;
        if (!doc) reason = "the model wrote no documentation";
        else if (!c.valid) reason = `format: ${c.violations.slice(0, 2).join("; ")}`;
        else if (c.leaked) reason = `leaks the code (${(c.leakFraction * 100).toFixed(0)}% copied)`;
        else if (opts.minRoundtrip !== undefined && (sims[k] ?? 0) < opts.minRoundtrip) {
          reason = `round-trip ${metric} ${(sims[k] ?? 0).toFixed(3)} < ${opts.minRoundtrip}`;
        }
        const rt = sims[k] !== undefined ? { roundtrip: sims[k] } : {};
        if (reason) out.functions.push({ ...base, ...rt, status: "failed", reason });
        else {
          out.functions.push({ ...base, ...rt, status: "documented" });
          edits.push({ target: t, doc });
        }
      });
      done += chunk.length;
      bar.update(done, out.path);
    }
    out.functions.sort((a, b) => a.line - b.line);
    if (!edits.length) continue;
    const res = applyDocs(file.lang, file.text, edits);
    if (!res.ok) {
      out.failed = `the documented file would not parse (${res.errorsAfter} syntax errors, ${res.errorsBefore} before); left unchanged`;
      for (const f of out.functions)
        if (f.status === "documented") Object.assign(f, { status: "failed", reason: "file would not parse" });
      continue;
    }
    out.newText = res.text;
    out.diff = unifiedDiff(file.text, res.text, { fromFile: `a/${file.path}`, toFile: `b/${file.path}` });
    if (opts.write) {
      writeFileAtomic(file.path, res.text);
      out.written = true;
    }
  }
  bar.done();
  return { outcomes, skippedFiles, summary: summarise(outcomes, skippedFiles) };
}

export function formatSummary(s: DocumentSummary, check: boolean): string {
  if (check) {
    return (
      `${s.files} files: ${s.skipped} undocumented functions (${s.alreadyDocumented} documented)` +
      (s.filesSkipped ? `, ${s.filesSkipped} files skipped` : "")
    );
  }
  return (
    `${s.files} files (${s.filesChanged} changed${s.filesFailed ? `, ${s.filesFailed} left alone: would not parse` : ""}` +
    `${s.filesSkipped ? `, ${s.filesSkipped} unreadable` : ""}): ${s.documented} functions documented, ` +
    `${s.skipped} skipped, ${s.failed} failed, ${s.alreadyDocumented} already documented`
  );
}

/** Language names for messages. */
export function langName(l: LangId): string {
  return LANGUAGES[l].name;
}
