import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { connectRemotePolicy } from "../../backends/remote.js";
import { connectTinkerPolicy, isTinkerService } from "../../backends/tinker/client.js";
import { BpeTokenizer } from "../../engine/tokenizer.js";
import type { Policy, Sampler } from "../../core/policy.js";
import { OpenAIClient } from "../../backends/openai-client.js";
import { OpenAISampler } from "../../backends/openai-sampler.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { RUN_FILES, runPaths } from "../../core/runs.js";
import { loadPolicyFrom } from "../../orchestration/models.js";
import type { WarmStartInfo } from "../../orchestration/warmstart.js";
import { COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli } from "../../orchestration/config.js";
import { beforeAfterTable, runRL } from "../../orchestration/rl-run.js";
import { renderReport } from "../../report/report.js";

export const help = `batcoder rl --from CHECKPOINT [options]
batcoder rl --policy-url URL [--api-key KEY] [options]

Back-translation RL (code→doc→code, rewards from similarity, no code–doc pairs) starting from an existing
embedded-model checkpoint: a run directory (its latest checkpoint), a checkpoints folder or one checkpoint
(e.g. the warm start .cache/warmstart/<hash>/policy, a \`batcoder pretrain\` or \`sft\` output, runs/NAME). Writes runs/NAME/ (config.resolved.json, metrics.jsonl, samples.jsonl,
evals.jsonl, checkpoints/, summary.json, report.html).

Options:
  --from DIR           run / checkpoints folder / checkpoint to start from (not needed with --resume)
  --policy-url URL     train a REMOTE policy; the loop is unchanged, only the Policy object differs. A Tinker-API
                       service (Thinking Machines' Tinker, SkyRL tx, or \`batcoder serve CKPT --training\`) is
                       detected by its /api/v1/get_server_capabilities and trained through TinkerPolicy;
                       a URL ending in /v1/training uses batcoder's own protocol (RemotePolicy)
  --api-key KEY        key for --policy-url (default: $TINKER_API_KEY, then $BATCODER_API_KEY)
  --base-model NAME    Tinker: the base model to train [the service's first trainable model]
  --lora-rank N        Tinker: LoRA rank for create_model; 0 = full fine-tuning (batcoder's server; a stock Tinker
                       service needs N >= 1)                                                             [32]
  --tokenizer FILE     Tinker: the base model's tokenizer.json (required unless the service is batcoder's)
  --sampler-url URL    sample BOTH rollout stages from an OpenAI-compatible server (vLLM, SGLang, llama.cpp server,
                       \`batcoder serve\`) with the policy's tokenizer: token ids in and out where offered (vLLM's
                       return_tokens_as_token_ids), a loud text fallback otherwise. The trainer recomputes log-probs,
                       logs the mismatch (mismatch/* metrics) and corrects it with truncated IS (--set tis_cap=C,
                       default 2). The server's weights are NOT updated by the run (off-policy, corrected by TIS).
  --sampler-model NAME model id at --sampler-url [its first model]
  --sampler-api-key K  bearer key for --sampler-url [$OPENAI_API_KEY]
${COMMON_HELP}
  --no-report          skip the HTML report`;

function loraRank(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 1024)
    throw new UserError(`--lora-rank must be an integer in 0..1024 (0 = full fine-tuning), got '${s}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        from: { type: "string" },
        "policy-url": { type: "string" },
        "api-key": { type: "string" },
        "base-model": { type: "string" },
        "lora-rank": { type: "string" },
        tokenizer: { type: "string" },
        "sampler-url": { type: "string" },
        "sampler-model": { type: "string" },
        "sampler-api-key": { type: "string" },
        "no-report": { type: "boolean" },
      },
      allowPositionals: false,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const url = v["policy-url"];
  if (url && v.from)
    throw new UserError(
      "--from and --policy-url are exclusive: a remote policy starts from whatever the server loaded",
    );
  const { rl } = resolveCli(v, v.from ? { init_from: v.from } : url ? { init_from: url } : {});
  const log = makeLogger(!!v.quiet);
  let policy: Policy;
  let warmInfo: WarmStartInfo | null = null;
  if (url) {
    const apiKey = v["api-key"];
    if (
      !/\/v1\/training\/?$/.test(url) &&
      (await isTinkerService(url, apiKey ?? process.env.TINKER_API_KEY ?? process.env.BATCODER_API_KEY))
    ) {
      const tokFile = v.tokenizer;
      policy = await connectTinkerPolicy(url, {
        apiKey: apiKey ?? process.env.TINKER_API_KEY ?? process.env.BATCODER_API_KEY,
        ...(v["base-model"] ? { baseModel: v["base-model"] } : {}),
        ...(v["lora-rank"] ? { loraRank: loraRank(v["lora-rank"]) } : {}),
        ...(tokFile ? { tokenizer: BpeTokenizer.fromJSON(JSON.parse(fs.readFileSync(tokFile, "utf8"))) } : {}),
      });
    } else {
      for (const f of ["base-model", "lora-rank", "tokenizer"] as const)
        if (v[f] !== undefined)
          throw new UserError(`--${f} applies only to a Tinker service (${url} speaks batcoder's own training API)`);
      policy = await connectRemotePolicy(url, { apiKey: apiKey ?? process.env.BATCODER_API_KEY });
    }
  } else {
    const from = rl.init_from;
    if (!from)
      throw new UserError(`--from CHECKPOINT or --policy-url URL is required (or --resume an existing run)\n\n${help}`);
    const loaded = await loadPolicyFrom(from);
    policy = loaded.policy;
    // The warm start's record travels into the run (report): next to the weights, or in the named directory.
    const warmFile = [
      path.join(path.dirname(loaded.weights.weights), RUN_FILES.warmstart),
      path.join(from, RUN_FILES.warmstart),
    ].find((f) => fs.existsSync(f));
    if (warmFile) warmInfo = JSON.parse(fs.readFileSync(warmFile, "utf8")) as WarmStartInfo;
  }
  let rolloutSampler: Sampler | undefined;
  if (v["sampler-url"]) {
    const client = new OpenAIClient({
      baseUrl: v["sampler-url"],
      ...(v["sampler-model"] ? { model: v["sampler-model"] } : {}),
      ...(v["sampler-api-key"] ? { apiKey: v["sampler-api-key"] } : {}),
    });
    rolloutSampler = new OpenAISampler(client, policy.tokenizer, (l) => console.error(l), policy.info.contextLength);
    log(`rollouts from ${client.baseUrl} (truncated IS cap ${rl.tis_cap}); the trainer is ${policy.info.backend}`);
  } else if (v["sampler-model"] || v["sampler-api-key"]) {
    throw new UserError("--sampler-model / --sampler-api-key apply only with --sampler-url");
  }
  const res = await runRL({
    cfg: rl,
    policy,
    resume: !!v.resume,
    progress: !v.quiet,
    log,
    warmInfo,
    ...(rolloutSampler ? { rolloutSampler } : {}),
  });
  const table = beforeAfterTable(res.before, res.after);
  writeFileAtomic(runPaths(res.runDir).beforeAfter, table + "\n");
  console.log(`\n${table}`);
  await policy.close?.();
  if (!v["no-report"]) console.log(`report: ${renderReport(res.runDir).file}`);
  return 0;
}
