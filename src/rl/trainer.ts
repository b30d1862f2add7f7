/**
 * The BatCoder RL loop, top to bottom (CleanRL style: one function, read it in one sitting).
 *
 * Each step:
 *   1. take B code samples c (no documentation),
 *   2. code→doc: sample G documentations d per c,
 *   3. check every d (format, leakage); rejected ones get the configured penalty and no reconstructions,
 *   4. doc→code: for every kept d sample K reconstructions c' from d ALONE,
 *   5. rewards on the reward backend (worker pool): r(c') = similarity(c, c') (+ length penalty);
 *      r(d) = mean (or max) of its reconstructions' rewards, gated/penalised by validity and leakage,
 *   6. log-probs at the sampling temperature (log softmax(logits / T)) under the sampling policy and the frozen
 *      reference (KL); the loss uses the same temperature,
 *   7. advantages, per direction, with the two kinds of groups kept apart (docs of one c; codes of one d),
 *   8. ppo_epochs × num_mini_batches policy updates (PPO clipped loss, direction weights on the datums),
 *   9. metrics.jsonl / samples.jsonl, atomic checkpoint every save_steps, evaluation every eval_steps.
 *
 * Everything random derives from (seed, step), and the data cursor is saved with the policy state, so
 * `resume` reproduces the uninterrupted run exactly.
 */
import fs from "node:fs";
import path from "node:path";
import type { AdamParams, Datum, LossSpec, Policy, SampledSequence, Sampler, ScoringSampler } from "../core/policy.js";
import { klTerm } from "../core/losses.js";
import { computeAdvantages, type AdvSample } from "./advantages.js";
import { derived, type RLConfig } from "./config.js";
import { DataCursor, type CodeItem, type CursorState } from "./data.js";
import { chatCodeAnswer, code2docPrompt, doc2codePrompt, specialStopIds, promptText } from "./prompts.js";
import type { ChatTemplate } from "../engine/chat-template.js";
import { appendJsonl, readJsonl, truncateJsonlByStep, writeFileAtomic } from "../core/jsonl.js";
import { hashSeed, Rng, type RngState } from "../core/rng.js";
import {
  listStepCheckpoints,
  METRIC_KEYS,
  POLICY_DIR,
  runPaths,
  stepDirName,
  TRAINER_STATE_FILE,
  type StepCheckpoint,
} from "../core/runs.js";
import { lrAt } from "../core/schedule.js";
import { mean, std } from "../core/stats.js";
import { rejectedDocReward, type DocCheck, type RewardJob } from "../similarity/index.js";

// ---------------------------------------------------------------------------------------------------------
// What the loop needs from the outside world
// ---------------------------------------------------------------------------------------------------------

/** A documentation's checks (the similarity module's `DocCheck`): made once per documentation. */
export type DocVerdict = DocCheck;
export interface RewardScore {
  /** Reward of the (doc, rebuilt) pair as the reward module combines similarity, validity and leakage. */
  total: number;
  /** The similarity of rebuilt to code (behaviour and/or static, before documentation gates). */
  similarity: number;
  /**
   * The reconstruction's own reward (doc→code direction): the similarity with the syntax penalty / floor as the
   * reward config says, no documentation gates. Defaults to `similarity` when a backend does not set it.
   */
  code?: number;
  /** Set when the job failed in an EXPECTED way (e.g. an unusable original): counted in `reward/errors`. */
  error?: string;
  /** Every component, for logging. */
  components: Record<string, number>;
}
export interface RewardBackend {
  checkDoc(doc: string, code: string, lang: string): DocVerdict | Promise<DocVerdict>;
  /** Scores reconstructions; each job carries its documentation's verdict (`docCheck`), so no check is redone. */
  score(jobs: RewardJob<string>[]): Promise<RewardScore[]>;
  /**
   * The one set of documentation penalties (the reward module's formatPenalty / leakPenalty): a documentation
   * rejected before reconstruction gets `rejectedDocReward` of them.
   */
  readonly penalties: { formatPenalty: number; leakPenalty: number };
  close?(): Promise<void>;
}

export type EvalFn = (policy: Sampler, step: number) => Promise<Record<string, unknown>>;

export interface TrainerHooks {
  onStart?(info: { startStep: number; maxSteps: number; resumed: boolean }): void;
  onStep?(m: StepMetrics): void;
  onEval?(step: number, result: Record<string, unknown>): void;
  onPhase?(phase: string): void;
}

