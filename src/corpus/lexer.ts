/**
 * A fast, language-family-aware lexer for hashing code: it drops comments (and Python docstring statements),
 * keeps identifiers, keywords, literals and operators. It is used for n-gram decontamination, MinHash
 * shingles, exact-duplicate hashing and token counts, where speed and robustness on any input (including
 * broken code) matter more than a full grammar: it never throws and runs in linear time.
 *
 * Syntax-tree work (function extraction, docstrings, parse errors) is the language layer's job (src/lang).
 */

export type TokKind = "id" | "kw" | "num" | "str" | "op";

export interface LexResult {
  tokens: string[];
  kinds: TokKind[];
}

interface LexConfig {
  line: string[];
  block: [string, string][];
  /** Quote characters that open strings. */
  quotes: string;
  /** Triple-quoted strings (Python, Julia, Scala, Swift, Kotlin). */
  triple: boolean;
  /** Extra identifier characters besides letters, digits and `_`. */
  identExtra: string;
  /** Characters that may start an identifier besides letters and `_`. */
  identStart: string;
  /** Python-style: string statements at line start are docstrings and dropped. */
  docstrings: boolean;
  /** Ruby =begin/=end blocks. */
  rubyBlock: boolean;
  /** Ordinary quoted strings may span lines (Ruby, PHP, Perl, shell, Julia, R). */
  mlStrings: boolean;
}

const C_LIKE: LexConfig = {
  line: ["//"],
  block: [["/*", "*/"]],
  quotes: "\"'`",
  triple: false,
  identExtra: "",
  identStart: "",
  docstrings: false,
  rubyBlock: false,
  mlStrings: false,
};

const CONFIGS: Record<string, LexConfig> = {
  python: { ...C_LIKE, line: ["#"], block: [], quotes: "\"'", triple: true, docstrings: true },
  ruby: {
    ...C_LIKE,
    line: ["#"],
    block: [],
    quotes: "\"'`",
    identExtra: "?!",
    identStart: "@$",
    rubyBlock: true,
    mlStrings: true,
  },
  go: C_LIKE,
  javascript: C_LIKE,
  typescript: C_LIKE,
  tsx: C_LIKE,
  java: C_LIKE,
  c: C_LIKE,
  cpp: C_LIKE,
  c_sharp: C_LIKE,
  csharp: C_LIKE,
  rust: { ...C_LIKE, quotes: '"' },
  kotlin: { ...C_LIKE, triple: true },
  scala: { ...C_LIKE, triple: true },
  swift: { ...C_LIKE, quotes: '"', triple: true },
  dart: { ...C_LIKE, triple: true },
  php: { ...C_LIKE, line: ["//", "#"], identStart: "$", mlStrings: true },
  lua: { ...C_LIKE, line: ["--"], block: [["--[[", "]]"]], quotes: "\"'" },
  julia: { ...C_LIKE, line: ["#"], block: [["#=", "=#"]], quotes: '"', triple: true, identExtra: "!", mlStrings: true },
  r: { ...C_LIKE, line: ["#"], block: [], quotes: "\"'`", identExtra: ".", mlStrings: true },
  bash: { ...C_LIKE, line: ["#"], block: [], quotes: "\"'", identStart: "$", mlStrings: true },
  perl: { ...C_LIKE, line: ["#"], block: [], quotes: "\"'", identStart: "$@%", mlStrings: true },
  ocaml: { ...C_LIKE, line: [], block: [["(*", "*)"]], quotes: '"', identExtra: "'" },
  haskell: { ...C_LIKE, line: ["--"], block: [["{-", "-}"]], quotes: '"', identExtra: "'" },
  elixir: { ...C_LIKE, line: ["#"], block: [], quotes: "\"'", identExtra: "?!", mlStrings: true },
  racket: {
    ...C_LIKE,
    line: [";"],
    block: [["#|", "|#"]],
    quotes: '"',
    identExtra: "-?!*<>=/+:.%&^~",
    identStart: "-?!*<>=/+:%&^~",
  },
};

/** MultiPL-E / file-extension language names → lexer language names. */
export const LANG_ALIASES: Record<string, string> = {
  py: "python",
  rb: "ruby",
  "go_test.go": "go",
  js: "javascript",
  ts: "typescript",
  rs: "rust",
  jl: "julia",
  sh: "bash",
  pl: "perl",
  ml: "ocaml",
  rkt: "racket",
  cs: "csharp",
  kt: "kotlin",
};

