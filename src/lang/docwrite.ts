/**
 * Writing documentation into source files in each language's own convention (the registry's `docConvention`):
 *
 *   - `docTargets(lang, src)`: the named, non-nested functions of a file with where their documentation goes
 *     (the line to insert before, its indentation, the span of an existing doc to replace), or why it cannot;
 *   - `renderDoc(lang, doc, ctx)`: documentation text in the format of src/similarity/docformat.ts → the
 *     comment / docstring lines (JSDoc, Javadoc, YARD, LDoc, roxygen, Swift tags; Go's name-first sentence);
 *   - `applyDocs(lang, src, edits)`: the new file text (line endings kept: a CRLF file stays CRLF), refused
 *     when the result has more syntax errors than the original.
 *
 * Pure text and syntax trees: nothing here reads or writes files or calls a model.
 */
import { LANGUAGES, type LangId } from "./languages.js";
import { parseCode, type SyntaxNode } from "./parser.js";
import { extractFunctionsParsed, type ExtractedFunction } from "./extract.js";

export interface DocTarget {
  fn: ExtractedFunction;
  /** Whether the function already has documentation. */
  documented: boolean;
  /** Offset of the start of the line the new documentation is inserted before (or the start of the replaced doc). */
  insertAt: number;
  /** End of the replaced span (= insertAt when nothing is replaced). Only differs for an existing doc. */
  replaceEnd: number;
  /** Indentation of the documentation lines. */
  indent: string;
  /** Set when documentation cannot be written here (e.g. a one-line Python body); the function is skipped. */
  skip?: string;
}

function lineStart(src: string, off: number): number {
  return src.lastIndexOf("\n", off - 1) + 1;
}
function nextLineStart(src: string, off: number): number {
  const i = src.indexOf("\n", off);
  return i < 0 ? src.length : i + 1;
}
function indentOf(src: string, ls: number): string {
  return /^[ \t]*/.exec(src.slice(ls, ls + 200))![0];
}

/** The function node whose definition ends where `fn` ends (the extractor's span ends at the definition's end). */
function findNode(root: SyntaxNode, types: Set<string>, fn: ExtractedFunction): SyntaxNode | null {
  let best: SyntaxNode | null = null;
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.end < fn.startByte || n.start > fn.endByte) continue;
    if (types.has(n.type) && n.end === fn.endByte && n.start >= fn.startByte && (!best || n.start < best.start))
      best = n;
    for (const c of n.children) stack.push(c);
  }
  return best;
}

/** Where the documentation of each function of `src` goes. Nested functions are not targets. */
export function docTargets(lang: LangId, src: string): DocTarget[] {
  const spec = LANGUAGES[lang];
  const parsed = parseCode(lang, src);
  const { functions } = extractFunctionsParsed(parsed);
  const types = new Set(spec.functionNodeTypes);
  const out: DocTarget[] = [];
  for (const fn of functions) {
    if (fn.nested) continue;
    const documented = fn.doc !== null && fn.doc.trim() !== "";
    const node = findNode(parsed.tree.rootNode, types, fn);
    const base = { fn, documented };
    if (spec.docConvention.placement === "docstring") {
      const body = node?.children.find((c) => c.field === "body") ?? null;
      const first = body?.children.find((c) => c.named && c.type !== "comment") ?? null;
      if (!node || !body || !first) {
        out.push({
          ...base,
          insertAt: fn.startByte,
          replaceEnd: fn.startByte,
          indent: "",
          skip: "no function body found",
        });
        continue;
      }
      const ls = lineStart(src, first.start);
      if (src.slice(ls, first.start).trim() !== "" || lineStart(src, node.start) === ls) {
        out.push({ ...base, insertAt: ls, replaceEnd: ls, indent: "", skip: "the body starts on the definition line" });
        continue;
      }
      const isDoc = first.type === "expression_statement" && first.children[0]?.type === "string";
      if (documented && isDoc) {
        out.push({ ...base, insertAt: ls, replaceEnd: nextLineStart(src, first.end - 1), indent: indentOf(src, ls) });
      } else out.push({ ...base, insertAt: ls, replaceEnd: ls, indent: indentOf(src, ls) });
      continue;
    }
    // before the definition: the definition starts at its outermost wrapper (export, decorators, attributes)
    let def = node;
    while (
      def?.parent &&
      def.parent.end === fn.endByte &&
      def.parent.start >= fn.startByte &&
      def.parent.type !== "program"
    )
      def = def.parent;
    const defStart = documented ? (def ? def.start : fn.startByte) : fn.startByte;
    let ls = lineStart(src, defStart);
    if (documented && def) {
      // the existing doc block: from the span's first line to the definition's line
      const docLs = lineStart(src, fn.startByte);
      if (docLs === ls) {
        out.push({
          ...base,
          insertAt: ls,
          replaceEnd: ls,
          indent: indentOf(src, ls),
          skip: "documentation on the definition line",
        });
        continue;
      }
      out.push({ ...base, insertAt: docLs, replaceEnd: ls, indent: indentOf(src, ls) });
      continue;
    }
    if (src.slice(ls, defStart).trim() !== "") {
      out.push({
        ...base,
        insertAt: ls,
        replaceEnd: ls,
        indent: indentOf(src, ls),
        skip: "the definition does not start its line",
      });
      continue;
    }
    ls = lineStart(src, defStart);
    out.push({ ...base, insertAt: ls, replaceEnd: ls, indent: indentOf(src, ls) });
  }
  return out;
}

