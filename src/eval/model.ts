/**
 * Opening a model for evaluation from the command line: an http(s) URL (any OpenAI-compatible server) or a
 * checkpoint directory of the embedded model (a checkpoint itself, or a run directory whose latest
 * checkpoint is used).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { OpenAIClient } from "../backends/openai-client.js";
import type { Sampler } from "../core/policy.js";
import { SamplerGenerator, type TextGenerator } from "../core/generator.js";
import { CachedGenerator } from "../core/generation-cache.js";

export function isUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/**
 * Resolves a checkpoint directory (a checkpoint, or a run directory holding step-* checkpoints).
 * The engine is imported lazily so scoring a samples file or talking HTTP never loads it.
 */
export async function resolveCheckpointDir(spec: string): Promise<string> {
  const dir = path.resolve(spec);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`model '${spec}' is neither an http(s) URL nor a directory`);
  if (fs.existsSync(path.join(dir, "manifest.json"))) return dir;
  const { latestCheckpoint } = await import("../engine/checkpoint.js");
  const latest = latestCheckpoint(dir);
  if (!latest) throw new UserError(`${spec} holds no checkpoint (no manifest.json, no complete step-* checkpoint inside)`);
  return latest.dir;
}

export async function loadCheckpointSampler(spec: string): Promise<{ sampler: Sampler; dir: string }> {
  const dir = await resolveCheckpointDir(spec);
  const { loadEmbeddedPolicy } = await import("../backends/embedded.js");
  try {
    return { sampler: loadEmbeddedPolicy(dir), dir };
  } catch (e) {
    if ((e as { userFacing?: boolean }).userFacing) throw e;
    throw new UserError(`cannot load checkpoint ${dir}: ${(e as Error).message}`);
  }
}

export interface OpenModelOptions {
  modelName?: string;
  cacheDir?: string;
  /** HTTP requests in flight. */
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
}

export async function openModel(spec: string, opts: OpenModelOptions = {}): Promise<TextGenerator> {
  if (isUrl(spec)) {
    const c = new OpenAIClient({ baseUrl: spec, model: opts.modelName, cacheDir: opts.cacheDir, concurrency: opts.concurrency, timeoutMs: opts.timeoutMs, retries: opts.retries });
    await c.init();
    return c;
  }
  const { sampler, dir } = await loadCheckpointSampler(spec);
  const gen = new SamplerGenerator(sampler, opts.modelName ?? `${sampler.info.modelName}@${path.basename(dir)}`);
  return opts.cacheDir ? new CachedGenerator(gen, opts.cacheDir) : gen;
}
