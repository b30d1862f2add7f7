/**
 * The RL trainer's configuration: ONE zod schema, TRL / OpenRLHF / verl-familiar names, every field with a
 * default. `parseConfig(raw)` returns a validated object or throws a UserError listing every bad field; the
 * layering of defaults < saved run config < config file < `--set key=value` lives in src/orchestration/config.ts.
 */
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { ADVANTAGE_ESTIMATORS } from "./advantages.js";

/** A removed option: accepted by name only to fail with a message that names its replacement. */
const removed = (name: string, use: string) =>
  z.undefined({ error: `'${name}' was removed: documentation penalties have one set of knobs; use ${use}` }).optional();
/**
 * The benchmarks `batcoder train --model` evaluates before and after RL when `eval_benchmarks` is null: pass@1 on
 * HumanEval, MBPP and MultiPL-E Ruby / Go / Lua (names as `batcoder eval --benchmark` takes them).
 */
export const OWN_MODEL_BENCHMARKS = ["humaneval", "mbpp", "multipl-e:rb", "multipl-e:go", "multipl-e:lua"] as const;
/** A list option: a JSON array, or (from `--set key=a,b`) one comma-separated string. */
const commaList = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : v;
const posInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .positive(`${what} must be > 0`);
const nonNegInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(0, `${what} must be >= 0`);
const nonNeg = (what: string) => z.number({ error: `${what} must be a number` }).min(0, `${what} must be >= 0`);

