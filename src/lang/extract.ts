/**
 * Function extraction: every named function and method of a file, with its name, parameters, enclosing
 * class, signature, exact code (documentation included), code without comments/docs, and its documentation.
 */
import { LANGUAGES, type LangId, type LanguageSpec } from "./languages.js";
import { parseCode, SyntaxNode, type ParseIssue, type ParseResult } from "./parser.js";
import { dedent, elixirDocString, indexComments, normalizeWhitespace, removeRanges } from "./text.js";

export interface ExtractedFunction {
  name: string;
  kind: "function" | "method";
  /** Name of the enclosing class / impl / module (or the receiver type in Go, the table in Lua), or null. */
  className: string | null;
  /** Parameter names as written (Python's `self` included, PHP's `$` kept). */
  params: string[];
  /** The definition's head, whitespace collapsed (e.g. `def add(a, b=2):`, `func Add(a int, b int) int`). */
  signature: string;
  /** Exact source text of the lines the function spans, leading documentation included, dedented. */
  code: string;
  /** `code` with comments and docstrings removed, whitespace normalised. */
  codeStripped: string;
  /** The docstring or leading doc comment, comment markers removed, dedented; null when there is none. */
  doc: string | null;
  /** Span in the source string (UTF-16 offsets), documentation included. */
  startByte: number;
  endByte: number;
  /** 1-based first and last line of the span. */
  startLine: number;
  endLine: number;
  /** Whether the span contains a syntax error. */
  hasErrors: boolean;
  /** Whether the function is defined inside another function. */
  nested: boolean;
}

export interface ExtractResult {
  functions: ExtractedFunction[];
  errors: ParseIssue[];
}

interface Described {
  name: string;
  node: SyntaxNode;
  /** The node whose span is the definition (export/decorator/declaration wrapper included). */
  outer: SyntaxNode;
  /** Last node of the definition (Haskell: the last equation). */
  last: SyntaxNode;
  params: SyntaxNode[];
  body: SyntaxNode | null;
  className?: string | null;
}

const PARAM_LIST_TYPES = new Set([
  "parameters",
  "formal_parameters",
  "parameter_list",
  "method_parameters",
  "function_value_parameters",
  "lambda_parameters",
  "patterns",
  "argument_list",
  "arguments",
  "class_parameters",
]);
const PARAM_SKIP = new Set([
  "(",
  ")",
  ",",
  "comma",
  "open",
  "close",
  "comment",
  "line_comment",
  "block_comment",
  "multiline_comment",
]);
const ELIXIR_DEFS = new Set(["def", "defp", "defmacro", "defmacrop", "defguard", "defguardp", "defn", "defnp"]);
const DOC_SKIP_RE = /copyright|licen[cs]e|spdx-license/i;

function firstOfTypes(n: SyntaxNode, types: Set<string> | string[]): SyntaxNode | null {
  const set = types instanceof Set ? types : new Set(types);
  for (const d of n.descendants()) if (d !== n && set.has(d.type)) return d;
  return null;
}

/** Follows C/C++ declarator chains (pointer_declarator, function_declarator, ...) down to the name. */
function declaratorName(n: SyntaxNode | null): SyntaxNode | null {
  let cur = n;
  for (let i = 0; cur && i < 32; i++) {
    if (
      [
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "type_identifier",
        "template_function",
      ].includes(cur.type)
    )
      return cur;
    const d = cur.childByField("declarator");
    if (!d) return firstOfTypes(cur, ["identifier", "field_identifier"]);
    cur = d;
  }
  return null;
}

function paramName(spec: LanguageSpec, p: SyntaxNode): string {
  if (spec.identifierNodeTypes.includes(p.type) || p.type === "variable_name") return p.text;
  if (p.type === "self_parameter" || p.type === "self") return "self";
  if (spec.id === "swift") {
    const names = p.childrenByField("name").filter((c) => c.type === "simple_identifier");
    if (names.length) return names[names.length - 1]!.text;
  }
  for (const f of ["name", "pattern", "declarator", "left"]) {
    const c = p.childByField(f);
    if (c) {
      const d = spec.id === "c" || spec.id === "cpp" ? declaratorName(c) : c;
      if (d) return paramName(spec, d);
    }
  }
  const ids = new Set(spec.identifierNodeTypes.filter((t) => t !== "type_identifier" && t !== "constant"));
  ids.add("variable_name");
  const d = firstOfTypes(p, ids);
  return d ? d.text : p.text.replace(/\s+/g, " ");
}

