/** Option handling shared by `batcoder train`, `rl` and `sft`: config file + --set layering, run names. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { applySets, parseConfig, readConfigFile, type RLConfig } from "./config.js";
import { parseWarmStart, type WarmStartConfig } from "./pipeline.js";

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
  --corpus DIR         corpus directory (default data/corpus/default)
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
export function resolveCli(values: { config?: string; set?: string[]; "run-name"?: string; resume?: boolean; corpus?: string; steps?: string }, extra: Record<string, unknown> = {}): ResolvedCli {
  let raw: Record<string, unknown> = {};
  let wsRaw: Record<string, unknown> = {};
  const runName = values["run-name"];
  if (values.resume) {
    const name = runName ?? "batcoder-rl";
    const saved = path.join("runs", name, "config.resolved.json");
    if (!fs.existsSync(saved)) throw new UserError(`--resume: ${saved} not found (is --run-name right?)`);
    raw = JSON.parse(fs.readFileSync(saved, "utf8")) as Record<string, unknown>;
    const savedWs = path.join("runs", name, "warmstart.config.json");
    if (fs.existsSync(savedWs)) wsRaw = JSON.parse(fs.readFileSync(savedWs, "utf8")) as Record<string, unknown>;
  }
  if (values.config) {
    const file = readConfigFile(values.config);
    const { warmstart, ...rest } = file as { warmstart?: Record<string, unknown> };
    if (warmstart !== undefined && (typeof warmstart !== "object" || warmstart === null)) throw new UserError(`${values.config}: "warmstart" must be an object`);
    raw = { ...raw, ...rest };
    wsRaw = { ...wsRaw, ...(warmstart ?? {}) };
  }
  const sets = values.set ?? [];
  const wsSets = sets.filter((s) => s.startsWith("warmstart."));
  raw = applySets(raw, sets.filter((s) => !s.startsWith("warmstart.")));
  for (const s of wsSets) {
    const eq = s.indexOf("=");
    if (eq < 0) throw new UserError(`--set expects key=value, got '${s}'`);
    const v = s.slice(eq + 1);
    let parsed: unknown = v;
    try {
      parsed = JSON.parse(v);
    } catch {
      /* plain string */
    }
    wsRaw[s.slice("warmstart.".length, eq)] = parsed;
  }
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
