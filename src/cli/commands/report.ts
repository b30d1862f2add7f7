import fs from "node:fs";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { renderReport } from "../../report/report.js";
import { formatSeedSummary, seedSummary } from "../../report/seeds.js";

export const help = `batcoder report RUN_DIR [--out FILE]
batcoder report --seeds RUN_DIR RUN_DIR [RUN_DIR ...] [--json FILE] [--out FILE.md]

Renders a run directory (runs/<name>) as ONE self-contained HTML page (inline SVG plots, no network):
reward curves per direction and component, documentation checks, KL, entropy, lengths, PPO diagnostics,
held-out evaluation over steps with 95% CIs, the before/after table and before/after examples.

With --seeds: runs of one frozen config that differ only in the seed (checked: the configs and the held-out
functions must match) summarised as one markdown table — each held-out metric before and after RL and its change,
per seed and as the mean across seeds with a 95% t-interval.

Options:
  --out FILE   where to write the page (default RUN_DIR/report.html); with --seeds, the markdown table
  --json FILE  with --seeds: the summary as JSON`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: "string" }, seeds: { type: "boolean" }, json: { type: "string" } },
      allowPositionals: true,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  if (parsed.values.seeds) {
    const s = seedSummary(parsed.positionals);
    const text = formatSeedSummary(s);
    console.log(text);
    if (parsed.values.out) writeFileAtomic(parsed.values.out, text + "\n");
    if (parsed.values.json) writeFileAtomic(parsed.values.json, JSON.stringify(s, null, 2) + "\n");
    return 0;
  }
  if (parsed.values.json) throw new UserError("--json goes with --seeds");
  const dir = parsed.positionals[0];
  if (!dir || parsed.positionals.length > 1) throw new UserError(`expected exactly one run directory\n\n${help}`);
  if (!fs.existsSync(dir)) throw new UserError(`run directory ${dir} not found`);
  const r = renderReport(dir, parsed.values.out);
  console.log(`wrote ${r.file} (${r.charts} charts, ${(r.html.length / 1024).toFixed(0)} KiB)`);
  return 0;
}
