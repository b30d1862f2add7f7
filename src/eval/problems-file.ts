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
import { HUMANEVAL_STOP, type Problem } from "./benchmarks.js";

export const ProblemLineSchema = z
  .object({
    task_id: z.string().min(1, "must be a non-empty string"),
    prompt: z.string(),
    entry_point: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a Python identifier (the function the test calls)"),
    test: z.string().min(1, "must be a non-empty string (a check(candidate) function)"),
    canonical_solution: z.string().optional(),
  })
  .passthrough();
export type ProblemLine = z.infer<typeof ProblemLineSchema>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses and validates a human-eval-format JSONL buffer; `name` is used in messages. */
export function parseProblems(buf: Buffer, name: string): ProblemLine[] {
  const out: ProblemLine[] = [];
  const firstLine = new Map<string, number>();
  let start = 0;
  let lineNo = 0;
  while (start <= buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    lineNo++;
    const bytes = buf.subarray(start, end);
    start = end + 1;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new UserError(`${name}:${lineNo}: not valid UTF-8 (the file must be UTF-8 encoded JSON lines)`);
    }
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (!text.trim()) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${name}:${lineNo}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new UserError(`${name}:${lineNo}: each line must be a JSON object`);
    const r = ProblemLineSchema.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const field = String(issue.path[0] ?? "?");
      const msg = issue.code === "invalid_type" && (obj as Record<string, unknown>)[field] === undefined ? "is missing" : issue.message;
      throw new UserError(`${name}:${lineNo}: field "${field}" ${msg} (needed: task_id, prompt, entry_point, test; optional: canonical_solution)`);
    }
    const seen = firstLine.get(r.data.task_id);
    if (seen !== undefined) throw new UserError(`${name}:${lineNo}: duplicate task_id "${r.data.task_id}" (first on line ${seen})`);
    firstLine.set(r.data.task_id, lineNo);
    out.push(r.data);
  }
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
