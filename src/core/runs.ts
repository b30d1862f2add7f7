/**
 * The one run-directory layout, shared by pretrain, sft, rl (train), eval, serve, export and report:
 *
 *   runs/<name>/
 *     config.resolved.json   the validated config the run used (every run writes its own)
 *     metrics.jsonl  samples.jsonl  evals.jsonl  summary.json  before_after.txt  report.html  warmstart.json
 *     eval/benchmarks/       per-task results of the held-out benchmark pass@1 (`benchmarkResultsFile`):
 *       humaneval-step-00000000.jsonl  multipl-e-rb-step-00000020.jsonl …
 *     checkpoints/
 *       step-00000060/       one checkpoint per saved step (`stepDirName`), written atomically (temp dir + rename):
 *         manifest.json …    an embedded-model checkpoint directly (pretrain), or
 *         policy/ trainer.json   the policy's state + the RL trainer's state (rl)
 *       reference/           the frozen KL reference weights of an RL run — NEVER picked as "the model"
 *
 * `resolveWeights(spec)` turns a run directory, a checkpoints folder or one checkpoint into the directory that holds
 * the weights, and says which it picked.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "./errors.js";

export const CHECKPOINTS_DIR = "checkpoints";
/** Inside checkpoints/: the frozen reference model of an RL run (KL penalty). Not a training checkpoint. */
export const REFERENCE_DIR = "reference";
/** Inside an RL checkpoint: the policy's saved state (weights for the embedded model). */
export const POLICY_DIR = "policy";
/** Inside an RL checkpoint: the trainer's state (step, data cursor, RNG). */
export const TRAINER_STATE_FILE = "trainer.json";
/** The file that marks a directory as an embedded-model checkpoint (weights + config + tokenizer). */
export const WEIGHTS_MARKER = "manifest.json";

export const RUN_FILES = {
  config: "config.resolved.json",
  warmstartConfig: "warmstart.config.json",
  warmstart: "warmstart.json",
  /** `train --model`: the model reference and LoRA settings of the run (what `--resume` rebuilds the policy from). */
  ownModel: "model.json",
  /**
   * `train --model` on a model with a chat template: the template and what it needs (backends/model-ref.ts
   * ChatRecord), so the run's checkpoints chat as the base model does (`serve runs/NAME`, `eval --model runs/NAME`).
   */
  chat: "chat.json",
  metrics: "metrics.jsonl",
  samples: "samples.jsonl",
  evals: "evals.jsonl",
  summary: "summary.json",
  beforeAfter: "before_after.txt",
  report: "report.html",
  pretrainConfig: "pretrain-config.json",
  pretrainLog: "pretrain-log.jsonl",
  pretrainSummary: "pretrain.json",
} as const;

/** Inside a run directory: the per-task results of the held-out benchmarks, one JSONL file per benchmark and step. */
export const BENCHMARK_RESULTS_DIR = path.join("eval", "benchmarks");

/**
 * `eval/benchmarks/<benchmark>-step-NNNNNNNN.jsonl` of a run: the benchmark's name with every run of characters other
 * than letters, digits, '.', '+' and '_' turned into '-' ("multipl-e:rb" → "multipl-e-rb"), then the step.
 */
export function benchmarkResultsFile(runDir: string, benchmark: string, step: number): string {
  const safe = benchmark
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9.+_]+/g, "-");
  return path.join(runDir, BENCHMARK_RESULTS_DIR, `${safe}-${stepDirName(step)}.jsonl`);
}

/** Metric keys the RL trainer logs to metrics.jsonl and the report plots. */
export const METRIC_KEYS = {
  step: "step",
  rewardCode2Doc: "reward/code2doc/mean",
  rewardDoc2Code: "reward/doc2code/mean",
  docValidRate: "doc/format_valid_rate",
  docLeakRate: "doc/leak_rate",
  kl: "kl",
  stepSeconds: "time/step_s",
} as const;

const STEP_RE = /^step-(\d+)$/;

/** "step-00000060": eight digits, so names sort by step. */
export function stepDirName(step: number): string {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`stepDirName: step must be a non-negative integer, got ${step}`);
  return `step-${String(step).padStart(8, "0")}`;
}

/** The step of a checkpoint directory name (any digit count, so older 6-digit names still resolve), else null. */
export function parseStepDirName(name: string): number | null {
  const m = STEP_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/** Every path of a run directory (relative when `runDir` is). */
export function runPaths(runDir: string) {
  const root = runDir;
  const files = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, path.join(root, f)])) as {
    [K in keyof typeof RUN_FILES]: string;
  };
  return {
    root,
    checkpoints: path.join(root, CHECKPOINTS_DIR),
    reference: path.join(root, CHECKPOINTS_DIR, REFERENCE_DIR),
    benchmarks: path.join(root, BENCHMARK_RESULTS_DIR),
    ...files,
  };
}

/** Whether `dir` is an embedded-model checkpoint (holds weights directly). */
export function isWeightsDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, WEIGHTS_MARKER));
}

