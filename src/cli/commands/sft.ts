import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli, toInt } from "../../orchestration/config.js";
import { loadSftPairs } from "../../orchestration/items.js";
import { warmStart, type WarmStartInfo } from "../../orchestration/warmstart.js";
import { sftStage } from "../../orchestration/sft.js";
import { loadPolicyFrom } from "../../orchestration/models.js";
import { POLICY_DIR, RUN_FILES } from "../../core/runs.js";
import { writeFileAtomic } from "../../core/jsonl.js";

export const help = `batcoder sft [--from CHECKPOINT --out DIR] [options]

Supervised warm start on naturally occurring (code, documentation) pairs from the corpus' train split —
docstrings / doc comments canonicalised into the documentation format — in BOTH directions (code→doc and
doc→code).

Without --from: the full cached warm start of \`batcoder train\` (tokenizer + causal-LM pretraining, then SFT),
printed as a checkpoint path (.cache/warmstart/<hash>/policy) for \`batcoder rl --from\`.
With --from CHECKPOINT --out DIR: SFT only, starting from that checkpoint (e.g. a \`batcoder pretrain\` output).

Options:
  --from DIR           start from this run / checkpoints folder / checkpoint (SFT only)
  --out DIR            where to save the SFT checkpoint (with --from)
  --sft-steps N        optimizer steps (default: warmstart.sft_steps)
  --lr X               peak learning rate (default: warmstart.sft_lr)
${COMMON_HELP}`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        from: { type: "string" },
        out: { type: "string" },
        "sft-steps": { type: "string" },
        lr: { type: "string" },
      },
      allowPositionals: false,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const sets = [...(v.set ?? [])];
  const sftSteps = toInt("sft-steps", v["sft-steps"]);
  if (sftSteps) sets.push(`warmstart.sft_steps=${sftSteps}`);
  if (v.lr !== undefined) {
    const lr = Number(v.lr);
    if (!(lr > 0 && lr <= 1)) throw new UserError(`--lr expects a number in (0, 1], got '${v.lr}'`);
    sets.push(`warmstart.sft_lr=${lr}`);
  }
  const { rl, ws } = resolveCli({ ...v, set: sets, resume: false });
  const log = makeLogger(!!v.quiet);
  if (!v.from) {
    if (v.out)
      throw new UserError("--out is only used with --from (the full warm start is cached under warmstart.cache_dir)");
    const { info } = await warmStart({
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
    console.log(info.checkpoint);
    return 0;
  }
  if (!v.out) throw new UserError("--from needs --out DIR for the SFT checkpoint");
  const { policy } = await loadPolicyFrom(v.from);
  const pairs = await loadSftPairs(rl.corpus, rl.languages, ws.sft_max_pairs, {
    tok: policy.tokenizer,
    maxDocTokens: rl.max_doc_tokens,
    maxCodeTokens: rl.max_code_tokens,
  });
  if (pairs.length === 0)
    throw new UserError(`corpus ${rl.corpus}: no documented functions in the train split to fine-tune on`);
  const sft = await sftStage(policy, pairs, {
    ws,
    seed: rl.seed,
    signatureHint: rl.signature_hint,
    progress: !v.quiet,
  });
  const out = path.resolve(v.out);
  await policy.saveState(path.join(out, POLICY_DIR));
  const info: WarmStartInfo = {
    dir: out,
    checkpoint: path.join(out, POLICY_DIR),
    cached: false,
    hash: "",
    pretrain: null,
    sft,
    rebuild_command: `batcoder sft --from ${v.from} --out ${v.out}`,
  };
  writeFileAtomic(path.join(out, RUN_FILES.warmstart), JSON.stringify(info, null, 2));
  writeFileAtomic(path.join(out, RUN_FILES.warmstartConfig), JSON.stringify(ws, null, 2));
  console.log(path.join(out, POLICY_DIR));
  return 0;
}
