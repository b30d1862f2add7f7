/**
 * HumanEval+ and MBPP+ (EvalPlus): base and plus inputs, expected outputs computed by running the canonical
 * solution in the sandbox, float tolerance (`atol`, per task), per-input time limits scaled from the canonical
 * solution's measured time, and base / base+plus verdicts reported separately (as the EvalPlus leaderboard).
 *
 * Semantics (EvalPlus v0.3.1, the release that reads HumanEval+ v0.1.10 and MBPP+ v0.2.0):
 * - expected output of input i = canonical(*deepcopy(input_i)), run once per task; its wall time t_i is measured;
 * - per-input limit = max(MIN_TIME_LIMIT = 1 s, GT_TIME_LIMIT_FACTOR = 4 x t_i); a phase (base or plus) runs in
 *   its own process with a deadline of min(60 s, sum of its limits) + 2 s (1 s of slack plus 1 s of join);
 * - the solution (prompt + completion) is exec'd in fresh globals (so `if __name__ == "__main__"` does not run),
 *   the entry point is called on each input, and the first failing input ends the phase (fast check);
 * - comparison: `out == expected`; MBPP special oracles (set equality for 8 tasks, not-None for 3, three
 *   task-specific oracles); HumanEval/32 (find_zero) checks |poly(xs, out)| <= atol instead; when atol is 0 and
 *   the expected value is a float (or a non-empty list/tuple of floats) atol becomes 1e-6; a non-exact answer
 *   then passes when its type (and length) match and it is numpy.allclose to the expected (rtol 1e-7, atol);
 * - a sample is base-correct when every base input passes and plus-correct when base AND plus all pass.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { readTextMaybeGz, writeFileAtomic } from "../core/jsonl.js";
import { classify, newSentinel, type ExecResult } from "../sandbox/executors.js";
import type { Sandbox, SandboxLimits } from "../sandbox/sandbox.js";
import { benchmarkDataDir, HUMANEVAL_STOP, MBPP_STOP, type Problem } from "./benchmarks.js";
import { EVALPLUS_DRIVER } from "./evalplus-driver.js";

export const GT_TIME_LIMIT_FACTOR = 4.0;
export const MIN_TIME_LIMIT = 1.0;
/** Cap on a phase's process deadline (seconds) before the slack is added. */
export const PHASE_TIMEOUT_CAP = 60;

/** Files under data/benchmarks/evalplus/. */
export const HUMANEVAL_PLUS_FILE = "HumanEvalPlus-v0.1.10.jsonl.gz";
export const MBPP_PLUS_FILE = "MbppPlus-evalplus-767efcc.jsonl.gz";

/** MBPP+ v0.2.0 = v0.1.0 without these 21 tasks whose tests were broken (EvalPlus issue 147). */
export const MBPP_PLUS_V020_REMOVED: readonly number[] = [
  83, 115, 117, 143, 164, 229, 249, 295, 396, 400, 407, 431, 438, 442, 461, 574, 582, 595, 640, 746, 783,
];
/** MBPP+ v0.2.0 removed a web link from these tasks' prompts (EvalPlus issue 156): task number -> link. */
export const MBPP_PLUS_V020_LINKS: Readonly<Record<number, string>> = {
  734: "https://www.geeksforgeeks.org/sum-of-products-of-all-possible-subarrays/",
  735: "https://www.geeksforgeeks.org/toggle-bits-number-expect-first-last-bits/",
  736: "https://www.w3resource.com/python-exercises/data-structures-and-algorithms/python-data-structure-exercise-24.php",
  739: "https://www.geeksforgeeks.org/index-of-smallest-triangular-number-with-n-digits/",
  740: "https://www.geeksforgeeks.org/python-convert-tuple-to-adjacent-pair-dictionary/",
  743: "https://www.geeksforgeeks.org/python-program-right-rotate-list-n/",
  745: "https://www.w3resource.com/python-exercises/lambda/python-lambda-exercise-24.php",
  749: "https://www.geeksforgeeks.org/python-sort-numeric-strings-in-a-list/",
  751: "https://www.geeksforgeeks.org/how-to-check-if-a-given-array-represents-a-binary-heap/",
  752: "https://www.geeksforgeeks.org/jacobsthal-and-jacobsthal-lucas-numbers/",
  753: "https://www.geeksforgeeks.org/python-find-minimum-k-records-from-tuple-list/",
  757: "https://www.geeksforgeeks.org/python-program-to-count-the-pairs-of-reverse-strings/",
  763: "https://www.geeksforgeeks.org/find-minimum-difference-pair/",
  771: "https://www.geeksforgeeks.org/check-for-balanced-parentheses-in-an-expression/",
  780: "https://www.geeksforgeeks.org/python-combinations-of-sum-with-tuples-in-tuple-list/",
  781: "https://www.w3resource.com/python-exercises/basic/python-basic-1-exercise-24.php",
  782: "https://www.geeksforgeeks.org/sum-of-all-odd-length-subarrays/",
  803: "https://www.geeksforgeeks.org/check-if-given-number-is-perfect-square-in-cpp/",
};