export interface TrainerOptions {
  config: RLConfig;
  policy: Policy;
  reward: RewardBackend;
  /** Training code samples (documentation is ignored). */
  train: CodeItem[];
  evaluate?: EvalFn;
  /** runs/<name>; created if missing. */
  runDir: string;
  resume?: boolean;
  hooks?: TrainerHooks;
  /** Return (as if the process died) after this many steps of THIS call — used by the resume tests. */
  stopAfterSteps?: number;
  /**
   * Samples both rollout stages instead of the policy (e.g. an OpenAI-compatible server: --sampler-url). The
   * trainer then recomputes log-probs under the policy, logs the sampler/trainer mismatch and corrects it with
   * truncated importance sampling (cfg.tis_cap).
   */
  rolloutSampler?: Sampler;
  /**
   * The model's own chat template (a pretrained instruct model, `train --model`): both directions are asked as
   * conversations rendered by it (src/rl/prompts.ts chat path); a rebuild is the code before its closing fence.
   */
  chat?: ChatTemplate | null;
}

export type StepMetrics = Record<string, number> & { step: number };

/**
 * Sampler vs trainer log-probs of the same sampled tokens: mean |Δ logprob|, percentiles of the ratio
 * pi_trainer / pi_sampler, and the truncated-IS weights min(ratio, cap) (null when cap is 0 or the sampler gave no
 * log-probs: a text-only server — the correction is then impossible, and `mismatch/unavailable` says so).
 */
