/**
 * Causal-LM pretraining of the embedded model (library core of `batcoder pretrain`; `batcoder train` calls
 * `pretrain()` for its warm start).
 *
 * Data: a built corpus directory (manifest.json or train/validation shard folders; records with code/doc/lang),
 * a .jsonl file (records with `code` and optional `doc`, or `text`), a .txt file, or a folder of .txt/.jsonl files.
 * Each document becomes <|bos|>{doc}\n{code}<|eos|> (special-token strings inside the text stay plain text), all
 * documents are concatenated into one token stream, and every step draws batchTokens/seqLen random windows of
 * seqLen+1 tokens from it (seeded, so resume is exact). Validation loss is the mean NLL over fixed windows of the
 * validation split (or of a 5% held-out tail of the documents).
 *
 * Output directory: a run directory (src/core/runs.ts): tokenizer.json, pretrain-config.json (resolved options),
 * checkpoints/step-NNNNNNNN/ (atomic, last `keep` kept), pretrain-log.jsonl (one line per logged step), and
 * pretrain.json (summary, final checkpoint).
 */
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../backends/embedded.js";
import type { Datum } from "../core/policy.js";
import { ModelConfigSchema, MODEL_PRESETS, type ModelPreset } from "../engine/config.js";
import { listCheckpoints, pruneCheckpoints } from "../engine/checkpoint.js";
import { latestCheckpoint, RUN_FILES, runPaths, stepDirName } from "../core/runs.js";
import { BpeTokenizer, loadTokenizer } from "../engine/tokenizer.js";
import { lrAt } from "../core/schedule.js";
import { Rng } from "../core/rng.js";
import { readJsonlStrict } from "../core/jsonl.js";
import { ProgressBar } from "../core/progress.js";
import { engineInfo } from "../engine/kernels.js";

export const PretrainOptionsSchema = z
  .object({
    corpus: z.string().min(1, "--corpus is required"),
    out: z.string().min(1, "--out is required"),
    /** Preset name or a path to a config.json. */
    config: z.string().min(1).default("tiny"),
    tokenizer: z.string().min(1).optional(),
    vocabSize: z.number().int().min(300).max(200000).optional(),
    steps: z.number().int().positive().default(200),
    seqLen: z.number().int().min(8).default(256),
    batchTokens: z.number().int().positive().default(8192),
    lr: z.number().positive().max(1).default(1e-3),
    minLrRatio: z.number().min(0).max(1).default(0.1),
    warmupSteps: z.number().int().nonnegative().optional(),
    weightDecay: z.number().min(0).default(0.1),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.95),
    maxGradNorm: z.number().min(0).default(1),
    evalEvery: z.number().int().positive().default(50),
    evalWindows: z.number().int().positive().default(16),
    saveEvery: z.number().int().positive().default(100),
    keep: z.number().int().positive().default(2),
    seed: z.number().int().default(0),
    resume: z.boolean().default(false),
    maxChunkTokens: z.number().int().positive().default(4096),
    progress: z.boolean().default(true),
  })
  .strict();
export type PretrainOptions = z.input<typeof PretrainOptionsSchema>;
export type ResolvedPretrainOptions = z.output<typeof PretrainOptionsSchema>;

export interface PretrainResult {
  policy: EmbeddedPolicy;
  /** Directory of the final checkpoint. */
  checkpoint: string;
  steps: number;
  trainLoss: number;
  valLoss: number;
  tokensPerSecond: number;
}

export interface PretrainHooks {
  /** Called after each optimizer step. */
  onStep?(info: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number }): void;
}

// ------------------------------------------------------------------ corpus loading

interface Docs {
  train: string[];
  validation: string[];
}

function recordText(r: Record<string, unknown>, where: string): string {
  if (typeof r.text === "string") return r.text;
  if (typeof r.code === "string") {
    const doc = typeof r.doc === "string" && r.doc.trim() ? r.doc.trim() + "\n" : "";
    return doc + r.code;
  }
  throw new UserError(`${where}: record has neither a "code" nor a "text" string field`);
}

