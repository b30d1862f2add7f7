/**
 * Leak detection: documentation that copies the code it documents.
 *
 * The back-translation reward is only meaningful if the code is rebuilt from a *description*. A policy can
 * game it by pasting the code into the documentation; this detector catches that and reports how much of
 * the code leaked. Three signals:
 *  1. shared token n-grams: code tokens (comments and docstrings excluded) covered by runs of at least
 *     `minRun` consecutive tokens that also occur, in order, in the documentation;
 *  2. body lines: non-trivial code lines (at least `minLineTokens` tokens) that appear verbatim in the
 *     documentation, whitespace-normalised;
 *  3. code blocks: fenced or indented blocks of code-like lines in the documentation outside Examples;
 *  4. renamed copies: runs of 12 tokens with identifiers, numbers and strings abstracted (at least 6 of them
 *     operators, punctuation or keywords, which prose rarely has) shared with the code.
 * `fraction` is the largest of the shares of code tokens covered by (1) and (4) and the share of body lines
 * found by (2); `leaked` is fraction >= threshold, or a code block that reproduces code lines. Function headers
 * (name and parameter list) are left out of both: documentation may name the function and its parameters.
 */
import { extractFunctionsParsed, parseCode, stripCommentsParsed, isLanguageLoaded, LANGUAGES, type LangId } from "../lang/index.js";

export interface LeakOptions {
  /** Shortest shared token run that counts (default 6). */
  minRun?: number;
  /** Lines with fewer tokens are ignored by the line signal (default 3). */
  minLineTokens?: number;
  /** Leaked when fraction >= threshold (default 0.25). */
  threshold?: number;
}

export interface LeakResult {
  leaked: boolean;
  /** Share of the code reproduced in the documentation, in [0, 1]. */
  fraction: number;
  reasons: string[];
  /** Details: token coverage, line share, lines found, code blocks. */
  tokenFraction: number;
  /** Share of code tokens covered by identifier-abstracted runs (renamed copies). */
  shapeFraction: number;
  lineFraction: number;
  linesCopied: number;
  codeBlocks: number;
}

/** A language-independent lexer for comparing documentation text with code. */
export function lexTokens(text: string): string[] {
  return text.match(/[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|==|!=|<=|>=|=>|->|&&|\|\||\+=|-=|\*=|\/=|::|[^\s\w]/g) ?? [];
}

const TRIVIAL_LINE = /^(\}|\{|end|else:?|\)|\];?|\);?|\};?|return;?|pass|break;?|continue;?|fi|done|esac|begin|do|then|try:|finally:)$/;
// Line starting a documentation section: we allow usage examples there.
const EXAMPLES_HDR = /^(Examples?|Usage):\s*$/i;

const OPERATOR = /^(=|\+|-|\*|\/|%|<|>|==|!=|<=|>=|\+=|-=|\*=|\/=|&&|\|\||!|\?|\*\*|\/\/|<<|>>|&|\||\^|=>|->|:=)$/;
const STATEMENT = /^(return|yield|raise|throw|if|elif|elsif|for|foreach|while|until|unless|case|when|switch|match)$/;

/**
 * A code line worth looking for in the documentation: long (6+ tokens), or at least `min` tokens with an
 * operator or a statement keyword. A short bare call such as `self.flush()` is the kind of thing prose
 * names legitimately.
 */
function substantive(toks: string[], min: number): boolean {
  if (toks.length >= 6) return true;
  if (toks.length < min) return false;
  return toks.some((t) => OPERATOR.test(t)) || STATEMENT.test(toks[0]!);
}

function normLine(l: string): string {
  return lexTokens(l).join(" ");
}

interface CodeSide {
  tokens: string[];
  /** runs of minRun tokens -> start positions */
  runs: Map<string, number[]>;
  /** normalised non-trivial lines, function header lines excluded */
  lines: string[];
  /** 1 where a token belongs to a function header (name, parameters): not counted as leaked */
  header: Uint8Array;
  bodyCount: number;
  /** runs of SHAPE_RUN shape tokens (identifiers, numbers, strings abstracted) -> start positions */
  shapeRuns: Map<string, number[]>;
  keywords: Set<string>;
}