const PREPARED = new Map<LexConfig, LexConfig & { commentFirst: string }>();
export function lexConfigFor(lang: string): LexConfig & { commentFirst: string } {
  const cfg = CONFIGS[lang] ?? CONFIGS[LANG_ALIASES[lang] ?? ""] ?? C_LIKE;
  let p = PREPARED.get(cfg);
  if (!p) {
    const firsts = new Set<string>([...cfg.line.map((l) => l[0]!), ...cfg.block.map((b) => b[0][0]!)]);
    p = { ...cfg, commentFirst: [...firsts].join("") };
    PREPARED.set(cfg, p);
  }
  return p;
}

/**
 * Keywords of the languages the project handles, as one set: the lexer uses it only to decide which words
 * stay literal when identifiers are abstracted, so a shared set is good enough and language-agnostic.
 */
export const KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield match case " +
    "BEGIN END alias begin defined? do end ensure module next nil redo rescue retry self super then undef unless " +
    "until when __method__ puts require attr_reader attr_accessor attr_writer private protected public " +
    "chan const default defer fallthrough func go goto interface map package range select struct switch type var " +
    "function let new this typeof instanceof void delete throw catch extends implements static export " +
    "null true false undefined of enum abstract boolean byte char double final float int long short " +
    "synchronized throws transient volatile native strictfp auto register signed unsigned sizeof template " +
    "typename using namespace virtual operator friend inline std vector string fn impl mut pub trait where " +
    "loop move ref crate mod use unsafe dyn object val def override sealed lazy implicit local repeat " +
    "elseif nothing mutable quote macro Int Float64 Bool String Vector Array Dict echo fi esac done elif my " +
    "sub foreach last unless rec with fun open struct sig functor define cond else lambda"
  ).split(/\s+/),
);

/**
 * Builtin names kept literal when abstracting identifiers: renaming a solution does not rename calls to
 * builtins, and keeping them makes the abstracted n-grams far more specific. (Method names need no list:
 * a name right after `.` is always kept.) Only free-standing builtins belong here, never names a user would
 * choose for a variable.
 */
export const KEEP_NAMES = new Set(
  (
    "len range enumerate zip map filter sorted reversed sum min max abs int str float list dict set tuple bool " +
    "print isinstance ord chr round divmod pow iter next any all hash type object super bin hex oct frozenset " +
    "make cap copy panic append delete new puts require Math console parseInt"
  ).split(/\s+/),
);

function isIdentStart(c: string, cfg: LexConfig): boolean {
  const code = c.charCodeAt(0);
  if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95) return true;
  if (code > 127) return /\p{L}/u.test(c);
  return cfg.identStart.includes(c);
}
function isIdentChar(c: string, cfg: LexConfig): boolean {
  const code = c.charCodeAt(0);
  if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 95)
    return true;
  if (code > 127) return /[\p{L}\p{N}]/u.test(c);
  return cfg.identExtra.includes(c);
}

const OPS = [
  "<<=",
  ">>=",
  "**=",
  "//=",
  "===",
  "!==",
  "...",
  "..=",
  "<=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "->",
  "=>",
  "::",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "<<",
  ">>",
  "**",
  "//",
  ":=",
  "<-",
  "++",
  "--",
  "..",
  "?.",
  "??",
];
const OPS_BY_FIRST = new Map<string, string[]>();
for (const o of OPS) {
  const l = OPS_BY_FIRST.get(o[0]!) ?? [];
  l.push(o);
  OPS_BY_FIRST.set(o[0]!, l);
}

/**
 * Lexes `src` as language `lang` (lexer or MultiPL-E name). Comments are dropped; strings become one token
 * `"…"` with normalised delimiters (so `'a'` and `"a"` are the same token).
 */