/** The weights inside one checkpoint directory: itself (pretrain/SFT/engine) or its policy/ (RL). */
export function weightsOfCheckpoint(dir: string): string | null {
  if (isWeightsDir(dir)) return dir;
  const p = path.join(dir, POLICY_DIR);
  if (fs.existsSync(p) && fs.statSync(p).isDirectory()) return p;
  return null;
}

/**
 * The run directory that weights inside `runs/NAME/checkpoints/step-N[/policy]` belong to (the directory holding
 * checkpoints/), or null for weights elsewhere (a standalone checkpoint, a warm-start cache entry).
 */
export function runDirOfWeights(weightsDir: string): string | null {
  let d = path.resolve(weightsDir);
  if (path.basename(d) === POLICY_DIR) d = path.dirname(d);
  if (parseStepDirName(path.basename(d)) === null) return null;
  const ckpts = path.dirname(d);
  return path.basename(ckpts) === CHECKPOINTS_DIR ? path.dirname(ckpts) : null;
}

export interface StepCheckpoint {
  step: number;
  /** The checkpoint directory (checkpoints/step-N). */
  dir: string;
  /** Where its weights are (dir itself, or dir/policy). */
  weights: string;
}

/**
 * Complete step checkpoints in a checkpoints folder, oldest first. A checkpoint is complete once its directory
 * carries its final name (writers rename a finished temp dir into place); dot-named temp dirs and `reference/`
 * are never listed.
 */
export function listStepCheckpoints(checkpointsDir: string): StepCheckpoint[] {
  let names: string[];
  try {
    names = fs.readdirSync(checkpointsDir);
  } catch {
    return [];
  }
  const out: StepCheckpoint[] = [];
  for (const n of names) {
    const step = parseStepDirName(n);
    if (step === null) continue;
    const dir = path.join(path.resolve(checkpointsDir), n);
    const weights = weightsOfCheckpoint(dir);
    if (weights) out.push({ step, dir, weights });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint of a run directory or a checkpoints folder, or null. */
export function latestCheckpoint(runOrCheckpointsDir: string): StepCheckpoint | null {
  const inner = path.join(runOrCheckpointsDir, CHECKPOINTS_DIR);
  const folder = fs.existsSync(inner) ? inner : runOrCheckpointsDir;
  return listStepCheckpoints(folder).at(-1) ?? null;
}

export interface ResolvedWeights {
  /** The directory holding the weights (manifest.json for the embedded model). */
  weights: string;
  /** The step checkpoint it belongs to, when it is one. */
  step: number | null;
  /** What the spec named. */
  kind: "checkpoint" | "checkpoints-folder" | "run";
  /** One line for the user: which weights were picked and why. */
  description: string;
}

/**
 * Resolves what a command was pointed at — a run directory (runs/NAME), its checkpoints folder, one checkpoint
 * (checkpoints/step-N, or a directory with policy/) or a weights directory — to the weights to load: the newest
 * step checkpoint for a run or a folder. Never the frozen RL reference (`checkpoints/reference`), which is refused
 * when named directly.
 */
export function resolveWeights(spec: string): ResolvedWeights {
  const dir = path.resolve(spec);
  const expected = "expected a run directory, a checkpoints folder or a checkpoint";
  if (!fs.existsSync(dir)) throw new UserError(`'${spec}' does not exist (${expected})`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`'${spec}' is not a directory (${expected})`);
  if (path.basename(dir) === REFERENCE_DIR && path.basename(path.dirname(dir)) === CHECKPOINTS_DIR) {
    throw new UserError(
      `'${spec}' is the frozen reference model of an RL run (used for the KL penalty), not a trained checkpoint; point at the run directory or one of its step checkpoints`,
    );
  }
  const ownStep = parseStepDirName(path.basename(dir));
  const own = weightsOfCheckpoint(dir);
  if (own) {
    const step = ownStep ?? readManifestStep(own);
    return {
      weights: own,
      step,
      kind: "checkpoint",
      description: `checkpoint ${rel(own)}${step !== null ? ` (step ${step})` : ""}`,
    };
  }
  const isRun = fs.existsSync(path.join(dir, CHECKPOINTS_DIR));
  const latest = latestCheckpoint(dir);
  if (latest) {
    const kind = isRun ? "run" : "checkpoints-folder";
    return {
      weights: latest.weights,
      step: latest.step,
      kind,
      description: `latest checkpoint of ${isRun ? "run" : "folder"} ${rel(dir)}: ${rel(latest.weights)} (step ${latest.step})`,
    };
  }
  throw new UserError(
    `'${spec}' holds no checkpoint: expected ${WEIGHTS_MARKER} or ${POLICY_DIR}/ (one checkpoint), or ${CHECKPOINTS_DIR}/step-N/ (a run), or step-N/ inside (a checkpoints folder)`,
  );
}

function readManifestStep(weights: string): number | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(weights, WEIGHTS_MARKER), "utf8")) as { step?: unknown };
    return typeof m.step === "number" ? m.step : null;
  } catch {
    return null;
  }
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith("..") ? r : p;
}
