/**
 * Leak detection: documentation that copies the code it documents.
 *
 * The back-translation reward is only meaningful if the code is rebuilt from a *description*. A policy can
 * game it by pasting the code into the documentation, or by smuggling it through a document that still passes
 * the format check (a filler word after every few code tokens, short copied fragments, the identifier or
 * operator sequence, a statement-by-statement "paraphrase" that keeps the code's exact expressions). Signals:
 *  1. shared token n-grams: code tokens (comments and docstrings excluded) covered by runs of at least
 *     `minRun` consecutive tokens that also occur, in order, in the documentation;
 *  2. body lines: non-trivial code lines (at least `minLineTokens` tokens) that appear verbatim in the
 *     documentation, whitespace-normalised;
 *  3. code blocks: fenced or indented blocks of code-like lines in the documentation outside Examples;
 *  4. renamed copies: runs of 12 tokens with identifiers, numbers and strings abstracted (at least 6 of them
 *     operators, punctuation or keywords, which prose rarely has) shared with the code;
 *  5. gapped chains: the code's own token stream (syntax-tree leaves, comments out, case folded) aligned with
 *     the documentation's tokens, tolerating up to 3 inserted words between matched tokens and up to 2 skipped
 *     code tokens. Every code token carries a weight for how code-like it is (operators and unusual
 *     identifiers high; keywords, punctuation, the function's name and its parameters low, since honest
 *     documentation names them); `gappedFraction` is the weighted share of the body covered by chains of
 *     weight >= 2.4, `longestChain` the weight of the heaviest chain;
 *  6. identifier sequence: the same alignment on the projection to unusual identifiers (weighted by how rare
 *     the word is in documentation prose, `PROSE_WORDS`), plus the order-free weighted share of the body's
 *     unusual identifiers that the documentation mentions (`rareIdentifierShare`);
 *  7. operator sequence: the alignment on the projection to operators and brackets, and the documentation's
 *     operator density.
 * `fraction` is the largest of the shares of the code covered by (1), (2), (4) and (5); `leaked` is any of:
 * fraction >= threshold, a code block that reproduces code lines, gappedFraction >= gapThreshold, a chain of
 * weight >= chainThreshold, identifier-sequence or operator-sequence coverage above their thresholds. The
 * function header (name and parameter list) is left out: documentation may name the function and its
 * parameters. Thresholds were chosen on the corpus's validation split (bench/similarity/leak.ts).
 */
import {
  codeTokensParsed,
  extractFunctionsParsed,
  isLanguageLoaded,
  LANGUAGES,
  parseCode,
  stripCommentsParsed,
  type LangId,
} from "../lang/index.js";
import { PROSE_WORDS } from "./prosewords.js";

export interface LeakOptions {
  /** Shortest shared token run that counts (default 6). */
  minRun?: number;
  /** Lines with fewer tokens are ignored by the line signal (default 3). */
  minLineTokens?: number;
  /** Leaked when fraction >= threshold (default 0.25). */
  threshold?: number;
  /** Leaked when the weighted gapped-chain coverage reaches this (default GAP_THRESHOLD). */
  gapThreshold?: number;
  /** Leaked when one gapped chain weighs this much (default CHAIN_THRESHOLD). */
  chainThreshold?: number;
  /** Leaked when the identifier-sequence coverage reaches this (default IDENT_THRESHOLD). */
  identThreshold?: number;
  /** Leaked when the operator-sequence coverage reaches this (default OP_THRESHOLD). */
  opThreshold?: number;
  /** The gapped-coverage rule needs at least this much covered weight (default GAP_MIN_WEIGHT). */
  gapMinWeight?: number;
  /** Leaked when this weighted share of the body's unusual identifiers is mentioned (default RARE_THRESHOLD). */
  rareThreshold?: number;
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
  /** Weighted share of the body covered by gapped chains (filler words tolerated). */
  gappedFraction: number;
  /** Weight of the heaviest gapped chain. */
  longestChain: number;
  /** Absolute covered weight behind gappedFraction (tiny bodies need at least GAP_MIN_WEIGHT). */
  gappedWeight: number;
  /** Weighted share of the body's unusual-identifier sequence reproduced in order. */
  identFraction: number;
  /** Order-free weighted share of the body's unusual identifiers the documentation mentions. */
  rareIdentifierShare: number;
  /** Share of the body's operator sequence reproduced in order. */
  opFraction: number;
  /** Operators and brackets per documentation token. */
  opDensity: number;
}