/** Length of the identifier-abstracted runs that signal renamed copied code. */
const SHAPE_RUN = 12;
/** ...and how many of their tokens must be operators, punctuation or keywords (prose has few). */
const SHAPE_MIN_SYMBOLS = 6;

function shapeOf(t: string, keywords: Set<string>): string {
  if (/^[A-Za-z_$][\w$]*$/.test(t)) return keywords.has(t) ? t : "\u0002I";
  if (/^\d/.test(t)) return "\u0002N";
  if (/^["']/.test(t)) return "\u0002S";
  return t;
}

function shapeRunOk(shapes: string[], i: number): boolean {
  let sym = 0;
  for (let k = i; k < i + SHAPE_RUN; k++) if (!shapes[k]!.startsWith("\u0002")) sym++;
  return sym >= SHAPE_MIN_SYMBOLS;
}
const codeCache = new Map<string, CodeSide>();

/** The code-side analysis, cached per (language, code, settings): RL scores many documents per code. */
function codeSide(code: string, lang: LangId, minRun: number, minLineTokens: number): CodeSide {
  const key = `${lang}\u0000${minRun}\u0000${minLineTokens}\u0000${code}`;
  const hit = codeCache.get(key);
  if (hit) {
    codeCache.delete(key);
    codeCache.set(key, hit);
    return hit;
  }
  // code without its comments/docstrings (a doc may legitimately restate comments)
  let bare = code;
  let signatures: string[] = [];
  if (isLanguageLoaded(lang)) {
    const pr = parseCode(lang, code);
    bare = stripCommentsParsed(pr).code;
    signatures = extractFunctionsParsed(pr).functions.map((f) => f.signature);
  }
  const tokens = lexTokens(bare);
  // Function headers (name and parameters) are the documentation's business: naming them is not a leak.
  const header = new Uint8Array(tokens.length);
  for (const sig of signatures) {
    const st = lexTokens(sig);
    if (st.length === 0) continue;
    for (let i = 0; i + st.length <= tokens.length; i++) {
      let ok = true;
      for (let j = 0; j < st.length && ok; j++) ok = tokens[i + j] === st[j];
      if (ok) {
        header.fill(1, i, i + st.length);
        break;
      }
    }
  }
  const runs = new Map<string, number[]>();
  for (let i = 0; i + minRun <= tokens.length; i++) {
    const k = tokens.slice(i, i + minRun).join("\u0001");
    const a = runs.get(k);
    if (a) a.push(i);
    else runs.set(k, [i]);
  }
  const sigNorms = signatures.map(normLine).filter(Boolean);
  const lines = bare
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !TRIVIAL_LINE.test(l) && substantive(lexTokens(l), minLineTokens))
    .map(normLine)
    .filter((n) => !sigNorms.some((sg) => sg.startsWith(n) || n.startsWith(sg)));
  let bodyCount = 0;
  for (const h of header) if (!h) bodyCount++;
  const keywords = new Set(LANGUAGES[lang]?.keywords ?? []);
  const shapes = tokens.map((t) => shapeOf(t, keywords));
  const shapeRuns = new Map<string, number[]>();
  for (let i = 0; i + SHAPE_RUN <= shapes.length; i++) {
    if (!shapeRunOk(shapes, i)) continue;
    const k = shapes.slice(i, i + SHAPE_RUN).join("\u0001");
    const a = shapeRuns.get(k);
    if (a) a.push(i);
    else shapeRuns.set(k, [i]);
  }
  const cs = { tokens, runs, lines, header, bodyCount, shapeRuns, keywords };
  codeCache.set(key, cs);
  if (codeCache.size > 64) codeCache.delete(codeCache.keys().next().value!);
  return cs;
}

export function detectLeak(doc: string, code: string, lang: LangId, opts: LeakOptions = {}): LeakResult {
  const minRun = opts.minRun ?? 6;
  const minLineTokens = opts.minLineTokens ?? 3;
  const threshold = opts.threshold ?? 0.25;
  const reasons: string[] = [];
  const empty: LeakResult = { leaked: false, fraction: 0, reasons, tokenFraction: 0, shapeFraction: 0, lineFraction: 0, linesCopied: 0, codeBlocks: 0 };
  if (typeof doc !== "string" || typeof code !== "string" || !doc.trim() || !code.trim()) return empty;

  const cs = codeSide(code, lang, minRun, minLineTokens);
  const ct = cs.tokens;
  const dt = lexTokens(doc);

  // 1. shared runs: every code position whose run of minRun tokens also occurs in the documentation
  const covered = new Uint8Array(ct.length);
  if (ct.length >= minRun && dt.length >= minRun) {
    for (let j = 0; j + minRun <= dt.length; j++) {
      const hits = cs.runs.get(dt.slice(j, j + minRun).join("\u0001"));
      if (!hits) continue;
      for (const i of hits) for (let t = 0; t < minRun; t++) covered[i + t] = 1;
    }
  }
  let cov = 0;
  for (let i = 0; i < covered.length; i++) if (covered[i] && !cs.header[i]) cov++;
  const tokenFraction = cs.bodyCount ? cov / cs.bodyCount : 0;

  // 1b. the same with identifiers, numbers and strings abstracted: copied code with renamed variables
  const shapeCovered = new Uint8Array(ct.length);
  if (cs.shapeRuns.size && dt.length >= SHAPE_RUN) {
    const ds = dt.map((t) => shapeOf(t, cs.keywords));
    for (let j = 0; j + SHAPE_RUN <= ds.length; j++) {
      if (!shapeRunOk(ds, j)) continue;
      const hits = cs.shapeRuns.get(ds.slice(j, j + SHAPE_RUN).join("\u0001"));
      if (!hits) continue;
      for (const i of hits) for (let t = 0; t < SHAPE_RUN; t++) shapeCovered[i + t] = 1;
    }
  }
  let scov = 0;
  for (let i = 0; i < shapeCovered.length; i++) if (shapeCovered[i] && !cs.header[i]) scov++;
  const shapeFraction = cs.bodyCount ? scov / cs.bodyCount : 0;

  // 2. body lines
  const codeLines = cs.lines;
  const docNorm = "\n" + doc.split("\n").map(normLine).join("\n") + "\n";
  const docFlat = " " + dt.join(" ") + " ";
  let copied = 0;
  for (const n of codeLines) {
    if (docNorm.includes("\n" + n + "\n") || (n.length >= 12 && docFlat.includes(" " + n + " "))) copied++;
  }
  const lineFraction = codeLines.length ? copied / codeLines.length : 0;

  // 3. code blocks outside Examples
  let blocks = 0;
  const dl = doc.split("\n");
  let inExamples = false;
  let inFence = false;
  let fenceHasCode = false;
  for (const raw of dl) {
    const l = raw.trim();
    if (/^[A-Z][A-Za-z ]*:\s*$/.test(l) && !raw.startsWith(" ")) inExamples = EXAMPLES_HDR.test(l);
    if (/^(```|~~~)/.test(l)) {
      if (inFence && fenceHasCode && !inExamples) blocks++;
      inFence = !inFence;
      fenceHasCode = false;
      continue;
    }
    if (inFence && codeLines.includes(normLine(l))) fenceHasCode = true;
  }
  if (inFence && fenceHasCode && !inExamples) blocks++;

  const fraction = Math.min(1, Math.max(tokenFraction, lineFraction, shapeFraction));
  if (tokenFraction > 0) reasons.push(`${Math.round(tokenFraction * 100)}% of the code's tokens appear in runs of ${minRun}+ tokens in the documentation`);
  if (shapeFraction > tokenFraction) reasons.push(`${Math.round(shapeFraction * 100)}% of the code appears in the documentation with names or literals changed`);
  if (copied > 0) reasons.push(`${copied} of ${codeLines.length} code lines appear verbatim in the documentation`);
  if (blocks > 0) reasons.push(`${blocks} code block(s) reproduce the code`);
  const leaked = fraction >= threshold || blocks > 0;
  return { leaked, fraction, reasons: leaked ? reasons : reasons.length ? [...reasons, "below the leak threshold"] : reasons, tokenFraction, shapeFraction, lineFraction, linesCopied: copied, codeBlocks: blocks };
}