export const RLConfigSchema = z
  .object({
    // ---- run ----
    run_name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "run_name may only contain letters, digits, '.', '_' and '-'")
      .default("batcoder-rl"),
    output_dir: z.string().min(1).default("runs"),
    seed: nonNegInt("seed").default(42),
    /** Checkpoint directory of the policy to start from (a warm-start or any saved policy). */
    init_from: z.string().nullable().default(null),

    // ---- data (code only; documentation in the corpus is never used by RL) ----
    corpus: z.string().min(1).default("data/corpus/exec"),
    train_split: z.string().default("train"),
    eval_split: z.string().default("test"),
    languages: z.array(z.string()).nullable().default(null),
    min_code_tokens: nonNegInt("min_code_tokens").default(8),
    max_code_tokens: posInt("max_code_tokens").default(192),

    // ---- rollouts ----
    max_steps: posInt("max_steps").default(30),
    /** Code samples per step (TRL: per-step prompts; OpenRLHF: rollout_batch_size). */
    rollout_batch_size: posInt("rollout_batch_size").default(8),
    /** G: documentations sampled per code sample (TRL num_generations / OpenRLHF n_samples_per_prompt). */
    num_docs_per_code: posInt("num_docs_per_code").default(4),
    /** K: reconstructions sampled per kept documentation. */
    num_codes_per_doc: posInt("num_codes_per_doc").default(2),
    temperature: z
      .number()
      .positive("temperature must be > 0 for RL sampling (use eval for greedy)")
      .max(5)
      .default(0.6),
    top_p: z.number().gt(0, "top_p must be in (0, 1]").max(1, "top_p must be in (0, 1]").default(1.0),
    top_k: nonNegInt("top_k").default(0),
    max_doc_tokens: posInt("max_doc_tokens").default(64),
    /** Max tokens of a reconstruction (defaults to max_code_tokens + 16 when null). */
    max_rebuild_tokens: posInt("max_rebuild_tokens").nullable().default(null),
    /** Put the function signature after <|code|> in doc→code prompts (a hint; off = the pure method). */
    signature_hint: z.boolean().default(false),

    // ---- reward ----
    reward_metric: z.enum(["bleu", "codebleu", "dfg", "exact"]).default("codebleu"),
    /** How a documentation's reward aggregates its reconstructions' rewards. */
    doc_reward_agg: z.enum(["mean", "max"]).default("mean"),
    /** Removed: one knob set controls the documentation penalties (reward_options.formatPenalty / leakPenalty). */
    invalid_doc_reward: removed(
      "invalid_doc_reward",
      "reward_options.formatPenalty (a positive penalty: invalid_doc_reward=-0.1 is formatPenalty=0.1)",
    ),
    leaked_doc_reward: removed(
      "leaked_doc_reward",
      "reward_options.leakPenalty (a positive penalty: leaked_doc_reward=-0.5 is leakPenalty=0.5)",
    ),
    /**
     * Reject documentation that breaks the format before reconstruction (the method's rule). When false, it is
     * reconstructed anyway and only penalised through the reward module's format gate/penalty — useful when a
     * weak warm start rarely writes the exact format.
     */
    reject_invalid_docs: z.boolean().default(true),
    /** Reject leaking documentation before reconstruction (else it is only penalised through the reward). */
    reject_leaked_docs: z.boolean().default(true),
    /** Soft overlong penalty (DAPO / verl names): linear ramp over the last overlong_buffer_len tokens. */
    overlong_buffer_len: nonNegInt("overlong_buffer_len").default(0),
    overlong_penalty_factor: nonNeg("overlong_penalty_factor").default(1.0),
    /**
     * Extra options handed to the similarity module's reward() (RewardConfigSchema there: mode, penalties,
     * syntaxErrors, ...), and `behaviour` = {enabled, weight, inputs, seed, call_ms, workers} for the behavioural
     * term (src/rl/reward.ts: sim = weight·behaviour + (1 − weight)·static where the original is executable).
     */
    reward_options: z.record(z.string(), z.unknown()).default({}),
    /**
     * Largest share of a step's reward jobs that may fail in an expected way (an unusable original) before the run
     * stops with an error; failures are logged per step as `reward/errors`. Internal errors always stop the run.
     */
    max_reward_error_rate: z.number().min(0).max(1).default(0.2),
    reward_workers: nonNegInt("reward_workers").default(0),

    // ---- advantages / loss ----
    /**
     * Default `reinforce_pp` (the paper's choice) does NOT use the group structure: it whitens returns over the
     * whole batch of a direction, with no per-function / per-documentation baseline. `reinforce_pp_baseline`,
     * `grpo`, `dr_grpo` and `rloo` subtract a group baseline (documentations of one function; reconstructions of
     * one documentation). The default was not re-chosen on the validation split after the behaviour reward.
     */
    advantage_estimator: z.enum(ADVANTAGE_ESTIMATORS).default("reinforce_pp"),
    adv_eps: z.number().positive().nullable().default(null),
    /** KL coefficient (TRL beta, OpenRLHF init_kl_coef). */
    kl_coef: nonNeg("kl_coef").default(0.01),
    kl_estimator: z.enum(["k1", "k2", "k3"]).default("k1"),
    /** KL as a loss term (GRPO style) instead of folded into the reward (REINFORCE++ style). */
    use_kl_loss: z.boolean().default(false),
    /** PPO clip ratio (TRL epsilon / OpenRLHF eps_clip) and the clip-higher bound (TRL epsilon_high). */
    epsilon: z.number().gt(0, "epsilon must be > 0").lt(1, "epsilon must be < 1").default(0.2),
    epsilon_high: z.number().gt(0, "epsilon_high must be > 0").nullable().default(null),
    loss_agg_mode: z.enum(["token-mean", "seq-mean-token-mean", "seq-sum-constant"]).default("token-mean"),
    /** Dr.GRPO's constant normaliser for seq-sum-constant (defaults to max_rebuild_tokens). */
    loss_constant_normalizer: posInt("loss_constant_normalizer").nullable().default(null),
    entropy_coef: nonNeg("entropy_coef").default(0),
    /** Optimisation epochs over each batch (TRL num_iterations, OpenRLHF max_epochs). */
    ppo_epochs: posInt("ppo_epochs").default(1),
    num_mini_batches: posInt("num_mini_batches").default(1),
    /**
     * Denominator of the importance ratio. All log-probs of RL (ratio, loss, KL) are of softmax(logits / T) at
     * the sampling temperature T, as in TRL / verl. "sampler": the log-probs the sampler returned (the embedded
     * engine reports exactly those; saves one forward pass, ~20% of a step); "recompute": a forward pass at T
     * before the update (for backends whose sampler reports log-probs of another distribution).
     */
    old_logprobs: z.enum(["recompute", "sampler"]).default("sampler"),
    /**
     * Normalise the loss per direction: each direction present in a mini-batch weighs the same, whatever its
     * token count (token-mean) or sequence count (seq-* modes), so the code direction's longer and more numerous
     * sequences do not drown the documentation direction. `code2doc_weight` / `doc2code_weight` act on top.
     */
    loss_norm_per_direction: z.boolean().default(true),
    /**
     * Truncated importance sampling cap, used when rollouts come from a separate sampler (--sampler-url): each
     * token's advantage is weighted by min(pi_trainer / pi_sampler, tis_cap) and the trainer's own log-probs are
     * the ratio denominator. 0 disables the correction (the mismatch is still logged).
     */
    tis_cap: nonNeg("tis_cap").default(2),
    code2doc_weight: nonNeg("code2doc_weight").default(1),
    doc2code_weight: nonNeg("doc2code_weight").default(1),

    // ---- optimiser ----
    learning_rate: z.number().positive("learning_rate must be > 0").max(1, "learning_rate must be <= 1").default(5e-5),
    warmup_steps: nonNegInt("warmup_steps").default(0),
    adam_beta1: z.number().min(0).lt(1).default(0.9),
    adam_beta2: z.number().min(0).lt(1).default(0.99),
    adam_eps: z.number().positive().default(1e-8),
    weight_decay: nonNeg("weight_decay").default(0),
    max_grad_norm: nonNeg("max_grad_norm").default(1.0),

    // ---- bookkeeping / eval ----
    save_steps: nonNegInt("save_steps").default(10),
    keep_checkpoints: posInt("keep_checkpoints").default(2),
    log_samples_per_step: nonNegInt("log_samples_per_step").default(2),
    eval_steps: nonNegInt("eval_steps").default(10),
    eval_size: posInt("eval_size").default(200),
    eval_at_start: z.boolean().default(true),
    eval_at_end: z.boolean().default(true),
    /** Decoding temperature of the held-out evaluation (0 = greedy, the default; >0 = seeded sampling). */
    eval_temperature: z.number().min(0).max(2).default(0),
    /** Behavioural headline metrics of held-out rebuilds (sandboxed; src/behaviour). */
    eval_behaviour: z.boolean().default(true),
    /** Sampling batch size for eval (prompts per sample() call). */
    eval_batch_size: posInt("eval_batch_size").default(32),
    /**
     * Benchmarks whose pass@1 the eval harness (src/eval; sandboxed execution, greedy) measures at the first and
     * the last evaluation, e.g. ["humaneval", "multipl-e:rb"]. null = the command's default: OWN_MODEL_BENCHMARKS
     * for `train --model`, none for the embedded model (`train`, `rl`). [] = none.
     */
    eval_benchmarks: z
      .preprocess(
        commaList,
        z
          .array(z.string().min(1, "eval_benchmarks: a benchmark name is empty"), {
            error: 'eval_benchmarks must be a list of benchmark names, e.g. ["humaneval","mbpp"]',
          })
          .refine((a) => new Set(a.map((x) => x.trim().toLowerCase())).size === a.length, {
            error: "eval_benchmarks lists a benchmark twice",
          })
          .nullable(),
      )
      .default(null),
    /**
     * Removed: one benchmark became a list. null (what older runs' config.resolved.json hold) is still accepted so
     * that they resume; a name fails with a message naming the replacement.
     */
    eval_benchmark: z
      .null({
        error:
          "'eval_benchmark' was removed: the held-out benchmarks are a list; use eval_benchmarks " +
          '(eval_benchmark=humaneval is eval_benchmarks=["humaneval"])',
      })
      .optional(),
    /** Only the first N tasks of each of eval_benchmarks (null = all). */
    eval_benchmark_limit: posInt("eval_benchmark_limit").nullable().default(null),
    /**
     * Prompt format of eval_benchmarks: "instruct" = the task as a user message through the model's own chat
     * template (a UserError when the model has none), "completion" = the benchmark's prompt continued, "auto" =
     * instruct when the model has a chat template, else completion.
     */
    eval_benchmark_format: z.enum(["auto", "instruct", "completion"]).default("auto"),
    /** Max generated tokens per benchmark task (null = 512, `batcoder eval`'s default). */
    eval_benchmark_max_tokens: posInt("eval_benchmark_max_tokens").nullable().default(null),
  })
  .strict()
  .superRefine((c, ctx) => {
    const groupEst = ["grpo", "dr_grpo", "rloo", "reinforce_pp_baseline"].includes(c.advantage_estimator);
    if (groupEst && c.num_docs_per_code < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["num_docs_per_code"],
        message: `advantage_estimator '${c.advantage_estimator}' compares samples within a group: num_docs_per_code must be >= 2 (got ${c.num_docs_per_code})`,
      });
    }
    if (groupEst && c.num_codes_per_doc < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["num_codes_per_doc"],
        message: `advantage_estimator '${c.advantage_estimator}' compares samples within a group: num_codes_per_doc must be >= 2 (got ${c.num_codes_per_doc})`,
      });
    }
    if (c.min_code_tokens > c.max_code_tokens) {
      ctx.addIssue({
        code: "custom",
        path: ["min_code_tokens"],
        message: `min_code_tokens (${c.min_code_tokens}) exceeds max_code_tokens (${c.max_code_tokens})`,
      });
    }
    if (c.code2doc_weight === 0 && c.doc2code_weight === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["code2doc_weight"],
        message: "code2doc_weight and doc2code_weight are both 0: nothing would be trained",
      });
    }
    const nSeq = c.rollout_batch_size * c.num_docs_per_code;
    if (c.num_mini_batches > nSeq) {
      ctx.addIssue({
        code: "custom",
        path: ["num_mini_batches"],
        message: `num_mini_batches (${c.num_mini_batches}) exceeds the ${nSeq} documentation samples per step`,
      });
    }
  });

