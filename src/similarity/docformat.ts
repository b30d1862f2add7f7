/**
 * The documentation format the policy writes (and the warm-start SFT targets use), its validator, and a
 * converter from naturally occurring docstrings / doc comments into it.
 *
 * Designed for tiny models: plain text, no markup, a fixed small set of section names, one layout rule.
 */
import { stripCommentMarkers } from "../lang/index.js";

export const DOC_SECTIONS = ["Parameters", "Returns", "Yields", "Raises", "Examples", "Notes"] as const;
export type DocSection = (typeof DOC_SECTIONS)[number];

export const DOC_FORMAT_SPEC = `Documentation format (plain text, no markup):

1. The first line is a one-sentence summary of what the function does, starting with a capital letter
   and ending with a period, at most 160 characters.
2. Optionally, after one blank line, a description in plain sentences (one or more paragraphs).
3. Optionally, after one blank line, sections in this order, each at most once:
     Parameters:  one entry per parameter, "  name: what it is" (two spaces before the name)
     Returns:     "  what is returned"
     Yields:      "  what is yielded"
     Raises:      one entry per error, "  ErrorName: when it is raised"
     Examples:    indented usage lines, e.g. "  add(1, 2) -> 3"
     Notes:       indented sentences
   A section header is alone on its line with a colon; its lines are indented by two spaces (a
   continuation line of an entry by four); sections are separated by one blank line.
4. No markup: no code fences, no @tags, no :param: fields, no HTML, no Markdown headings or backticks.
5. Do not copy the code: describe behaviour, not statements. At most 40 lines.

Example:
Compute the mean of the values below a limit.

Values at or above the limit are ignored.

Parameters:
  values: the numbers to average
  limit: the exclusive upper bound

Returns:
  the mean, or 0 when no value is below the limit
`;

export interface DocValidation {
  valid: boolean;
  violations: string[];
}

export interface ValidateOptions {
  /** Known parameter names: entries naming anything else are violations. */
  params?: string[];
  maxLines?: number;
  maxSummary?: number;
}