/** Defaults of the gapped signals (chosen on the corpus's validation split, bench/similarity/leak.ts). */
export const GAP_THRESHOLD = 0.12;
export const CHAIN_THRESHOLD = 4;
export const IDENT_THRESHOLD = 0.5;
export const OP_THRESHOLD = 0.5;
export const GAP_MIN_WEIGHT = 2.5;
export const RARE_THRESHOLD = 0.6;
/** Chains lighter than this do not count towards gappedFraction. */
const CHAIN_MIN_WEIGHT = 2.0;
/** ...and must hold this much weight in operators and unusual names (not only brackets, literals, keywords). */
const CHAIN_MIN_ANCHOR = 0.8;

/** A language-independent lexer for comparing documentation text with code. */
export function lexTokens(text: string): string[] {
  return (
    text.match(
      /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|==|!=|<=|>=|=>|->|&&|\|\||\+=|-=|\*=|\/=|::|[^\s\w]/g,
    ) ?? []
  );
}

const TRIVIAL_LINE =
  /^(\}|\{|end|else:?|\)|\];?|\);?|\};?|return;?|pass|break;?|continue;?|fi|done|esac|begin|do|then|try:|finally:)$/;
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
  leaf: LeafSide;
  /** names of the functions in the code that their bodies never call (case-sensitive: Go's `Ilogb` calls
   * `ilogb`): a documentation line that calls one of them is a usage example (see usageExampleLines) */
  selfNames: Set<string>;
  /** the body's leaf tokens, case-folded */
  bodyTokens: Set<string>;
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
// ---- the gapped signals (5-7): the code's own token stream against the documentation's -------------------