function paramNodes(list: SyntaxNode | null): SyntaxNode[] {
  if (!list) return [];
  return list.children.filter((c) => c.named && !PARAM_SKIP.has(c.type));
}

function paramList(n: SyntaxNode): SyntaxNode | null {
  return n.childByField("parameters") ?? n.children.find((c) => PARAM_LIST_TYPES.has(c.type)) ?? null;
}

function juliaCallName(call: SyntaxNode): string | null {
  const head = call.namedChildren[0];
  if (!head) return null;
  if (head.type === "identifier") return head.text;
  if (head.type === "field_expression") {
    const ids = head.namedChildren.filter((c) => c.type === "identifier");
    return ids.length ? ids[ids.length - 1]!.text : null;
  }
  if (head.type === "parametrized_type_expression" || head.type === "curly_expression") return juliaCallName(head);
  return null;
}

function juliaFindCall(n: SyntaxNode | undefined): SyntaxNode | null {
  let cur = n;
  for (let i = 0; cur && i < 8; i++) {
    if (cur.type === "call_expression") return cur;
    if (["typed_expression", "where_expression", "signature", "typed_parameter"].includes(cur.type)) {
      cur = cur.namedChildren[0];
      continue;
    }
    return null;
  }
  return null;
}

/** Recognises a function definition and its parts; null when `n` is not a named function. */
function describe(spec: LanguageSpec, n: SyntaxNode): Described | null {
  const lang = spec.id;
  const base = (
    name: SyntaxNode | string | null | undefined,
    params: SyntaxNode[],
    body?: SyntaxNode | null,
  ): Described | null => {
    const nm = typeof name === "string" ? name : name?.text;
    if (!nm) return null;
    return { name: nm, node: n, outer: n, last: n, params, body: body === undefined ? n.childByField("body") : body };
  };
  switch (lang) {
    case "python": {
      if (n.type !== "function_definition") return null;
      const d = base(n.childByField("name"), paramNodes(paramList(n)));
      if (d && n.parent?.type === "decorated_definition") d.outer = n.parent;
      return d;
    }
    case "javascript":
    case "typescript": {
      if (!spec.functionNodeTypes.includes(n.type)) return null;
      let name = n.childByField("name");
      let outer = n;
      if (!name || n.type === "function_expression" || n.type === "arrow_function" || n.type === "function") {
        const p = n.parent;
        if (p?.type === "variable_declarator" && p.childByField("value") === n) {
          name = p.childByField("name");
          const decl = p.parent;
          if (
            decl &&
            (decl.type === "lexical_declaration" || decl.type === "variable_declaration") &&
            decl.namedChildren.length === 1
          )
            outer = decl;
        } else if (
          p &&
          (p.type === "public_field_definition" || p.type === "field_definition") &&
          p.childByField("value") === n
        ) {
          name = p.childByField("name") ?? p.childByField("property");
          outer = p;
        } else if (p?.type === "pair" && p.childByField("value") === n) {
          name = p.childByField("key");
        } else if (p?.type === "assignment_expression" && p.childByField("right") === n) {
          const left = p.childByField("left");
          name = left?.type === "member_expression" ? left.childByField("property") : left;
          if (p.parent?.type === "expression_statement") outer = p.parent;
        } else if (!name) return null;
      }
      if (!name || name.type === "array_pattern" || name.type === "object_pattern") return null;
      const params =
        n.type === "arrow_function" && n.childByField("parameter")
          ? [n.childByField("parameter")!]
          : paramNodes(paramList(n));
      const d = base(name, params);
      if (d) {
        if (outer.parent?.type === "export_statement") outer = outer.parent;
        d.outer = outer;
      }
      return d;
    }
    case "java":
      if (n.type !== "method_declaration" && n.type !== "constructor_declaration") return null;
      return base(n.childByField("name"), paramNodes(paramList(n)));
    case "go":
      if (n.type !== "function_declaration" && n.type !== "method_declaration") return null;
      {
        const d = base(
          n.childByField("name"),
          paramNodes(n.childByField("parameters")).flatMap((p) => {
            const names = p.childrenByField("name");
            return names.length > 1 ? names : [p];
          }),
        );
        if (d && n.type === "method_declaration") {
          const recv = n.childByField("receiver");
          const t = recv ? firstOfTypes(recv, ["type_identifier"]) : null;
          d.className = t?.text ?? null;
        }
        return d;
      }
    case "rust": {
      if (n.type !== "function_item") return null;
      const d = base(n.childByField("name"), paramNodes(paramList(n)));
      if (d) {
        let s = n.start;
        let prev = prevNamedSibling(n);
        while (prev && prev.type === "attribute_item") {
          s = prev.start;
          prev = prevNamedSibling(prev);
        }
        if (s !== n.start) d.outer = spanNode(n, s, n.end);
      }
      return d;
    }
    case "c":
    case "cpp": {
      if (n.type !== "function_definition") return null;
      const fd = declaratorName(n.childByField("declarator"));
      let decl = n.childByField("declarator");
      while (decl && decl.type !== "function_declarator") decl = decl.childByField("declarator");
      let name: string | undefined = fd?.text;
      if (fd?.type === "qualified_identifier") name = fd.text.split("::").pop();
      const d = base(name ?? null, paramNodes(decl ? decl.childByField("parameters") : null));
      if (d && fd?.type === "qualified_identifier") d.className = fd.text.split("::").slice(-2, -1)[0] ?? null;
      if (d && n.parent?.type === "template_declaration") d.outer = n.parent;
      return d;
    }
    case "ruby":
      if (n.type !== "method" && n.type !== "singleton_method") return null;
      return base(n.childByField("name"), paramNodes(paramList(n)), n.childByField("body") ?? null);
    case "lua": {
      if (n.type !== "function_declaration") return null;
      const nm = n.childByField("name");
      if (!nm) return null;
      const d = base(
        nm.type === "identifier"
          ? nm
          : (nm.childByField("method") ?? nm.childByField("field") ?? nm.namedChildren[nm.namedChildren.length - 1]),
        paramNodes(n.childByField("parameters")),
      );
      if (d && nm.type !== "identifier") d.className = nm.childByField("table")?.text ?? null;
      return d;
    }
    case "julia": {
      if (n.type === "function_definition" || n.type === "short_function_definition") {
        const sig = n.childOfType("signature") ?? n.namedChildren[0];
        const call = juliaFindCall(sig ?? undefined);
        if (!call) return null;
        return base(juliaCallName(call), paramNodes(call.childOfType("argument_list")), null);
      }
      if (n.type === "assignment") {
        const call = juliaFindCall(n.namedChildren[0]);
        if (!call) return null;
        return base(juliaCallName(call), paramNodes(call.childOfType("argument_list")), null);
      }
      return null;
    }
    case "ocaml": {
      if (n.type !== "let_binding") return null;
      const pat = n.childByField("pattern");
      if (!pat || pat.type !== "value_name") return null;
      const params = n.children.filter((c) => c.type === "parameter");
      const body = n.childByField("body");
      if (params.length === 0 && !(body && (body.type === "fun_expression" || body.type === "function_expression")))
        return null;
      const d = base(pat, params, body);
      if (
        d &&
        n.parent?.type === "value_definition" &&
        n.parent.namedChildren.filter((c) => c.type === "let_binding").length === 1
      )
        d.outer = n.parent;
      return d;
    }
    case "haskell": {
      if (n.type !== "function") return null;
      const name = n.childByField("name");
      if (!name) return null;
      const prev = prevNamedSibling(n, true);
      if (prev && prev.type === "function" && prev.childByField("name")?.text === name.text) return null; // later equation
      const pats = n.childByField("patterns");
      const d = base(name, pats ? pats.namedChildren : [], n.childByField("match"));
      if (!d) return null;
      let last = n;
      for (
        let s = nextNamedSibling(n, true);
        s && s.type === "function" && s.childByField("name")?.text === name.text;
        s = nextNamedSibling(s, true)
      )
        last = s;
      d.last = last;
      if (prev && prev.type === "signature" && prev.childByField("name")?.text === name.text) d.outer = prev;
      return d;
    }
    case "elixir": {
      if (n.type !== "call") return null;
      const target = n.childByField("target");
      if (!target || target.type !== "identifier" || !ELIXIR_DEFS.has(target.text)) return null;
      const args = n.childOfType("arguments");
      let head = args?.namedChildren[0];
      if (head?.type === "binary_operator") head = head.childByField("left") ?? head.namedChildren[0];
      if (!head) return null;
      if (head.type === "identifier") return base(head, [], n.childOfType("do_block"));
      if (head.type === "call") {
        const t = head.childByField("target");
        return base(t, paramNodes(head.childOfType("arguments")), n.childOfType("do_block"));
      }
      return null;
    }
    case "r": {
      if (n.type !== "function_definition") return null;
      const p = n.parent;
      if (!p || p.type !== "binary_operator") return null;
      const lhs = p.childByField("lhs");
      const op = p.childByField("operator")?.text;
      if (!lhs || !op || !["<-", "=", "<<-"].includes(op)) return null;
      const d = base(lhs, paramNodes(n.childByField("parameters")));
      if (d) d.outer = p;
      return d;
    }
    case "bash":
      if (n.type !== "function_definition") return null;
      return base(n.childByField("name"), []);
    case "php":
      if (n.type !== "function_definition" && n.type !== "method_declaration") return null;
      return base(n.childByField("name"), paramNodes(paramList(n)));
    case "scala":
      if (n.type !== "function_definition") return null;
      return base(
        n.childByField("name"),
        n.childrenByField("parameters").flatMap((l) => paramNodes(l)),
      );
    case "kotlin": {
      if (n.type !== "function_declaration") return null;
      const params = paramNodes(n.childOfType("function_value_parameters"));
      return base(n.childOfType("simple_identifier"), params, n.childOfType("function_body"));
    }
    case "swift": {
      if (n.type !== "function_declaration" && n.type !== "init_declaration") return null;
      const name =
        n.type === "init_declaration" ? "init" : n.childrenByField("name").find((c) => c.type === "simple_identifier");
      return base(
        name,
        n.children.filter((c) => c.type === "parameter"),
        n.childByField("body"),
      );
    }
  }
  return null;
}

