/**
 * `batcoder roundtrip` and `batcoder implement` as functions.
 *
 * Round trip (an unsupervised evaluation of a model on a user's own code, in the sense of round-trip
 * correctness, Allamanis et al. 2024): per function, the model documents the code (code→doc), rebuilds code
 * from that documentation alone (doc→code), and the rebuild is scored against the original with every metric
 * (BLEU, CodeBLEU, dependency graph, exact, and behaviour in the sandbox where the function can run alone).
 * Functions the model cannot reconstruct are flagged with a guess at why.
 *
 * Implement: code from documentation, n samples; with tests, each sample runs in the sandbox with the user's
 * tests and the samples are ranked by the tests they pass.
 */
import { UserError } from "../core/errors.js";
import { ProgressBar } from "../core/progress.js";
import { docTargets, loadLanguage, parseCode, type LangId } from "../lang/index.js";
import { checkDoc, similarityAll, type Metric } from "../similarity/index.js";
import { BEHAVIOUR_LANGS, compareBehaviour, type BehaviourResult } from "../behaviour/index.js";
import { Sandbox } from "../sandbox/sandbox.js";
import { executeProgram, type ExecResult, type Language } from "../sandbox/executors.js";
import type { BatDirections } from "./directions.js";
import { collectSources, modelCode, type CollectOptions, type FileProblem } from "./document.js";

export interface RoundtripRow {
  path: string;
  lang: LangId;
  name: string;
  line: number;
  code: string;
  doc: string;
  rebuilt: string;
  docValid: boolean;
  docLeaked: boolean;
  scores: Record<Metric, number> & { behaviour: number | null };
  behaviourNote?: string;
  /** The headline score: behaviour where it ran, else CodeBLEU. */
  score: number;
  /** Reasons guessed for a low score (empty when the score is at least the threshold). */
  flags: string[];
}

export interface RoundtripOptions extends CollectOptions {
  paths: string[];
  directions: BatDirections;
  /** Run the behaviour metric in the sandbox (default true). */
  behaviour?: boolean;
  unsafeNoSandbox?: boolean;
  /** A row whose score is below this is flagged (default 0.5). */
  threshold?: number;
  maxDocTokens?: number;
  maxCodeTokens?: number;
  seed?: number;
  batchSize?: number;
  progress?: boolean;
  /** Functions at most (the first ones in file order). */
  limit?: number;
}

const GENERIC_NAMES = new Set([
  "f",
  "g",
  "h",
  "fn",
  "func",
  "foo",
  "bar",
  "baz",
  "helper",
  "doit",
  "do_it",
  "process",
  "handle",
  "run",
  "tmp",
  "temp",
  "test",
  "x",
  "aux",
  "impl",
  "main",
  "go",
  "exec",
  "call",
]);

/** Identifiers called in `code` (`name(` and `.name(`), for the unknown-API guess. */
function calledNames(code: string): Set<string> {
  const out = new Set<string>();
  for (const m of code.matchAll(/([A-Za-z_][\w]*)\s*\(/g)) out.add(m[1]!);
  return out;
}

/** Guesses why the model could not rebuild a function (heuristics, each with its evidence). */
export function reasonGuesses(
  row: Pick<RoundtripRow, "name" | "code" | "doc" | "rebuilt" | "docValid" | "docLeaked" | "lang">,
): string[] {
  const out: string[] = [];
  if (!row.doc.trim()) out.push("no documentation: the model wrote nothing");
  else if (!row.docValid) out.push("badly formed documentation");
  if (row.docLeaked) out.push("the documentation copies the code");
  const bare = row.name.replace(/^_+/, "").toLowerCase();
  const params = (row.code.split("\n")[0] ?? "").match(/\(([^)]*)\)/)?.[1] ?? "";
  const shortParams = params
    .split(",")
    .map((p) =>
      p
        .trim()
        .split(/[\s:=]/)[0]!
        .replace(/^[*&$]+/, ""),
    )
    .filter((p) => p && p !== "self" && p.length <= 1);
  if (GENERIC_NAMES.has(bare) || bare.length <= 2)
    out.push(`poorly named: '${row.name}' says little about what it does`);
  else if (shortParams.length >= 2) out.push(`poorly named: one-letter parameters (${shortParams.join(", ")})`);
  const lines = row.code.trimEnd().split("\n").length;
  if (lines > 40) out.push(`too long: ${lines} lines`);
  const parsed = parseCode(row.lang, row.code);
  const longest = Math.max(0, ...row.code.split("\n").map((l) => l.trim().length));
  if (parsed.maxDepth > 28 || longest > 110)
    out.push(`too clever: deep nesting (syntax depth ${parsed.maxDepth}) or dense lines (${longest} chars)`);
  const orig = calledNames(row.code),
    rebuilt = calledNames(row.rebuilt);
  const missing = [...orig].filter((n) => n !== row.name && !rebuilt.has(n) && !row.doc.includes(n));
  if (missing.length)
    out.push(
      `unknown API: calls ${missing.slice(0, 4).join(", ")} that neither the documentation nor the rebuild mention`,
    );
  if (!out.length) out.push("no clear cause (the documentation may be too vague)");
  return out;
}

