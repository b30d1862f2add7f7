/**
 * The cached warm start behind `batcoder train` / `sft`: corpus → tokenizer + causal-LM pretraining
 * (pretrain.ts) → SFT on natural (code, doc) pairs, both directions (sft.ts). Pretraining is cached under
 * <cache_dir>/pretrain-<hash>/ (its settings, corpora, seed and code), the finished warm start under
 * <cache_dir>/<hash>/ (all settings, the SFT corpora and the pretraining hash), so SFT-only changes reuse pretraining.
 */
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { writeFileAtomic, readJsonl } from "../core/jsonl.js";
import { ProgressBar } from "../core/progress.js";
import { latestCheckpoint, POLICY_DIR, RUN_FILES } from "../core/runs.js";
import { loadEmbeddedPolicy, type EmbeddedPolicy } from "../backends/embedded.js";
import { subsetSources } from "../corpus/subset.js";
import { formatIssues } from "../rl/config.js";
import { loadSftPairs, readSplit } from "./items.js";
import { pretrain } from "./pretrain.js";
import { sftStage, type SftStageInfo } from "./sft.js";

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
    /**
     * Corpora the warm start learns from (pretraining text from their train + validation splits, SFT pairs from
     * their train splits). Lets RL run on a slice (e.g. data/corpus/exec) while the warm start reads other corpora. Default: the corpora a subset corpus was cut from (its config.json `sources`),
     * else the RL corpus itself. Test splits are never read.
     */
    corpora: z.array(z.string().min(1)).min(1).nullable().default(null),
    /**
     * Corpora whose train-split (code, doc) pairs the SFT stage learns from; null = the RL corpus. On the
     * executable slice that means the natural pairs of the functions RL will see (their code, never their test
     * split), while pretraining reads the wider corpora above.
     */
    sft_corpora: z.array(z.string().min(1)).min(1).nullable().default(null),
  })
  .strict();
export type WarmStartConfig = z.infer<typeof WarmStartSchema>;

