/**
 * Loading tree-sitter grammars (WASM, from node_modules, no network) and parsing source code into a plain
 * JavaScript syntax tree.
 *
 * The WASM tree is converted to `SyntaxNode` objects and freed at once, so callers never own WASM memory
 * (web-tree-sitter trees are not garbage-collected) and trees can be kept, passed around and walked cheaply.
 * Every worker thread that imports this module has its own parser instances; loading is per thread.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Parser, Language, type TreeCursor } from "web-tree-sitter";
import { LANGUAGES, LANG_IDS, type LangId } from "./languages.js";

/** Line-start offsets of a source string, for turning offsets into rows/columns lazily. */
export class LineIndex {
  private starts: number[] | null = null;
  constructor(readonly source: string) {}
  private build(): number[] {
    const s = [0];
    const src = this.source;
    for (let i = src.indexOf("\n"); i >= 0; i = src.indexOf("\n", i + 1)) s.push(i + 1);
    return (this.starts = s);
  }
  /** 0-based row of an offset. */
  row(offset: number): number {
    const s = this.starts ?? this.build();
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  col(offset: number): number {
    const s = this.starts ?? this.build();
    return offset - s[this.row(offset)]!;
  }
}

/** One node of a parsed syntax tree. Offsets index the JavaScript source string (UTF-16 code units). */
export class SyntaxNode {
  children: SyntaxNode[] = [];
  parent: SyntaxNode | null = null;
  constructor(
    readonly lines: LineIndex,
    readonly type: string,
    readonly named: boolean,
    /** Field name of this node in its parent ("name", "body", ...), or null. */
    readonly field: string | null,
    readonly start: number,
    readonly end: number,
    readonly isMissing: boolean,
  ) {}
  get source(): string {
    return this.lines.source;
  }
  /** 0-based row/column of the start and end (columns in UTF-16 code units). */
  get startRow(): number {
    return this.lines.row(this.start);
  }
  get startCol(): number {
    return this.lines.col(this.start);
  }
  get endRow(): number {
    return this.lines.row(this.end);
  }
  get endCol(): number {
    return this.lines.col(this.end);
  }
  get text(): string {
    return this.lines.source.slice(this.start, this.end);
  }
  get isError(): boolean {
    return this.type === "ERROR";
  }
  get namedChildren(): SyntaxNode[] {
    return this.children.filter((c) => c.named);
  }
  /** First child with this field name. */
  childByField(field: string): SyntaxNode | null {
    for (const c of this.children) if (c.field === field) return c;
    return null;
  }
  childrenByField(field: string): SyntaxNode[] {
    return this.children.filter((c) => c.field === field);
  }
  /** First child of one of these types. */
  childOfType(...types: string[]): SyntaxNode | null {
    for (const c of this.children) if (types.includes(c.type)) return c;
    return null;
  }
  /** Pre-order iteration over this subtree (iterative, safe on deep trees). */
  *descendants(): Generator<SyntaxNode> {
    const stack: SyntaxNode[] = [this];
    while (stack.length) {
      const n = stack.pop()!;
      yield n;
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
  }
  /** Whether this subtree contains an ERROR or MISSING node. */
  get hasError(): boolean {
    for (const n of this.descendants()) if (n.isError || n.isMissing) return true;
    return false;
  }
}

export interface ParseIssue {
  /** 1-based line and column. */
  line: number;
  col: number;
  message: string;
}

export interface ParseResult {
  lang: LangId;
  source: string;
  /** The syntax tree; `tree.rootNode` is the root. Always present (an empty root for rejected input). */
  tree: { rootNode: SyntaxNode };
  hasErrors: boolean;
  errors: ParseIssue[];
  /** Depth of the deepest node (the root is 0). Recursive consumers should check it. */
  maxDepth: number;
}

export interface ParseOptions {
  /** Inputs longer than this many characters are rejected (reported, not thrown). Default 8 MiB. */
  maxChars?: number;
  /** At most this many issues are listed (default 50). */
  maxIssues?: number;
}

export const DEFAULT_MAX_PARSE_CHARS = 8 * 1024 * 1024;

let initPromise: Promise<void> | null = null;
const loading = new Map<LangId, Promise<void>>();
const parsers = new Map<LangId, Parser>();

function findNodeModulesFile(rel: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, "node_modules", rel);
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`grammar file node_modules/${rel} not found (run npm ci)`);
}

