import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { renderReport } from "../../report/report.js";

export const help = `batcoder report RUN_DIR [--out FILE]

Renders a run directory (runs/<name>) as ONE self-contained HTML page (inline SVG plots, no network):
reward curves per direction and component, documentation checks, KL, entropy, lengths, PPO diagnostics,
held-out evaluation over steps with 95% CIs, the before/after table and before/after examples.

Options:
  --out FILE   where to write the page (default RUN_DIR/report.html)`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: "string" } }, allowPositionals: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  const dir = parsed.positionals[0];
  if (!dir || parsed.positionals.length > 1) throw new UserError(`expected exactly one run directory\n\n${help}`);
  const r = renderReport(dir, parsed.values.out);
  console.log(`wrote ${r.file} (${r.charts} charts, ${(r.html.length / 1024).toFixed(0)} KiB)`);
  return 0;
}
