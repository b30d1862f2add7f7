/**
 * Turning raw model text into the completion that is judged.
 *
 * completion format (base models): the text continues the prompt; it is cut at the first of the
 * benchmark's stop sequences (HumanEval: "\nclass", "\ndef", "\n#", "\nif", "\nprint" as in the Codex
 * paper; MBPP: "\nassert", '\n"""', "\nprint(", "\nif __name__", "\n```"; MultiPL-E: each problem's
 * stop_tokens).
 *
 * instruct format (chat models): the first fenced code block (one tagged with the language preferred; the
 * whole answer when there is none; an unterminated fence runs to the end) is extracted. Then:
 * - Python: top-level `assert` statements, top-level `print(...)` calls and `if __name__ == "__main__":`
 *   blocks are removed (so nothing but the official tests is judged); the code is used whole. For
 *   HumanEval / MultiPL-E-py the completion is "\n" + code (the prompt's stub, a function whose body is its
 *   docstring, is then redefined by the model's function; the prompt's imports stay in scope). For MBPP the
 *   completion is the code.
 * - Other languages: the prompt's signature line is located in the code; brace languages take the body up to
 *   the brace closing the function (kept only when the tests do not start with their own "}"), Ruby/Lua up
 *   to the `end` in the signature's column; otherwise what follows the signature is cut at the stop
 *   sequences. If the signature is not found the whole block is taken as the function body.
 */
import { FENCE, type Problem } from "./benchmarks.js";

export function truncateAtStop(text: string, stop: readonly string[]): string {
  let cut = text.length;
  for (const s of stop) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}

const FENCE_ALIASES: Record<string, string[]> = {
  python: ["python", "py", "python3"],
  ruby: ["ruby", "rb"],
  go: ["go", "golang"],
  lua: ["lua"],
  javascript: ["javascript", "js", "node"],
  typescript: ["typescript", "ts"],
  php: ["php"],
  bash: ["bash", "sh", "shell"],
  cpp: ["cpp", "c++", "cc", "cxx"],
  java: ["java"],
  rust: ["rust", "rs"],
  perl: ["perl", "pl"],
};

