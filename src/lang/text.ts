/**
 * Comments, docstrings, whitespace and token streams: the language-aware text utilities built on the syntax
 * tree (see parser.ts).
 */
import { LANGUAGES, type LangId, type LanguageSpec } from "./languages.js";
import { parseCode, type ParseResult, type SyntaxNode } from "./parser.js";

/** Comment nodes and documentation nodes (docstrings, `@doc` attributes, Julia doc strings) of a tree. */
export interface CommentIndex {
  /** Every comment node, in source order (each is atomic: its children are not visited). */
  comments: SyntaxNode[];
  /** Documentation nodes that are code, not comments (Python docstrings, Julia doc strings, Elixir @doc). */
  docNodes: SyntaxNode[];
}

const PY_SCOPES = new Set(["module", "function_definition", "class_definition"]);
const ELIXIR_DOC_ATTRS = new Set(["doc", "moduledoc", "typedoc"]);

function isPythonDocstring(n: SyntaxNode): boolean {
  if (n.type !== "expression_statement") return false;
  const named = n.namedChildren;
  if (named.length !== 1 || (named[0]!.type !== "string" && named[0]!.type !== "concatenated_string")) return false;
  const parent = n.parent;
  if (!parent) return false;
  const scope = parent.type === "block" ? parent.parent : parent;
  if (!scope || !PY_SCOPES.has(scope.type)) return false;
  for (const c of parent.namedChildren) {
    if (c.type === "comment") continue;
    return c === n;
  }
  return false;
}

/** `@doc "..."` / `@moduledoc """..."""` in Elixir: returns the string node, or null. */
export function elixirDocString(n: SyntaxNode): SyntaxNode | null {
  if (n.type !== "unary_operator") return null;
  const op = n.childByField("operand");
  if (!op || op.type !== "call" || !n.text.startsWith("@")) return null;
  const target = op.childByField("target");
  if (!target || !ELIXIR_DOC_ATTRS.has(target.text)) return null;
  const args = op.childOfType("arguments");
  const s = args?.namedChildren[0];
  if (!s) return null;
  return s;
}

const JULIA_DEFS = new Set([
  "function_definition",
  "assignment",
  "short_function_definition",
  "struct_definition",
  "module_definition",
  "macro_definition",
  "abstract_definition",
  "const_statement",
  "macrocall_expression",
]);

function isJuliaDocString(n: SyntaxNode): boolean {
  if (n.type !== "string_literal" || !n.parent) return false;
  const sibs = n.parent.children;
  const i = sibs.indexOf(n);
  let next: SyntaxNode | undefined;
  for (let j = i + 1; j < sibs.length; j++) {
    if (sibs[j]!.named && !LANGUAGES.julia.commentNodeTypes.includes(sibs[j]!.type)) {
      next = sibs[j];
      break;
    }
  }
  if (!next || !JULIA_DEFS.has(next.type)) return false;
  const gap = n.source.slice(n.end, next.start);
  return /^\s*$/.test(gap) && (gap.match(/\n/g) ?? []).length <= 1;
}

