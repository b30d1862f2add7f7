import { parseArgs } from "node:util";
import path from "node:path";
import { UserError } from "../../core/errors.js";
import { COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli } from "../../orchestration/config.js";
import { checkCorpusUsable } from "../../orchestration/items.js";
import { beforeAfterTable, runRL } from "../../orchestration/rl-run.js";
import { warmStart } from "../../orchestration/warmstart.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { runPaths } from "../../core/runs.js";
import { renderReport } from "../../report/report.js";

export const help = `batcoder train [options]

The BatCoder method end to end on the bundled corpus and the embedded model:
  1. tokenizer + causal-LM pretraining, 2. SFT warm start on naturally occurring (code, doc) pairs in both
  directions (both cached under .cache/warmstart/<hash>/), 3. back-translation RL on code alone,
then a before/after table on held-out functions and an HTML report (runs/NAME/report.html).

Options:
${COMMON_HELP}
  --no-report          skip the HTML report

Examples:
  batcoder train
  batcoder train --steps 10 --set rollout_batch_size=4 --run-name quick
  batcoder train --config configs/grpo.json --set warmstart.sft_steps=100`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, "no-report": { type: "boolean" } }, allowPositionals: false });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const { rl, ws } = resolveCli(v);
  const log = makeLogger(!!v.quiet);
  const t0 = Date.now();
  // Fail fast on an unusable corpus, before any training.
  const stats = checkCorpusUsable(rl.corpus, rl.train_split, rl.languages);
  log(`corpus ${rl.corpus}: ${stats.train} training functions (${stats.withDoc} with documentation for the warm start)`);
  const { policy, info } = await warmStart({ corpus: rl.corpus, languages: rl.languages, seed: rl.seed, signatureHint: rl.signature_hint, maxDocTokens: rl.max_doc_tokens, maxCodeTokens: rl.max_code_tokens, ws, progress: !v.quiet, log });
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
