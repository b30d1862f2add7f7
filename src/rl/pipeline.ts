/**
 * The end-to-end pipeline behind `batcoder train` / `sft` / `rl`:
 *
 *   corpus → tokenizer + causal-LM pretraining (engine `pretrain`) → SFT warm start on natural (code, doc) pairs,
 *   both directions (cached under .cache/warmstart/<hash>/) → BatCoder RL on code ALONE → before/after table.
 *
 * Held-out evaluation uses the corpus' test split (never trained on by any stage), documented functions only,
 * with the human documentation canonicalised into the doc format.
 */
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { Policy, TokenizerLike } from "../core/policy.js";
import { loadEmbeddedPolicy, type EmbeddedPolicy } from "../backends/embedded.js";
import { pretrain } from "../engine/pretrain.js";
import { readCorpusSync } from "../corpus/reader.js";
import type { CorpusRecord } from "../corpus/schema.js";
import type { RLConfig } from "./config.js";
import { formatIssues } from "./config.js";
import type { CodeItem } from "./data.js";
import { evaluateHeldOut, type HeldOutEval } from "./eval.js";
import { evaluateBenchmark } from "../eval/evaluate.js";
import { SamplerGenerator } from "../core/generator.js";
import { encodePlain } from "./prompts.js";
import { ProgressBar } from "../core/progress.js";
import { canonicalizeDoc, createRewardBackend } from "./reward.js";
import { validateDoc } from "../similarity/index.js";
import { crossEntropyLoop, evalLoss, sftDatums, type PairItem } from "./sft.js";
import { trainRL, type EvalFn, type RewardBackend } from "./trainer.js";
import { writeFileAtomic } from "../core/jsonl.js";
import { hashSeed } from "../core/rng.js";
import { bootstrapCI, type MeanCI } from "../core/stats.js";

// ---------------------------------------------------------------------------------------------------------
// Warm-start configuration
// ---------------------------------------------------------------------------------------------------------

export const WarmStartSchema = z
  .object({
    /** A preset name, or a partial HF LLaMA config (hidden_size, num_hidden_layers, ...). */
    model: z
      .union([z.enum(["tiny", "small", "base", "medium", "large"]), z.record(z.string(), z.number().int().positive())])
      .default("small"),
    vocab_size: z.number().int().min(300).max(65536).default(2048),
    pretrain_steps: z.number().int().min(0).default(600),
    pretrain_seq_len: z.number().int().min(16).default(256),
    pretrain_batch_tokens: z.number().int().positive().default(4096),
    pretrain_lr: z.number().positive().max(1).default(2e-3),
    sft_steps: z.number().int().min(0).default(320),
    sft_batch_tokens: z.number().int().positive().default(4096),
    sft_lr: z.number().positive().max(1).default(1e-3),
    sft_warmup_steps: z.number().int().min(0).default(10),
    sft_max_pairs: z.number().int().positive().default(20000),
    cache_dir: z.string().default(".cache/warmstart"),
  })
  .strict();
export type WarmStartConfig = z.infer<typeof WarmStartSchema>;

export function parseWarmStart(raw: unknown): WarmStartConfig {
  const r = WarmStartSchema.safeParse(raw ?? {});
  if (!r.success) throw new UserError(`invalid warmstart config:\n${formatIssues(r.error)}`);
  return r.data;
}

// ---------------------------------------------------------------------------------------------------------
// Corpus → items
// ---------------------------------------------------------------------------------------------------------

function readSplit(corpus: string, split: "train" | "validation" | "test", langs: string[] | null): CorpusRecord[] {
  if (!fs.existsSync(corpus)) throw new UserError(`corpus ${corpus} does not exist (build one with \`batcoder corpus build\`)`);
  return readCorpusSync(corpus, { split, ...(langs ? { lang: langs } : {}) });
}