export async function roundtripFiles(
  opts: RoundtripOptions,
): Promise<{ rows: RoundtripRow[]; skippedFiles: FileProblem[] }> {
  const { files, skipped } = await collectSources(opts.paths, opts);
  for (const l of new Set(files.map((f) => f.lang))) await loadLanguage(l);
  type Item = { path: string; lang: LangId; name: string; line: number; code: string };
  let items: Item[] = [];
  for (const f of files) {
    for (const t of docTargets(f.lang, f.text)) {
      const code = modelCode(t);
      if (code.trim()) items.push({ path: f.path, lang: f.lang, name: t.fn.name, line: t.fn.startLine, code });
    }
  }
  if (opts.limit !== undefined) items = items.slice(0, opts.limit);
  const bar = new ProgressBar("roundtrip", items.length, opts.progress ?? false);
  const bs = opts.batchSize ?? 16;
  const rows: RoundtripRow[] = [];
  const threshold = opts.threshold ?? 0.5;
  for (let i = 0; i < items.length; i += bs) {
    const chunk = items.slice(i, i + bs);
    const docs = (await opts.directions.document(chunk, { maxTokens: opts.maxDocTokens, seed: opts.seed })).map((d) =>
      (d[0] ?? "").trim(),
    );
    const rebuilt = (
      await opts.directions.implement(
        chunk.map((it, k) => ({ doc: docs[k]!, lang: it.lang })),
        { maxTokens: opts.maxCodeTokens, seed: opts.seed },
      )
    ).map((r) => r[0] ?? "");
    const beh: (BehaviourResult | null)[] = chunk.map(() => null);
    if (opts.behaviour ?? true) {
      const idx = chunk
        .map((it, k) => ((BEHAVIOUR_LANGS as readonly string[]).includes(it.lang) ? k : -1))
        .filter((k) => k >= 0);
      if (idx.length) {
        const res = await compareBehaviour(
          idx.map((k) => ({
            lang: chunk[k]!.lang,
            original: chunk[k]!.code,
            rebuilt: rebuilt[k]!,
            entryPoint: chunk[k]!.name,
          })),
          { unsafe: opts.unsafeNoSandbox ?? false },
        );
        idx.forEach((k, j) => (beh[k] = res[j]!));
      }
    }
    chunk.forEach((it, k) => {
      const sims = similarityAll(it.code, rebuilt[k]!, it.lang);
      const check = checkDoc(docs[k]!, it.code, it.lang);
      const b = beh[k];
      const behaviour = b && b.executable ? b.score : null;
      const score = behaviour ?? sims.codebleu.score;
      const row: RoundtripRow = {
        ...it,
        doc: docs[k]!,
        rebuilt: rebuilt[k]!,
        docValid: check.valid,
        docLeaked: check.leaked,
        scores: {
          bleu: sims.bleu.score,
          codebleu: sims.codebleu.score,
          dfg: sims.dfg.score,
          exact: sims.exact.score,
          behaviour,
        },
        score,
        flags: [],
      };
      if (b)
        row.behaviourNote = b.executable
          ? `${b.agree}/${b.nInputs} inputs agree${b.reason ? `; ${b.reason}` : ""}`
          : (b.reason ?? "not executable");
      if (score < threshold) row.flags = reasonGuesses(row);
      rows.push(row);
    });
    bar.update(Math.min(items.length, i + bs));
  }
  bar.done();
  return { rows, skippedFiles: skipped };
}

const num = (x: number | null): string => (x === null ? "  -  " : x.toFixed(3));