interface ParsedDoc {
  /** Summary and description paragraphs, and any section that has no tag form, as lines. */
  prose: string[];
  params: { name: string; text: string }[];
  returns: string | null;
  yields: string | null;
  raises: { name: string; text: string }[];
  /** Examples / Notes sections (kept as text). */
  rest: string[];
}

const SECTION_RE = /^(Parameters|Returns|Yields|Raises|Examples|Notes):\s*$/;

/** Splits a doc in the project's format into prose and sections (anything unrecognised stays prose). */
function parseSections(doc: string): ParsedDoc {
  const lines = doc.replace(/\r\n?/g, "\n").split("\n");
  const out: ParsedDoc = { prose: [], params: [], returns: null, yields: null, raises: [], rest: [] };
  let i = 0;
  while (i < lines.length && !SECTION_RE.test(lines[i]!)) out.prose.push(lines[i++]!);
  while (i < lines.length) {
    const header = SECTION_RE.exec(lines[i]!)?.[1];
    const body: string[] = [];
    i++;
    while (i < lines.length && !SECTION_RE.test(lines[i]!)) body.push(lines[i++]!);
    while (body.length && body[body.length - 1]!.trim() === "") body.pop();
    const entries = (): { name: string; text: string }[] => {
      const es: { name: string; text: string }[] = [];
      for (const l of body) {
        const m = /^ {2}(\S[^:]*?)\s*:\s+(.*)$/.exec(l);
        if (m && !l.startsWith("    ")) es.push({ name: m[1]!, text: m[2]! });
        else if (es.length && l.trim()) es[es.length - 1]!.text += ` ${l.trim()}`;
      }
      return es;
    };
    const joined = body
      .map((l) => l.trim())
      .filter(Boolean)
      .join(" ");
    if (header === "Parameters") out.params = entries();
    else if (header === "Raises") out.raises = entries();
    else if (header === "Returns") out.returns = joined;
    else if (header === "Yields") out.yields = joined;
    else out.rest.push("", `${header}:`, ...body);
  }
  while (out.prose.length && out.prose[out.prose.length - 1]!.trim() === "") out.prose.pop();
  return out;
}

function tagLines(style: string, d: ParsedDoc): string[] | null {
  const p = d.params,
    t: string[] = [];
  switch (style) {
    case "jsdoc":
      for (const e of p) t.push(`@param ${e.name} ${e.text}`);
      if (d.returns) t.push(`@returns ${d.returns}`);
      if (d.yields) t.push(`@yields ${d.yields}`);
      for (const e of d.raises) t.push(`@throws {${e.name}} ${e.text}`);
      return t;
    case "javadoc":
      for (const e of p) t.push(`@param ${e.name} ${e.text}`);
      if (d.returns ?? d.yields) t.push(`@return ${d.returns ?? d.yields}`);
      for (const e of d.raises) t.push(`@throws ${e.name} ${e.text}`);
      return t;
    case "yard":
      for (const e of p) t.push(`@param ${e.name} ${e.text}`);
      if (d.returns) t.push(`@return ${d.returns}`);
      if (d.yields) t.push(`@yield ${d.yields}`);
      for (const e of d.raises) t.push(`@raise [${e.name}] ${e.text}`);
      return t;
    case "ldoc":
      for (const e of p) t.push(`@param ${e.name} ${e.text}`);
      if (d.returns ?? d.yields) t.push(`@return ${d.returns ?? d.yields}`);
      for (const e of d.raises) t.push(`@raise ${e.name} ${e.text}`);
      return t;
    case "roxygen":
      for (const e of p) t.push(`@param ${e.name} ${e.text}`);
      if (d.returns ?? d.yields) t.push(`@return ${d.returns ?? d.yields}`);
      return d.raises.length ? null : t;
    case "swift":
      for (const e of p) t.push(`- Parameter ${e.name}: ${e.text}`);
      if (d.returns) t.push(`- Returns: ${d.returns}`);
      if (d.raises.length) t.push(`- Throws: ${d.raises.map((e) => `${e.name} ${e.text}`).join("; ")}`);
      return d.yields ? null : t;
    default:
      return null;
  }
}