export function samplerMismatch(
  trainLp: number[][],
  samplerLp: number[][],
  cap: number,
): { weights: number[][] | null; metrics: Record<string, number> } {
  const ratios: number[] = [];
  let absSum = 0,
    n = 0,
    truncated = 0,
    missing = 0;
  for (let i = 0; i < trainLp.length; i++) {
    for (let t = 0; t < trainLp[i]!.length; t++) {
      const s = samplerLp[i]?.[t];
      if (s === undefined || !Number.isFinite(s)) {
        missing++;
        continue;
      }
      const d = trainLp[i]![t]! - s;
      absSum += Math.abs(d);
      ratios.push(Math.exp(d));
      n++;
    }
  }
  const sorted = ratios.slice().sort((a, b) => a - b);
  const pct = (q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
  const usable = missing === 0 && cap > 0;
  const weights = usable
    ? trainLp.map((row, i) =>
        row.map((lp, t) => {
          const r = Math.exp(lp - samplerLp[i]![t]!);
          if (r > cap) truncated++;
          return Math.min(r, cap);
        }),
      )
    : null;
  return {
    weights,
    metrics: {
      "mismatch/mean_abs_dlogp": n ? absSum / n : NaN,
      "mismatch/ratio_p05": pct(0.05),
      "mismatch/ratio_p50": pct(0.5),
      "mismatch/ratio_p95": pct(0.95),
      "mismatch/ratio_max": sorted.length ? sorted[sorted.length - 1]! : NaN,
      "mismatch/tis_truncated_frac": usable && n ? truncated / n : 0,
      "mismatch/unavailable": missing > 0 ? 1 : 0,
    },
  };
}

export interface TrainerState {
  step: number;
  cursor: CursorState;
  /** The step's RNG state after the step (informational: each step reseeds from (seed, step)). */
  rng: RngState | number;
  elapsed_s: number;
}

// ---------------------------------------------------------------------------------------------------------
// Small pieces the loop uses
// ---------------------------------------------------------------------------------------------------------

/**
 * A datum for prompt+completion: loss positions are the completion tokens (weight `w`). The loop fills in the
 * per-token advantages and sampling log-probs after the rewards (step 7).
 */
export function makeDatum(prompt: number[], completion: number[], w: number): Datum {
  const full = prompt.concat(completion);
  const start = prompt.length - 1; // target index of the first completion token
  const n = full.length - 1;
  return {
    modelInput: full.slice(0, n),
    lossInputs: {
      targetTokens: full.slice(1),
      weights: Array.from({ length: n }, (_, t) => (t >= start ? w : 0)),
    },
  };
}

export type Direction = "code2doc" | "doc2code";

/** Mean of the numbers among xs (NaN when there are none). */
function meanOf(xs: (number | undefined)[]): number {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return v.length ? mean(v) : NaN;
}

/**
 * Per-direction loss normalisation: scale factors that make each direction present in a mini-batch weigh the
 * same in the aggregated loss, whatever its number of tokens (token-mean) or sequences (the seq-* modes):
 * factor_dir = total / (nDirections · count_dir), so Σ_dir (1/nDirections) · (direction's own aggregate).
 * Without it, token-mean over a batch whose reconstructions are 3× longer than the documentation gives the
 * doc→code direction ~3/4 of the gradient.
 */
export function directionScales(dirs: Direction[], counts: number[]): Record<Direction, number> {
  const per: Record<Direction, number> = { code2doc: 0, doc2code: 0 };
  dirs.forEach((d, i) => (per[d] += counts[i]!));
  const total = per.code2doc + per.doc2code;
  const present = (["code2doc", "doc2code"] as const).filter((d) => per[d] > 0);
  const out: Record<Direction, number> = { code2doc: 1, doc2code: 1 };
  for (const d of present) out[d] = total / (present.length * per[d]);
  return out;
}

/** Copies of the datums with their weights scaled by `directionScales` (tokens for token-mean, else sequences). */
export function reweightByDirection(mb: Datum[], dirs: Direction[], mode: string): Datum[] {
  const counts = mb.map((dt) => (mode === "token-mean" ? dt.lossInputs.weights.filter((w) => w > 0).length : 1));
  const s = directionScales(dirs, counts);
  return mb.map((dt, i) => ({
    ...dt,
    lossInputs: { ...dt.lossInputs, weights: dt.lossInputs.weights.map((w) => w * s[dirs[i]!]) },
  }));
}

/** DAPO soft overlong penalty: 0 up to (max - buffer) tokens, then a linear ramp down to -factor at max. */
export function overlongPenalty(len: number, max: number, buffer: number, factor: number): number {
  if (buffer <= 0) return 0;
  const expected = max - buffer;
  if (len <= expected) return 0;
  return -Math.min(1, (len - expected) / buffer) * factor;
}

/** The newest complete RL checkpoint of a run (one with the trainer's state), or null. */
export function latestTrainerCheckpoint(runDir: string): StepCheckpoint | null {
  return (
    listStepCheckpoints(runPaths(runDir).checkpoints)
      .filter((c) => fs.existsSync(path.join(c.dir, TRAINER_STATE_FILE)))
      .at(-1) ?? null
  );
}

/** Atomic: the checkpoint is written into a dot-named temp dir and renamed into place when complete. */
async function saveCheckpoint(runDir: string, policy: Policy, state: TrainerState, keep: number): Promise<void> {
  const root = runPaths(runDir).checkpoints;
  fs.mkdirSync(root, { recursive: true });
  const name = stepDirName(state.step);
  const tmp = path.join(root, `.tmp-${name}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await policy.saveState(path.join(tmp, POLICY_DIR));
  writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify(state, null, 2));
  const final = path.join(root, name);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  const all = listStepCheckpoints(root);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(c.dir, { recursive: true, force: true });
}

interface DocRollout {
  item: number; // index into batch
  seq: SampledSequence;
  prompt: number[];
  verdict: DocVerdict;
  kept: boolean;
  reward: number;
  recs: number[]; // indices into codeRollouts
}
interface CodeRollout {
  doc: number; // index into docRollouts
  seq: SampledSequence;
  prompt: number[];
  text: string; // the reconstruction (signature hint + completion)
  reward: number;
  score: RewardScore | null;
}

// ---------------------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------------------

export async function trainRL(
  opts: TrainerOptions,
): Promise<{ finished: boolean; state: TrainerState; summary?: Record<string, unknown> }> {
  const { config: cfg, policy, reward, runDir, hooks = {} } = opts;
  const rollout: Sampler = opts.rolloutSampler ?? policy;
  const separateSampler = opts.rolloutSampler !== undefined && opts.rolloutSampler !== policy;
  const d = derived(cfg);
  const tok = policy.tokenizer;
  const chat = opts.chat ?? null;
  const train = opts.train;
  if (train.length === 0) throw new Error("no training functions");
  fs.mkdirSync(runDir, { recursive: true });
  const files = runPaths(runDir);
  const needRef = cfg.kl_coef > 0;

  // ---- state: fresh or resumed ----
  let state: TrainerState = {
    step: 0,
    cursor: { epoch: 0, pos: 0 },
    rng: new Rng(hashSeed(cfg.seed, 0x5eed)).getState(),
    elapsed_s: 0,
  };
  let ref: ScoringSampler | null = null;
  const latest = opts.resume ? latestTrainerCheckpoint(runDir) : null;
  if (opts.resume && latest) {
    hooks.onPhase?.(`resuming from ${path.relative(process.cwd(), latest.dir) || latest.dir}`);
    if (needRef) {
      if (!fs.existsSync(files.reference))
        throw new Error(`cannot resume: ${files.reference} (the KL reference) is missing`);
      await policy.loadState(files.reference);
      ref = await policy.snapshotReference();
    }
    await policy.loadState(latest.weights);
    state = JSON.parse(fs.readFileSync(path.join(latest.dir, TRAINER_STATE_FILE), "utf8")) as TrainerState;
    // Anything logged after the checkpoint is redone: drop it so no step appears twice.
    for (const f of [files.metrics, files.samples, files.evals]) truncateJsonlByStep(f, state.step);
  } else {
    for (const f of [files.metrics, files.samples, files.evals, files.summary]) fs.rmSync(f, { force: true });
    fs.rmSync(files.checkpoints, { recursive: true, force: true });
    fs.rmSync(files.benchmarks, { recursive: true, force: true });
    if (needRef) {
      // Keep the starting weights: the frozen KL reference, restorable on resume.
      const tmp = `${files.reference}.tmp`;
      fs.rmSync(tmp, { recursive: true, force: true });
      await policy.saveState(tmp);
      fs.renameSync(tmp, files.reference);
      ref = await policy.snapshotReference();
    }
  }
  // The resolved config of this invocation (a resume may extend max_steps).
  writeFileAtomic(files.config, JSON.stringify(cfg, null, 2) + "\n");
  hooks.onStart?.({ startStep: state.step, maxSteps: cfg.max_steps, resumed: !!latest });

  const cursor = new DataCursor(train.length, cfg.seed, state.cursor);
  const stopIds = specialStopIds(tok);
  const lossSpec: LossSpec = {
    kind: "ppo",
    clipLow: cfg.epsilon,
    clipHigh: d.epsilonHigh,
    klCoef: cfg.use_kl_loss ? cfg.kl_coef : 0,
    klEstimator: cfg.kl_estimator,
    entropyCoef: cfg.entropy_coef,
    aggregation: cfg.loss_agg_mode,
    constantNormalizer: d.constantNormalizer,
    // log-probs of the loss, the ratio and the KL at the SAMPLING temperature (log softmax(logits / T), TRL / verl)
    temperature: cfg.temperature,
  };
  const atT = { temperature: cfg.temperature };

  const runEval = async (step: number) => {
    if (!opts.evaluate) return;
    hooks.onPhase?.(`evaluating at step ${step}`);
    const t0 = Date.now();
    const result = { step, ...(await opts.evaluate(policy, step)), eval_seconds: (Date.now() - t0) / 1000 };
    appendJsonl(files.evals, result);
    hooks.onEval?.(step, result);
  };
  if (state.step === 0 && cfg.eval_at_start && !readJsonl(files.evals).some((r) => r.step === 0)) await runEval(0);

  let stepsThisCall = 0;
  const startWall = Date.now() - state.elapsed_s * 1000;
  while (state.step < cfg.max_steps) {
    if (opts.stopAfterSteps !== undefined && stepsThisCall >= opts.stopAfterSteps) return { finished: false, state };
    const step = state.step + 1;
    const tStep = Date.now();
    const rng = new Rng(hashSeed(cfg.seed, step, 0x57e9));

    // ---- 1. a batch of code samples ----
    const batch = cursor.next(cfg.rollout_batch_size).map((i) => train[i]!);

    // ---- 2. code→doc rollouts: G documentations per code sample ----
    const tSample0 = Date.now();
    const docPrompts = batch.map((c) => code2docPrompt(tok, c.code, c.lang, { chat }));
    const docSamples = await rollout.sample(
      docPrompts.map((prompt, i) => ({
        prompt,
        n: cfg.num_docs_per_code,
        params: {
          maxTokens: cfg.max_doc_tokens,
          temperature: cfg.temperature,
          topP: cfg.top_p,
          topK: cfg.top_k || undefined,
          stopTokenIds: stopIds,
          seed: hashSeed(cfg.seed, step, 1, i),
        },
      })),
    );
    let sampleMs = Date.now() - tSample0;

    // ---- 3. check each documentation (format, leakage) ----
    const tReward0 = Date.now();
    const docs: DocRollout[] = [];
    for (let i = 0; i < batch.length; i++) {
      for (const seq of docSamples[i]!) {
        const text = seq.text.trim();
        const verdict = await reward.checkDoc(text, batch[i]!.code, batch[i]!.lang);
        const kept = (verdict.valid || !cfg.reject_invalid_docs) && !(verdict.leaked && cfg.reject_leaked_docs);
        docs.push({ item: i, seq, prompt: docPrompts[i]!, verdict, kept, reward: 0, recs: [] });
      }
    }
    let rewardMs = Date.now() - tReward0;

    // ---- 4. doc→code rollouts: K reconstructions per kept documentation, from the documentation alone ----
    const tSample1 = Date.now();
    const kept = docs.map((x, j) => ({ x, j })).filter(({ x }) => x.kept);
    const codePrompts = kept.map(({ x }) => {
      const c = batch[x.item]!;
      return doc2codePrompt(tok, x.seq.text.trim(), c.lang, {
        signature: cfg.signature_hint ? c.signature : null,
        chat,
      });
    });
    const codeSamples = kept.length
      ? await rollout.sample(
          codePrompts.map((prompt, k) => ({
            prompt,
            n: cfg.num_codes_per_doc,
            params: {
              maxTokens: d.maxRebuildTokens,
              temperature: cfg.temperature,
              topP: cfg.top_p,
              topK: cfg.top_k || undefined,
              stopTokenIds: stopIds,
              seed: hashSeed(cfg.seed, step, 2, k),
            },
          })),
        )
      : [];
    sampleMs += Date.now() - tSample1;
    const codes: CodeRollout[] = [];
    kept.forEach(({ x, j }, k) => {
      const c = batch[x.item]!;
      const sig = cfg.signature_hint && c.signature ? c.signature : "";
      for (const seq of codeSamples[k]!) {
        x.recs.push(codes.length);
        const body = chat ? chatCodeAnswer(seq.text) : seq.text;
        codes.push({ doc: j, seq, prompt: codePrompts[k]!, text: sig + body, reward: 0, score: null });
      }
    });

    // ---- 5. rewards ----
    const tReward1 = Date.now();
    const scores = await reward.score(
      codes.map((r) => {
        const x = docs[r.doc]!;
        return {
          code: batch[x.item]!.code,
          doc: x.seq.text.trim(),
          rebuilt: r.text,
          lang: batch[x.item]!.lang,
          docCheck: x.verdict,
        };
      }),
    );
    codes.forEach((r, i) => {
      r.score = scores[i]!;
      r.reward =
        (r.score.code ?? r.score.similarity) +
        overlongPenalty(r.seq.tokens.length, d.maxRebuildTokens, cfg.overlong_buffer_len, cfg.overlong_penalty_factor);
    });
    // Reward failures: the share of this step's jobs that failed; past the threshold the run stops, loudly.
    const failed = scores.filter((s) => s.error !== undefined);
    const errorShare = scores.length ? failed.length / scores.length : 0;
    if (failed.length && errorShare > cfg.max_reward_error_rate) {
      throw new Error(
        `step ${step}: ${failed.length} of ${scores.length} reward jobs failed (${(100 * errorShare).toFixed(1)}% > max_reward_error_rate ` +
          `${cfg.max_reward_error_rate}); first: ${failed[0]!.error}`,
      );
    }
    for (const x of docs) {
      let r: number;
      if (!x.kept) {
        const invalidHit = !x.verdict.valid && cfg.reject_invalid_docs;
        const leakHit = x.verdict.leaked && cfg.reject_leaked_docs;
        r = rejectedDocReward({ format: invalidHit, leak: leakHit }, reward.penalties);
      } else {
        const totals = x.recs.map((k) => codes[k]!.score!.total);
        r = cfg.doc_reward_agg === "max" ? Math.max(...totals) : mean(totals);
      }
      x.reward =
        r +
        overlongPenalty(x.seq.tokens.length, cfg.max_doc_tokens, cfg.overlong_buffer_len, cfg.overlong_penalty_factor);
    }
    rewardMs += Date.now() - tReward1;

    // ---- 6. datums, old log-probs, reference log-probs ----
    const tUpd0 = Date.now();
    const docDatums = docs.map((x) => makeDatum(x.prompt, x.seq.tokens, cfg.code2doc_weight));
    const codeDatums = codes.map((r) => makeDatum(r.prompt, r.seq.tokens, cfg.doc2code_weight));
    const seqs = [...docs.map((x) => x.seq), ...codes.map((r) => r.seq)];
    const promptLens = [...docs.map((x) => x.prompt.length), ...codes.map((r) => r.prompt.length)];
    const datums = [...docDatums, ...codeDatums];
    const completionOnly = (row: number[], i: number) => row.slice(promptLens[i]! - 1);
    // With a separate sampler the trainer's own log-probs are the ratio denominator, and the sampler's only weigh
    // each token (truncated importance sampling); the mismatch between the two is logged.
    const samplerLp = seqs.map((s) => s.logprobs.slice());
    const oldLp =
      cfg.old_logprobs === "recompute" || separateSampler
        ? (await policy.computeLogprobs(datums, atT)).map(completionOnly)
        : samplerLp;
    const mismatch = separateSampler ? samplerMismatch(oldLp, samplerLp, cfg.tis_cap) : null;
    const refLp = ref ? (await ref.computeLogprobs(datums, atT)).map(completionOnly) : null;
    const kl = refLp ? oldLp.map((row, i) => row.map((lp, t) => klTerm(cfg.kl_estimator, lp, refLp[i]![t]!).kl)) : null;

    // ---- 7. advantages, per direction, each kind of group apart ----
    const nDoc = docs.length;
    const klInReward = !cfg.use_kl_loss && cfg.kl_coef > 0;
    const advOpts = {
      estimator: cfg.advantage_estimator,
      klCoef: klInReward ? cfg.kl_coef : 0,
      eps: cfg.adv_eps ?? undefined,
    };
    const docAdv = computeAdvantages(
      docs.map(
        (x, i): AdvSample => ({ group: `c${x.item}`, reward: x.reward, nTokens: x.seq.tokens.length, kl: kl?.[i] }),
      ),
      advOpts,
    );
    const codeAdv = codes.length
      ? computeAdvantages(
          codes.map(
            (r, i): AdvSample => ({
              group: `d${r.doc}`,
              reward: r.reward,
              nTokens: r.seq.tokens.length,
              kl: kl?.[nDoc + i],
            }),
          ),
          advOpts,
        )
      : null;
    const advs = [...docAdv.advantages, ...(codeAdv?.advantages ?? [])];
    datums.forEach((dt, i) => {
      const start = promptLens[i]! - 1;
      const pad = (xs: number[]) => [...new Array<number>(start).fill(0), ...xs];
      // float32, as every training service carries loss inputs (Tinker's wire): the same numbers in-process and remote.
      const tis = mismatch?.weights?.[i];
      dt.lossInputs.advantages = pad(advs[i]!.map((a, t) => Math.fround(tis ? a * tis[t]! : a)));
      dt.lossInputs.samplingLogprobs = pad(oldLp[i]!);
      if (refLp && cfg.use_kl_loss) dt.lossInputs.refLogprobs = pad(refLp[i]!);
    });

    // ---- 8. policy updates: ppo_epochs × num_mini_batches ----
    const fbMetrics: Record<string, number>[] = [];
    let gradNorm = 0;
    let lossSum = 0;
    const adam: AdamParams = {
      learningRate: lrAt(step - 1, {
        peakLr: cfg.learning_rate,
        warmupSteps: cfg.warmup_steps,
        totalSteps: cfg.max_steps,
        minLrRatio: 1,
      }),
      beta1: cfg.adam_beta1,
      beta2: cfg.adam_beta2,
      eps: cfg.adam_eps,
      weightDecay: cfg.weight_decay,
      maxGradNorm: cfg.max_grad_norm,
    };
    const isTrainable = datums.map((dt) => dt.lossInputs.weights.some((w) => w > 0));
    const trainable = datums.filter((_, i) => isTrainable[i]);
    const trainableDir = datums
      .map((_, i): Direction => (i < docs.length ? "code2doc" : "doc2code"))
      .filter((_, i) => isTrainable[i]);
    let nUpdates = 0;
    for (let epoch = 0; epoch < cfg.ppo_epochs; epoch++) {
      const order = rng.shuffle(trainable.map((_, i) => i));
      const nMb = Math.min(cfg.num_mini_batches, order.length);
      for (let m = 0; m < nMb; m++) {
        const mbIdx = order.filter((_, k) => k % nMb === m);
        if (mbIdx.length === 0) continue;
        const mb = cfg.loss_norm_per_direction
          ? // weights in float32, as a training service's wire carries them: the same numbers in-process and remote
            reweightByDirection(
              mbIdx.map((k) => trainable[k]!),
              mbIdx.map((k) => trainableDir[k]!),
              cfg.loss_agg_mode,
            ).map((dt) => ({
              ...dt,
              lossInputs: { ...dt.lossInputs, weights: dt.lossInputs.weights.map(Math.fround) },
            }))
          : mbIdx.map((k) => trainable[k]!);
        const fb = await policy.forwardBackward(mb, lossSpec);
        const os = await policy.optimStep(adam);
        fbMetrics.push(fb.metrics);
        lossSum += fb.loss;
        gradNorm += os.gradNorm;
        nUpdates++;
      }
    }
    const updateMs = Date.now() - tUpd0;

    // ---- 9. metrics, samples, checkpoint, eval ----
    const docR = docs.map((x) => x.reward);
    const codeR = codes.map((r) => r.reward);
    const compKeys = new Set<string>();
    for (const r of codes) for (const k of Object.keys(r.score!.components)) compKeys.add(k);
    const genTokens = seqs.reduce((a, s) => a + s.tokens.length, 0);
    const trainTokens = trainable.reduce((a, dt) => a + dt.modelInput.length, 0) * cfg.ppo_epochs;
    const fbMean = (k: string) => mean(fbMetrics.map((m) => m[k]).filter((v): v is number => typeof v === "number"));
    const stepMs = Date.now() - tStep;
    const metrics: StepMetrics = {
      step,
      lr: adam.learningRate,
      [METRIC_KEYS.rewardCode2Doc]: mean(docR),
      "reward/code2doc/std": std(docR),
      [METRIC_KEYS.rewardDoc2Code]: codeR.length ? mean(codeR) : NaN,
      "reward/doc2code/std": codeR.length ? std(codeR) : NaN,
      "reward/doc2code/similarity": codes.length ? mean(codes.map((r) => r.score!.similarity)) : NaN,
      // behaviour (mean over rebuilds of executable originals), static metric (all rebuilds), share executable
      "reward/behaviour": meanOf(codes.map((r) => r.score!.components.behaviour)),
      "reward/static": meanOf(codes.map((r) => r.score!.components.static)),
      "reward/executable_share": meanOf(codes.map((r) => r.score!.components.executable)),
      "reward/errors": errorShare,
      "reward/kept_doc/mean": kept.length ? mean(kept.map(({ x }) => x.reward)) : NaN,
      [METRIC_KEYS.docValidRate]: mean(docs.map((x) => (x.verdict.valid ? 1 : 0))),
      [METRIC_KEYS.docLeakRate]: mean(docs.map((x) => (x.verdict.leaked ? 1 : 0))),
      "doc/leak_fraction": mean(docs.map((x) => x.verdict.leakFraction)),
      "doc/kept_rate": kept.length / docs.length,
      "len/doc_mean": mean(docs.map((x) => x.seq.tokens.length)),
      "len/doc_truncated": mean(docs.map((x) => (x.seq.finishReason === "length" ? 1 : 0))),
      "len/code_mean": codes.length ? mean(codes.map((r) => r.seq.tokens.length)) : NaN,
      "len/code_truncated": codes.length ? mean(codes.map((r) => (r.seq.finishReason === "length" ? 1 : 0))) : NaN,
      "adv/code2doc/zero_std_groups": docAdv.stats.zero_std_group_frac,
      "adv/doc2code/zero_std_groups": codeAdv ? codeAdv.stats.zero_std_group_frac : NaN,
      kl: kl ? mean(kl.flat()) : 0,
      "kl/code2doc": kl ? mean(kl.slice(0, nDoc).flat()) : 0,
      "kl/doc2code": kl && codes.length ? mean(kl.slice(nDoc).flat()) : 0,
      // Entropy: the loss's exact entropy when the bonus is on, else the sampled-token estimate -mean log p.
      entropy: cfg.entropy_coef > 0 ? fbMean("entropy") : -mean(oldLp.flat()),
      loss: nUpdates ? lossSum / nUpdates : NaN,
      grad_norm: nUpdates ? gradNorm / nUpdates : NaN,
      clip_fraction: fbMean("clip_fraction"),
      ratio_mean: fbMean("ratio_mean"),
      approx_kl_old: fbMean("approx_kl_old"),
      ...(mismatch ? mismatch.metrics : {}),
      "tokens/generated": genTokens,
      "tokens/trained": trainTokens,
      tokens_per_s: (genTokens + trainTokens) / Math.max(1e-3, stepMs / 1000),
      "time/sampling_s": sampleMs / 1000,
      "time/reward_s": rewardMs / 1000,
      "time/update_s": updateMs / 1000,
      [METRIC_KEYS.stepSeconds]: stepMs / 1000,
      "time/elapsed_s": (Date.now() - startWall) / 1000,
      epoch: cursor.state.epoch,
    };
    for (const k of compKeys)
      metrics[`reward/component/${k}`] = mean(
        codes.map((r) => r.score!.components[k]).filter((v): v is number => typeof v === "number"),
      );
    appendJsonl(files.metrics, metrics);
    for (let s = 0; s < Math.min(cfg.log_samples_per_step, batch.length); s++) {
      const x = docs.find((dd) => dd.item === s)!;
      const c = batch[s]!;
      const best = x.recs.length ? x.recs.map((k) => codes[k]!).reduce((a, b) => (b.reward > a.reward ? b : a)) : null;
      appendJsonl(files.samples, {
        step,
        id: c.id,
        lang: c.lang,
        code: c.code,
        doc: x.seq.text.trim(),
        doc_valid: x.verdict.valid,
        doc_violations: x.verdict.violations,
        doc_leaked: x.verdict.leaked,
        doc_reward: x.reward,
        doc2code_prompt: best
          ? promptText("doc2code", x.seq.text.trim(), c.lang, cfg.signature_hint ? c.signature : null, { chat })
          : null,
        rebuilt: best?.text ?? null,
        rebuilt_similarity: best?.score?.similarity ?? null,
        rebuilt_reward: best?.reward ?? null,
        rebuilt_components: best?.score?.components ?? null,
      });
    }
    state = { step, cursor: { ...cursor.state }, rng: rng.getState(), elapsed_s: (Date.now() - startWall) / 1000 };
    hooks.onStep?.(metrics);
    stepsThisCall++;
    if (cfg.eval_steps > 0 && step % cfg.eval_steps === 0 && step < cfg.max_steps) await runEval(step);
    if ((cfg.save_steps > 0 && step % cfg.save_steps === 0) || step === cfg.max_steps) {
      hooks.onPhase?.(`checkpoint at step ${step}`);
      await saveCheckpoint(runDir, policy, state, cfg.keep_checkpoints);
    }
  }

  if (cfg.eval_at_end && !readJsonl(files.evals).some((r) => r.step === cfg.max_steps)) await runEval(cfg.max_steps);
  const metrics = readJsonl<StepMetrics>(files.metrics);
  const evals = readJsonl(files.evals);
  const lastK = metrics.slice(-Math.max(1, Math.ceil(metrics.length / 5)));
  const avg = (k: string) =>
    mean(lastK.map((m) => m[k]).filter((v): v is number => typeof v === "number" && Number.isFinite(v)));
  const summary = {
    run_name: cfg.run_name,
    steps: state.step,
    elapsed_s: state.elapsed_s,
    final_window_steps: lastK.length,
    final: {
      [METRIC_KEYS.rewardCode2Doc]: avg(METRIC_KEYS.rewardCode2Doc),
      [METRIC_KEYS.rewardDoc2Code]: avg(METRIC_KEYS.rewardDoc2Code),
      [METRIC_KEYS.docValidRate]: avg(METRIC_KEYS.docValidRate),
      [METRIC_KEYS.docLeakRate]: avg(METRIC_KEYS.docLeakRate),
      [METRIC_KEYS.kl]: avg(METRIC_KEYS.kl),
    },
    first_eval: evals[0] ?? null,
    last_eval: evals.at(-1) ?? null,
    final_checkpoint: latestTrainerCheckpoint(runDir)?.dir ?? null,
  };
  writeFileAtomic(files.summary, JSON.stringify(summary, null, 2));
  return { finished: true, state, summary };
}
