import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { type BaseDtypeChoice, parseBaseDtype } from "../../backends/model-ref.js";
import { applyLimit, COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli, toInt } from "../../orchestration/config.js";
import { checkCorpusUsable } from "../../orchestration/items.js";
import { beforeAfterTable, runRL } from "../../orchestration/rl-run.js";
import { warmStart } from "../../orchestration/warmstart.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { RUN_FILES, runPaths } from "../../core/runs.js";
import { renderReport } from "../../report/report.js";
import { LAYER_TARGETS, LORA_TARGETS, type LoraTarget } from "../../engine/lora.js";

export const help = `batcoder train [options]

The BatCoder method end to end on the bundled corpus and the embedded model:
  1. tokenizer + causal-LM pretraining, 2. SFT warm start on naturally occurring (code, doc) pairs in both
  directions (both cached under .cache/warmstart/<hash>/), 3. back-translation RL on code alone,
then a before/after table on held-out functions and an HTML report (runs/NAME/report.html).

Options:
${COMMON_HELP}
  --no-report          skip the HTML report
  --model REF          start from your own model instead of the warm start (no pretraining, no SFT): an HF
                       folder, a hub id in the HF cache, a .gguf file or a batcoder checkpoint
  --lora-rank R        with --model: train a LoRA adapter of rank R (alpha 2R) on q/k/v/o/gate/up/down with a
                       frozen base; 0 = full fine-tuning                                              [16]
  --lora-targets LIST  with --model and LoRA: the modules the adapter covers, comma-separated, among q_proj,
                       k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj and lm_head (the unembedding; on a
                       model with tied embeddings only the output projection is adapted)
                                                         [q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj]
  --allow-download     with --model: let a hub id missing from the HF cache be downloaded into it
  --base-dtype T       with --model and LoRA: storage of the frozen base's weight matrices, computed in f32:
                       auto (matrices stored as BF16/F16 in the source stay 16-bit: half the memory, exact;
                       F32/quantised sources f32), bf16 / f16 (f32 sources rounded: half the memory, a slightly
                       different model) or f32. Full fine-tuning (--lora-rank 0) is always f32.        [auto]
  --limit N            quick mode (a smoke run): at most N tasks per held-out benchmark, N held-out functions,
                       N RL steps and 128 generated tokens per benchmark task; prints what it changed

Prompts for --model go through the model's own chat template when it has one (both directions, rollouts and the
held-out evaluation); a model without one gets batcoder's plain prompt format. A --model run records its model and
LoRA settings in runs/NAME/model.json: \`--resume --run-name NAME\` continues it from them (no --model needed).

Held-out benchmarks (eval_benchmarks): pass@1 before and after RL, greedy, generated code run in the sandbox,
per-task results in runs/NAME/eval/benchmarks/. With --model the default is HumanEval, MBPP and MultiPL-E
Ruby / Go / Lua in the instruct format (the model's own chat template; eval_benchmark_format=auto|instruct|
completion); without --model none unless configured. --set eval_benchmarks=humaneval,multipl-e:rb picks others
(names as batcoder eval --benchmark takes them), --set eval_benchmarks=[] turns them off,
--set eval_benchmark_limit=N keeps the first N tasks of each.

Examples:
  batcoder train
  batcoder train --steps 10 --set rollout_batch_size=4 --run-name quick
  batcoder train --model ~/models/Qwen2.5-Coder-0.5B-Instruct --limit 5      # a smoke run of your own model
  batcoder train --config configs/grpo.json --set warmstart.sft_steps=100`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        "no-report": { type: "boolean" },
        model: { type: "string" },
        "lora-rank": { type: "string" },
        "lora-targets": { type: "string" },
        "allow-download": { type: "boolean" },
        "base-dtype": { type: "string" },
        limit: { type: "string" },
      },
      allowPositionals: false,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const resolved = resolveCli(v);
  const { ws } = resolved;
  let { rl } = resolved;
  const log = makeLogger(!!v.quiet);
  const limit = toInt("limit", v.limit);
  if (limit !== undefined) {
    const capped = applyLimit(rl, limit);
    rl = capped.rl;
    log(
      `--limit ${limit} (quick mode): ${capped.changes.length ? capped.changes.join(", ") : "nothing to lower (every cap is already ≤ the limit)"}`,
    );
  }
  const t0 = Date.now();
  // Fail fast on an unusable corpus, before any training.
  const stats = checkCorpusUsable(rl.corpus, rl.train_split, rl.languages);
  log(
    `corpus ${rl.corpus}: ${stats.train} training functions (${stats.withDoc} with documentation for the warm start)`,
  );
  // --resume of a `--model` run: the model and LoRA settings come from the run directory
  const saved = readOwnModel(path.join(rl.output_dir, rl.run_name));
  if (v.resume && saved) {
    if (v.model !== undefined && v.model !== saved.model)
      throw new UserError(
        `--resume: run ${rl.run_name} trained --model ${saved.model}, not ${v.model} (leave --model out to continue it)`,
      );
    const r = v["lora-rank"] as string | undefined;
    if (r !== undefined && toLoraRank(r) !== saved.lora_rank)
      throw new UserError(`--resume: run ${rl.run_name} trains LoRA rank ${saved.lora_rank}, not ${r}`);
    const lt = v["lora-targets"] as string | undefined;
    if (lt !== undefined && toLoraTargets(lt).join(",") !== saved.lora_targets.join(","))
      throw new UserError(`--resume: run ${rl.run_name} trains LoRA on ${saved.lora_targets.join(",")}, not ${lt}`);
    const bd = v["base-dtype"] as string | undefined;
    if (bd !== undefined && saved.base_dtype !== undefined && bd !== saved.base_dtype)
      throw new UserError(`--resume: run ${rl.run_name} keeps its base in ${saved.base_dtype}, not ${bd}`);
    return trainOwnModel(
      saved.model,
      {
        ...v,
        "lora-rank": String(saved.lora_rank),
        "lora-targets": saved.lora_targets.join(","),
        ...(saved.base_dtype !== undefined ? { "base-dtype": saved.base_dtype } : {}),
      },
      rl,
      log,
      t0,
    );
  }
  if (v.resume && v.model !== undefined)
    throw new UserError(`--resume: run ${rl.run_name} was not a --model run (no ${RUN_FILES.ownModel}); drop --model`);
  if (v.model !== undefined) return trainOwnModel(v.model, v, rl, log, t0);
  if (
    v["lora-rank"] !== undefined ||
    v["lora-targets"] !== undefined ||
    v["allow-download"] ||
    v["base-dtype"] !== undefined
  )
    throw new UserError("--lora-rank, --lora-targets, --allow-download and --base-dtype apply only with --model");
  const { policy, info } = await warmStart({
    corpus: rl.corpus,
    languages: rl.languages,
    seed: rl.seed,
    signatureHint: rl.signature_hint,
    maxDocTokens: rl.max_doc_tokens,
    maxCodeTokens: rl.max_code_tokens,
    ws,
    progress: !v.quiet,
    log,
  });
  const runDir = path.join(rl.output_dir, rl.run_name);
  writeFileAtomic(runPaths(runDir).warmstartConfig, JSON.stringify(ws, null, 2));
  const cfg = { ...rl, init_from: rl.init_from ?? info.checkpoint };
  const res = await runRL({ cfg, policy, resume: !!v.resume, progress: !v.quiet, log, warmInfo: info });
  const table = beforeAfterTable(res.before, res.after);
  writeFileAtomic(runPaths(res.runDir).beforeAfter, table + "\n");
  console.log(`\n${table}`);
  if (!v["no-report"]) {
    const r = renderReport(res.runDir);
    console.log(`report: ${r.file}`);
  }
  console.log(`run: ${res.runDir}   total time ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  return 0;
}

/** `train --model REF`: RL straight from a pretrained model (LoRA by default), no warm start. */
async function trainOwnModel(
  ref: string,
  v: Record<string, unknown>,
  rl: ReturnType<typeof resolveCli>["rl"],
  log: (s: string) => void,
  t0: number,
): Promise<number> {
  const rank = v["lora-rank"] === undefined ? 16 : toLoraRank(v["lora-rank"] as string);
  const targets = toLoraTargets(v["lora-targets"] as string | undefined);
  if (rank === 0 && v["lora-targets"] !== undefined)
    throw new UserError("--lora-targets needs LoRA (--lora-rank > 0); full fine-tuning trains every weight");
  const { loadPolicyForRef, samplerChatFromRecord, chatRecordOf } = await import("../../backends/model-ref.js");
  const { LoraAdapter } = await import("../../engine/lora.js");
  const asked = parseBaseDtype(v["base-dtype"] as string | undefined);
  if (rank === 0 && (asked === "bf16" || asked === "f16"))
    throw new UserError(
      `--base-dtype ${asked} needs LoRA (a 16-bit base is frozen); full fine-tuning (--lora-rank 0) trains f32 weights`,
    );
  const baseDtype: BaseDtypeChoice = rank === 0 ? "f32" : (asked ?? "auto");
  const { policy, loaded } = await loadPolicyForRef(ref, {
    log,
    seed: rl.seed,
    allowDownload: !!v["allow-download"],
    baseDtype,
  });
  if (rank > 0) {
    policy.llama.lora = LoraAdapter.init(loaded.config, { rank, alpha: 2 * rank, targetModules: targets }, rl.seed);
    log(
      `LoRA: rank ${rank}, alpha ${2 * rank} on ${targets.join("/")}, ${policy.llama.lora.nParams().toLocaleString("en-US")} trainable parameters; base frozen`,
    );
  } else log("full fine-tuning (--lora-rank 0)");
  const cfg = { ...rl, init_from: rl.init_from ?? ref };
  const runDir = path.join(cfg.output_dir, cfg.run_name);
  const own: OwnModelRecord = {
    model: ref,
    lora_rank: rank,
    lora_alpha: 2 * rank,
    lora_targets: targets,
    base_dtype: baseDtype,
  };
  if (!v.resume) {
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(runPaths(runDir).ownModel, JSON.stringify(own, null, 2) + "\n");
  }
  // both directions through the model's own chat template when it has one (an instruct model); else plain prompts
  const record = chatRecordOf(loaded);
  const chat = record ? (samplerChatFromRecord(record, policy.tokenizer)?.template ?? null) : null;
  // kept with the run, so its checkpoints chat as the base does (serve / eval --model runs/NAME)
  if (record) {
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(runPaths(runDir).chat, JSON.stringify(record, null, 2) + "\n");
  }
  log(
    chat
      ? "prompts: the model's own chat template (both directions)"
      : "prompts: batcoder's plain format (the model has no chat template)",
  );
  const res = await runRL({ cfg, policy, resume: !!v.resume, progress: !v.quiet, log, chat, ownModel: true });
  const table = beforeAfterTable(res.before, res.after, { beforeLabel: "before RL" });
  writeFileAtomic(runPaths(res.runDir).beforeAfter, table + "\n");
  console.log(`\n${table}`);
  if (policy.llama.lora) {
    const { saveAdapter } = await import("../../engine/lora.js");
    const out = path.join(res.runDir, "adapter");
    saveAdapter(out, policy.llama.lora, { baseModel: ref });
    console.log(`adapter: ${out}`);
  }
  if (!v["no-report"]) console.log(`report: ${renderReport(res.runDir).file}`);
  console.log(`run: ${res.runDir}   total time ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  return 0;
}