export function lex(lang: string, src: string): LexResult {
  const cfg = lexConfigFor(lang);
  const tokens: string[] = [];
  const kinds: TokKind[] = [];
  const n = src.length;
  let i = 0;
  let depth = 0;
  let lineStart = true; // at the start of a logical line (Python docstring detection)
  while (i < n) {
    const c = src[i]!;
    if (c === "\n") {
      if (depth === 0) lineStart = true;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || (c === "\\" && src[i + 1] === "\n")) {
      i += c === "\\" ? 2 : 1;
      continue;
    }
    // Ruby =begin ... =end at line start
    if (cfg.rubyBlock && c === "=" && src.startsWith("=begin", i) && (i === 0 || src[i - 1] === "\n")) {
      const e = src.indexOf("\n=end", i);
      i = e < 0 ? n : e + 5;
      continue;
    }
    // block comments
    let matched = false;
    if (cfg.commentFirst.includes(c))
      for (const [open, close] of cfg.block) {
        if (src.startsWith(open, i)) {
          const e = src.indexOf(close, i + open.length);
          i = e < 0 ? n : e + close.length;
          matched = true;
          break;
        }
      }
    if (matched) continue;
    if (cfg.commentFirst.includes(c))
      for (const lc of cfg.line) {
        if (src.startsWith(lc, i)) {
          const e = src.indexOf("\n", i);
          i = e < 0 ? n : e;
          matched = true;
          break;
        }
      }
    if (matched) continue;
    // strings (with optional Python prefixes r, b, f, u, rb, br, fr, rf)
    let q = -1;
    if (cfg.quotes.includes(c)) q = i;
    else if (cfg.docstrings && /[rRbBfFuU]/.test(c) && (i === 0 || !isIdentChar(src[i - 1]!, cfg))) {
      const c2 = src[i + 1];
      if (c2 !== undefined && cfg.quotes.includes(c2)) q = i + 1;
      else if (c2 !== undefined && /[rRbBfF]/.test(c2) && src[i + 2] !== undefined && cfg.quotes.includes(src[i + 2]!))
        q = i + 2;
    }
    if (q >= 0) {
      const qc = src[q]!;
      let end: number;
      let body: string;
      if (cfg.triple && src[q + 1] === qc && src[q + 2] === qc) {
        const close = qc + qc + qc;
        let j = q + 3;
        for (;;) {
          const e = src.indexOf(close, j);
          if (e < 0) {
            end = n;
            break;
          }
          // count preceding backslashes
          let b = 0;
          while (e - 1 - b >= j && src[e - 1 - b] === "\\") b++;
          if (b % 2 === 0) {
            end = e + 3;
            break;
          }
          j = e + 1;
        }
        body = src.slice(q + 3, Math.max(q + 3, end - 3));
      } else {
        let j = q + 1;
        const multiline = qc === "`" || cfg.mlStrings;
        while (j < n) {
          const d = src[j]!;
          if (d === "\\" && qc !== "`") {
            j += 2;
            continue;
          }
          if (d === qc) break;
          if (d === "\n" && !multiline) break;
          j++;
        }
        end = Math.min(n, j + 1);
        body = src.slice(q + 1, Math.min(j, n));
      }
      i = end;
      if (cfg.docstrings && lineStart && depth === 0) {
        // a string statement alone on its line is a docstring (or a bare string expression): drop it
        let k = i;
        while (k < n && (src[k] === " " || src[k] === "\t" || src[k] === "\r")) k++;
        if (k >= n || src[k] === "\n" || src[k] === "#" || src[k] === ";") {
          continue;
        }
      }
      tokens.push('"' + body + '"');
      kinds.push("str");
      lineStart = false;
      continue;
    }
    lineStart = false;
    if (isIdentStart(c, cfg)) {
      let j = i + 1;
      while (j < n && isIdentChar(src[j]!, cfg)) j++;
      const w = src.slice(i, j);
      i = j;
      tokens.push(w);
      kinds.push(KEYWORDS.has(w) ? "kw" : "id");
      continue;
    }
    const code = c.charCodeAt(0);
    if (code >= 48 && code <= 57) {
      let j = i + 1;
      while (j < n) {
        const d = src[j]!;
        const dc = d.charCodeAt(0);
        if ((dc >= 48 && dc <= 57) || (dc >= 65 && dc <= 90) || (dc >= 97 && dc <= 122) || d === "_") j++;
        else if (d === "." && j + 1 < n && src.charCodeAt(j + 1) >= 48 && src.charCodeAt(j + 1) <= 57) j++;
        else if (
          (d === "+" || d === "-") &&
          (src[j - 1] === "e" || src[j - 1] === "E") &&
          !/^0[xX]/.test(src.slice(i, j))
        )
          j++;
        else break;
      }
      tokens.push(src.slice(i, j).toLowerCase().replace(/_/g, ""));
      kinds.push("num");
      i = j;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    let op = c;
    const cands = OPS_BY_FIRST.get(c);
    if (cands)
      for (const o of cands) {
        if (src.startsWith(o, i)) {
          op = o;
          break;
        }
      }
    tokens.push(op);
    kinds.push("op");
    i += op.length;
  }
  return { tokens, kinds };
}

/**
 * Identifier-abstracted view of a token stream: user identifiers become `$` (attribute names after `.`
 * and well-known library names stay), so renamed copies of the same code produce the same stream.
 */
export function abstractTokens(lr: LexResult): string[] {
  const out = new Array<string>(lr.tokens.length);
  for (let i = 0; i < lr.tokens.length; i++) {
    const t = lr.tokens[i]!;
    if (lr.kinds[i] === "id") {
      const prev = i > 0 ? lr.tokens[i - 1] : undefined;
      out[i] = prev === "." || prev === "::" || KEEP_NAMES.has(t) ? t : "$";
    } else out[i] = t;
  }
  return out;
}

/** Lower-cased words (letters/digits runs) of natural-language text. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}