/** Path of the grammar WASM of a language. */
export function grammarPath(lang: LangId): string {
  return findNodeModulesFile(LANGUAGES[lang].wasm);
}

/** Loads the grammar of `lang` (idempotent, concurrency-safe). After it resolves, the sync functions work. */
export async function loadLanguage(lang: LangId): Promise<void> {
  if (!(lang in LANGUAGES)) throw new Error(`unknown language '${String(lang)}'`);
  if (parsers.has(lang)) return;
  let p = loading.get(lang);
  if (!p) {
    p = (async () => {
      if (!initPromise) initPromise = Parser.init();
      await initPromise;
      const language = await Language.load(grammarPath(lang));
      const parser = new Parser();
      parser.setLanguage(language);
      parsers.set(lang, parser);
    })();
    loading.set(lang, p);
    p.catch(() => loading.delete(lang));
  }
  return p;
}

/** Loads every registered grammar (about 1-2 s, mostly compiling the large ones). */
export async function loadAllLanguages(): Promise<void> {
  await Promise.all(LANG_IDS.map((l) => loadLanguage(l)));
}

export function isLanguageLoaded(lang: LangId): boolean {
  return parsers.has(lang);
}

function getParser(lang: LangId): Parser {
  const p = parsers.get(lang);
  if (!p) {
    if (!(lang in LANGUAGES)) throw new Error(`unknown language '${String(lang)}'`);
    throw new Error(`language '${lang}' is not loaded: await loadLanguage('${lang}') first`);
  }
  return p;
}

/** Why an input cannot be parsed as source code at all (binary or oversized), or null when it is fine. */
export function rejectReason(source: string, maxChars = DEFAULT_MAX_PARSE_CHARS): string | null {
  if (typeof source !== "string") return "input is not a string";
  if (source.length > maxChars) return `input is too large (${source.length} characters, limit ${maxChars})`;
  const head = source.length > 8192 ? source.slice(0, 8192) : source;
  let ctrl = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c === 0) return "input looks binary (contains NUL bytes)";
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd) ctrl++;
  }
  if (head.length > 0 && ctrl / head.length > 0.1)
    return "input looks binary (many control or invalid UTF-8 characters)";
  return null;
}

function emptyTree(source: string): { rootNode: SyntaxNode } {
  return { rootNode: new SyntaxNode(new LineIndex(source), "ERROR", true, null, 0, 0, false) };
}

/** Converts a web-tree-sitter tree into SyntaxNodes with a cursor walk (iterative). */
interface TypeTables {
  names: string[];
  named: Int8Array;
  fields: (string | null)[];
}
const typeTables = new WeakMap<Language, TypeTables>();
function tablesOf(language: Language): TypeTables {
  let t = typeTables.get(language);
  if (!t) {
    const names = language.types.map((x) => x ?? "ERROR");
    const named = new Int8Array(names.length + 1);
    for (let i = 0; i < names.length; i++) named[i] = language.nodeTypeIsNamed(i) ? 1 : 0;
    t = { names, named, fields: language.fields };
    typeTables.set(language, t);
  }
  return t;
}

/**
 * Converts a web-tree-sitter tree into SyntaxNodes with a cursor walk (iterative). Every cursor access
 * crosses into WASM, so only what is needed is read (type id, field id, offsets; the missing flag only when
 * the tree has errors); type names and named-ness come from per-language tables. Offsets are read for every
 * node: hidden tokens mean a node's span is not always the union of its visible children's.
 */
