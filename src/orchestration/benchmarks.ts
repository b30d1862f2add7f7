/**
 * The held-out benchmark pass@1 of an RL run (`eval_benchmarks`): which benchmarks, in which prompt format, checked
 * before any training (`planBenchmarks`), run at the first and the last evaluation with the same greedy settings
 * (`runBenchmarks`: src/eval's harness, sandboxed execution, a progress bar with ETA per benchmark, per-task results
 * in `eval/benchmarks/<name>-step-N.jsonl`), and compared task by task (`benchmarkDelta`).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { SamplerGenerator, type SamplerChat } from "../core/generator.js";
import type { Sampler } from "../core/policy.js";
import { ProgressBar } from "../core/progress.js";
import { writeFileAtomic } from "../core/jsonl.js";
import { benchmarkResultsFile } from "../core/runs.js";
import { bootstrapCI, type MeanCI } from "../core/stats.js";
import { loadBenchmark, type Problem } from "../eval/benchmarks.js";
import { evaluateBenchmark, type PromptFormat } from "../eval/evaluate.js";
import { OWN_MODEL_BENCHMARKS, type RLConfig } from "../rl/config.js";
import { requireSandbox } from "../sandbox/sandbox.js";

/** Max generated tokens per task when `eval_benchmark_max_tokens` is null (`batcoder eval`'s default). */
export const DEFAULT_BENCHMARK_MAX_TOKENS = 512;

export interface BenchmarkPlan {
  benchmarks: Array<{ name: string; problems: Problem[]; available: number }>;
  format: PromptFormat;
  maxTokens: number;
  limit: number | null;
}

/** One benchmark's result at one evaluation, as evals.jsonl keeps it (`benchmarks: [...]`). */
export interface BenchmarkRecord {
  name: string;
  format: PromptFormat;
  tasks: number;
  passed: number;
  pass_at_1: number;
  max_tokens: number;
  /** Execution verdicts: passed, failed, timeout, compile-error, … */
  status: Record<string, number>;
  /** The per-task results file, relative to the run directory. */
  results_file: string;
  /** Task ids and their pass (1) / fail (0), in benchmark order: the paired before/after comparison uses them. */
  per_task: { ids: string[]; passed: number[] };
}

/**
 * The benchmarks a run evaluates: `cfg.eval_benchmarks`, or when that is null the command's default
 * (`OWN_MODEL_BENCHMARKS` for `train --model`, none otherwise). Checks everything that could fail late, before any
 * training: each name (a UserError naming the supported ones), the prompt format against the model (instruct needs
 * a chat template), and that generated code can be sandboxed. Null when there is nothing to evaluate.
 */
export function planBenchmarks(
  cfg: Pick<
    RLConfig,
    "eval_benchmarks" | "eval_benchmark_limit" | "eval_benchmark_format" | "eval_benchmark_max_tokens"
  >,
  opts: { ownModel: boolean; hasChatTemplate: boolean; model: string },
): BenchmarkPlan | null {
  const names = cfg.eval_benchmarks ?? (opts.ownModel ? [...OWN_MODEL_BENCHMARKS] : []);
  if (names.length === 0) return null;
  let format: PromptFormat;
  if (cfg.eval_benchmark_format === "auto") format = opts.hasChatTemplate ? "instruct" : "completion";
  else format = cfg.eval_benchmark_format;
  if (format === "instruct" && !opts.hasChatTemplate)
    throw new UserError(
      `eval_benchmark_format=instruct: ${opts.model} has no chat template (tokenizer_config.json "chat_template", ` +
        `chat_template.jinja or the GGUF's tokenizer.chat_template), so the benchmark tasks cannot be asked as chat ` +
        `messages. Use an instruct/chat model, or eval_benchmark_format=completion (or auto).`,
    );
  const benchmarks = names.map((name) => {
    let all: Problem[];
    try {
      all = loadBenchmark(name);
    } catch (e) {
      if ((e as { userFacing?: boolean }).userFacing) throw new UserError(`eval_benchmarks: ${(e as Error).message}`);
      throw e;
    }
    const problems = cfg.eval_benchmark_limit === null ? all : all.slice(0, cfg.eval_benchmark_limit);
    return { name: name.trim().toLowerCase(), problems, available: all.length };
  });
  requireSandbox(false);
  return {
    benchmarks,
    format,
    maxTokens: cfg.eval_benchmark_max_tokens ?? DEFAULT_BENCHMARK_MAX_TOKENS,
    limit: cfg.eval_benchmark_limit,
  };
}