export function indexComments(lang: LangId, root: SyntaxNode): CommentIndex {
  const spec = LANGUAGES[lang];
  const commentTypes = new Set(spec.commentNodeTypes);
  const comments: SyntaxNode[] = [];
  const docNodes: SyntaxNode[] = [];
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (commentTypes.has(n.type) && n.named) {
      comments.push(n);
      continue;
    }
    if (lang === "python" && isPythonDocstring(n)) {
      docNodes.push(n);
      continue;
    }
    if (lang === "julia" && isJuliaDocString(n)) {
      docNodes.push(n);
      continue;
    }
    if (lang === "elixir" && elixirDocString(n)) {
      docNodes.push(n);
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return { comments, docNodes };
}

/** Whether a comment's text opens with one of the language's documentation markers. */
export function isDocComment(spec: LanguageSpec, text: string): boolean {
  const t = text.trimStart();
  if (t.startsWith("/**") && t.startsWith("/**/")) return false;
  return (spec.docCommentMarkers ?? []).some((m) => t.startsWith(m));
}

/** Deletes ranges [start, end) from `source`; a range alone on its lines takes those whole lines with it. */
export function removeRanges(source: string, ranges: Array<[number, number]>, base = 0): string {
  if (ranges.length === 0) return source;
  const sorted = ranges.map(([a, b]) => [a - base, b - base] as [number, number]).sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (let [a, b] of sorted) {
    if (a < pos) a = pos;
    if (b <= a) continue;
    const ls = source.lastIndexOf("\n", a - 1) + 1;
    let le = source.indexOf("\n", b);
    if (le < 0) le = source.length;
    const before = source.slice(Math.max(ls, pos), a);
    const after = source.slice(b, le);
    if (ls >= pos && /^[ \t]*$/.test(before) && /^[ \t\r]*$/.test(after)) {
      a = ls;
      b = le < source.length ? le + 1 : le;
    } else if (/^[ \t]*$/.test(after)) {
      // trailing comment: drop the spaces before it too
      while (a > pos && (source[a - 1] === " " || source[a - 1] === "\t")) a--;
    }
    out += source.slice(pos, a);
    pos = b;
  }
  return out + source.slice(pos);
}

/**
 * Normalises whitespace without changing meaning for indentation-sensitive languages: CRLF to LF, tabs in
 * indentation to 4 spaces, runs of spaces inside a line collapsed to one, trailing spaces and blank lines
 * removed, common indentation removed.
 */
export function normalizeWhitespace(code: string): string {
  const lines = code.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  for (const raw of lines) {
    if (/^\s*$/.test(raw)) continue;
    const m = /^[ \t]*/.exec(raw)![0];
    const indent = m.replace(/\t/g, "    ");
    const rest = raw
      .slice(m.length)
      .replace(/[ \t]+/g, " ")
      .trimEnd();
    out.push(indent + rest);
  }
  return dedent(out.join("\n"));
}

/** Removes the common leading indentation of the non-blank lines. */
export function dedent(text: string): string {
  const lines = text.split("\n");
  let min = Infinity;
  for (const l of lines) {
    if (/^\s*$/.test(l)) continue;
    const ind = /^[ \t]*/.exec(l)![0].length;
    if (ind < min) min = ind;
  }
  if (!isFinite(min) || min === 0) return text;
  return lines.map((l) => (/^\s*$/.test(l) ? l.trim() : l.slice(min))).join("\n");
}

export interface StripResult {
  /** The code with comments and documentation removed (lines left empty by the removal are dropped). */
  code: string;
  /** Text of ordinary comments, in order. */
  comments: string[];
  /** Text of documentation: docstrings and doc comments (by marker), in order. */
  docs: string[];
}

/** Removes comments and docstrings. Never throws on bad code (a partial tree strips what it can). */
export function stripComments(lang: LangId, source: string): StripResult {
  return stripCommentsParsed(parseCode(lang, source));
}

export function stripCommentsParsed(pr: ParseResult): StripResult {
  const spec = LANGUAGES[pr.lang];
  const idx = indexComments(pr.lang, pr.tree.rootNode);
  const comments: string[] = [];
  const docs: string[] = [];
  const ranges: Array<[number, number]> = [];
  const all = [...idx.comments.map((n) => ({ n, doc: false })), ...idx.docNodes.map((n) => ({ n, doc: true }))].sort(
    (a, b) => a.n.start - b.n.start,
  );
  for (const { n, doc } of all) {
    // Shebangs are directives, not comments.
    if (n.start === 0 && n.text.startsWith("#!")) continue;
    ranges.push([n.start, n.end]);
    if (doc || isDocComment(spec, n.text)) docs.push(n.text);
    else comments.push(n.text);
  }
  return { code: removeRanges(pr.source, ranges), comments, docs };
}

/**
 * The code's tokens: the leaves of the syntax tree, with comments and docstrings left out and each string
 * literal kept as one token.
 */
export function codeTokens(lang: LangId, source: string): string[] {
  return codeTokensParsed(parseCode(lang, source));
}

export function codeTokensParsed(pr: ParseResult, comments?: CommentIndex): string[] {
  const spec = LANGUAGES[pr.lang];
  const idx = comments ?? indexComments(pr.lang, pr.tree.rootNode);
  const skip = new Set<SyntaxNode>([...idx.comments, ...idx.docNodes]);
  const strings = new Set(spec.stringNodeTypes);
  const out: string[] = [];
  const stack: SyntaxNode[] = [pr.tree.rootNode];
  const src = pr.source;
  while (stack.length) {
    const n = stack.pop()!;
    if (skip.has(n)) continue;
    if (n.children.length === 0 || strings.has(n.type)) {
      if (n.end > n.start) {
        const t = src.slice(n.start, n.end).trim();
        if (t) out.push(t);
      }
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}