export type PhaseStatus = "pass" | "fail" | "timeout";
export interface PhaseVerdict {
  status: PhaseStatus;
  passed_inputs: number;
  inputs: number;
}
/** An execution result with EvalPlus's two verdicts; `passed` = base AND plus. */
export interface EvalPlusResult extends ExecResult {
  base: PhaseVerdict;
  plus: PhaseVerdict;
}

export interface EvalPlusTask {
  taskId: string;
  dataset: "humaneval" | "mbpp";
  /** The prompt a solution continues (MBPP+: a docstring with the task text and one test). */
  prompt: string;
  entryPoint: string;
  canonical: string;
  atol: number;
  nBase: number;
  nPlus: number;
  /** The dataset's own JSONL line (parsed by Python in the sandbox: NaN, big integers and floats survive). */
  line: string;
}

/**
 * Expected outputs (base64 pickle, only ever unpickled inside the sandbox; null when larger than 32 MiB, then the
 * check run recomputes them from the canonical solution) and the canonical solution's measured times.
 */
export interface GroundTruth {
  expected: string | null;
  baseTime: number[];
  plusTime: number[];
}

export interface EvalPlusOptions {
  gtTimeLimitFactor?: number;
  minTimeLimit?: number;
  /** Directory for cached ground truths (`<sha256 of task + prompt>.json`); memory only when unset. */
  cacheDir?: string;
}

/** JSON.parse for Python's json output: bare NaN / Infinity / -Infinity outside strings become null (JS view only). */
export function parsePythonJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    let out = "";
    let inStr = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (inStr) {
        out += c;
        if (c === "\\") out += line[++i] ?? "";
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') {
        inStr = true;
        out += c;
        continue;
      }
      const m = /^(-?Infinity|NaN)/.exec(line.slice(i, i + 9));
      if (m) {
        out += "null";
        i += m[0].length - 1;
        continue;
      }
      out += c;
    }
    return JSON.parse(out);
  }
}

function readLines(file: string): string[] {
  if (!fs.existsSync(file)) throw new UserError(`benchmark file missing: ${file}`);
  return readTextMaybeGz(file)
    .split("\n")
    .filter((l) => l.trim());
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new UserError(`EvalPlus data: field ${what} is not a string`);
  return v;
};

function toTask(
  line: string,
  dataset: "humaneval" | "mbpp",
  prompt?: (r: Record<string, unknown>) => string,
): EvalPlusTask {
  const r = parsePythonJson(line) as Record<string, unknown>;
  const taskId = str(r.task_id, "task_id");
  const atol = typeof r.atol === "number" ? r.atol : Number(r.atol ?? 0);
  return {
    taskId,
    dataset,
    prompt: prompt ? prompt(r) : str(r.prompt, `${taskId}.prompt`),
    entryPoint: str(r.entry_point, `${taskId}.entry_point`),
    canonical: str(r.canonical_solution, `${taskId}.canonical_solution`),
    atol: Number.isFinite(atol) ? atol : 0,
    nBase: Array.isArray(r.base_input) ? r.base_input.length : 0,
    nPlus: Array.isArray(r.plus_input) ? r.plus_input.length : 0,
    line,
  };
}

/** HumanEval+ v0.1.10 tasks (164). */
export function loadHumanEvalPlusTasks(): EvalPlusTask[] {
  return readLines(path.join(benchmarkDataDir(), "evalplus", HUMANEVAL_PLUS_FILE)).map((l) => toTask(l, "humaneval"));
}

/**
 * MBPP+ tasks (378) in the v0.2.0 task set, from the MBPP+ data EvalPlus committed to its repository
 * (commit 767efcc, 399 tasks): the 21 v0.2.0 removals dropped, the 18 prompt links removed, and the prompt in the
 * release's format — a docstring holding the task text and the first test assertion.
 */