/** One line per plan: what will be measured, for the run's log. */
export function describePlan(plan: BenchmarkPlan): string {
  const list = plan.benchmarks
    .map((b) => `${b.name} ${b.problems.length}${b.problems.length < b.available ? `/${b.available}` : ""}`)
    .join(", ");
  const how =
    plan.format === "instruct" ? "instruct format (the model's own chat template)" : "completion format (plain prompt)";
  return `benchmarks before and after RL: ${list} tasks; pass@1, greedy, ${how}, max ${plan.maxTokens} tokens, sandboxed`;
}

/**
 * pass@1 of every planned benchmark for `sampler` at `step`: greedy (temperature 0), the plan's format and token
 * budget, generated code run in the sandbox. Writes each benchmark's per-task results (task_id, prompt, raw output,
 * completion, verdict) to `eval/benchmarks/<name>-step-N.jsonl` under `runDir`.
 */
export async function runBenchmarks(
  plan: BenchmarkPlan,
  sampler: Sampler,
  opts: {
    step: number;
    runDir: string;
    chat: SamplerChat | null;
    batchSize: number;
    progress: boolean;
    log: (s: string) => void;
  },
): Promise<BenchmarkRecord[]> {
  if (plan.format === "instruct" && !opts.chat)
    throw new Error("runBenchmarks: an instruct-format plan needs the model's chat template");
  const generator = new SamplerGenerator(
    sampler,
    sampler.info.modelName,
    plan.format === "instruct" ? opts.chat : null,
  );
  const out: BenchmarkRecord[] = [];
  for (const b of plan.benchmarks) {
    const bar = new ProgressBar(`${b.name}@${opts.step}`, b.problems.length, opts.progress);
    let passedSoFar = 0;
    const { summary, results } = await evaluateBenchmark({
      benchmark: b.problems,
      generator,
      format: plan.format,
      n: 1,
      k: [1],
      temperature: 0,
      maxTokens: plan.maxTokens,
      batchSize: opts.batchSize,
      onProgress: (p) => {
        passedSoFar = p.passed;
        bar.update(p.done, `${p.passed} passed, generated ${p.generated}/${p.total}`);
      },
    });
    const file = benchmarkResultsFile(opts.runDir, b.name, opts.step);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, results.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const byId = new Map(results.map((r) => [r.task_id, r.passed ? 1 : 0]));
    const ids = b.problems.map((p) => p.taskId);
    const rec: BenchmarkRecord = {
      name: b.name,
      format: plan.format,
      tasks: summary.tasks,
      passed: summary.passed,
      pass_at_1: summary.passAtK["pass@1"] ?? 0,
      max_tokens: plan.maxTokens,
      status: summary.status as Record<string, number>,
      results_file: path.relative(opts.runDir, file),
      per_task: { ids, passed: ids.map((id) => byId.get(id) ?? 0) },
    };
    bar.done(`pass@1 ${rec.pass_at_1.toFixed(3)} (${passedSoFar}/${rec.tasks})`);
    opts.log(`${b.name}@${opts.step}: pass@1 ${rec.pass_at_1.toFixed(3)} over ${rec.tasks} tasks (${plan.format})`);
    out.push(rec);
  }
  return out;
}

/** pass@1 with a 95% bootstrap interval over the tasks. */
export function passAt1CI(r: BenchmarkRecord): MeanCI {
  return bootstrapCI(r.per_task.passed);
}

/**
 * Paired change after − before of pass@1 over the tasks both evaluations ran (same ids), with a 95% bootstrap
 * interval of the mean difference; null when they share no task.
 */
export function benchmarkDelta(before: BenchmarkRecord, after: BenchmarkRecord): MeanCI | null {
  const a = new Map(before.per_task.ids.map((id, i) => [id, before.per_task.passed[i]!]));
  const d: number[] = [];
  after.per_task.ids.forEach((id, i) => {
    const x = a.get(id);
    if (x !== undefined) d.push(after.per_task.passed[i]! - x);
  });
  return d.length ? bootstrapCI(d) : null;
}