/** A section header: one to three words and a colon, alone on a line. Longer lines ending in ':' are prose. */
const HEADER_RE = /^([A-Z][A-Za-z]*(?: [A-Za-z]+){0,2}):\s*$/;
const ENTRY_RE = /^ {2}(\*{0,2}[A-Za-z_$][\w$.]*(?:\s*,\s*\*{0,2}[A-Za-z_$][\w$.]*)*)\s*:\s+\S/;
const HTML_TAG =
  /<\/?(?:code|pre|p|br|b|i|em|strong|a|ul|ol|li|tt|div|span|table|tr|td|th|h[1-6]|sup|sub|blockquote|kbd|var|samp)(?:\s+[a-z-]+=(?:"[^"]*"|'[^']*'|[^\s>]+))*\s*\/?>/i;
const MARKUP: Array<[RegExp, string]> = [
  [/```|~~~/, "code fence"],
  [/^\s*@(param|return|returns|throws|raise|raises|example|type|arg|argument)\b/m, "@tag"],
  [/^\s*:(param|type|returns?|rtype|raises?)\b/m, "reST field"],
  [HTML_TAG, "HTML tag"],
  [/^#{1,6}\s/m, "Markdown heading"],
  [/`[^`\n]+`/, "backticks"],
  [/\{@(link|code)\b/, "{@link}"],
];

/** Checks a documentation text against DOC_FORMAT_SPEC. */
export function validateDoc(text: string, opts: ValidateOptions = {}): DocValidation {
  const v: string[] = [];
  if (typeof text !== "string") return { valid: false, violations: ["documentation is not a string"] };
  const maxLines = opts.maxLines ?? 40;
  const maxSummary = opts.maxSummary ?? 160;
  const t = text.replace(/\r\n?/g, "\n").replace(/\s+$/, "");
  if (!t.trim()) return { valid: false, violations: ["documentation is empty"] };
  if (/[\u0000-\u0008\u000e-\u001f]/.test(t)) v.push("contains control characters");
  const lines = t.split("\n");
  if (lines.length > maxLines) v.push(`too long: ${lines.length} lines (at most ${maxLines})`);
  const summary = lines[0]!;
  if (/^\s/.test(summary)) v.push("summary line is indented");
  if (HEADER_RE.test(summary.trim()) && DOC_SECTIONS.includes(summary.trim().slice(0, -1) as DocSection))
    v.push("summary line is missing (the text starts with a section)");
  else {
    if (summary.length > maxSummary)
      v.push(`summary line is too long: ${summary.length} characters (at most ${maxSummary})`);
    if (!/[.!?]$/.test(summary.trim())) v.push("summary line does not end with a period");
    if (!/^[A-Z0-9"'(]/.test(summary.trim())) v.push("summary line does not start with a capital letter");
    if (summary.trim().split(/\s+/).length < 2) v.push("summary line has fewer than two words");
  }
  if (lines.length > 1 && lines[1]!.trim() !== "") v.push("line 2 must be blank (the summary is one line)");
  for (const [re, what] of MARKUP) if (re.test(t)) v.push(`markup is not allowed: ${what}`);

  // sections
  const seen: DocSection[] = [];
  let cur: DocSection | null = null;
  let entries = 0;
  const params = opts.params ? new Set(opts.params.map((p) => p.replace(/^[*&$]+/, ""))) : null;
  const closeSection = (ln: number): void => {
    if (cur && entries === 0) v.push(`section ${cur} is empty (line ${ln})`);
  };
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    const h = HEADER_RE.exec(line);
    if (h) {
      const name = h[1]!.trim();
      if (!DOC_SECTIONS.includes(name as DocSection)) {
        v.push(`unknown section '${name}:' on line ${i + 1} (allowed: ${DOC_SECTIONS.join(", ")})`);
        continue;
      }
      closeSection(i + 1);
      const sec = name as DocSection;
      if (seen.includes(sec)) v.push(`section ${sec} appears twice`);
      else if (seen.length && DOC_SECTIONS.indexOf(sec) < DOC_SECTIONS.indexOf(seen[seen.length - 1]!))
        v.push(`section ${sec} is out of order (order: ${DOC_SECTIONS.join(", ")})`);
      if (i > 0 && lines[i - 1]!.trim() !== "") v.push(`section ${sec} must follow a blank line (line ${i + 1})`);
      seen.push(sec);
      cur = sec;
      entries = 0;
      continue;
    }
    if (line.trim() === "") continue;
    if (cur === null) {
      if (/^\s/.test(line) && !/^\s*(>>>|\.\.\.)/.test(line)) v.push(`description line ${i + 1} is indented`);
      continue;
    }
    if (!/^ {2}\S/.test(line) && !/^ {4,}\S/.test(line) && !(cur === "Examples" && /^ {2,}\S/.test(line))) {
      v.push(`line ${i + 1} in section ${cur} must be indented by two spaces`);
      continue;
    }
    const isEntryStart = /^ {2}\S/.test(line);
    if (isEntryStart || (cur !== "Parameters" && cur !== "Raises")) entries++;
    if ((cur === "Parameters" || cur === "Raises") && isEntryStart) {
      const m = ENTRY_RE.exec(line);
      if (!m) v.push(`line ${i + 1}: ${cur} entries look like "  name: description"`);
      else if (cur === "Parameters" && params) {
        for (const n of m[1]!.split(",").map((s) => s.trim().replace(/^\*+/, "")))
          if (!params.has(n)) v.push(`Parameters names '${n}', which is not a parameter`);
      }
    }
  }
  closeSection(lines.length);
  return { valid: v.length === 0, violations: v };
}

// ---- canonicalisation -----------------------------------------------------------------------------------

interface ParsedDoc {
  prose: string[];
  params: Array<[string, string]>;
  returns: string[];
  yields: string[];
  raises: Array<[string, string]>;
  examples: string[];
  notes: string[];
}

const GOOGLE_HEADERS: Record<string, keyof ParsedDoc | "skip"> = {
  args: "params",
  arguments: "params",
  parameters: "params",
  params: "params",
  param: "params",
  "keyword args": "params",
  "keyword arguments": "params",
  "other parameters": "params",
  kwargs: "params",
  returns: "returns",
  return: "returns",
  yields: "yields",
  yield: "yields",
  raises: "raises",
  raise: "raises",
  throws: "raises",
  exceptions: "raises",
  errors: "notes",
  panics: "notes",
  example: "examples",
  examples: "examples",
  usage: "examples",
  "for example": "examples",
  "for examples": "examples",
  "example usage": "examples",
  sample: "examples",
  samples: "examples",
  "example input": "examples",
  doctest: "examples",
  doctests: "examples",
  note: "notes",
  notes: "notes",
  warning: "notes",
  warnings: "notes",
  "see also": "skip",
  references: "skip",
  attributes: "skip",
  todo: "skip",
  safety: "notes",
  arguments_: "params",
};

/** Removes inline markup: backticks, bold/italics, {@link X}, HTML tags, reST roles. */
function plain(s: string): string {
  return s
    .replace(/\{@(?:link|linkplain|code|literal)\s+([^}]*)\}/g, "$1")
    .replace(/:(?:py:)?(?:func|meth|class|attr|obj|mod|data|const|exc|ref):`~?([^`]+)`/g, "$1")
    .replace(/`{1,2}([^`]+)`{1,2}/g, "$1")
    .replace(/\*\*([^*]+)\*\*/g, "$1")
    .replace(/(^|[\s(])\+([\w.:#?!]+)\+(?=[\s.,;:)]|$)/g, "$1$2")
    .replace(/(^|\s)_([A-Za-z][\w]*)_(?=[\s.,;:)]|$)/g, "$1$2")
    .replace(/(^|\s)\*([^*\s][^*]*)\*(?=\s|$|[.,;:])/g, "$1$2")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\[`?([^\]`]+)`?\]/g, "$1")
    .replace(new RegExp(HTML_TAG.source, "gi"), "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

function looksLikeComment(raw: string): boolean {
  return /^\s*(\/\*|\/\/|#|--|\(\*|\{-|;)/.test(raw);
}

function unquote(raw: string): string {
  const m = /^\s*[rRuUbBfF]{0,2}("""|'''|"|')([\s\S]*)\1\s*$/.exec(raw);
  return m ? m[2]! : raw;
}

function dedentLines(lines: string[]): string[] {
  let min = Infinity;
  for (const l of lines) if (l.trim()) min = Math.min(min, /^\s*/.exec(l)![0].length);
  return isFinite(min) ? lines.map((l) => l.slice(Math.min(min, /^\s*/.exec(l)![0].length))) : lines;
}

function parseDoc(text: string): ParsedDoc {
  const d: ParsedDoc = { prose: [], params: [], returns: [], yields: [], raises: [], examples: [], notes: [] };
  let lines = text.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").split("\n");
  // PEP 257: the first line has its own indentation
  if (lines.length > 1) lines = [lines[0]!.trim(), ...dedentLines(lines.slice(1))];
  let section: keyof ParsedDoc | "skip" | null = null;
  let inFence = false;
  let lastEntry: [string, string] | null = null;
  let numpyPending = false;
  let entryIndent = -1;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    // code fences: only kept inside Examples
    if (/^(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      if (
        section === "examples" ||
        (section === null &&
          /^#+\s*examples?/i.test(
            lines
              .slice(0, i)
              .reverse()
              .find((l) => l.trim()) ?? "",
          ))
      )
        d.examples.push(raw.trimEnd());
      continue;
    }
    // NumPy underline
    if (/^-{3,}$|^={3,}$/.test(line)) continue;
    const next = (lines[i + 1] ?? "").trim();
    // Markdown / rustdoc headings "# Examples", NumPy "Parameters\n----", Google "Args:"
    let hdr: string | null = null;
    const mdh = /^#{1,6}\s+(.+?)\s*$/.exec(line);
    if (mdh) hdr = mdh[1]!;
    else if (/^-{3,}$/.test(next) && /^[A-Za-z][A-Za-z ]*$/.test(line)) hdr = line;
    else {
      const g = /^([A-Za-z][A-Za-z ]*):\s*$/.exec(line);
      if (g && /^\S/.test(raw)) hdr = g[1]!;
    }
    if (hdr !== null) {
      const key = GOOGLE_HEADERS[hdr.toLowerCase()];
      if (key) {
        section = key;
        lastEntry = null;
        entryIndent = -1;
        numpyPending = /^-{3,}$/.test(next);
        continue;
      }
    }
    void numpyPending;
    // tags (JSDoc / Javadoc / PHPDoc / YARD / reST)
    let m: RegExpExecArray | null;
    if (
      (m =
        /^@(?:param|arg|argument)\s+(?:\{[^}]*\}\s*)?\[?([\w$.]+)(?:=[^\]]*)?\]?\s*(?:\[[^\]]*\])?\s*(?:-\s*)?(.*)$/.exec(
          line,
        ))
    ) {
      lastEntry = [m[1]!, m[2]!];
      d.params.push(lastEntry);
      section = "params";
      continue;
    }
    if ((m = /^@(?:returns?|return)\s*(?:\{[^}]*\}|\[[^\]]*\])?\s*(.*)$/.exec(line))) {
      d.returns.push(m[1]!);
      section = "returns";
      lastEntry = null;
      continue;
    }
    if ((m = /^@(?:throws|exception|raise|raises)\s+(?:\{([^}]*)\}\s*)?(\S+)?\s*(.*)$/.exec(line))) {
      const name = m[1] ?? m[2] ?? "Error";
      lastEntry = [name.replace(/[{}]/g, ""), m[1] ? `${m[2] ?? ""} ${m[3]}`.trim() : m[3]!];
      d.raises.push(lastEntry);
      section = "raises";
      continue;
    }
    if ((m = /^@(?:example|examples)\b\s*(.*)$/.exec(line))) {
      section = "examples";
      if (m[1]) d.examples.push(m[1]);
      continue;
    }
    if (/^@\w+/.test(line)) {
      section = "skip";
      continue;
    }
    if ((m = /^:param\s+(?:[\w\[\], .]+\s+)?(\*{0,2}\w+)\s*:\s*(.*)$/.exec(line))) {
      lastEntry = [m[1]!, m[2]!];
      d.params.push(lastEntry);
      section = "params";
      continue;
    }
    if ((m = /^:(?:returns?|return)\s*:\s*(.*)$/.exec(line))) {
      d.returns.push(m[1]!);
      section = "returns";
      lastEntry = null;
      continue;
    }
    if ((m = /^:(?:raises?|except(?:ion)?)\s+([\w.]+)\s*:\s*(.*)$/.exec(line))) {
      lastEntry = [m[1]!, m[2]!];
      d.raises.push(lastEntry);
      section = "raises";
      continue;
    }
    if (/^:(?:type|rtype|vartype|ivar|cvar|var|meta|call-seq|nodoc|yields|category)\b/.test(line)) {
      section = "skip";
      continue;
    }
    if (section === null || section === "prose") {
      if (/^(>>>|\.\.\.)\s?/.test(line)) {
        d.examples.push(line);
        continue;
      }
      d.prose.push(line);
      continue;
    }
    if (section === "skip") {
      if (!line) section = null;
      continue;
    }
    if (!line) {
      lastEntry = null;
      continue;
    }
    if (section === "params" || section === "raises") {
      const indent = /^\s*/.exec(raw)![0].length;
      // "name (type): desc", "name : type", "* `name` - desc", "name -- desc"
      const e =
        /^[*-]?\s*`?(\*{0,2}[\w$.]+)`?\s*(?:\([^)]*\))?\s*(?::|--|-)\s*(.*)$/.exec(line) ??
        (indent === 0 ? /^(\*{0,2}[\w$.]+)\s*$/.exec(line) : null);
      if (e && (entryIndent < 0 || indent <= entryIndent || /^[*-]/.test(line))) {
        if (entryIndent < 0) entryIndent = indent;
        const desc = section === "params" && /^-{3,}/.test(next) ? "" : (e[2] ?? "");
        // NumPy: "name : type" with description on the following indented lines
        const numpyStyle = /\s:\s/.test(line) && indent === 0 && !/[.!?]$/.test(desc);
        lastEntry = [e[1]!, numpyStyle ? "" : desc];
        (section === "params" ? d.params : d.raises).push(lastEntry);
        continue;
      }
      if (lastEntry) lastEntry[1] = `${lastEntry[1]} ${line}`.trim();
      else d.notes.push(line);
      continue;
    }
    if (section === "returns" || section === "yields") {
      // NumPy "type" line followed by an indented description: keep the description
      const arr = section === "returns" ? d.returns : d.yields;
      const indent = /^\s*/.exec(raw)![0].length;
      if (entryIndent < 0) entryIndent = indent;
      const nextIndent = /^\s*/.exec(lines[i + 1] ?? "")![0].length;
      // NumPy "name : type" / bare type line followed by an indented description
      if (
        indent === entryIndent &&
        nextIndent > indent &&
        (lines[i + 1] ?? "").trim() &&
        /^[\w.\[\], |]+(\s:\s[\w.\[\], |]+)?$/.test(line)
      )
        continue;
      // Google "type: description"
      arr.push(arr.length === 0 ? line.replace(/^[\w.\[\]|]+(?:\[[^\]]*\])?:\s+(?=\S)/, "") : line);
      continue;
    }
    if (section === "examples") {
      d.examples.push(raw.trimEnd());
      continue;
    }
    if (section === "notes") d.notes.push(line);
  }
  return d;
}

/** Splits prose into its first sentence and the rest. */
function firstSentence(text: string): [string, string] {
  const m = /^(.+?[.!?])(\s+)(?=[A-Z0-9(`"'])/.exec(text);
  if (m && m[1]!.length >= 10) return [m[1]!, text.slice(m[0].length)];
  return [text, ""];
}

function sentenceCase(s: string): string {
  let t = s
    .trim()
    .replace(/\s*[:;,]$/, "")
    .replace(/^[^A-Za-z0-9"'(]+\s*/, "");
  if (!t) return t;
  t = t[0]!.toUpperCase() + t.slice(1);
  if (!/[.!?]$/.test(t)) t += ".";
  return t;
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  let cur = "";
  for (const w of words) {
    if (cur && indent.length + cur.length + 1 + w.length > width) {
      out.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(indent + cur);
  return out;
}

const JUNK_DOC =
  /^(todo|fixme|xxx|tbd|no ?doc|undocumented|auto-?generated|generated by|@?inherit ?doc|\{@inheritdoc\}|deprecated\.?$|constructor\.?$|getter\.?$|setter\.?$|main\.?$)/i;

export interface CanonicalizeFn {
  name?: string;
  params?: string[];
}

/**
 * Rewrites a naturally occurring docstring or doc comment (Python docstrings in plain, Google, NumPy or reST
 * style; JSDoc / Javadoc / PHPDoc / YARD tags; Go, Ruby, Rust `///`, Haskell, Lua, OCaml comments; comment
 * markers optional) into the documentation format. Returns null when there is no usable summary (empty,
 * placeholder text such as TODO, or nothing but tags).
 */
export function canonicalizeDoc(rawDocstring: string, fn?: CanonicalizeFn): string | null {
  if (typeof rawDocstring !== "string" || !rawDocstring.trim()) return null;
  let text = rawDocstring.replace(/\r\n?/g, "\n");
  if (looksLikeComment(text)) text = stripCommentMarkers(text);
  text = unquote(text);
  const d = parseDoc(text);
  // prose: join paragraph lines, keep paragraph breaks
  const paras: string[] = [];
  let cur: string[] = [];
  for (const l of d.prose) {
    if (!l) {
      if (cur.length) paras.push(plain(cur.join(" ")));
      cur = [];
    } else cur.push(l);
  }
  if (cur.length) paras.push(plain(cur.join(" ")));
  let body = paras.filter((p) => p.length > 0);
  // drop a leading signature line (Julia "add(a, b)", Python "add(a, b) -> int")
  if (body.length && fn?.name && new RegExp(`^[\\w.]*${escapeRe(fn.name)}\\s*\\(.*\\)\\s*(->.*)?$`).test(body[0]!))
    body = body.slice(1);
  if (body.length === 0) return null;
  const [first, rest] = firstSentence(body[0]!);
  const summary = sentenceCase(first);
  if (JUNK_DOC.test(summary) || summary.split(/\s+/).length < 2 || summary.length < 8) return null;
  if (
    /[{};]\s*$|^\s*(return|if|for|while|def|function|var|let|const)\b.*[=({]/.test(first) &&
    !/\s[a-z]+\s[a-z]+\s/.test(first)
  )
    return null;
  const out: string[] = [];
  if (summary.length > 160) {
    out.push(...wrapSummary(summary));
  } else out.push(summary);
  const desc = [rest, ...body.slice(1)].map((p) => p.trim()).filter(Boolean);
  for (const p of desc) {
    out.push("");
    out.push(...wrap(p, 100, ""));
  }
  const known = fn?.params ? new Set(fn.params.map((p) => p.replace(/^[*&$]+/, ""))) : null;
  const params = d.params
    .map(([n, t]) => [n.replace(/^[*&$]+/, "").replace(/^\w+\./, ""), plain(t)] as [string, string])
    .filter(([n]) => n && n !== "self" && n !== "cls" && (!known || known.has(n)));
  const seenP = new Set<string>();
  const uniqParams = params.filter(([n]) => (seenP.has(n) ? false : (seenP.add(n), true)));
  const section = (name: DocSection, lines: string[]): void => {
    if (!lines.length) return;
    out.push("", `${name}:`, ...lines);
  };
  section(
    "Parameters",
    uniqParams.flatMap(([n, t]) => {
      const desc = t.replace(/^[-:]\s*/, "") || "(not described)";
      const w = wrap(`${n}: ${desc}`, 100, "  ");
      return w.map((l, i) => (i === 0 ? l : "  " + l));
    }),
  );
  const ret = plain(d.returns.join(" "));
  section("Returns", ret ? wrap(ret, 100, "  ") : []);
  const yl = plain(d.yields.join(" "));
  section("Yields", yl ? wrap(yl, 100, "  ") : []);
  section(
    "Raises",
    d.raises
      .map(([n, t]) => [n.replace(/^[\w.]*\./, ""), plain(t)] as [string, string])
      .filter(([n]) => /^[A-Za-z_][\w]*$/.test(n))
      .map(([n, t]) => `  ${n}: ${t || "(not described)"}`),
  );
  const ex = dedentLines(d.examples.filter((l) => l.trim() && !/^(```|~~~)/.test(l.trim()))).map(
    (l) => "  " + l.replace(/`/g, "'").trimEnd(),
  );
  section("Examples", ex.slice(0, 12));
  const notes = plain(d.notes.join(" "));
  section("Notes", notes ? wrap(notes, 100, "  ") : []);
  // a description line that would read as a section header ("For instance:") becomes a sentence
  const firstSection = out.findIndex((l, i) => i > 0 && DOC_SECTIONS.some((sct) => l === `${sct}:`));
  for (let i = 1; i < (firstSection < 0 ? out.length : firstSection); i++)
    if (HEADER_RE.test(out[i]!)) out[i] = out[i]!.replace(/:\s*$/, ".");
  let result = out.join("\n").replace(/`/g, "'");
  // never emit markup the validator rejects
  result = result.replace(/^(\s*)@(\w)/gm, "$1$2").replace(/^#{1,6}\s+/gm, "");
  result = result.replace(new RegExp(HTML_TAG.source, "gi"), "");
  let lines = result.split("\n");
  if (lines.length > 40) {
    // keep the summary, description head and sections as they fit; never end on a bare section header
    lines = lines.slice(0, 40);
    while (lines.length > 1 && (!lines[lines.length - 1]!.trim() || HEADER_RE.test(lines[lines.length - 1]!)))
      lines.pop();
    result = lines.join("\n");
  }
  return result;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function wrapSummary(summary: string): string[] {
  // cut an over-long summary at a clause boundary; the remainder becomes the description
  const cut = summary.slice(0, 158);
  const at = Math.max(cut.lastIndexOf(", "), cut.lastIndexOf("; "), cut.lastIndexOf(" ("));
  const head = (at > 40 ? summary.slice(0, at) : cut.slice(0, cut.lastIndexOf(" "))).replace(/[,;(\s]+$/, "") + ".";
  const tail = summary.slice(head.length - 1).replace(/^[,;\s]+/, "");
  return tail ? [head, "", ...wrap(sentenceCase(tail), 100, "")] : [head];
}