export function loadMbppPlusTasks(): EvalPlusTask[] {
  const removed = new Set(MBPP_PLUS_V020_REMOVED);
  const out: EvalPlusTask[] = [];
  for (const line of readLines(path.join(benchmarkDataDir(), "evalplus", MBPP_PLUS_FILE))) {
    const t = toTask(line, "mbpp", (r) => {
      const n = Number(String(r.task_id).split("/")[1]);
      let text = str(r.prompt, `${String(r.task_id)}.prompt`).trim();
      text = text.replace(/^'''\s*/, "").replace(/\s*'''$/, "");
      const link = MBPP_PLUS_V020_LINKS[n];
      if (link) text = text.replace(link, "");
      const firstAssert =
        str(r.assertion ?? "", `${String(r.task_id)}.assertion`)
          .split("\n")
          .map((s) => s.trim())
          .find((s) => s.startsWith("assert")) ?? "";
      return `"""\n${text.trim()}\n${firstAssert}\n"""\n`;
    });
    if (!removed.has(Number(t.taskId.split("/")[1]))) out.push(t);
  }
  return out;
}

function metaFor(t: EvalPlusTask): Record<string, unknown> {
  return { dataset: t.dataset, prompt: t.prompt, entry_point: t.entryPoint, atol: t.atol };
}

/**
 * Memory: the candidate process gets EvalPlus's own cap (RLIMIT_AS/DATA 4 GiB, set by the driver); the whole
 * sandbox (driver holding the expected outputs + candidate) gets 8 GiB.
 */
const EVALPLUS_MEMORY = 8 * 1024 * 1024 * 1024;
const gtMemo = new Map<string, Promise<GroundTruth>>();

function gtKey(t: EvalPlusTask): string {
  return crypto.createHash("sha256").update(t.line).update("\0").update(t.prompt).digest("hex").slice(0, 32);
}

/** Runs the canonical solution on every input in the sandbox (once per task; memoised, optionally on disk). */
export function groundTruth(sandbox: Sandbox, t: EvalPlusTask, opts: EvalPlusOptions = {}): Promise<GroundTruth> {
  const key = gtKey(t);
  let p = gtMemo.get(key);
  if (!p) {
    p = computeGroundTruth(sandbox, t, key, opts);
    gtMemo.set(key, p);
    p.catch(() => gtMemo.delete(key));
  }
  return p;
}

async function computeGroundTruth(
  sandbox: Sandbox,
  t: EvalPlusTask,
  key: string,
  opts: EvalPlusOptions,
): Promise<GroundTruth> {
  const cacheFile = opts.cacheDir ? path.join(opts.cacheDir, `${key}.json`) : undefined;
  if (cacheFile && fs.existsSync(cacheFile)) {
    const g = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as GroundTruth;
    if (
      (typeof g.expected === "string" || g.expected === null) &&
      g.baseTime?.length === t.nBase &&
      g.plusTime?.length === t.nPlus
    )
      return g;
  }
  const sentinel = newSentinel();
  const r = await sandbox.run({
    command: ["/usr/bin/python3", "-I", "/src/driver.py", "gt", "/src/task.json", "/src/meta.json"],
    files: { "driver.py": EVALPLUS_DRIVER, "task.json": t.line, "meta.json": JSON.stringify(metaFor(t)) },
    stdin: sentinel + "\n",
    limits: { wallMs: 300_000, cpuSeconds: 300, memoryBytes: EVALPLUS_MEMORY, outputBytes: 64 * 1024 * 1024 },
  });
  const c = classify("py", r, sentinel);
  if (!c.passed)
    throw new Error(`EvalPlus ground truth for ${t.taskId} failed in the sandbox: ${c.result} ${r.stderr.slice(-500)}`);
  const o = JSON.parse(c.stdout.trim().split("\n").pop() ?? "") as {
    base_time: number[];
    plus_time: number[];
    expected: string | null;
  };
  const g: GroundTruth = { expected: o.expected, baseTime: o.base_time, plusTime: o.plus_time };
  if (cacheFile) {
    writeFileAtomic(cacheFile, JSON.stringify(g));
  }
  return g;
}

/** Per-input limits (seconds) and the phase deadline, as EvalPlus derives them from the canonical times. */
export function timeLimits(times: number[], opts: EvalPlusOptions = {}): { limits: number[]; timeout: number } {
  const factor = opts.gtTimeLimitFactor ?? GT_TIME_LIMIT_FACTOR;
  const floor = opts.minTimeLimit ?? MIN_TIME_LIMIT;
  const limits = times.map((x) => Math.max(floor, factor * x));
  const sum = limits.reduce((a, b) => a + b, 0);
  return { limits, timeout: Math.min(PHASE_TIMEOUT_CAP, sum) + 2 };
}