/** The plain-text table of a round trip (one line per function, then the means). */
export function roundtripTable(rows: readonly RoundtripRow[]): string {
  const head = ["function", "bleu", "codebleu", "graph", "exact", "behav", "score", "flag"];
  const lines = rows.map((r) => [
    `${r.path}:${r.line} ${r.name}`,
    num(r.scores.bleu),
    num(r.scores.codebleu),
    num(r.scores.dfg),
    num(r.scores.exact),
    num(r.scores.behaviour),
    num(r.score),
    r.flags[0] ?? "",
  ]);
  const mean = (f: (r: RoundtripRow) => number | null): string => {
    const xs = rows.map(f).filter((x): x is number => x !== null);
    return xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3) : "  -  ";
  };
  lines.push([
    `mean of ${rows.length}`,
    mean((r) => r.scores.bleu),
    mean((r) => r.scores.codebleu),
    mean((r) => r.scores.dfg),
    mean((r) => r.scores.exact),
    mean((r) => r.scores.behaviour),
    mean((r) => r.score),
    `${rows.filter((r) => r.flags.length).length} flagged`,
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...lines.map((l) => (c === 7 ? 0 : l[c]!.length))));
  const fmt = (l: string[]): string =>
    l
      .map((x, c) => (c === 0 ? x.padEnd(w[0]!) : c === 7 ? x : x.padStart(w[c]!)))
      .join("  ")
      .trimEnd();
  return [fmt(head), ...lines.map(fmt)].join("\n");
}

// ---- implement ------------------------------------------------------------------------------------------

const EXEC_LANG: Partial<Record<LangId, Language>> = {
  python: "py",
  ruby: "rb",
  go: "go",
  lua: "lua",
  javascript: "js",
  typescript: "ts",
  php: "php",
  bash: "sh",
  cpp: "cpp",
  java: "java",
  rust: "rs",
};

export interface TestUnit {
  name: string;
  source: string;
}

/**
 * The user's tests as separately run units, so samples can be ranked by how many they pass: in Python each
 * top-level `assert` line and each `def test_*` (called after its definition) is a unit, sharing the file's
 * other top-level lines (imports, helpers); any other file is one unit.
 */
export function splitTests(lang: LangId, tests: string): TestUnit[] {
  if (lang !== "python") return [{ name: "tests", source: tests }];
  const lines = tests.replace(/\r\n?/g, "\n").split("\n");
  const shared: string[] = [];
  const units: TestUnit[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const def = /^def (test\w*)\s*\(/.exec(l);
    if (def) {
      const body = [l];
      while (i + 1 < lines.length && (/^\s/.test(lines[i + 1]!) || lines[i + 1]!.trim() === "")) body.push(lines[++i]!);
      units.push({ name: def[1]!, source: `${body.join("\n")}\n${def[1]}()\n` });
    } else if (/^assert\b/.test(l)) units.push({ name: `line ${i + 1}`, source: `${l}\n` });
    else shared.push(l);
  }
  if (!units.length) return [{ name: "tests", source: tests }];
  const pre = shared.join("\n");
  return units.map((u) => ({ name: u.name, source: `${pre}\n${u.source}` }));
}

export interface ImplementSample {
  index: number;
  code: string;
  /** With tests: units passed, of `total`, and each unit's result line. */
  passed?: number;
  total?: number;
  results?: { name: string; status: ExecResult["status"]; result: string }[];
}

export interface ImplementOptions {
  directions: BatDirections;
  doc: string;
  lang: LangId;
  signature?: string | null;
  n?: number;
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** Test source (the user's tests, run after each sample in the sandbox). */
  tests?: string | null;
  unsafeNoSandbox?: boolean;
}

/** Samples code from documentation; with tests, runs them in the sandbox and ranks by units passed. */
export async function implementFromDoc(opts: ImplementOptions): Promise<ImplementSample[]> {
  if (!opts.doc.trim()) throw new UserError("the documentation is empty: nothing to implement");
  const n = opts.n ?? 1;
  const temperature = opts.temperature ?? (n > 1 ? 0.8 : 0);
  const [codes] = await opts.directions.implement(
    [{ doc: opts.doc, lang: opts.lang, signature: opts.signature ?? null }],
    { n, temperature, maxTokens: opts.maxTokens, seed: opts.seed },
  );
  const samples: ImplementSample[] = codes!.map((code, index) => ({ index, code }));
  if (opts.tests == null) return samples;
  const exec = EXEC_LANG[opts.lang];
  if (!exec)
    throw new UserError(
      `--test: running ${opts.lang} is not supported (supported: ${Object.keys(EXEC_LANG).join(", ")})`,
    );
  const sandbox = new Sandbox({ unsafe: opts.unsafeNoSandbox ?? false });
  const units = splitTests(opts.lang, opts.tests);
  for (const s of samples) {
    const results = await Promise.all(units.map((u) => executeProgram(sandbox, exec, `${s.code}\n\n${u.source}`)));
    s.results = results.map((r, i) => ({ name: units[i]!.name, status: r.status, result: r.result }));
    s.passed = results.filter((r) => r.passed).length;
    s.total = units.length;
  }
  return [...samples].sort((a, b) => b.passed! - a.passed! || a.index - b.index);
}