function readJsonl(file: string): { doc: string; split?: string }[] {
  return readJsonlStrict(file).map((rec, i) => ({
    doc: recordText(rec, `${file}: record ${i + 1}`),
    ...(typeof rec.split === "string" ? { split: rec.split } : {}),
  }));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      if (name.startsWith(".")) continue;
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(txt|md|jsonl|jsonl\.gz)$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Loads the documents of a corpus path (see the module comment for the accepted layouts). */
export function loadPretrainDocs(corpus: string): Docs {
  if (!fs.existsSync(corpus)) throw new UserError(`corpus ${corpus} does not exist`);
  const train: string[] = [],
    validation: string[] = [];
  const add = (items: { doc: string; split?: string }[], defaultSplit: "train" | "validation" = "train") => {
    for (const it of items) {
      const s = it.split ?? defaultSplit;
      if (s === "train") train.push(it.doc);
      else if (s === "validation") validation.push(it.doc);
      // test split records are never trained on
    }
  };
  const st = fs.statSync(corpus);
  if (st.isFile()) {
    if (/\.jsonl(\.gz)?$/.test(corpus)) add(readJsonl(corpus));
    else train.push(fs.readFileSync(corpus, "utf8"));
  } else {
    const files = listFiles(corpus);
    const isBuilt = fs.existsSync(path.join(corpus, "manifest.json")) || fs.existsSync(path.join(corpus, "train"));
    for (const f of files) {
      const rel = path.relative(corpus, f).split(path.sep);
      const split =
        isBuilt && (rel[0] === "train" || rel[0] === "validation" || rel[0] === "test") ? rel[0] : undefined;
      if (split === "test") continue;
      // In a built corpus only the split shards are training text: its reports (dropped-files.jsonl,
      // contamination.jsonl, stats), manifests and license files are not.
      if (isBuilt && split === undefined) continue;
      if (/\.jsonl(\.gz)?$/.test(f)) add(readJsonl(f), split === "validation" ? "validation" : "train");
      else if (split === "validation") validation.push(fs.readFileSync(f, "utf8"));
      else train.push(fs.readFileSync(f, "utf8"));
    }
  }
  if (train.length === 0)
    throw new UserError(`corpus ${corpus}: no training documents found (.jsonl records with code/doc, or .txt files)`);
  if (validation.length === 0 && train.length >= 2) {
    const nVal = Math.max(1, Math.floor(train.length * 0.05));
    validation.push(...train.splice(train.length - nVal, nVal));
  }
  return { train, validation };
}

function tokenizeDocs(tok: BpeTokenizer, docs: string[]): Int32Array {
  const parts: Int32Array[] = [];
  let n = 0;
  for (const d of docs) {
    const ids = tok.encodeToArray(d, { allowSpecial: false });
    const a = new Int32Array(ids.length + 2);
    a[0] = tok.bosId;
    a.set(ids, 1);
    a[ids.length + 1] = tok.eosId;
    parts.push(a);
    n += a.length;
  }
  const out = new Int32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ------------------------------------------------------------------ training loop

function windowDatum(stream: Int32Array, start: number, len: number): Datum {
  const w = Array.from(stream.subarray(start, start + len + 1));
  return { modelInput: w.slice(0, -1), lossInputs: { targetTokens: w.slice(1), weights: new Array(len).fill(1) } };
}

function resolveModelConfig(spec: string, tok: BpeTokenizer): Record<string, unknown> {
  if (spec in MODEL_PRESETS) return { ...MODEL_PRESETS[spec as ModelPreset] };
  if (fs.existsSync(spec)) {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(spec, "utf8"));
    } catch (e) {
      throw new UserError(`--config ${spec}: not valid JSON (${(e as Error).message})`);
    }
    const parsed = ModelConfigSchema.safeParse({
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
      ...(raw as object),
    });
    if (!parsed.success)
      throw new UserError(
        `--config ${spec}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    return parsed.data;
  }
  throw new UserError(
    `--config '${spec}' is neither a preset (${Object.keys(MODEL_PRESETS).join(", ")}) nor a config.json file`,
  );
}

function sha(s: string): string {
  return crypto.createHash("sha256").update(s).digest("hex").slice(0, 16);
}

/** Runs (or resumes) pretraining; see the module comment. */
export async function pretrain(options: PretrainOptions, hooks: PretrainHooks = {}): Promise<PretrainResult> {
  const parsed = PretrainOptionsSchema.safeParse(options);
  if (!parsed.success)
    throw new UserError(
      `pretrain: ${parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ")}`,
    );
  const o = parsed.data;
  const out = path.resolve(o.out);
  fs.mkdirSync(out, { recursive: true });
  if (!(o.config in MODEL_PRESETS) && !fs.existsSync(o.config)) {
    throw new UserError(
      `--config '${o.config}' is neither a preset (${Object.keys(MODEL_PRESETS).join(", ")}) nor a config.json file`,
    );
  }
  const docs = loadPretrainDocs(o.corpus);

  // resume or fresh start
  const ckptRoot = runPaths(out).checkpoints;
  listCheckpoints(ckptRoot); // repairs a checkpoint swap a crash interrupted
  const latest = o.resume ? latestCheckpoint(out) : null;
  if (!o.resume && latestCheckpoint(out)) {
    throw new UserError(`${out} already holds checkpoints; pass --resume to continue that run or choose another --out`);
  }
  let policy: EmbeddedPolicy;
  let dataRng: Rng;
  let tok: BpeTokenizer;
  if (latest) {
    policy = loadEmbeddedPolicy(latest.dir, { maxChunkTokens: o.maxChunkTokens });
    tok = policy.tokenizer;
    const prev = JSON.parse(fs.readFileSync(path.join(out, RUN_FILES.pretrainConfig), "utf8")) as {
      fingerprint?: string;
      dataRng?: unknown;
    };
    const ts = JSON.parse(fs.readFileSync(path.join(latest.dir, "state.json"), "utf8")) as {
      trainerState?: { dataRng?: number[]; fingerprint?: string };
    };
    const fp = fingerprint(o);
    if (prev.fingerprint && prev.fingerprint !== fp) {
      throw new UserError(
        `--resume: the options differ from the run in ${out} (only --steps, --save-every, --eval-every may change)`,
      );
    }
    dataRng = new Rng(0);
    if (!Array.isArray(ts.trainerState?.dataRng))
      throw new UserError(`--resume: ${latest.dir} has no data-sampler state`);
    dataRng.setState(ts.trainerState!.dataRng);
    if (o.progress) process.stderr.write(`pretrain: resuming from ${latest.dir} (step ${policy.step})\n`);
  } else {
    if (o.tokenizer) {
      try {
        tok = loadTokenizer(o.tokenizer);
      } catch (e) {
        throw new UserError(`--tokenizer ${o.tokenizer}: ${(e as Error).message}`);
      }
    } else {
      const vocabSize = o.vocabSize ?? 4096;
      if (o.progress)
        process.stderr.write(
          `pretrain: training a ${vocabSize}-token BPE tokenizer on ${docs.train.length} documents\n`,
        );
      tok = await BpeTokenizer.train(docs.train, { vocabSize });
    }
    tok.save(path.join(out, "tokenizer.json"));
    const modelConfig = resolveModelConfig(o.config, tok);
    policy = createEmbeddedPolicy({
      config: modelConfig,
      tokenizer: tok,
      seed: o.seed,
      maxChunkTokens: o.maxChunkTokens,
      modelName: `batcoder-${o.config in MODEL_PRESETS ? o.config : "custom"}`,
    });
    dataRng = new Rng(o.seed ^ 0x5eed);
  }
  const model = policy.llama;
  const seqLen = Math.min(o.seqLen, model.ctx);
  const resolved = {
    ...o,
    seqLen,
    out,
    fingerprint: fingerprint(o),
    modelConfig: model.config,
    nParams: model.nParams(),
    engine: engineInfo(),
  };
  fs.writeFileSync(path.join(out, RUN_FILES.pretrainConfig), JSON.stringify(resolved, null, 2) + "\n");

  const trainStream = tokenizeDocs(tok, docs.train);
  const valStream = tokenizeDocs(tok, docs.validation.length ? docs.validation : docs.train.slice(-1));
  if (trainStream.length < 2) throw new UserError(`corpus ${o.corpus}: too little text to train on`);
  const winLen = Math.min(seqLen, trainStream.length - 1);
  const perStep = Math.max(1, Math.round(o.batchTokens / winLen));
  const warmup = o.warmupSteps ?? Math.min(100, Math.floor(o.steps / 10));
  // fixed validation windows, evenly spaced
  const vLen = Math.min(seqLen, valStream.length - 1);
  const valDatums: Datum[] = [];
  if (vLen >= 1) {
    const nv = Math.min(o.evalWindows, Math.max(1, Math.floor(valStream.length / (vLen + 1))));
    for (let i = 0; i < nv; i++) {
      const start = Math.floor(((valStream.length - vLen - 1) * i) / Math.max(1, nv - 1));
      valDatums.push(windowDatum(valStream, start, vLen));
    }
  }
  const validate = async (): Promise<number> => {
    if (!valDatums.length) return NaN;
    const lp = await policy.computeLogprobs(valDatums);
    let s = 0,
      n = 0;
    for (const row of lp)
      for (const x of row) {
        s -= x;
        n++;
      }
    return s / n;
  };

  const logFile = path.join(out, RUN_FILES.pretrainLog);
  let lastLoss = NaN;
  let valLoss = NaN;
  let tokensDone = 0;
  const t0 = Date.now();
  const save = async (step: number) => {
    const dir = path.join(ckptRoot, stepDirName(step));
    await policy.saveState(dir, { dataRng: dataRng.getState(), fingerprint: fingerprint(o), kind: "pretrain" });
    pruneCheckpoints(ckptRoot, o.keep);
    return dir;
  };
  const startStep = policy.step;
  const bar = new ProgressBar("pretrain", o.steps, o.progress, { startAt: startStep });
  for (let step = startStep; step < o.steps; step++) {
    const batch: Datum[] = [];
    for (let b = 0; b < perStep; b++)
      batch.push(windowDatum(trainStream, dataRng.int(trainStream.length - winLen), winLen));
    const lr = lrAt(step, { peakLr: o.lr, warmupSteps: warmup, totalSteps: o.steps, minLrRatio: o.minLrRatio });
    const r = await policy.forwardBackward(batch, { kind: "cross_entropy" });
    const st = await policy.optimStep({
      learningRate: lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: 1e-8,
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
    });
    lastLoss = r.loss;
    tokensDone += perStep * winLen;
    const secs = (Date.now() - t0) / 1000;
    const tps = tokensDone / Math.max(1e-3, secs);
    const done = st.step;
    const isEval = done % o.evalEvery === 0 || done === o.steps;
    if (isEval) valLoss = await validate();
    fs.appendFileSync(
      logFile,
      JSON.stringify({
        step: done,
        loss: r.loss,
        lr,
        gradNorm: st.gradNorm,
        tokensPerSecond: Math.round(tps),
        ...(isEval ? { valLoss } : {}),
      }) + "\n",
    );
    hooks.onStep?.({ step: done, loss: r.loss, lr, gradNorm: st.gradNorm, tokensPerSecond: tps });
    bar.update(
      done,
      `loss ${r.loss.toFixed(3)}  val ${Number.isNaN(valLoss) ? "-" : valLoss.toFixed(3)}  ${Math.round(tps).toLocaleString("en-US")} tok/s`,
      isEval,
    );
    if (done % o.saveEvery === 0 && done !== o.steps) await save(done);
  }
  bar.done(`loss ${lastLoss.toFixed(3)}`);
  if (Number.isNaN(valLoss)) valLoss = await validate();
  const finalDir = await save(policy.step);
  const secs = (Date.now() - t0) / 1000;
  const summary = {
    checkpoint: finalDir,
    steps: policy.step,
    trainLoss: lastLoss,
    valLoss,
    tokensPerSecond: tokensDone / Math.max(1e-3, secs),
    trainTokens: trainStream.length,
    validationTokens: valStream.length,
    nParams: model.nParams(),
    finishedAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(out, RUN_FILES.pretrainSummary), JSON.stringify(summary, null, 2) + "\n");
  return {
    policy,
    checkpoint: finalDir,
    steps: policy.step,
    trainLoss: lastLoss,
    valLoss,
    tokensPerSecond: summary.tokensPerSecond,
  };
}

/** Options that must not change across a resume. */
function fingerprint(o: ResolvedPretrainOptions): string {
  const {
    steps: _s,
    saveEvery: _a,
    evalEvery: _e,
    resume: _r,
    progress: _p,
    keep: _k,
    maxChunkTokens: _m,
    out: _o,
    ...rest
  } = o;
  return sha(JSON.stringify(rest));
}
