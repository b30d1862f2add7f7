/**
 * The one interface the trainer, the evaluator and the server talk to.
 *
 * Shaped after the Tinker training primitives (sample, forward_backward,
 * optim_step, save/load state) so that the embedded CPU engine is one
 * implementation and a remote GPU service can be another, without the RL
 * loop knowing which it has.
 *
 * Everything here is plain data: token ids are numbers, per-token values are
 * arrays aligned with the completion tokens.
 */

/** Text <-> token ids. Implementations must round-trip arbitrary UTF-8 exactly. */
export interface TokenizerLike {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** id of a special token such as "<|eos|>", or undefined if the vocabulary lacks it. */
  tokenId(special: string): number | undefined;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId: number;
}

export interface SamplingParams {
  maxTokens: number;
  /** 0 means greedy. */
  temperature: number;
  topP?: number;
  topK?: number;
  /** Generation ends (and the completion is cut) at the first of these strings. */
  stop?: string[];
  /** Token ids that end generation (EOS is always one). */
  stopTokenIds?: number[];
  seed?: number;
}

export interface SampleRequest {
  /** Prompt token ids (already templated and tokenized). */
  prompt: number[];
  /** Number of independent samples for this prompt. */
  n: number;
  params: SamplingParams;
}

export type FinishReason = "stop" | "length";

export interface SampledSequence {
  /** Completion token ids (without the prompt; includes a stop token if one ended it). */
  tokens: number[];
  /** log p(token) under the sampling weights, one per completion token. */
  logprobs: number[];
  /** Decoded completion, cut at the first stop string (the stop string itself is removed). */
  text: string;
  finishReason: FinishReason;
}

/**
 * One training example, as Tinker's Datum: the full token sequence the model
 * sees (prompt + completion) and per-position inputs to the loss. All arrays in
 * `lossInputs` are aligned with `targetTokens` (= modelInput shifted by one),
 * i.e. position t predicts targetTokens[t] from modelInput[0..t].
 */
export interface Datum {
  modelInput: number[];
  lossInputs: {
    targetTokens: number[];
    /** 0/1 (or fractional) mask: which positions count in the loss (completion tokens). */
    weights: number[];
    /** Per-token advantages (policy-gradient losses). */
    advantages?: number[];
    /** log-probs under the policy that sampled the data (importance ratio denominator). */
    samplingLogprobs?: number[];
    /** log-probs under the frozen reference model (KL penalty). */
    refLogprobs?: number[];
  };
}

/** Which loss forward_backward computes; the math lives in src/core/losses.ts. */
export type LossSpec =
  | { kind: "cross_entropy"; aggregation?: Aggregation }
  | {
      kind: "ppo";
      /** clip ratio to [1 - clipLow, 1 + clipHigh] (DAPO-style asymmetric clip when they differ). */
      clipLow: number;
      clipHigh: number;
      /** KL-to-reference coefficient applied as a loss term (0 disables; KL-in-reward is done by the trainer). */
      klCoef: number;
      klEstimator: "k1" | "k2" | "k3";
      /** Entropy bonus coefficient (0 disables). */
      entropyCoef: number;
      aggregation: Aggregation;
      /** Dr.GRPO's constant normaliser (tokens) for aggregation "seq-sum-constant". */
      constantNormalizer?: number;
      /** Sampling temperature: log-probs of softmax(logits / temperature) (TRL / verl); default 1. */
      temperature?: number;
    }
  | { kind: "importance_sampling"; aggregation: Aggregation; temperature?: number };

/**
 * token-mean: mean over all valid tokens of the batch (DAPO / TRL "dapo" style)
 * seq-mean-token-mean: mean over sequences of each sequence's token mean (GRPO original)
 * seq-sum-constant: sum over tokens / (constantNormalizer * nSeq) (Dr.GRPO)
 * sum: plain sum of the weighted per-token terms (Tinker's built-in losses; cross_entropy = sum(-logp * weights))
 */
export type Aggregation = "token-mean" | "seq-mean-token-mean" | "seq-sum-constant" | "sum";

export interface ForwardBackwardResult {
  /** Scalar loss averaged as the spec says. */
  loss: number;
  /** Per-datum, per-position log-probs of the target tokens under the current weights. */
  logprobs: number[][];
  /** Diagnostics: e.g. clip_fraction, kl, entropy, ratio_mean, tokens. */
  metrics: Record<string, number>;
}

export interface AdamParams {
  learningRate: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this value before the step (0 disables). */
  maxGradNorm: number;
}

export interface OptimStepResult {
  gradNorm: number;
  step: number;
}

export interface PolicyInfo {
  /** e.g. "embedded", "openai-http", "tinker". */
  backend: string;
  modelName: string;
  nParams?: number;
  contextLength: number;
}

/** Sampling-only view: enough for evaluation and serving. */
export interface Sampler {
  readonly info: PolicyInfo;
  readonly tokenizer: TokenizerLike;
  sample(requests: SampleRequest[]): Promise<SampledSequence[][]>;
}

export interface LogprobOptions {
  /** Log-probs of softmax(logits / temperature); default 1. */
  temperature?: number;
}

/** A sampler that also scores datums (a frozen reference snapshot). */
export type ScoringSampler = Sampler & { computeLogprobs(datums: Datum[], opts?: LogprobOptions): Promise<number[][]> };

/** The full training interface (Tinker-shaped). */
export interface Policy extends Sampler {
  /**
   * Per-token log-probs of targetTokens under the current weights (no gradients), of softmax(logits / T) with
   * T = `opts.temperature` (default 1; RL passes its sampling temperature, as TRL / verl do).
   */
  computeLogprobs(datums: Datum[], opts?: LogprobOptions): Promise<number[][]>;
  /** Accumulates gradients of the loss over the datums; call optimStep to apply them. */
  forwardBackward(datums: Datum[], loss: LossSpec): Promise<ForwardBackwardResult>;
  /** Applies (and clears) the accumulated gradients. */
  optimStep(adam: AdamParams): Promise<OptimStepResult>;
  /** Full training state (weights, optimizer, RNG) into a directory; atomic. */
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
  /** A frozen copy of the current weights for reference log-probs (KL). */
  snapshotReference(): Promise<ScoringSampler>;
  close?(): Promise<void>;
}