/** Judges one solution program (prompt + completion, or a sample's full `solution`) on a task's base and plus inputs. */
export async function judgeEvalPlus(
  sandbox: Sandbox,
  t: EvalPlusTask,
  solution: string,
  opts: EvalPlusOptions & { limits?: Partial<SandboxLimits> } = {},
): Promise<EvalPlusResult> {
  const t0 = performance.now();
  const gt = await groundTruth(sandbox, t, opts);
  const b = timeLimits(gt.baseTime, opts);
  const p = timeLimits(gt.plusTime, opts);
  const meta = {
    ...metaFor(t),
    base_limits: b.limits,
    base_timeout: b.timeout,
    plus_limits: p.limits,
    plus_timeout: p.timeout,
  };
  const sentinel = newSentinel();
  const wallMs = Math.ceil((b.timeout + p.timeout + 20) * 1000);
  const r = await sandbox.run({
    command: [
      "/usr/bin/python3",
      "-I",
      "/src/driver.py",
      "check",
      "/src/task.json",
      "/src/meta.json",
      "/src/expected.b64",
      "/src/solution.py",
    ],
    files: {
      "driver.py": EVALPLUS_DRIVER,
      "task.json": t.line,
      "meta.json": JSON.stringify(meta),
      "expected.b64": gt.expected ?? "",
      "solution.py": solution,
    },
    stdin: sentinel + "\n",
    limits: {
      ...(opts.limits ?? {}),
      wallMs,
      cpuSeconds: Math.ceil(wallMs / 1000),
      memoryBytes: EVALPLUS_MEMORY,
      maxProcs: 64,
    },
  });
  const c = classify("py", r, sentinel);
  const none: PhaseVerdict = { status: "fail", passed_inputs: 0, inputs: 0 };
  if (!c.passed) {
    const why = c.status === "passed" ? "failed: harness error" : c.result;
    return {
      ...c,
      status: c.status === "passed" ? "error" : c.status,
      passed: false,
      result: `failed: harness: ${why}`,
      base: { ...none, inputs: t.nBase },
      plus: { ...none, inputs: t.nPlus },
    };
  }
  const v = JSON.parse(c.stdout.trim().split("\n").pop() ?? "") as { base: PhaseVerdict; plus: PhaseVerdict };
  const basePass = v.base.status === "pass";
  const plusPass = basePass && v.plus.status === "pass";
  const failed = !basePass ? (["base", v.base] as const) : !plusPass ? (["plus", v.plus] as const) : undefined;
  const result = failed
    ? failed[1].status === "timeout"
      ? `timed out (${failed[0]} input ${failed[1].passed_inputs + 1} of ${failed[1].inputs})`
      : `failed: ${failed[0]} input ${failed[1].passed_inputs + 1} of ${failed[1].inputs}`
    : "passed";
  const status = plusPass ? "passed" : failed![1].status === "timeout" ? "timeout" : "failed";
  return {
    ...c,
    stdout: "",
    status,
    passed: plusPass,
    result,
    wallMs: performance.now() - t0,
    base: v.base,
    plus: v.plus,
  };
}

/** Cache directory used by `batcoder eval` for ground truths (relative to the working directory). */
export const DEFAULT_GT_CACHE = path.join(".cache", "evalplus");

let gtCacheDir: string | undefined;
/** Sets where loaded EvalPlus problems cache their ground truths (undefined: memory only). */
export function setEvalPlusCacheDir(dir: string | undefined): void {
  gtCacheDir = dir;
}

function toProblem(t: EvalPlusTask, benchmark: string): Problem {
  const isMbpp = t.dataset === "mbpp";
  return {
    taskId: t.taskId,
    benchmark,
    language: "py",
    prompt: t.prompt,
    instruction: isMbpp
      ? `${t.prompt.replace(/^"""\n|\n"""\n$/g, "").trim()}\n\nWrite the Python function \`${t.entryPoint}\`.`
      : `Complete the following Python function.\n\n\`\`\`python\n${t.prompt.trimEnd()}\n\`\`\``,
    stop: isMbpp ? MBPP_STOP : HUMANEVAL_STOP,
    entryPoint: t.entryPoint,
    canonical: t.canonical,
    tests: `# EvalPlus differential testing: ${t.nBase} base + ${t.nPlus} plus inputs, expected outputs from the canonical solution`,
    assemble: (c: string) => t.prompt + c,
    judge: (sandbox, sample, o) =>
      judgeEvalPlus(sandbox, t, sample.solution ?? t.prompt + sample.completion, {
        cacheDir: gtCacheDir,
        limits: o.limits,
      }),
  };
}

export function loadHumanEvalPlus(): Problem[] {
  return loadHumanEvalPlusTasks().map((t) => toProblem(t, "humaneval+"));
}

export function loadMbppPlus(): Problem[] {
  return loadMbppPlusTasks().map((t) => toProblem(t, "mbpp+"));
}