export function parseWarmStart(raw: unknown): WarmStartConfig {
  const r = WarmStartSchema.safeParse(raw ?? {});
  if (!r.success) throw new UserError(`invalid warmstart config:\n${formatIssues(r.error)}`);
  return r.data;
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
  sft: SftStageInfo | null;
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
  // A slice (data/corpus/exec) warm-starts on the corpora it was cut from.
  const corpora = ws.corpora ?? subsetSources(opts.corpus) ?? [opts.corpus];
  const sftCorpora = ws.sft_corpora ?? [opts.corpus];
  const code = codeFingerprint();
  // Pretraining is cached on its own (keyed by what it depends on), so changing only SFT settings reuses it.
  const preKey = {
    pretrain: {
      model: ws.model,
      vocab_size: ws.vocab_size,
      pretrain_steps: ws.pretrain_steps,
      pretrain_seq_len: ws.pretrain_seq_len,
      pretrain_batch_tokens: ws.pretrain_batch_tokens,
      pretrain_lr: ws.pretrain_lr,
    },
    corpus: corpora.map(corpusFingerprint).join(","),
    languages: opts.languages,
    seed: opts.seed,
    code,
    v: 1,
  };
  const preHash = crypto.createHash("sha256").update(JSON.stringify(preKey)).digest("hex").slice(0, 12);
  const preRoot = path.resolve(ws.cache_dir, `pretrain-${preHash}`);
  const key = {
    ws: { ...ws, cache_dir: undefined },
    pretrain: preHash,
    sftCorpus: sftCorpora.map(corpusFingerprint).join(","),
    languages: opts.languages,
    seed: opts.seed,
    signatureHint: opts.signatureHint,
    maxDocTokens: opts.maxDocTokens,
    maxCodeTokens: opts.maxCodeTokens,
    code,
    v: 4,
  };
  const hash = crypto.createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
  const dir = path.resolve(ws.cache_dir, hash);
  const infoFile = path.join(dir, RUN_FILES.warmstart);
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
  fs.mkdirSync(preRoot, { recursive: true });
  writeFileAtomic(path.join(preRoot, "key.json"), JSON.stringify(preKey, null, 2));
  const pre = path.join(preRoot, "pretrain");
  const dataFile = path.join(preRoot, "pretrain-data.jsonl");
  if (!fs.existsSync(dataFile)) {
    const lines: string[] = [];
    for (const corpus of corpora)
      for (const split of ["train", "validation"] as const) {
        for (const r of readSplit(corpus, split, opts.languages))
          lines.push(JSON.stringify({ text: (r.doc ? r.doc.trim() + "\n" : "") + r.code, split }));
      }
    writeFileAtomic(dataFile, lines.join("\n") + "\n");
  }
  let modelSpec: string;
  if (typeof ws.model === "string") modelSpec = ws.model;
  else {
    modelSpec = path.join(preRoot, "model-config.json");
    writeFileAtomic(modelSpec, JSON.stringify(ws.model, null, 2));
  }
  opts.log(
    `warm start corpora (train + validation splits): ${corpora.map((c) => path.relative(process.cwd(), c) || c).join(", ")}`,
  );
  opts.log(
    `warm start 1/2: tokenizer (${ws.vocab_size}) + ${typeof ws.model === "string" ? ws.model : "custom"} model pretraining, ${ws.pretrain_steps} steps`,
  );
  const bar1 = new ProgressBar("pretrain", Math.max(1, ws.pretrain_steps), opts.progress);
  const losses1: number[] = [];
  const resumePre = fs.existsSync(path.join(pre, RUN_FILES.pretrainConfig)) && latestCheckpoint(pre) !== null;
  const pr = await pretrain(
    {
      corpus: dataFile,
      out: pre,
      config: modelSpec,
      vocabSize: ws.vocab_size,
      steps: Math.max(1, ws.pretrain_steps),
      seqLen: ws.pretrain_seq_len,
      batchTokens: ws.pretrain_batch_tokens,
      lr: ws.pretrain_lr,
      seed: opts.seed,
      progress: false,
      resume: resumePre,
      saveEvery: 50,
      evalEvery: Math.max(1, ws.pretrain_steps),
    },
    {
      onStep: (s) => (
        losses1.push(s.loss), bar1.update(s.step, `loss ${s.loss.toFixed(3)} ${Math.round(s.tokensPerSecond)} tok/s`)
      ),
    },
  );
  bar1.done(
    Number.isFinite(pr.trainLoss)
      ? `loss ${pr.trainLoss.toFixed(3)} val ${pr.valLoss.toFixed(3)}`
      : `cached in ${path.relative(process.cwd(), preRoot)}, val ${pr.valLoss.toFixed(3)}`,
  );
  const policy = pr.policy;

  // ---- stage 2: SFT on natural pairs, both directions ----
  const pairs = [];
  for (const corpus of sftCorpora)
    if (pairs.length < ws.sft_max_pairs)
      pairs.push(
        ...(await loadSftPairs(corpus, opts.languages, ws.sft_max_pairs - pairs.length, {
          tok: policy.tokenizer,
          maxDocTokens: opts.maxDocTokens,
          maxCodeTokens: opts.maxCodeTokens,
        })),
      );
  let sftInfo: WarmStartInfo["sft"] = null;
  if (ws.sft_steps > 0) {
    if (pairs.length === 0)
      throw new UserError(
        `corpus ${sftCorpora.join(", ")}: no documented training functions for the SFT warm start (set warmstart.sft_steps=0 to skip it)`,
      );
    opts.log(
      `warm start 2/2: SFT on ${pairs.length} natural (code, doc) pairs of ${sftCorpora.map((c) => path.relative(process.cwd(), c) || c).join(", ")} (train split), both directions, ${ws.sft_steps} steps`,
    );
    sftInfo = await sftStage(policy, pairs, {
      ws,
      seed: opts.seed,
      signatureHint: opts.signatureHint,
      progress: opts.progress,
    });
  }
  const ckpt = path.join(dir, POLICY_DIR);
  const tmp = `${ckpt}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await policy.saveState(tmp);
  fs.rmSync(ckpt, { recursive: true, force: true });
  fs.renameSync(tmp, ckpt);
  const preLosses = readJsonl<{ loss?: number }>(path.join(pre, RUN_FILES.pretrainLog))
    .map((r) => r.loss)
    .filter((x): x is number => typeof x === "number");
  const info: WarmStartInfo = {
    dir,
    checkpoint: ckpt,
    cached: false,
    hash,
    pretrain: {
      steps: pr.steps,
      losses: preLosses.length ? preLosses : losses1,
      val_loss: pr.valLoss,
      tokens_per_s: pr.tokensPerSecond,
    },
    sft: sftInfo,
    rebuild_command: `rm -rf ${path.relative(process.cwd(), dir)} ${path.relative(process.cwd(), preRoot)} && batcoder train  # (same config) rebuilds this warm start`,
  };
  writeFileAtomic(infoFile, JSON.stringify(info, null, 2));
  return { policy, info };
}
