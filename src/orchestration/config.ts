/**
 * The one config layering, shared by `batcoder train`, `rl` and `sft`:
 * built-in defaults < the run's saved config (--resume) < --config FILE < --set KEY=VALUE < dedicated flags,
 * validated by the zod schemas of the RL config (src/rl/config.ts) and the warm start (warmstart.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { RUN_FILES } from "../core/runs.js";
import { parseConfig, RLConfigSchema, type RLConfig } from "../rl/config.js";
import { parseWarmStart, WarmStartSchema, type WarmStartConfig } from "./warmstart.js";

/** Parses a --set value: JSON when it parses (numbers, booleans, null, arrays), else the raw string. */
export function parseSetValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Applies `key=value` overrides; keys must be fields of `shape` (unknown keys: a UserError with near names). */
export function applySets(
  base: Record<string, unknown>,
  sets: string[],
  shape: Record<string, unknown> = RLConfigSchema.shape,
  prefix = "",
): Record<string, unknown> {
  const out = { ...base };
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UserError(`--set expects key=value, got '${s}'`);
    const key = s.slice(prefix.length, eq).trim();
    if (!(key in shape)) {
      const near = Object.keys(shape)
        .filter((k) => k.includes(key) || key.includes(k))
        .slice(0, 3);
      throw new UserError(
        `--set: unknown option '${prefix}${key}'${near.length ? ` (did you mean ${near.map((k) => prefix + k).join(", ")}?)` : ""}`,
      );
    }
    out[key] = parseSetValue(s.slice(eq + 1));
  }
  return out;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new UserError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj))
    throw new UserError(`config file ${file} must hold a JSON object`);
  return obj as Record<string, unknown>;
}

export const COMMON_OPTIONS = {
  config: { type: "string" },
  set: { type: "string", multiple: true },
  "run-name": { type: "string" },
  resume: { type: "boolean" },
  corpus: { type: "string" },
  steps: { type: "string" },
  quiet: { type: "boolean" },
} as const;

export const COMMON_HELP = `  --config FILE.json   options from a JSON file (RL keys at the top level; warm-start keys under "warmstart")
  --set KEY=VALUE      override one option (repeatable); warm-start options as warmstart.KEY=VALUE
  --run-name NAME      run directory runs/NAME (default from the config: batcoder-rl)
  --resume             continue runs/NAME from its last checkpoint (config taken from the run)
  --corpus DIR         corpus directory (default data/corpus/exec, the executable slice)
  --steps N            RL steps (max_steps)
  --quiet              no progress bars`;

export interface ResolvedCli {
  rl: RLConfig;
  ws: WarmStartConfig;
}

export function toInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`--${name} expects a positive integer, got '${v}'`);
  return n;
}

/**
 * defaults < (run's saved config when resuming) < --config file < --set < dedicated flags.
 */
export function resolveCli(
  values: { config?: string; set?: string[]; "run-name"?: string; resume?: boolean; corpus?: string; steps?: string },
  extra: Record<string, unknown> = {},
): ResolvedCli {
  let raw: Record<string, unknown> = {};
  let wsRaw: Record<string, unknown> = {};
  const runName = values["run-name"];
  if (values.resume) {
    const name = runName ?? "batcoder-rl";
    const saved = path.join("runs", name, RUN_FILES.config);
    if (!fs.existsSync(saved)) throw new UserError(`--resume: ${saved} not found (is --run-name right?)`);
    raw = JSON.parse(fs.readFileSync(saved, "utf8")) as Record<string, unknown>;
    const savedWs = path.join("runs", name, RUN_FILES.warmstartConfig);
    if (fs.existsSync(savedWs)) wsRaw = JSON.parse(fs.readFileSync(savedWs, "utf8")) as Record<string, unknown>;
  }
  if (values.config) {
    const file = readConfigFile(values.config);
    // "recipe" (configs/paper-7b.json) describes the run for `batcoder recipe`; it is not an RL option.
    const { warmstart, recipe: _recipe, ...rest } = file as { warmstart?: Record<string, unknown>; recipe?: unknown };
    if (warmstart !== undefined && (typeof warmstart !== "object" || warmstart === null))
      throw new UserError(`${values.config}: "warmstart" must be an object`);
    raw = { ...raw, ...rest };
    wsRaw = { ...wsRaw, ...(warmstart ?? {}) };
  }
  const sets = values.set ?? [];
  raw = applySets(
    raw,
    sets.filter((s) => !s.startsWith("warmstart.")),
  );
  wsRaw = applySets(
    wsRaw,
    sets.filter((s) => s.startsWith("warmstart.")),
    WarmStartSchema.shape,
    "warmstart.",
  );
  if (runName) raw.run_name = runName;
  if (values.corpus) raw.corpus = values.corpus;
  const steps = toInt("steps", values.steps);
  if (steps) raw.max_steps = steps;
  Object.assign(raw, extra);
  return { rl: parseConfig(raw), ws: parseWarmStart(wsRaw) };
}

export function makeLogger(quiet: boolean): (s: string) => void {
  return (s: string) => {
    if (!quiet) process.stderr.write(`${s}\n`);
  };
}

/** Quick mode's cap on the tokens generated per held-out benchmark task (a smoke run checks the pipeline, not pass@1). */
export const QUICK_BENCHMARK_MAX_TOKENS = 128;

/**
 * `--limit N`, the quick mode of `batcoder train` (a smoke run): caps the tasks of each held-out benchmark, the
 * held-out functions and the RL steps at N, and the tokens generated per benchmark task at
 * QUICK_BENCHMARK_MAX_TOKENS (each only lowered, never raised). Returns the capped config and one
 * "what: before → after" entry per option it changed.
 */
export function applyLimit(rl: RLConfig, n: number): { rl: RLConfig; changes: string[] } {
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--limit expects a positive integer, got ${n}`);
  const changes: string[] = [];
  const out = { ...rl };
  const cap = (key: "eval_benchmark_limit" | "eval_size" | "max_steps", what: string) => {
    const cur = out[key];
    if (cur === null || cur > n) {
      changes.push(`${what} ${cur === null ? "all" : cur} → ${n}`);
      out[key] = n;
    }
  };
  cap("eval_benchmark_limit", "benchmark tasks per benchmark");
  cap("eval_size", "held-out functions");
  cap("max_steps", "RL steps");
  const mt = out.eval_benchmark_max_tokens;
  if (mt === null || mt > QUICK_BENCHMARK_MAX_TOKENS) {
    changes.push(`tokens per benchmark task ${mt ?? "default"} → ${QUICK_BENCHMARK_MAX_TOKENS}`);
    out.eval_benchmark_max_tokens = QUICK_BENCHMARK_MAX_TOKENS;
  }
  return { rl: out, changes };
}