function prevNamedSibling(n: SyntaxNode, skipComments = false): SyntaxNode | null {
  const sibs = n.parent?.children ?? [];
  for (let i = sibs.indexOf(n) - 1; i >= 0; i--) {
    const s = sibs[i]!;
    if (!s.named) continue;
    if (skipComments && /comment|haddock/.test(s.type)) continue;
    return s;
  }
  return null;
}
function nextNamedSibling(n: SyntaxNode, skipComments = false): SyntaxNode | null {
  const sibs = n.parent?.children ?? [];
  for (let i = sibs.indexOf(n) + 1; i < sibs.length; i++) {
    const s = sibs[i]!;
    if (!s.named) continue;
    if (skipComments && /comment|haddock/.test(s.type)) continue;
    return s;
  }
  return null;
}

/** A synthetic span (for attributes before a Rust fn). */
function spanNode(like: SyntaxNode, start: number, end: number): SyntaxNode {
  const n = new SyntaxNode(like.lines, like.type, like.named, like.field, start, end, like.isMissing);
  n.children = like.children;
  n.parent = like.parent;
  return n;
}

function classNameOf(spec: LanguageSpec, n: SyntaxNode): string | null {
  const k = n.childByField("name");
  if (spec.id === "rust" && n.type === "impl_item") return n.childByField("type")?.text ?? null;
  if (spec.id === "elixir") {
    const t = n.childByField("target");
    if (!t || !["defmodule", "defprotocol", "defimpl"].includes(t.text)) return null;
    return n.childOfType("arguments")?.namedChildren[0]?.text ?? null;
  }
  if (k) return k.text;
  const t = n.childOfType("type_identifier", "identifier", "constant", "simple_identifier");
  return t?.text ?? null;
}

