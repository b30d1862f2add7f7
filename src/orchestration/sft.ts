/**
 * The SFT stage, the one copy used by the warm start and by `batcoder sft --from`: natural (code, doc) pairs →
 * datums in both directions → a cross-entropy loop with a held-out slice (up to 64 pairs, 5%) for the loss
 * before/after.
 */
import { UserError } from "../core/errors.js";
import type { Policy } from "../core/policy.js";
import { ProgressBar } from "../core/progress.js";
import { crossEntropyLoop, evalLoss, sftDatums, type PairItem } from "../rl/sft.js";
import type { WarmStartConfig } from "./warmstart.js";

export interface SftStageInfo {
  steps: number;
  pairs: number;
  losses: number[];
  val_loss_before: number;
  val_loss_after: number;
}

export async function sftStage(
  policy: Policy,
  pairs: PairItem[],
  o: {
    ws: Pick<WarmStartConfig, "sft_steps" | "sft_batch_tokens" | "sft_lr" | "sft_warmup_steps">;
    seed: number;
    signatureHint: boolean;
    progress: boolean;
  },
): Promise<SftStageInfo> {
  const { ws } = o;
  const ctx = policy.info.contextLength;
  const nVal = Math.min(64, Math.floor(pairs.length * 0.05));
  const valPairs = pairs.slice(0, nVal),
    trPairs = pairs.slice(nVal);
  const trD = sftDatums(policy.tokenizer, trPairs, ctx, { signatureHint: o.signatureHint });
  const vaD = sftDatums(policy.tokenizer, valPairs, ctx, { signatureHint: o.signatureHint });
  if (trD.length === 0) throw new UserError(`no SFT example fits the model's context of ${ctx} tokens`);
  const before = vaD.length ? await evalLoss(policy, vaD) : NaN;
  const bar = new ProgressBar("sft", ws.sft_steps, o.progress);
  const t0 = Date.now();
  let toks = 0;
  const losses = await crossEntropyLoop(policy, trD, {
    steps: ws.sft_steps,
    batchTokens: ws.sft_batch_tokens,
    learningRate: ws.sft_lr,
    warmupSteps: ws.sft_warmup_steps,
    minLrRatio: 0.1,
    weightDecay: 0.0,
    maxGradNorm: 1,
    seed: o.seed,
    onStep: (s) => (
      (toks += s.tokens),
      bar.update(
        s.step,
        `loss ${s.loss.toFixed(3)} ${Math.round(toks / Math.max(1e-3, (Date.now() - t0) / 1000))} tok/s`,
      )
    ),
  });
  const after = vaD.length ? await evalLoss(policy, vaD) : NaN;
  bar.done(`val loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  return { steps: ws.sft_steps, pairs: trPairs.length, losses, val_loss_before: before, val_loss_after: after };
}