function convert(
  source: string,
  cursor: TreeCursor,
  language: Language,
  withMissing: boolean,
  depthOut: { max: number },
): SyntaxNode {
  const lines = new LineIndex(source);
  const tt = tablesOf(language);
  const mk = (): SyntaxNode => {
    const id = cursor.nodeTypeId;
    const name = id === 65535 ? "ERROR" : (tt.names[id] ?? cursor.nodeType);
    const named = id === 65535 ? true : tt.named[id] === 1;
    const f = cursor.currentFieldId;
    return new SyntaxNode(
      lines,
      name,
      named,
      f ? (tt.fields[f] ?? null) : null,
      cursor.startIndex,
      cursor.endIndex,
      false,
    );
  };
  const root = new SyntaxNode(lines, cursor.nodeType, true, null, cursor.startIndex, cursor.endIndex, false);
  let cur = root;
  if (!cursor.gotoFirstChild()) return root;
  let depth = 1;
  depthOut.max = 1;
  for (;;) {
    const n = mk();
    n.parent = cur;
    cur.children.push(n);
    if (cursor.gotoFirstChild()) {
      cur = n;
      if (++depth > depthOut.max) depthOut.max = depth;
      continue;
    }
    if (withMissing) (n as { isMissing: boolean }).isMissing = cursor.nodeIsMissing;
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent() || cur === root) return root;
      cur = cur.parent!;
      depth--;
    }
  }
}

function collectIssues(root: SyntaxNode, maxIssues: number): ParseIssue[] {
  const out: ParseIssue[] = [];
  const stack: SyntaxNode[] = [root];
  while (stack.length && out.length < maxIssues) {
    const n = stack.pop()!;
    if (n.isMissing) {
      out.push({
        line: n.startRow + 1,
        col: n.startCol + 1,
        message: `missing ${n.named ? n.type : JSON.stringify(n.type)}`,
      });
      continue;
    }
    if (n.isError) {
      const t = n.text.trim();
      const snippet = t.length > 40 ? t.slice(0, 40) + "..." : t;
      out.push({
        line: n.startRow + 1,
        col: n.startCol + 1,
        message: snippet ? `syntax error near ${JSON.stringify(snippet)}` : "syntax error",
      });
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

/**
 * Parses `source`. Never throws on bad code: syntax errors are listed in `errors` and the (partial) tree is
 * returned; binary or oversized input gives an empty tree and one issue saying why. Throws only when the
 * language has not been loaded (a programming error).
 */
export function parseCode(lang: LangId, source: string, opts: ParseOptions = {}): ParseResult {
  const parser = getParser(lang);
  const reason = rejectReason(source, opts.maxChars ?? DEFAULT_MAX_PARSE_CHARS);
  if (reason) {
    const s = typeof source === "string" ? source : "";
    return {
      lang,
      source: s,
      tree: emptyTree(s),
      hasErrors: true,
      errors: [{ line: 1, col: 1, message: reason }],
      maxDepth: 0,
    };
  }
  const tree = parser.parse(source);
  if (!tree) {
    return {
      lang,
      source,
      tree: emptyTree(source),
      hasErrors: true,
      errors: [{ line: 1, col: 1, message: "parser gave no tree" }],
      maxDepth: 0,
    };
  }
  let root: SyntaxNode;
  let hasErrors: boolean;
  const depth = { max: 0 };
  try {
    hasErrors = tree.rootNode.hasError;
    const cursor = tree.walk();
    try {
      root = convert(source, cursor, tree.language, hasErrors, depth);
    } finally {
      cursor.delete();
    }
  } finally {
    tree.delete();
  }
  const errors = hasErrors ? collectIssues(root, opts.maxIssues ?? 50) : [];
  if (hasErrors && errors.length === 0) errors.push({ line: 1, col: 1, message: "syntax error" });
  return { lang, source, tree: { rootNode: root }, hasErrors, errors, maxDepth: depth.max };
}