/** Strips comment markers from one comment's text. */
export function stripCommentMarkers(text: string): string {
  const t = text.replace(/\r\n?/g, "\n");
  // block comments
  let m: RegExpExecArray | null;
  if ((m = /^\s*\/\*\*?!?([\s\S]*?)\*\/\s*$/.exec(t))) {
    const lines = m[1]!.split("\n").map((l) => l.replace(/^\s*\*(?!\/) ?/, ""));
    return lines.join("\n");
  }
  if ((m = /^\s*\(\*\*?([\s\S]*?)\*\)\s*$/.exec(t)))
    return m[1]!
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, ""))
      .join("\n");
  if ((m = /^\s*\{-\s*\|?([\s\S]*?)-\}\s*$/.exec(t))) return m[1]!;
  if ((m = /^\s*--\[(=*)\[([\s\S]*?)\]\1\]\s*$/.exec(t))) return m[2]!;
  if ((m = /^\s*#=([\s\S]*?)=#\s*$/.exec(t))) return m[1]!;
  if ((m = /^=begin[^\n]*\n([\s\S]*?)\n=end/.exec(t))) return m[1]!;
  // line comments (possibly several lines in one node)
  return t
    .split("\n")
    .map((l) => l.replace(/^\s*(?:\/\/[\/!]?|#'|#+|---?\s?\|?|--|;+|%+)\s?/, ""))
    .join("\n");
}

function cleanDoc(text: string, pep257 = false): string | null {
  let lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (pep257 && lines.length > 1) {
    // PEP 257: the first line has no indentation of its own; the rest share one.
    lines = [lines[0]!.trim(), ...dedent(lines.slice(1).join("\n")).split("\n")];
  } else lines = dedent(lines.join("\n")).split("\n");
  while (lines.length && !lines[0]!.trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1]!.trim()) lines.pop();
  const out = dedent(lines.map((l) => l.trimEnd()).join("\n"));
  return out.trim() ? out : null;
}

/** The content of a string literal node, quotes removed. */
function stringContent(n: SyntaxNode): string {
  let t = n.text;
  t = t.replace(/^[rRuUbBfF]{0,2}("""|'''|"|')/, "").replace(/("""|'''|"|')$/, "");
  if (t.startsWith('"""')) t = t.slice(3);
  if (t.endsWith('"""')) t = t.slice(0, -3);
  return t.replace(/^~[sS]"""|^~[sS]"/, "");
}

/** Python docstring inside a function body: the expression_statement node, or null. */
function pythonDocNode(fn: SyntaxNode): SyntaxNode | null {
  const body = fn.childByField("body");
  if (!body) return null;
  for (const c of body.namedChildren) {
    if (c.type === "comment") continue;
    if (c.type === "expression_statement" && c.namedChildren.length === 1 && c.namedChildren[0]!.type === "string")
      return c;
    return null;
  }
  return null;
}

function lineStart(src: string, i: number): number {
  return src.lastIndexOf("\n", i - 1) + 1;
}

/** Comments directly above `start` (contiguous, no blank line, each on its own line), nearest last. */
function leadingComments(comments: SyntaxNode[], src: string, start: number): SyntaxNode[] {
  // binary search for the last comment ending at or before start
  let lo = 0;
  let hi = comments.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (comments[mid]!.end <= start) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const out: SyntaxNode[] = [];
  let cur = start;
  for (let i = idx; i >= 0; i--) {
    const c = comments[i]!;
    const gap = src.slice(c.end, cur);
    if (!/^\s*$/.test(gap)) break;
    const nl = (gap.match(/\n/g) ?? []).length + (c.text.endsWith("\n") ? 1 : 0);
    if (nl > 1) break;
    if (!/^\s*$/.test(src.slice(lineStart(src, c.start), c.start))) break; // trailing comment of a code line
    if (c.start === 0 && c.text.startsWith("#!")) break;
    out.unshift(c);
    cur = c.start;
  }
  return out;
}

/** Lines [start, end) of the source, the first line padded to its column, dedented. */
function sliceLines(src: string, start: number, end: number): string {
  const ls = lineStart(src, start);
  const pre = src.slice(ls, start);
  const padded = (/^[ \t]*$/.test(pre) ? pre : " ".repeat(start - ls)) + src.slice(start, end);
  return dedent(padded.replace(/\r\n?/g, "\n")).replace(/\s+$/, "");
}

/** Extracts every named function and method. Never throws on bad code. */
export function extractFunctions(lang: LangId, source: string): ExtractResult {
  return extractFunctionsParsed(parseCode(lang, source));
}

export function extractFunctionsParsed(pr: ParseResult): ExtractResult {
  const spec = LANGUAGES[pr.lang];
  const root = pr.tree.rootNode;
  const src = pr.source;
  const cidx = indexComments(pr.lang, root);
  const comments = cidx.comments.slice().sort((a, b) => a.start - b.start);
  const docNodes = cidx.docNodes;
  const errorSpans: Array<[number, number]> = [];
  for (const n of root.descendants())
    if (n.isError || n.isMissing) errorSpans.push([n.start, Math.max(n.end, n.start + 1)]);
  const classTypes = new Set(spec.classNodeTypes);
  const out: ExtractedFunction[] = [];

  // iterative pre-order walk (safe on very deep trees), carrying the enclosing class and function context
  const stack: Array<[SyntaxNode, string | null, boolean]> = [[root, null, false]];
  while (stack.length) {
    const [n, className, inFunction] = stack.pop()!;
    const d = describe(spec, n);
    let cls = className;
    let isClass = false;
    if (!d && classTypes.has(n.type)) {
      const c = classNameOf(spec, n);
      if (c) {
        cls = c;
        isClass = true;
      }
    }
    if (d) {
      const owner = d.className !== undefined ? d.className : inFunction ? null : className;
      out.push(buildRecord(pr, spec, d, owner, inFunction, comments, docNodes, errorSpans));
    }
    const childInFn = inFunction || !!d || (spec.functionNodeTypes.includes(n.type) && !isClass);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i]!, d ? null : cls, childInFn]);
  }
  out.sort((a, b) => a.startByte - b.startByte);
  return { functions: out, errors: pr.errors };
}

function buildRecord(
  pr: ParseResult,
  spec: LanguageSpec,
  d: Described,
  className: string | null,
  nested: boolean,
  comments: SyntaxNode[],
  docNodes: SyntaxNode[],
  errorSpans: Array<[number, number]>,
): ExtractedFunction {
  const src = pr.source;
  let start = d.outer.start;
  const end = Math.max(d.outer.end, d.last.end);
  let doc: string | null = null;
  const removeInside: Array<[number, number]> = [];

  if (spec.docStyle === "docstring") {
    const dn = pythonDocNode(d.node);
    if (dn) doc = cleanDoc(stringContent(dn.namedChildren[0]!), true);
  } else if (spec.docStyle === "string-before" || spec.docStyle === "attribute-before") {
    const prev = prevNamedSibling(d.outer, true);
    if (prev && docNodes.includes(prev)) {
      const s = spec.docStyle === "attribute-before" ? elixirDocString(prev) : prev;
      if (s) doc = cleanDoc(stringContent(s));
      start = prev.start;
    }
  }
  if (doc === null && spec.docStyle !== "docstring") {
    const lead = leadingComments(comments, src, start).filter((c) => !DOC_SKIP_RE.test(c.text));
    // keep the contiguous run nearest the definition
    if (lead.length) {
      doc = cleanDoc(lead.map((c) => stripCommentMarkers(c.text)).join("\n"));
      start = lead[0]!.start;
    }
  }
  // Comments and doc nodes inside the span go from codeStripped.
  for (const c of comments) if (c.start >= start && c.end <= end) removeInside.push([c.start, c.end]);
  for (const c of docNodes) if (c.start >= start && c.end <= end) removeInside.push([c.start, c.end]);
  if (spec.docStyle === "docstring") {
    for (const n of d.node.descendants()) {
      if (n.type === "function_definition" || n.type === "class_definition") {
        const dn = pythonDocNode(n);
        if (dn && !removeInside.some(([a]) => a === dn.start)) removeInside.push([dn.start, dn.end]);
      }
    }
  }
  const ls = lineStart(src, start);
  const pre = /^[ \t]*$/.test(src.slice(ls, start)) ? src.slice(ls, start) : " ".repeat(start - ls);
  const stripped = removeRanges(pre + src.slice(start, end), removeInside, start - pre.length);

  const bodyStart = d.body ? d.body.start : -1;
  let sigText: string;
  if (bodyStart > d.node.start) sigText = src.slice(d.node.start, bodyStart);
  else {
    const nl = src.indexOf("\n", d.node.start);
    sigText = src.slice(d.node.start, nl < 0 || nl > d.node.end ? d.node.end : nl);
  }
  if (d.outer !== d.node && d.outer.start < d.node.start && src.slice(d.outer.start, d.node.start).indexOf("@") < 0) {
    sigText = src.slice(d.outer.start, d.node.start) + sigText;
  }
  if (spec.id === "haskell" && d.outer.type === "signature") sigText = d.outer.text;
  else {
    const sigStart = src.indexOf(sigText, Math.min(d.outer.start, d.node.start));
    const inSig = comments
      .filter((c) => c.start >= sigStart && c.end <= sigStart + sigText.length)
      .map((c) => [c.start, c.end] as [number, number]);
    if (inSig.length) sigText = removeRanges(sigText, inSig, sigStart);
  }
  const signature = sigText
    .replace(/\s+/g, " ")
    .replace(/\s*\{\s*$/, "")
    .trim();

  const startLine = (src.slice(0, start).match(/\n/g) ?? []).length + 1;
  const endLine = startLine + (src.slice(start, end).match(/\n/g) ?? []).length;
  return {
    name: d.name,
    kind: className ? "method" : "function",
    className,
    params: d.params.map((p) => paramName(spec, p)).filter((s) => s.length > 0),
    signature,
    code: sliceLines(src, start, end),
    codeStripped: normalizeWhitespace(stripped),
    doc,
    startByte: start,
    endByte: end,
    startLine,
    endLine,
    hasErrors: errorSpans.some(([a, b]) => a < end && b > start),
    nested,
  };
}