/** RL training items: code only (documentation dropped), within the token bounds. Fails fast when none. */
export function loadTrainItems(cfg: RLConfig, tok: TokenizerLike): CodeItem[] {
  const recs = readSplit(cfg.corpus, cfg.train_split as "train", cfg.languages);
  const items: CodeItem[] = [];
  let tooShort = 0, tooLong = 0;
  for (const r of recs) {
    const n = encodePlain(tok, r.code).length;
    if (n < cfg.min_code_tokens) tooShort++;
    else if (n > cfg.max_code_tokens) tooLong++;
    else items.push({ id: r.id, lang: r.lang, code: r.code, signature: r.signature });
  }
  if (items.length === 0) {
    throw new UserError(
      `corpus ${cfg.corpus} has no usable training functions in split '${cfg.train_split}'${cfg.languages ? ` for languages ${cfg.languages.join(",")}` : ""}: ` +
        `${recs.length} records, ${tooShort} shorter than min_code_tokens=${cfg.min_code_tokens}, ${tooLong} longer than max_code_tokens=${cfg.max_code_tokens}`,
    );
  }
  return items;
}

/** A cheap pre-check (before any training) that the corpus has training functions at all. */
export function checkCorpusUsable(corpus: string, split: string, langs: string[] | null): { train: number; withDoc: number } {
  const recs = readSplit(corpus, split as "train", langs);
  if (recs.length === 0) {
    throw new UserError(`corpus ${corpus} has zero usable functions in split '${split}'${langs ? ` for languages ${langs.join(",")}` : ""}: nothing to train on`);
  }
  return { train: recs.length, withDoc: recs.filter((r) => r.doc).length };
}

function canonical(r: CorpusRecord): string | null {
  if (!r.doc) return null;
  try {
    const c = canonicalizeDoc(r.doc, { name: r.name });
    return c && c.trim() ? c.trim() : null;
  } catch {
    return null;
  }
}

/** Held-out functions WITH human documentation (canonicalised), a deterministic subset of `n`. */
export async function loadEvalItems(cfg: RLConfig, tok: TokenizerLike, n: number): Promise<CodeItem[]> {
  const recs = readSplit(cfg.corpus, cfg.eval_split as "test", cfg.languages);
  const items: CodeItem[] = [];
  for (const r of recs) {
    const nt = encodePlain(tok, r.code).length;
    if (nt < cfg.min_code_tokens || nt > cfg.max_code_tokens) continue;
    const full = canonical(r);
    // The human documentation, canonicalised and cut (whole blocks) to the documentation budget the model
    // writes and was warm-started on; the full text when even its summary is longer.
    const doc = full ? (fitDoc(full, tok, cfg.max_doc_tokens - 1) ?? full) : null;
    if (doc) items.push({ id: r.id, lang: r.lang, code: r.code, signature: r.signature, doc });
  }
  items.sort((a, b) => hashSeed(cfg.seed, parseInt(a.id.slice(0, 8), 16)) - hashSeed(cfg.seed, parseInt(b.id.slice(0, 8), 16)) || a.id.localeCompare(b.id));
  return items.slice(0, n);
}

/**
 * Shortens a canonical documentation to at most `maxTokens` tokens by keeping whole blocks (the summary first,
 * then the following paragraphs/sections while they fit), so SFT teaches documentation that ends inside the RL
 * generation budget. Returns null when even the summary does not fit or the result breaks the format.
 */
export function fitDoc(doc: string, tok: TokenizerLike, maxTokens: number): string | null {
  const blocks = doc.split(/\n\s*\n/);
  let out = "";
  for (const b of blocks) {
    const next = out ? `${out}\n\n${b}` : b;
    if (encodePlain(tok, next).length > maxTokens) break;
    out = next;
  }
  if (!out) return null;
  return validateDoc(out).valid ? out : null;
}

/**
 * Naturally occurring (code, documentation) pairs of the TRAIN split, documentation canonicalised (and, with
 * `fit`, shortened to the documentation budget); code longer than maxCodeTokens is skipped.
 */
