/**
 * Deterministic generator of leaking documentation that passes the format check (`validateDoc`): the
 * adversarial side of the leak detector's benchmark and tests. Every kind smuggles the code through text that
 * a format check alone accepts:
 *  - interleave:  the body's tokens with a filler word after every 2-4 tokens;
 *  - fragments:   fragments of 3-5 consecutive body tokens, one every ~3 fragment lengths, in sentences;
 *  - prefix:      the first fifth of the body's tokens (at least 5), verbatim, in a sentence;
 *  - identifiers: the body's identifiers in order (keywords, literals and operators dropped);
 *  - identOps:    the body's identifiers and operators in order (keywords and literals dropped);
 *  - paraphrase:  one sentence per statement line, keywords and comparison/assignment operators replaced by
 *                 English words, every other token (names, expressions, literals) exact.
 * `leakingDoc` returns null when the code is too short for the kind or the result would not pass the format
 * check (counted by the benchmark).
 */
import { codeTokensParsed, extractFunctionsParsed, LANGUAGES, parseCode, type LangId } from "../lang/index.js";
import { validateDoc } from "./docformat.js";
import { lexTokens } from "./leak.js";
import { strHash } from "./ged.js";

export const LEAK_KINDS = ["interleave", "fragments", "prefix", "identifiers", "identOps", "paraphrase"] as const;
export type LeakKind = (typeof LEAK_KINDS)[number];

const SUMMARIES = [
  "Compute the result from the given inputs.",
  "Process the arguments and return the outcome.",
  "Perform the main step of the algorithm.",
  "Handle the input and produce the answer.",
];
const FILLERS = ["then", "so", "and", "next", "now", "we", "step", "here", "also", "after"];
const WORDS: Record<string, string> = {
  if: "when",
  elif: "otherwise when",
  elsif: "otherwise when",
  else: "otherwise",
  for: "for each",
  while: "as long as",
  until: "until",
  unless: "unless",
  return: "give back",
  break: "stop the loop",
  continue: "skip to the next one",
  next: "skip to the next one",
  "=": "becomes",
  ":=": "becomes",
  "==": "equals",
  "!=": "differs from",
  "+=": "grows by",
  "-=": "shrinks by",
  "<": "is below",
  ">": "is above",
  "<=": "is at most",
  ">=": "is at least",
  "&&": "and",
  "||": "or",
  "!": "not",
  raise: "raise",
  throw: "throw",
  yield: "yield",
  var: "let",
  let: "let",
  const: "let",
  func: "",
  def: "",
  function: "",
  do: "",
  then: "",
  end: "",
  pass: "do nothing",
};

function hash(s: string): number {
  return strHash(s) >>> 0;
}

/** Wraps words into description lines of at most 100 characters (never indented). */
function paragraph(words: string[]): string[] {
  const out: string[] = [];
  let cur = "";
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > 100) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  // a line that reads as a section header or a Markdown heading would change the format; break it up
  return out.map((l) => (/^#/.test(l) ? `so ${l}` : l));
}

function compose(summary: string, lines: string[]): string {
  return [summary, "", ...lines.slice(0, 36)].join("\n");
}

interface BodyInfo {
  /** body tokens (the function header's tokens removed), as written */
  tokens: string[];
  keywords: Set<string>;
  params: string[];
  /** stripped body lines */
  lines: string[];
}

function bodyInfo(code: string, lang: LangId): BodyInfo | null {
  const pr = parseCode(lang, code);
  const fn = extractFunctionsParsed(pr).functions.find((f) => !f.nested);
  if (!fn) return null;
  const raw: string[] = [];
  for (const l of codeTokensParsed(pr)) {
    const lx = /^["'`]/.test(l) || /^[rbfuRBFU]{1,2}["']/.test(l) ? [l] : lexTokens(l);
    for (const t of lx.length ? lx : [l]) raw.push(t);
  }
  const sig = lexTokens(fn.signature);
  let start = 0;
  for (let i = 0; i + sig.length <= raw.length && sig.length; i++) {
    if (sig.every((t, j) => raw[i + j] === t)) {
      start = i + sig.length;
      break;
    }
  }
  const tokens = raw.slice(start);
  const lines = fn.codeStripped
    .split("\n")
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l && !/^[{}()\[\]]*$|^end$/.test(l));
  return { tokens, keywords: new Set(LANGUAGES[lang].keywords), params: fn.params, lines };
}

function isIdentTok(t: string, kw: Set<string>): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(t) && !kw.has(t);
}
function isLiteral(t: string): boolean {
  return /^\d/.test(t) || /^[rbfuRBFU]{0,2}["'`]/.test(t);
}

/** One format-valid leaking document of `kind` for `code` (a single function in `lang`), or null. */
export function leakingDoc(code: string, lang: LangId, kind: LeakKind): string | null {
  const b = bodyInfo(code, lang);
  if (!b || b.tokens.length < 8) return null;
  const h = hash(`${kind}\u0000${code}`);
  const summary = SUMMARIES[h % SUMMARIES.length]!;
  const t = b.tokens;
  let doc: string;
  switch (kind) {
    case "interleave": {
      const words: string[] = [];
      let k = 0;
      let every = 2 + (h % 3);
      for (let i = 0; i < t.length; i++) {
        words.push(t[i]!);
        if (++k === every) {
          words.push(FILLERS[(h + i) % FILLERS.length]!);
          k = 0;
          every = 2 + ((h >>> (i % 24)) % 3);
        }
      }
      doc = compose(summary, paragraph(words));
      break;
    }
    case "fragments": {
      const words: string[] = ["It"];
      for (let i = 0, f = 0; i < t.length; f++) {
        const len = 3 + ((h + f) % 3);
        const frag = t.slice(i, i + len);
        if (frag.length < 3) break;
        words.push(f === 0 ? "uses" : FILLERS[(h + f) % FILLERS.length]!, ...frag, f % 2 ? "." : ",");
        i += len * 3;
      }
      if (words.length < 6) return null;
      doc = compose(summary, paragraph(words));
      break;
    }
    case "prefix": {
      const n = Math.max(5, Math.ceil(t.length / 5));
      if (n >= t.length) return null;
      doc = compose(
        summary,
        paragraph(["It", "starts", "with", ...t.slice(0, n), ".", "Then", "it", "finishes", "the", "work", "."]),
      );
      break;
    }
    case "identifiers": {
      const ids = t.filter((x) => isIdentTok(x, b.keywords));
      if (ids.length < 4) return null;
      doc = compose(
        summary,
        paragraph(["It", "works", "with", ...ids.map((x, i) => (i < ids.length - 1 ? `${x},` : `${x}.`))]),
      );
      break;
    }
    case "identOps": {
      const seq = t.filter((x) => !b.keywords.has(x) && !isLiteral(x));
      if (seq.length < 6) return null;
      doc = compose(summary, paragraph(["In", "short", ...seq, "."]));
      break;
    }
    case "paraphrase": {
      const sentences: string[] = [];
      for (const line of b.lines) {
        const toks = lexTokens(line);
        const words = toks
          .map((x, i) =>
            i === toks.length - 1 && (x === ":" || x === "{" || x === "do" || x === "then") ? "" : (WORDS[x] ?? x),
          )
          .filter((x) => x !== "");
        if (!words.length) continue;
        const s = words.join(" ");
        sentences.push(s[0]!.toUpperCase() + s.slice(1) + ".");
      }
      if (sentences.length < 2) return null;
      doc = compose(summary, paragraph(sentences.join(" ").split(" ")));
      break;
    }
  }
  return validateDoc(doc, { params: b.params }).valid ? doc : null;
}
