import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { loadEmbeddedPolicy } from "../../backends/embedded.js";
import { COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli, toInt } from "../../rl/cli-common.js";
import { loadSftPairs, warmStart } from "../../rl/pipeline.js";
import { crossEntropyLoop, evalLoss, sftDatums } from "../../rl/sft.js";
import { ProgressBar } from "../../core/progress.js";
import { writeFileAtomic } from "../../core/jsonl.js";

export const help = `batcoder sft [--from CHECKPOINT --out DIR] [options]

Supervised warm start on naturally occurring (code, documentation) pairs from the corpus' train split —
docstrings / doc comments canonicalised into the documentation format — in BOTH directions (code→doc and
doc→code).

Without --from: the full cached warm start of \`batcoder train\` (tokenizer + causal-LM pretraining, then SFT),
printed as a checkpoint path (.cache/warmstart/<hash>/policy) for \`batcoder rl --from\`.
With --from CHECKPOINT --out DIR: SFT only, starting from that checkpoint (e.g. a \`batcoder pretrain\` output).

Options:
  --from DIR           start from this checkpoint (SFT only)
  --out DIR            where to save the SFT checkpoint (with --from)
  --sft-steps N        optimizer steps (default: warmstart.sft_steps)
  --lr X               peak learning rate (default: warmstart.sft_lr)
${COMMON_HELP}`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, from: { type: "string" }, out: { type: "string" }, "sft-steps": { type: "string" }, lr: { type: "string" } },
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
    if (v.out) throw new UserError("--out is only used with --from (the full warm start is cached under warmstart.cache_dir)");
    const { info } = await warmStart({ corpus: rl.corpus, languages: rl.languages, seed: rl.seed, signatureHint: rl.signature_hint, maxDocTokens: rl.max_doc_tokens, maxCodeTokens: rl.max_code_tokens, ws, progress: !v.quiet, log });
    console.log(info.checkpoint);
    return 0;
  }
  if (!v.out) throw new UserError("--from needs --out DIR for the SFT checkpoint");
  if (!fs.existsSync(v.from)) throw new UserError(`--from ${v.from}: no such checkpoint directory`);
  const policy = loadEmbeddedPolicy(v.from);
  const pairs = await loadSftPairs(rl.corpus, rl.languages, ws.sft_max_pairs, { tok: policy.tokenizer, maxDocTokens: rl.max_doc_tokens, maxCodeTokens: rl.max_code_tokens });
  if (pairs.length === 0) throw new UserError(`corpus ${rl.corpus}: no documented functions in the train split to fine-tune on`);
  const nVal = Math.min(64, Math.floor(pairs.length * 0.05));
  const ctx = policy.info.contextLength;
  const trD = sftDatums(policy.tokenizer, pairs.slice(nVal), ctx, { signatureHint: rl.signature_hint });
  const vaD = sftDatums(policy.tokenizer, pairs.slice(0, nVal), ctx, { signatureHint: rl.signature_hint });
  if (trD.length === 0) throw new UserError(`no SFT example fits the model's context of ${ctx} tokens`);
  const before = vaD.length ? await evalLoss(policy, vaD) : NaN;
  const bar = new ProgressBar("sft", ws.sft_steps, !v.quiet);
  const losses = await crossEntropyLoop(policy, trD, {
    steps: ws.sft_steps, batchTokens: ws.sft_batch_tokens, learningRate: ws.sft_lr, warmupSteps: ws.sft_warmup_steps, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1, seed: rl.seed,
    onStep: (s) => bar.update(s.step, `loss ${s.loss.toFixed(3)}`),
  });
  const after = vaD.length ? await evalLoss(policy, vaD) : NaN;
  bar.done(`val loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  const out = path.resolve(v.out);
  await policy.saveState(path.join(out, "policy"));
  writeFileAtomic(
    path.join(out, "warmstart.json"),
    JSON.stringify({ dir: out, checkpoint: path.join(out, "policy"), cached: false, hash: "", pretrain: null, sft: { steps: ws.sft_steps, pairs: pairs.length - nVal, losses, val_loss_before: before, val_loss_after: after }, rebuild_command: `batcoder sft --from ${v.from} --out ${v.out}` }, null, 2),
  );
  console.log(path.join(out, "policy"));
  return 0;
}