export async function loadSftPairs(
  corpus: string,
  langs: string[] | null,
  max: number,
  fit?: { tok: TokenizerLike; maxDocTokens: number; maxCodeTokens: number },
): Promise<PairItem[]> {
  const out: PairItem[] = [];
  for (const r of readSplit(corpus, "train", langs)) {
    let doc = canonical(r);
    if (doc && fit) {
      doc = encodePlain(fit.tok, r.code).length <= fit.maxCodeTokens ? fitDoc(doc, fit.tok, fit.maxDocTokens - 1) : null;
    }
    if (doc) out.push({ id: r.id, lang: r.lang, code: r.code, doc, signature: r.signature });
    if (out.length >= max) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Warm start (cached)
// ---------------------------------------------------------------------------------------------------------

function corpusFingerprint(corpus: string): string {
  const h = crypto.createHash("sha256");
  const man = path.join(corpus, "manifest.json");
  if (fs.existsSync(man)) h.update(fs.readFileSync(man));
  else {
    const walk = (d: string) => {
      for (const f of fs.readdirSync(d).sort()) {
        const p = path.join(d, f);
        const st = fs.statSync(p);
        if (st.isDirectory()) walk(p);
        else h.update(`${path.relative(corpus, p)}:${st.size}\n`);
      }
    };
    walk(corpus);
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * Fingerprint of the code that determines a warm start (the compiled engine, tokenizer, corpus reader, doc
 * canonicaliser and SFT code, plus the native kernels' sources): a cached warm start built by other code is
 * rebuilt instead of silently reused.
 */
function codeFingerprint(): string {
  const h = crypto.createHash("sha256");
  const srcRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const repoRoot = path.resolve(srcRoot, "..", "..");
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (/\.(js|cc|h|gyp)$/.test(f)) h.update(`${path.relative(repoRoot, p)}\n`).update(fs.readFileSync(p));
    }
  };
  for (const sub of ["engine", "rl", "similarity", "lang", "corpus", "backends"]) walk(path.join(srcRoot, sub));
  walk(path.join(repoRoot, "native"));
  return h.digest("hex").slice(0, 16);
}

export interface WarmStartInfo {
  dir: string;
  checkpoint: string;
  cached: boolean;
  hash: string;
  pretrain: { steps: number; losses: number[]; val_loss: number; tokens_per_s: number } | null;
  sft: { steps: number; pairs: number; losses: number[]; val_loss_before: number; val_loss_after: number } | null;
  rebuild_command: string;
}

export async function warmStart(opts: {
  corpus: string;
  languages: string[] | null;
  seed: number;
  signatureHint: boolean;
  /** The RL documentation / code budgets: SFT targets are fitted to them. */
  maxDocTokens: number;
  maxCodeTokens: number;
  ws: WarmStartConfig;
  progress: boolean;
  log: (s: string) => void;
}): Promise<{ policy: EmbeddedPolicy; info: WarmStartInfo }> {
  const { ws } = opts;
  const key = {
    ws: { ...ws, cache_dir: undefined }, corpus: corpusFingerprint(opts.corpus), languages: opts.languages, seed: opts.seed, signatureHint: opts.signatureHint,
    maxDocTokens: opts.maxDocTokens, maxCodeTokens: opts.maxCodeTokens, code: codeFingerprint(), v: 3,
  };
  const hash = crypto.createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
  const dir = path.resolve(ws.cache_dir, hash);
  const infoFile = path.join(dir, "warmstart.json");
  if (fs.existsSync(infoFile)) {
    const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as WarmStartInfo;
    if (fs.existsSync(info.checkpoint)) {
      opts.log(`warm start: cached ${path.relative(process.cwd(), dir)} (delete it to rebuild)`);
      return { policy: loadEmbeddedPolicy(info.checkpoint), info: { ...info, cached: true } };
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, "key.json"), JSON.stringify(key, null, 2));

  // ---- stage 1: tokenizer + causal-LM pretraining (engine) ----
  // The pretraining text is written here from the corpus' train/validation splits (language-filtered; the test
  // split is never included), as {text, split} JSONL records the engine's pretrain() reads.
  const pre = path.join(dir, "pretrain");
  const dataFile = path.join(dir, "pretrain-data.jsonl");
  if (!fs.existsSync(dataFile)) {
    const lines: string[] = [];
    for (const split of ["train", "validation"] as const) {
      for (const r of readSplit(opts.corpus, split, opts.languages)) lines.push(JSON.stringify({ text: (r.doc ? r.doc.trim() + "\n" : "") + r.code, split }));
    }
    writeFileAtomic(dataFile, lines.join("\n") + "\n");
  }
  let modelSpec: string;
  if (typeof ws.model === "string") modelSpec = ws.model;
  else {
    modelSpec = path.join(dir, "model-config.json");
    writeFileAtomic(modelSpec, JSON.stringify(ws.model, null, 2));
  }
  opts.log(`warm start 1/2: tokenizer (${ws.vocab_size}) + ${typeof ws.model === "string" ? ws.model : "custom"} model pretraining, ${ws.pretrain_steps} steps`);
  const bar1 = new ProgressBar("pretrain", Math.max(1, ws.pretrain_steps), opts.progress);
  const losses1: number[] = [];
  const resumePre = fs.existsSync(path.join(pre, "pretrain-config.json")) && fs.readdirSync(pre).some((f) => f.startsWith("step-"));
  const pr = await pretrain(
    {
      corpus: dataFile, out: pre, config: modelSpec, vocabSize: ws.vocab_size, steps: Math.max(1, ws.pretrain_steps), seqLen: ws.pretrain_seq_len,
      batchTokens: ws.pretrain_batch_tokens, lr: ws.pretrain_lr, seed: opts.seed, progress: false, resume: resumePre, saveEvery: 50,
      evalEvery: Math.max(1, ws.pretrain_steps),
    },
    { onStep: (s) => (losses1.push(s.loss), bar1.update(s.step, `loss ${s.loss.toFixed(3)} ${Math.round(s.tokensPerSecond)} tok/s`)) },
  );
  bar1.done(`loss ${pr.trainLoss.toFixed(3)} val ${pr.valLoss.toFixed(3)}`);
  const policy = pr.policy;

  // ---- stage 2: SFT on natural pairs, both directions ----
  const pairs = await loadSftPairs(opts.corpus, opts.languages, ws.sft_max_pairs, { tok: policy.tokenizer, maxDocTokens: opts.maxDocTokens, maxCodeTokens: opts.maxCodeTokens });
  let sftInfo: WarmStartInfo["sft"] = null;
  if (ws.sft_steps > 0) {
    if (pairs.length === 0) throw new UserError(`corpus ${opts.corpus}: no documented training functions for the SFT warm start (set warmstart.sft_steps=0 to skip it)`);
    const ctx = policy.info.contextLength;
    const nVal = Math.min(64, Math.floor(pairs.length * 0.05));
    const valPairs = pairs.slice(0, nVal), trPairs = pairs.slice(nVal);
    const trD = sftDatums(policy.tokenizer, trPairs, ctx, { signatureHint: opts.signatureHint });
    const vaD = sftDatums(policy.tokenizer, valPairs, ctx, { signatureHint: opts.signatureHint });
    opts.log(`warm start 2/2: SFT on ${trPairs.length} natural (code, doc) pairs, both directions (${trD.length} examples), ${ws.sft_steps} steps`);
    const before = vaD.length ? await evalLoss(policy, vaD) : NaN;
    const bar2 = new ProgressBar("sft", ws.sft_steps, opts.progress);
    const t0 = Date.now();
    let toks = 0;
    const losses = await crossEntropyLoop(policy, trD, {
      steps: ws.sft_steps, batchTokens: ws.sft_batch_tokens, learningRate: ws.sft_lr, warmupSteps: ws.sft_warmup_steps, minLrRatio: 0.1,
      weightDecay: 0.0, maxGradNorm: 1, seed: opts.seed,
      onStep: (s) => ((toks += s.tokens), bar2.update(s.step, `loss ${s.loss.toFixed(3)} ${Math.round(toks / ((Date.now() - t0) / 1000))} tok/s`)),
    });
    const after = vaD.length ? await evalLoss(policy, vaD) : NaN;
    bar2.done(`val loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    sftInfo = { steps: ws.sft_steps, pairs: trPairs.length, losses, val_loss_before: before, val_loss_after: after };
  }
  const ckpt = path.join(dir, "policy");
  const tmp = `${ckpt}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await policy.saveState(tmp);
  fs.rmSync(ckpt, { recursive: true, force: true });
  fs.renameSync(tmp, ckpt);
  const preLog = path.join(pre, "pretrain-log.jsonl");
  const preLosses = fs.existsSync(preLog)
    ? fs.readFileSync(preLog, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { loss?: number }).loss).filter((x): x is number => typeof x === "number")
    : losses1;
  const info: WarmStartInfo = {
    dir,
    checkpoint: ckpt,
    cached: false,
    hash,
    pretrain: { steps: pr.steps, losses: preLosses.length ? preLosses : losses1, val_loss: pr.valLoss, tokens_per_s: pr.tokensPerSecond },
    sft: sftInfo,
    rebuild_command: `rm -rf ${path.relative(process.cwd(), dir)} && batcoder train  # (same config) rebuilds this warm start`,
  };
  writeFileAtomic(infoFile, JSON.stringify(info, null, 2));
  return { policy, info };
}

// ---------------------------------------------------------------------------------------------------------
// RL with evaluation
// ---------------------------------------------------------------------------------------------------------

export interface RLRunResult {
  runDir: string;
  before: HeldOutEval | null;
  after: HeldOutEval | null;
  finished: boolean;
}

export async function runRL(opts: {
  cfg: RLConfig;
  policy: Policy;
  resume: boolean;
  progress: boolean;
  log: (s: string) => void;
  warmInfo?: WarmStartInfo | null;
  stopAfterSteps?: number;
}): Promise<RLRunResult> {
  const { cfg, policy } = opts;
  const runDir = path.join(cfg.output_dir, cfg.run_name);
  const tok = policy.tokenizer;
  const train = loadTrainItems(cfg, tok);
  const langs = [...new Set(train.map((t) => t.lang))];
  const evalItems = cfg.eval_at_start || cfg.eval_at_end || cfg.eval_steps > 0 ? await loadEvalItems(cfg, tok, cfg.eval_size) : [];
  if (evalItems.length && evalItems.length < Math.min(200, cfg.eval_size)) {
    opts.log(`note: only ${evalItems.length} held-out documented functions available for evaluation (asked for ${cfg.eval_size})`);
  }
  const reward: RewardBackend = await createRewardBackend(cfg, [...new Set([...langs, ...evalItems.map((e) => e.lang)])]);
  fs.mkdirSync(runDir, { recursive: true });
  if (opts.warmInfo) writeFileAtomic(path.join(runDir, "warmstart.json"), JSON.stringify(opts.warmInfo, null, 2));
  opts.log(`RL: ${train.length} training functions (code only), ${evalItems.length} held-out functions; run dir ${runDir}`);
  if (cfg.signature_hint) opts.log("NOTE: signature_hint is ON — doc→code prompts include the function's signature after <|code|> (not the pure method)");
  const maxRebuild = cfg.max_rebuild_tokens ?? cfg.max_code_tokens + 16;
  const evaluate: EvalFn | undefined = evalItems.length
    ? async (sampler, step) => {
        let bar: ProgressBar | null = null;
        const r = await evaluateHeldOut(sampler, evalItems, reward, {
          maxDocTokens: cfg.max_doc_tokens, maxCodeTokens: maxRebuild, batchSize: cfg.eval_batch_size, signatureHint: cfg.signature_hint, temperature: cfg.eval_temperature,
          onProgress: (d, t) => {
            bar ??= new ProgressBar(`eval@${step} (${evalItems.length} fns)`, t, opts.progress);
            bar.update(d);
          },
        });
        (bar as ProgressBar | null)?.done(`round-trip ${r.roundtrip.mean.toFixed(3)}  doc→code(human) ${r.doc2code_human.mean.toFixed(3)}`);
        const out = { ...r } as unknown as Record<string, unknown>;
        if (cfg.eval_benchmark && (step === 0 || step === cfg.max_steps)) {
          // pass@1 through the eval harness (sandboxed execution), greedy, plain completion format.
          const { summary } = await evaluateBenchmark({
            benchmark: cfg.eval_benchmark, generator: new SamplerGenerator(sampler), limit: cfg.eval_benchmark_limit ?? undefined,
            maxTokens: maxRebuild, temperature: 0, batchSize: cfg.eval_batch_size,
          });
          out.benchmark = { name: summary.benchmark, tasks: summary.tasks, pass_at_1: summary.passAtK["pass@1"] ?? null };
          opts.log(`${summary.benchmark}: pass@1 ${(summary.passAtK["pass@1"] ?? 0).toFixed(3)} over ${summary.tasks} tasks`);
        }
        return out;
      }
    : undefined;
  let bar: ProgressBar | null = null;
  try {
    const res = await trainRL({
      config: cfg, policy, reward, train, evaluate, runDir, resume: opts.resume, stopAfterSteps: opts.stopAfterSteps,
      hooks: {
        onStart: (i) => {
          bar = new ProgressBar("rl", i.maxSteps, opts.progress);
          if (i.resumed) opts.log(`resumed at step ${i.startStep}`);
        },
        onStep: (m) =>
          bar?.update(m.step, `r(doc) ${m["reward/code2doc/mean"]!.toFixed(3)} r(code) ${(m["reward/doc2code/mean"] ?? NaN).toFixed(3)} valid ${m["doc/format_valid_rate"]!.toFixed(2)} kl ${m.kl!.toFixed(4)} ${m["time/step_s"]!.toFixed(1)}s/step`, true),
        onPhase: (p) => {
          if (!opts.progress) return;
          if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${p}\n`);
          else process.stderr.write(`${p}\n`);
        },
      },
    });
    const evals = fs.existsSync(path.join(runDir, "evals.jsonl"))
      ? fs.readFileSync(path.join(runDir, "evals.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as HeldOutEval & { step: number })
      : [];
    return { runDir, before: evals[0] ?? null, after: evals.length > 1 ? evals.at(-1)! : null, finished: res.finished };
  } finally {
    await reward.close?.();
  }
}

/**
 * Paired change after − before over the same held-out functions (same ids, same order), with a 95% bootstrap
 * interval of the mean difference. Null when the two evaluations did not score the same functions.
 */
export function pairedDelta(before: HeldOutEval, after: HeldOutEval, key: "roundtrip" | "doc2code_human" | "doc_bleu" | "doc_rougeL"): MeanCI | null {
  const a = before.per_function;
  const b = after.per_function;
  if (!a || !b || a.ids.length !== b.ids.length || a.ids.some((id, i) => id !== b.ids[i])) return null;
  return bootstrapCI(b[key].map((x, i) => x - a[key][i]!));
}

/** The before/after table printed at the end of `batcoder train`. */
export function beforeAfterTable(before: HeldOutEval | null, after: HeldOutEval | null): string {
  if (!before) return "(no held-out evaluation)";
  const rows: Array<[string, "roundtrip" | "doc2code_human" | "doc_bleu" | "doc_rougeL"]> = [
    ["round-trip similarity (code→doc→code)", "roundtrip"],
    ["doc→code similarity from human docs", "doc2code_human"],
    ["doc BLEU vs human docs", "doc_bleu"],
    ["doc ROUGE-L vs human docs", "doc_rougeL"],
  ];
  const f = (c: { mean: number; lo: number; hi: number }) => `${c.mean.toFixed(3)} [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`;
  const sgn = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    `held-out functions: n=${before.n} (mean [95% bootstrap CI]; Δ is the paired after − before difference over the same functions)`,
    `${"".padEnd(w)}  ${"warm start".padEnd(24)}  ${after ? "after RL".padEnd(24) + "  Δ paired [95% CI]" : ""}`,
  ];
  for (const [label, k] of rows) {
    const a = before[k];
    const b = after ? after[k] : null;
    let delta = "";
    if (after && b) {
      const d = pairedDelta(before, after, k);
      delta = d ? `${sgn(d.mean)} [${sgn(d.lo)}, ${sgn(d.hi)}]${d.lo > 0 ? " *" : d.hi < 0 ? " (worse)" : ""}` : sgn(b.mean - a.mean);
    }
    lines.push(`${label.padEnd(w)}  ${f(a).padEnd(24)}  ${b ? f(b).padEnd(24) + "  " + delta : ""}`);
  }
  lines.push(`${"doc format-valid rate".padEnd(w)}  ${before.doc_valid_rate.toFixed(3).padEnd(24)}  ${after ? after.doc_valid_rate.toFixed(3) : ""}`);
  if (after) lines.push("* = the paired 95% interval lies above zero (RL raised it beyond noise)");
  return lines.join("\n");
}