const PROSE_RANK = new Map<string, number>(PROSE_WORDS.map((w, i) => [w, i]));
/** Operators and brackets (prose has few); `( ) , . ; : { }` are punctuation. */
function isOp(t: string): boolean {
  return /^[^\w\s'"`#\\$(),.;:{}]+$/.test(t);
}
function isIdent(t: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(t);
}

/**
 * How unusual an identifier would be in honest prose, in (0, 1]: snake_case, digits and camelCase are code;
 * otherwise by the word's rank among documentation words (PROSE_WORDS).
 */
export function identifierRarity(raw: string): number {
  if (/[_\d$]/.test(raw.replace(/^_+|_+$/g, "")) || /[a-z][A-Z]/.test(raw)) return 1;
  const rank = PROSE_RANK.get(raw.toLowerCase().replace(/^_+|_+$/g, ""));
  if (rank === undefined) return raw.length === 1 ? 0.8 : 1;
  return rank < 300 ? 0.3 : 0.6;
}

interface LeafSide {
  /** case-folded code tokens: syntax-tree leaves re-lexed with lexTokens */
  toks: string[];
  /** weight of each token (0.1 inside the function header) */
  w: Float64Array;
  /** 1 where the token is in the body (not the header) */
  body: Uint8Array;
  index: Map<string, number[]>;
  totalW: number;
  /** projection to unusual body identifiers */
  ids: string[];
  idW: Float64Array;
  idIndex: Map<string, number[]>;
  idTotal: number;
  /** distinct unusual body identifiers -> weight */
  rare: Map<string, number>;
  rareTotal: number;
  /** projection to body operators */
  ops: string[];
  opW: Float64Array;
  opIndex: Map<string, number[]>;
  opTotal: number;
}

function indexOf(toks: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  toks.forEach((t, i) => {
    const a = m.get(t);
    if (a) a.push(i);
    else m.set(t, [i]);
  });
  return m;
}

function leafSide(leaves: string[], signatures: string[], allowed: Set<string>, keywords: Set<string>): LeafSide {
  const raw: string[] = [];
  for (const l of leaves) {
    const lx = /^["'`]/.test(l) || /^[rbfuRBFU]{1,2}["']/.test(l) ? [l] : lexTokens(l);
    for (const t of lx.length ? lx : [l]) raw.push(t);
  }
  const toks = raw.map((t) => t.toLowerCase());
  const body = new Uint8Array(toks.length).fill(1);
  for (const sig of signatures) {
    const st = lexTokens(sig).map((t) => t.toLowerCase());
    if (!st.length) continue;
    for (let i = 0; i + st.length <= toks.length; i++) {
      let ok = true;
      for (let j = 0; j < st.length && ok; j++) ok = toks[i + j] === st[j];
      if (ok) {
        body.fill(0, i, i + st.length);
        break;
      }
    }
  }
  const w = new Float64Array(toks.length);
  let totalW = 0;
  const ids: string[] = [];
  const idWs: number[] = [];
  const rare = new Map<string, number>();
  const ops: string[] = [];
  const opWs: number[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const r = raw[i]!;
    let x: number;
    if (!body[i]) x = 0.1;
    else if (isIdent(r)) {
      if (allowed.has(t)) x = 0.25;
      else if (keywords.has(t) || keywords.has(r)) x = 0.25;
      else {
        x = identifierRarity(r);
        if (x >= 0.6) {
          ids.push(t);
          idWs.push(x);
          rare.set(t, x);
        }
      }
    } else if (/^\d/.test(r) || /^[rbfuRBFU]{0,2}["'`]/.test(r)) {
      // literals: a specification legitimately states its constants and lookup tables
      x = 0.15;
    } else if (t === "[" || t === "]") {
      // brackets: as frequent in usage examples ([1, 2]) as in code
      x = 0.4;
    } else if (isOp(r)) {
      x = 0.8;
      ops.push(t);
      opWs.push(t === "-" || t === "*" ? 0.6 : 1);
    } else x = 0.3;
    w[i] = x;
    if (body[i]) totalW += x;
  }
  let rareTotal = 0;
  for (const v of rare.values()) rareTotal += v;
  const idW = Float64Array.from(idWs);
  // a repeated operator says less than a varied sequence (a table of "> 3.7", "> 3.3", ... is not code)
  const opCount = new Map<string, number>();
  for (const o of ops) opCount.set(o, (opCount.get(o) ?? 0) + 1);
  const opW = Float64Array.from(opWs.map((x, i) => x / Math.sqrt(opCount.get(ops[i]!)!)));
  return {
    toks,
    w,
    body,
    index: indexOf(toks),
    totalW,
    ids,
    idW,
    idIndex: indexOf(ids),
    idTotal: idWs.reduce((a, b) => a + b, 0),
    rare,
    rareTotal,
    ops,
    opW,
    opIndex: indexOf(ops),
    opTotal: opW.reduce((a, b) => a + b, 0),
  };
}

interface ChainResult {
  covered: Uint8Array;
  best: number;
}

/**
 * Gapped alignment: chains of code tokens matched, in order, by documentation tokens, where consecutive matches
 * may skip up to `gc` code tokens and up to `gd` documentation tokens (inserted filler words). A chain's weight
 * is the sum of its code tokens' weights; code tokens on chains of weight >= minW, >= minLen matches and an
 * anchor weight (the weight of its tokens weighing 0.6 or more: operators, unusual names) >= minAnchor are
 * covered. Sparse dynamic programme over the matching pairs: O(pairs x (gc+1) x (gd+1)).
 */
export function gappedChains(
  code: readonly string[],
  w: Float64Array,
  index: Map<string, number[]>,
  doc: readonly string[],
  gc: number,
  gd: number,
  minW: number,
  minLen: number,
  minAnchor = 0,
): ChainResult {
  const covered = new Uint8Array(code.length);
  const score: number[] = [];
  const anchor: number[] = [];
  const len: number[] = [];
  const prev: number[] = [];
  const ci: number[] = [];
  const window: Array<Map<number, number> | null> = [];
  let best = 0;
  for (let j = 0; j < doc.length; j++) {
    const hits = index.get(doc[j]!);
    const here = new Map<number, number>();
    if (hits) {
      for (const i of hits) {
        let bs = 0;
        let bl = 0;
        let ba = 0;
        let bp = -1;
        for (let dj = 1; dj <= gd + 1 && j - dj >= 0; dj++) {
          const m = window[j - dj];
          if (!m) continue;
          for (let di = 1; di <= gc + 1 && i - di >= 0; di++) {
            const e = m.get(i - di);
            if (e !== undefined && score[e]! > bs) {
              bs = score[e]!;
              bl = len[e]!;
              ba = anchor[e]!;
              bp = e;
            }
          }
        }
        const id = score.length;
        score.push(bs + w[i]!);
        anchor.push(ba + (w[i]! >= 0.6 ? w[i]! : 0));
        len.push(bl + 1);
        prev.push(bp);
        ci.push(i);
        here.set(i, id);
        if (score[id]! > best) best = score[id]!;
      }
    }
    window[j] = here.size ? here : null;
    if (j - gd - 1 >= 0) window[j - gd - 1] = null;
  }
  const marked = new Uint8Array(score.length);
  for (let e = score.length - 1; e >= 0; e--) {
    if (score[e]! < minW || len[e]! < minLen || anchor[e]! < minAnchor) continue;
    for (let x = e; x >= 0 && !marked[x]; x = prev[x]!) {
      marked[x] = 1;
      covered[ci[x]!] = 1;
    }
  }
  return { covered, best };
}

function coveredWeight(c: Uint8Array, w: Float64Array, body: Uint8Array | null): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) if (c[i] && (!body || body[i])) s += w[i]!;
  return s;
}
function coveredShare(c: Uint8Array, w: Float64Array, body: Uint8Array | null, total: number): number {
  return total <= 0 ? 0 : Math.min(1, coveredWeight(c, w, body) / total);
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
  let leaves: string[] | null = null;
  const allowed = new Set<string>(["self", "this", "cls"]);
  const fnNames: string[] = [];
  if (isLanguageLoaded(lang)) {
    const pr = parseCode(lang, code);
    bare = stripCommentsParsed(pr).code;
    const fns = extractFunctionsParsed(pr).functions;
    signatures = fns.map((f) => f.signature);
    for (const f of fns) {
      fnNames.push(f.name);
      allowed.add(f.name.toLowerCase());
      for (const p of f.params) allowed.add(p.replace(/^[*&$]+/, "").toLowerCase());
    }
    leaves = codeTokensParsed(pr);
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
    // a run of only literals and punctuation is a stated table of constants ('y', 'yes', 't', ...), which a
    // specification legitimately lists; a copied run has a name or an operator in it
    let named = false;
    for (let t = i; t < i + minRun && !named; t++) named = isIdent(tokens[t]!) || isOp(tokens[t]!);
    if (!named) continue;
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
  const leaf = leafSide(leaves ?? tokens, signatures, allowed, keywords);
  const selfNames = new Set<string>();
  for (const f of fnNames) {
    let called = false;
    // `Addrinfo.unix(path)` in the body of `unix` calls another receiver's method, `self.unix` / `unix` itself
    for (let i = 0; i < tokens.length && !called; i++)
      called =
        !header[i] &&
        tokens[i] === f &&
        (tokens[i - 1] !== "." || tokens[i - 2] === "self" || tokens[i - 2] === "this");
    if (!called) selfNames.add(f);
  }
  const bodyTokens = new Set<string>();
  leaf.toks.forEach((t, i) => leaf.body[i] && bodyTokens.add(t));
  const cs = { tokens, runs, lines, header, bodyCount, shapeRuns, keywords, leaf, selfNames, bodyTokens };
  codeCache.set(key, cs);
  if (codeCache.size > 64) codeCache.delete(codeCache.keys().next().value!);
  return cs;
}

export function detectLeak(doc: string, code: string, lang: LangId, opts: LeakOptions = {}): LeakResult {
  const minRun = opts.minRun ?? 6;
  const minLineTokens = opts.minLineTokens ?? 3;
  const threshold = opts.threshold ?? 0.25;
  const reasons: string[] = [];
  const empty: LeakResult = {
    leaked: false,
    fraction: 0,
    reasons,
    tokenFraction: 0,
    shapeFraction: 0,
    lineFraction: 0,
    linesCopied: 0,
    codeBlocks: 0,
    gappedFraction: 0,
    gappedWeight: 0,
    longestChain: 0,
    identFraction: 0,
    rareIdentifierShare: 0,
    opFraction: 0,
    opDensity: 0,
  };
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

  // 5-7. gapped chains on the leaf token stream and its identifier / operator projections
  // usage examples (lines that call the documented function) show how to call it, not its body: the gapped
  // alignments skip them
  const usage = usageExampleLines(dl, cs.selfNames, cs.bodyTokens);
  const g = usage.size
    ? gappedSignals(
        cs.leaf,
        dl.filter((_, k) => !usage.has(k)).flatMap((l) => lexTokens(l)),
        dl.filter((_, k) => !usage.has(k)),
      )
    : gappedSignals(cs.leaf, dt, dl);
  const fraction = Math.min(1, Math.max(tokenFraction, lineFraction, shapeFraction, g.gappedFraction));
  const hits = leakVerdict(
    { copiedFraction: Math.max(tokenFraction, lineFraction, shapeFraction), codeBlocks: blocks, ...g },
    opts,
  );
  if (tokenFraction > 0)
    reasons.push(
      `${Math.round(tokenFraction * 100)}% of the code's tokens appear in runs of ${minRun}+ tokens in the documentation`,
    );
  if (shapeFraction > tokenFraction)
    reasons.push(
      `${Math.round(shapeFraction * 100)}% of the code appears in the documentation with names or literals changed`,
    );
  if (copied > 0) reasons.push(`${copied} of ${codeLines.length} code lines appear verbatim in the documentation`);
  if (blocks > 0) reasons.push(`${blocks} code block(s) reproduce the code`);
  if (hits.gapped || g.gappedFraction >= 0.1)
    reasons.push(`${Math.round(g.gappedFraction * 100)}% of the code (weighted) appears in order with words inserted`);
  if (hits.chain) reasons.push(`a run of the code of weight ${g.longestChain.toFixed(1)} appears in order`);
  if (hits.ident)
    reasons.push(`${Math.round(g.identFraction * 100)}% of the code's identifier sequence appears in order`);
  if (hits.op) reasons.push(`${Math.round(g.opFraction * 100)}% of the code's operator sequence appears in order`);
  const leaked = hits.any;
  return {
    leaked,
    fraction,
    reasons: leaked ? reasons : reasons.length ? [...reasons, "below the leak threshold"] : reasons,
    tokenFraction,
    shapeFraction,
    lineFraction,
    linesCopied: copied,
    codeBlocks: blocks,
    ...g,
  };
}

/** Most tokens one usage example may span (a call with its arguments and a short block, over a few lines). */
const USAGE_MAX_TOKENS = 60;

/**
 * Indices of documentation lines that are usage examples: a line with a call of one of `names` (the name
 * followed by `(`, or after a `.`), e.g. `Socket.unix("/tmp/sock") {|sock| ...` or Go's `Ilogb(0) = MinInt32`,
 * and the lines after it while a bracket it opened is still open, at most USAGE_MAX_TOKENS tokens in all (a
 * longer "example" is read in full), when fewer of its tokens are the body's than are code of its own (other
 * names, literals, operators; prose words do not count). `names` holds only functions whose bodies do not call
 * themselves, so the body of a recursive function copied into a line is never skipped; at most half of the
 * documentation's tokens are skipped (a document made of "example" lines is read in full).
 */
function usageExampleLines(lines: string[], names: Set<string>, body: Set<string>): Set<number> {
  const out = new Set<number>();
  if (!names.size) return out;
  const toks = lines.map((l) => lexTokens(l));
  const total = toks.reduce((a, t) => a + t.length, 0);
  let skipped = 0;
  for (let k = 0; k < lines.length; k++) {
    const t = toks[k]!;
    let call = false;
    for (let i = 0; i < t.length && !call; i++) call = names.has(t[i]!) && (t[i + 1] === "(" || t[i - 1] === ".");
    if (!call) continue;
    const span = [k];
    let n = t.length;
    let depth = bracketDepth(t);
    while (depth > 0 && span.length < 4 && k + span.length < lines.length) {
      const next = toks[k + span.length]!;
      n += next.length;
      depth += bracketDepth(next);
      span.push(k + span.length);
    }
    if (n > USAGE_MAX_TOKENS) continue;
    // an example's code is mostly the caller's (its arguments, variables, other calls); a "usage example" made
    // of the body's own tokens (prose filler words aside) is read in full
    let own = 0;
    let foreign = 0;
    for (const x of span)
      for (const tok of toks[x]!) {
        const low = tok.toLowerCase();
        if (names.has(tok) || /^[(),.;:{}[\]|]$/.test(tok)) continue;
        if (body.has(low)) own++;
        else if (!isIdent(tok) || identifierRarity(tok) >= 0.6) foreign++;
      }
    if (own >= foreign) continue;
    for (const x of span) out.add(x);
    skipped += n;
    k = span[span.length - 1]!;
  }
  return skipped * 2 <= total ? out : new Set();
}

function bracketDepth(t: string[]): number {
  let d = 0;
  for (const x of t) d += x === "(" || x === "[" || x === "{" ? 1 : x === ")" || x === "]" || x === "}" ? -1 : 0;
  return d;
}

export interface LeakSignals extends GappedSignals {
  /** the largest of tokenFraction, lineFraction and shapeFraction */
  copiedFraction: number;
  codeBlocks: number;
}

/** Which rules fire for these signals (the decision of detectLeak, exposed so the benchmark can sweep it). */
export function leakVerdict(
  r: LeakSignals,
  opts: LeakOptions = {},
): { copied: boolean; gapped: boolean; chain: boolean; ident: boolean; op: boolean; any: boolean } {
  const copied = r.copiedFraction >= (opts.threshold ?? 0.25) || r.codeBlocks > 0;
  const gapped =
    r.gappedFraction >= (opts.gapThreshold ?? GAP_THRESHOLD) && r.gappedWeight >= (opts.gapMinWeight ?? GAP_MIN_WEIGHT);
  const rare = r.rareIdentifierShare >= (opts.rareThreshold ?? RARE_THRESHOLD);
  const chain = r.longestChain >= (opts.chainThreshold ?? CHAIN_THRESHOLD);
  const ident = r.identFraction >= (opts.identThreshold ?? IDENT_THRESHOLD) || rare;
  const op = r.opFraction >= (opts.opThreshold ?? OP_THRESHOLD);
  return { copied, gapped, chain, ident, op, any: copied || gapped || chain || ident || op };
}

interface GappedSignals {
  gappedFraction: number;
  gappedWeight: number;
  longestChain: number;
  identFraction: number;
  rareIdentifierShare: number;
  opFraction: number;
  opDensity: number;
}

function gappedSignals(ls: LeafSide, docTokens: string[], docLines: string[]): GappedSignals {
  const d = docTokens.map((t) => t.toLowerCase());
  const full = gappedChains(ls.toks, ls.w, ls.index, d, 2, 3, CHAIN_MIN_WEIGHT, 3, CHAIN_MIN_ANCHOR);
  const gappedWeight = coveredWeight(full.covered, ls.w, ls.body);
  const gappedFraction = ls.totalW > 0 ? Math.min(1, gappedWeight / ls.totalW) : 0;
  const dIds = d.filter((t) => ls.rare.has(t));
  let identFraction = 0;
  if (ls.idTotal >= 3 && dIds.length >= 3)
    identFraction = coveredShare(
      gappedChains(ls.ids, ls.idW, ls.idIndex, dIds, 2, 1, 2.5, 3).covered,
      ls.idW,
      null,
      ls.idTotal,
    );
  let rare = 0;
  if (ls.rare.size >= 3) for (const t of new Set(dIds)) rare += ls.rare.get(t)!;
  const rareIdentifierShare = ls.rare.size >= 3 && ls.rareTotal > 0 ? rare / ls.rareTotal : 0;
  // operators outside the Examples section (usage lines legitimately contain calls and literals)
  let inExamples = false;
  const prose: string[] = [];
  for (const raw of docLines) {
    const l = raw.trim();
    if (/^[A-Z][A-Za-z ]*:\s*$/.test(l) && !raw.startsWith(" ")) inExamples = EXAMPLES_HDR.test(l);
    if (!inExamples) for (const t of lexTokens(raw)) prose.push(t);
  }
  const dOps = prose.filter(isOp);
  let opFraction = 0;
  if (ls.opTotal >= 3 && dOps.length >= 4)
    opFraction = coveredShare(
      gappedChains(ls.ops, ls.opW, ls.opIndex, dOps, 1, 1, 2.5, 4).covered,
      ls.opW,
      null,
      ls.opTotal,
    );
  return {
    gappedFraction,
    gappedWeight,
    longestChain: full.best,
    identFraction,
    rareIdentifierShare,
    opFraction,
    opDensity: prose.length ? dOps.length / prose.length : 0,
  };
}

export interface DocCodeOverlap {
  /** Share of the documentation's token 3-grams / 4-grams that occur in the code's body. */
  doc3: number;
  doc4: number;
  /** Share of the code body's token 3-grams / 4-grams that occur in the documentation. */
  code3: number;
  code4: number;
  /** Numbers of n-grams behind the shares (documentation, code body). */
  docNgrams3: number;
  codeNgrams3: number;
}

function ngramSet(toks: readonly string[], n: number, keep?: Uint8Array): string[] {
  const out: string[] = [];
  outer: for (let i = 0; i + n <= toks.length; i++) {
    if (keep) for (let k = i; k < i + n; k++) if (!keep[k]) continue outer;
    out.push(toks.slice(i, i + n).join("\u0001"));
  }
  return out;
}

/**
 * Doc<->code token overlap: the shares of 3- and 4-grams the documentation and the code body have in common
 * (the code's syntax-tree leaf tokens, comments and the function header out; both sides case-folded and lexed
 * alike). A held-out statistic for RL evaluation: documentation that drifts towards copying the code raises it.
 * Both shares are 0 when a side has no n-gram of that length.
 */
export function docCodeOverlap(doc: string, code: string, lang: LangId): DocCodeOverlap {
  const zero: DocCodeOverlap = { doc3: 0, doc4: 0, code3: 0, code4: 0, docNgrams3: 0, codeNgrams3: 0 };
  if (typeof doc !== "string" || typeof code !== "string" || !doc.trim() || !code.trim()) return zero;
  const ls = codeSide(code, lang, 6, 3).leaf;
  const d = lexTokens(doc).map((t) => t.toLowerCase());
  const out = { ...zero };
  for (const n of [3, 4] as const) {
    const c = ngramSet(ls.toks, n, ls.body);
    const dg = ngramSet(d, n);
    const cs = new Set(c);
    const ds = new Set(dg);
    const docShare = dg.length ? dg.filter((g) => cs.has(g)).length / dg.length : 0;
    const codeShare = c.length ? c.filter((g) => ds.has(g)).length / c.length : 0;
    if (n === 3) {
      out.doc3 = docShare;
      out.code3 = codeShare;
      out.docNgrams3 = dg.length;
      out.codeNgrams3 = c.length;
    } else {
      out.doc4 = docShare;
      out.code4 = codeShare;
    }
  }
  return out;
}