/** The code of the first fenced block (preferring one tagged `lang`), or the whole text when unfenced. */
export function extractCodeBlock(text: string, lang?: string): string {
  const re = /```([^\n`]*)\n([\s\S]*?)(?:```|$)/g;
  const blocks: { tag: string; code: string }[] = [];
  for (const m of text.matchAll(re)) blocks.push({ tag: (m[1] ?? "").trim().toLowerCase(), code: m[2] ?? "" });
  if (blocks.length === 0) return text;
  const names = lang ? (FENCE_ALIASES[lang] ?? [lang]) : [];
  const tagged = blocks.find((b) => names.includes(b.tag));
  return (tagged ?? blocks[0]!).code;
}

/** Removes top-level asserts, prints and `if __name__ == "__main__":` blocks from Python code. */
export function stripPythonScaffolding(code: string): string {
  const lines = code.split("\n");
  const out: string[] = [];
  let skippingBlock = false;
  let skippingStmt = false;
  let depth = 0;
  for (const line of lines) {
    const top = line.length > 0 && !/^\s/.test(line);
    if (skippingBlock) {
      if (!top || line.trim() === "") continue;
      skippingBlock = false;
    }
    if (skippingStmt) {
      depth += bracketDelta(line);
      if (depth <= 0) skippingStmt = false;
      continue;
    }
    if (top && /^if\s+__name__\s*==/.test(line)) {
      skippingBlock = true;
      continue;
    }
    if (top && (/^assert\b/.test(line) || /^print\s*\(/.test(line))) {
      depth = bracketDelta(line);
      if (depth > 0) skippingStmt = true;
      continue;
    }
    out.push(line);
  }
  return out.join("\n").replace(/\s+$/, "") + "\n";
}

function bracketDelta(line: string): number {
  let d = 0;
  for (const ch of line) {
    if (ch === "(" || ch === "[" || ch === "{") d++;
    else if (ch === ")" || ch === "]" || ch === "}") d--;
  }
  return d;
}

/** Completion (judged text) from a base model's continuation. */
export function completionFromBase(problem: Problem, text: string): string {
  return truncateAtStop(text, problem.stop);
}

/** Completion (judged text) from a chat model's answer. */
export function completionFromChat(problem: Problem, answer: string): string {
  const code = extractCodeBlock(answer, FENCE[problem.language]);
  if (problem.language === "py") {
    const clean = stripPythonScaffolding(code);
    return problem.benchmark.startsWith("mbpp") ? clean : "\n" + clean;
  }
  const promptLines = problem.prompt.trimEnd().split("\n");
  const sig = (promptLines[promptLines.length - 1] ?? "").trim();
  const lines = code.split("\n");
  let at = lines.findIndex((l) => sig.length > 0 && l.trim() === sig);
  if (at < 0 && problem.language === "pl" && problem.entryPoint) {
    // Perl prompts end with `my(...) = @_;` after `sub name {`; anchor on the sub (a repeated `my` is harmless).
    const subRe = new RegExp(`^\\s*sub\\s+${escapeRe(problem.entryPoint)}\\s*\\{\\s*$`);
    at = lines.findIndex((l) => subRe.test(l));
  }
  if (at < 0 && problem.entryPoint) {
    const name = problem.entryPoint;
    const defRe = new RegExp(`(?:^|[\\s*&])(?:def|fn|func|function|sub)?\\s*${escapeRe(name)}\\s*\\(`);
    at = lines.findIndex((l) => defRe.test(l) && /[{:]\s*$|\)\s*$|do\s*$|\bthen\s*$/.test(l.trim()) === true);
    if (at < 0)
      at = lines.findIndex(
        (l) => /^\s*(?:def|fn|func|function|local function|public static|static)\b/.test(l) && l.includes(name + "("),
      );
  }
  const lead = problem.prompt.endsWith("\n") ? "" : "\n";
  if (at < 0) return truncateAtStop(lead + code.replace(/^\n+/, ""), problem.stop);
  const after = lines.slice(at + 1);
  const sigLine = lines[at]!;
  // Brace languages: the body runs to the brace that closes the function (counted, skipping strings and
  // comments); the closing brace is kept only when the tests do not bring their own.
  if (BRACE_LANGS.has(problem.language) && sigLine.trimEnd().endsWith("{")) {
    const end = matchingClose(after.join("\n"), problem.language);
    if (end >= 0) {
      const body = after
        .join("\n")
        .slice(0, end)
        .replace(/[ \t]*$/, "");
      const testsClose = problem.tests.trimStart().startsWith("}");
      return lead + body + (testsClose ? "" : "}\n");
    }
  }
  // Ruby / Lua: the function ends at the first `end` in the signature's column.
  if (problem.language === "rb" || problem.language === "lua") {
    const indent = /^\s*/.exec(sigLine)![0];
    const endAt = after.findIndex((l) => l.trimEnd() === `${indent}end`);
    if (endAt >= 0) return lead + after.slice(0, endAt + 1).join("\n") + "\n";
  }
  return truncateAtStop(lead + after.join("\n").replace(/^\n+/, ""), problem.stop);
}

const BRACE_LANGS: ReadonlySet<string> = new Set([
  "go",
  "js",
  "ts",
  "php",
  "cpp",
  "java",
  "rs",
  "sh",
  "pl",
  "r",
  "scala",
]);

/**
 * Index in `src` of the `}` that closes a block opened just before `src` starts (depth 1), skipping string
 * literals and comments; -1 when it never closes.
 */
export function matchingClose(src: string, lang: string): number {
  let depth = 1;
  const hashComments = lang === "sh" || lang === "php" || lang === "pl" || lang === "r";
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === "/" && n === "/" && lang !== "sh") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "#" && hashComments && (i === 0 || /\s/.test(src[i - 1]!)) && src[i - 1] !== "$") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && n === "*" && lang !== "sh") {
      const e = src.indexOf("*/", i + 2);
      if (e < 0) return -1;
      i = e + 1;
      continue;
    }
    if (c === '"' || c === "`" || (c === "'" && lang !== "rs")) {
      if (lang === "sh" && c === "'") {
        const e = src.indexOf("'", i + 1);
        if (e < 0) return -1;
        i = e;
        continue;
      }
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      i = j;
      continue;
    }
    if (c === "'" && lang === "rs") {
      // a char literal ('a', '\n', '\u{1F600}') — not a lifetime ('a without a closing quote nearby)
      const m = /^'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/.exec(src.slice(i));
      if (m) i += m[0].length - 1;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