/** `runs/NAME/model.json` of a `train --model` run. */
interface OwnModelRecord {
  model: string;
  lora_rank: number;
  lora_alpha: number;
  /** --lora-targets (records written before it existed: the default, q/k/v/o/gate/up/down). */
  lora_targets: LoraTarget[];
  /** --base-dtype the run was started with (a resume keeps it); absent in records written before it existed. */
  base_dtype?: BaseDtypeChoice;
}

function readOwnModel(runDir: string): OwnModelRecord | null {
  const f = runPaths(runDir).ownModel;
  if (!fs.existsSync(f)) return null;
  const o = JSON.parse(fs.readFileSync(f, "utf8")) as Partial<OwnModelRecord>;
  if (typeof o.model !== "string" || typeof o.lora_rank !== "number")
    throw new UserError(`${f}: not a train --model record (expected {model, lora_rank})`);
  return {
    model: o.model,
    lora_rank: o.lora_rank,
    lora_alpha: o.lora_alpha ?? 2 * o.lora_rank,
    lora_targets: o.lora_targets === undefined ? [...LAYER_TARGETS] : toLoraTargets(o.lora_targets.join(","), f),
    ...(o.base_dtype !== undefined ? { base_dtype: parseBaseDtype(o.base_dtype, `${f}: base_dtype`)! } : {}),
  };
}

/** `--lora-targets q_proj,v_proj,lm_head` (default: the layer linears). */
function toLoraTargets(s: string | undefined, where = "--lora-targets"): LoraTarget[] {
  if (s === undefined) return [...LAYER_TARGETS];
  const names = s.split(",").map((x) => x.trim());
  const bad = names.filter((n) => !(LORA_TARGETS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length)
    throw new UserError(
      `${where}: ${bad.length ? `unknown module${bad.length > 1 ? "s" : ""} ${bad.map((b) => `'${b}'`).join(", ")}` : "empty list"} (supported: ${LORA_TARGETS.join(", ")})`,
    );
  // the adapter's own order (layer modules, then lm_head), each once
  return LORA_TARGETS.filter((t) => names.includes(t));
}

function toLoraRank(s: string): number {
  const n = Number(s);
  if (s.trim() === "" || !Number.isInteger(n) || n < 0)
    throw new UserError(`--lora-rank must be a non-negative integer (0 = full fine-tuning), got '${s}'`);
  return n;
}
