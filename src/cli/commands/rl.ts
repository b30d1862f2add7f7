import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { loadEmbeddedPolicy } from "../../backends/embedded.js";
import { COMMON_HELP, COMMON_OPTIONS, makeLogger, resolveCli } from "../../rl/cli-common.js";
import { beforeAfterTable, runRL } from "../../rl/pipeline.js";
import { renderReport } from "../../report/report.js";

export const help = `batcoder rl --from CHECKPOINT [options]

Back-translation RL (code→doc→code, rewards from similarity, no code–doc pairs) starting from an existing
embedded-model checkpoint (e.g. the warm start .cache/warmstart/<hash>/policy or a previous run's
runs/NAME/checkpoints/step-N/policy). Writes runs/NAME/ (config.resolved.json, metrics.jsonl, samples.jsonl,
evals.jsonl, checkpoints/, summary.json, report.html).

Options:
  --from DIR           checkpoint to start from (not needed with --resume)
${COMMON_HELP}
  --no-report          skip the HTML report`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, from: { type: "string" }, "no-report": { type: "boolean" } }, allowPositionals: false });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const { rl } = resolveCli(v, v.from ? { init_from: v.from } : {});
  const from = rl.init_from;
  if (!from) throw new UserError(`--from CHECKPOINT is required (or --resume an existing run)\n\n${help}`);
  if (!fs.existsSync(from)) throw new UserError(`--from ${from}: no such checkpoint directory`);
  let policy;
  try {
    policy = loadEmbeddedPolicy(from);
  } catch (e) {
    throw new UserError(`--from ${from}: cannot load the checkpoint (${(e as Error).message})`);
  }
  const log = makeLogger(!!v.quiet);
  const warmFile = path.join(path.dirname(from), "warmstart.json");
  const warmInfo = fs.existsSync(warmFile) ? JSON.parse(fs.readFileSync(warmFile, "utf8")) : null;
  const res = await runRL({ cfg: rl, policy, resume: !!v.resume, progress: !v.quiet, log, warmInfo });
  console.log(`\n${beforeAfterTable(res.before, res.after)}`);
  if (!v["no-report"]) console.log(`report: ${renderReport(res.runDir).file}`);
  return 0;
}