/** Third person of an imperative first word, for Go's "Name does ..." sentence. */
function thirdPerson(word: string): string {
  const w = word.toLowerCase();
  if (/(?:s|x|z|ch|sh)$/.test(w)) return `${w}es`;
  if (/[^aeiou]y$/.test(w)) return `${w.slice(0, -1)}ies`;
  return `${w}s`;
}

export interface RenderContext {
  /** The function's name (Go's doc comment starts with it). */
  name: string;
  /** Indentation of every line. */
  indent: string;
  /** The line ending of the file ("\n" or "\r\n"). */
  eol: string;
  /** The whole file (for `tagsOnlyIfFileUses`). */
  fileText?: string;
}

/** The documentation block (ending with `eol`) for `doc`, ready to insert at a line start. */
export function renderDoc(lang: LangId, doc: string, ctx: RenderContext): string {
  const conv = LANGUAGES[lang].docConvention;
  const parsed = parseSections(doc.trim());
  let useTags = conv.tags !== "plain";
  if (useTags && conv.tagsOnlyIfFileUses) useTags = new RegExp(conv.tagsOnlyIfFileUses, "m").test(ctx.fileText ?? "");
  const tags = useTags ? tagLines(conv.tags, parsed) : null;
  let body: string[];
  if (tags) {
    body = [...parsed.prose, ...parsed.rest];
    if (tags.length) body.push("", ...tags);
  } else body = doc.trim().replace(/\r\n?/g, "\n").split("\n");
  if (conv.startsWithName && body.length) {
    const first = body[0]!;
    const m = /^([A-Z][a-z]+)\b(.*)$/.exec(first);
    if (!first.startsWith(ctx.name)) body[0] = m ? `${ctx.name} ${thirdPerson(m[1]!)}${m[2]}` : `${ctx.name}: ${first}`;
  }
  // keep the closing marker (and string delimiters) out of the text
  const close = conv.close;
  const esc = (l: string): string => {
    let s = l;
    if (close === '"""') s = s.replace(/\\/g, "\\\\").replace(/"""/g, '\\"\\"\\"');
    if (close === " */") s = s.replace(/\*\//g, "*\\/");
    if (close === "*)") s = s.replace(/\*\)/g, "* )");
    return s;
  };
  body = body.map(esc);
  const ind = ctx.indent,
    eol = ctx.eol;
  const line = (prefix: string, text: string): string =>
    (text ? `${ind}${prefix}${text}` : `${ind}${prefix.trimEnd()}`).trimEnd();
  if (conv.placement === "docstring" || conv.close === '"""') {
    const open = conv.open ?? '"""';
    if (body.length === 1 && !body[0]!.endsWith('"')) return `${ind}${open}${body[0]}"""${eol}`;
    return (
      [`${ind}${open}${body[0] ?? ""}`.trimEnd(), ...body.slice(1).map((l) => line("", l)), `${ind}"""`].join(eol) + eol
    );
  }
  const lines: string[] = [];
  if (conv.open) lines.push(`${ind}${conv.open}`);
  body.forEach((l, i) => lines.push(line(i === 0 && conv.firstPrefix ? conv.firstPrefix : conv.prefix, l)));
  if (conv.close) lines.push(`${ind}${conv.close}`);
  return lines.join(eol) + eol;
}

/** The file's line ending: CRLF when most line breaks are CRLF. */
export function detectEol(src: string): "\n" | "\r\n" {
  const crlf = (src.match(/\r\n/g) ?? []).length;
  const lf = (src.match(/\n/g) ?? []).length;
  return crlf > 0 && crlf * 2 >= lf ? "\r\n" : "\n";
}

export interface DocEdit {
  target: DocTarget;
  doc: string;
}

export interface ApplyResult {
  text: string;
  /** Syntax errors before and after (the edit is refused, `ok` false, when they grew). */
  errorsBefore: number;
  errorsAfter: number;
  ok: boolean;
}

/** Applies the edits (documentation text in the project's format) to `src`, in the language's convention. */
export function applyDocs(lang: LangId, src: string, edits: readonly DocEdit[]): ApplyResult {
  const eol = detectEol(src);
  const sorted = [...edits].sort((a, b) => b.target.insertAt - a.target.insertAt);
  let text = src;
  for (const e of sorted) {
    const block = renderDoc(lang, e.doc, { name: e.target.fn.name, indent: e.target.indent, eol, fileText: src });
    text = text.slice(0, e.target.insertAt) + block + text.slice(e.target.replaceEnd);
  }
  const errorsBefore = parseCode(lang, src).errors.length;
  const errorsAfter = parseCode(lang, text).errors.length;
  return { text, errorsBefore, errorsAfter, ok: errorsAfter <= errorsBefore };
}