export type RLConfig = z.infer<typeof RLConfigSchema>;
export type RLConfigInput = z.input<typeof RLConfigSchema>;

/** Formats zod issues as "field: message" lines. */
export function formatIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.length ? i.path.join(".") : "(config)";
      let msg = i.message;
      if (i.code === "unrecognized_keys")
        msg = `unknown option(s) ${(i as { keys: string[] }).keys.map((k) => `'${k}'`).join(", ")}`;
      return `  ${where}: ${msg}`;
    })
    .join("\n");
}

/** Validates a raw object; throws UserError with every problem listed. */
export function parseConfig(raw: unknown, source = "config"): RLConfig {
  const r = RLConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(`invalid ${source}:\n${formatIssues(r.error)}`);
  // the removed eval_benchmark, accepted as null only so that older runs resume: not carried on
  const { eval_benchmark: _gone, ...cfg } = r.data;
  return cfg;
}

/** Derived values used by the trainer. */
export function derived(c: RLConfig) {
  const maxRebuild = c.max_rebuild_tokens ?? c.max_code_tokens + 16;
  return {
    maxRebuildTokens: maxRebuild,
    epsilonHigh: c.epsilon_high ?? c.epsilon,
    constantNormalizer: c.loss_constant_normalizer ?? Math.max(maxRebuild, c.max_doc_tokens),
  };
}
