/**
 * A custom benchmark from any human-eval-format JSONL file (`batcoder eval --problems FILE`): one problem per
 * line with `task_id`, `prompt`, `entry_point`, `test` (a `check(candidate)` function) and optionally
 * `canonical_solution`. Judged exactly as HumanEval: prompt + completion + "\n" + test + "\ncheck(entry_point)".
 *
 * Validation (zod) stops at the first bad line with its number: bytes that are not UTF-8, a line that is not
 * JSON or not an object, a missing or mistyped field, a duplicate task_id, a file with no problems.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { parseJsonl } from "../core/jsonl.js";
import { HUMANEVAL_STOP, type Problem } from "./benchmarks.js";

export const ProblemLineSchema = z
  .object({
    task_id: z.string().min(1, "must be a non-empty string"),
    prompt: z.string(),
    entry_point: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a Python identifier (the function the test calls)"),
    test: z.string().min(1, "must be a non-empty string (a check(candidate) function)"),
    canonical_solution: z.string().optional(),
  })
  .passthrough();
export type ProblemLine = z.infer<typeof ProblemLineSchema>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The 1-based line holding the first byte sequence that is not UTF-8 (-1 when the buffer is valid UTF-8). */
function firstBadUtf8Line(buf: Buffer): number {
  let start = 0;
  for (let line = 1; start <= buf.length; line++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    try {
      utf8.decode(buf.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
  }
  return -1;
}

/** Parses and validates a human-eval-format JSONL buffer; `name` is used in messages. */
export function parseProblems(buf: Buffer, name: string): ProblemLine[] {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw new UserError(
      `${name}:${firstBadUtf8Line(buf)}: not valid UTF-8 (the file must be UTF-8 encoded JSON lines)`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = parseJsonl(text, name);
  // parseJsonl skips blank lines: map each record back to its line for the messages below.
  const lineOf = text.split("\n").flatMap((l, i) => (l.trim() ? [i + 1] : []));
  const out: ProblemLine[] = [];
  const firstLine = new Map<string, number>();
  records.forEach((obj, k) => {
    const lineNo = lineOf[k]!;
    const r = ProblemLineSchema.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const field = String(issue.path[0] ?? "?");
      const msg = issue.code === "invalid_type" && obj[field] === undefined ? "is missing" : issue.message;
      throw new UserError(
        `${name}:${lineNo}: field "${field}" ${msg} (needed: task_id, prompt, entry_point, test; optional: canonical_solution)`,
      );
    }
    const seen = firstLine.get(r.data.task_id);
    if (seen !== undefined)
      throw new UserError(`${name}:${lineNo}: duplicate task_id "${r.data.task_id}" (first on line ${seen})`);
    firstLine.set(r.data.task_id, lineNo);
    out.push(r.data);
  });
  if (out.length === 0) throw new UserError(`${name}: holds no problems (one JSON object per line expected)`);
  return out;
}

/** Loads FILE as a custom Python benchmark named `custom:<file name>`. */
export function loadProblemsFile(file: string): Problem[] {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read problems file ${file}: ${(e as Error).message}`);
  }
  const benchmark = `custom:${path.basename(file)}`;
  return parseProblems(buf, file).map((r) => ({
    taskId: r.task_id,
    benchmark,
    language: "py" as const,
    prompt: r.prompt,
    instruction: `Complete the following Python function.\n\n\`\`\`python\n${r.prompt.trimEnd()}\n\`\`\``,
    stop: HUMANEVAL_STOP,
    entryPoint: r.entry_point,
    canonical: r.canonical_solution,
    tests: r.test,
    assemble: (c: string) => `${r.prompt}${c}\n${r.test}\n\ncheck(${r.entry_point})\n`,
  }));
}
