/** `batcoder roundtrip PATH… --model REF [--html FILE]` — document → rebuild → score, per function. */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/jsonl.js";
import { roundtripFiles, roundtripTable } from "../../orchestration/roundtrip.js";
import { renderRoundtripReport } from "../../report/roundtrip.js";
import { MODEL_HELP, MODEL_OPTIONS, directionsFrom, intFlag, langFlag, numFlag } from "./model-options.js";

export const help = `batcoder roundtrip PATH... --model REF [options]

Round-trip evaluation of a model on your own code (round-trip correctness, Allamanis et al. 2024): for each
function the model writes documentation from the code alone, rebuilds the code from that documentation
alone, and the rebuild is scored against the original with every metric: BLEU, CodeBLEU, dependency graph,
exact match, and behaviour (original and rebuild run on generated inputs in the sandbox; Python, Ruby,
JavaScript, Lua, Go functions that run alone). Score = behaviour where it ran, else CodeBLEU. Functions
scoring below --threshold are flagged with a guess at why (poorly named, too long/clever, unknown API,
bad documentation). Prints a table; --html writes a self-contained sortable report with original,
documentation and rebuild side by side.

Options:
  --html FILE           write the HTML report
  --json FILE           write every row as JSON
  --threshold X         flag functions scoring below X (default 0.5)
  --no-behaviour        skip the sandboxed behaviour metric
  --unsafe-no-sandbox   run the behaviour metric without isolation (only if the sandbox cannot work here)
  --limit N             at most N functions (in file order)
  --include GLOB, --exclude GLOB, --lang L   as for \`batcoder document\`
  --max-doc-tokens N, --max-code-tokens N    (defaults 256, 512)
  --no-progress         no progress bar
${MODEL_HELP}
  -h, --help            this help`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        html: { type: "string" },
        json: { type: "string" },
        threshold: { type: "string", default: "0.5" },
        "no-behaviour": { type: "boolean", default: false },
        "unsafe-no-sandbox": { type: "boolean", default: false },
        limit: { type: "string" },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        lang: { type: "string" },
        "max-doc-tokens": { type: "string" },
        "max-code-tokens": { type: "string" },
        "no-progress": { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UserError(`roundtrip: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (!positionals.length) throw new UserError("roundtrip: give one or more files or directories (see --help)");
  const threshold = numFlag(values.threshold, "--threshold", 0, 1)!;
  const directions = await directionsFrom(values, "roundtrip");
  try {
    const { rows, skippedFiles } = await roundtripFiles({
      paths: positionals,
      directions,
      include: values.include,
      exclude: values.exclude,
      lang: langFlag(values.lang),
      behaviour: !values["no-behaviour"],
      unsafeNoSandbox: values["unsafe-no-sandbox"],
      threshold,
      limit: intFlag(values.limit, "--limit", 1),
      seed: intFlag(values.seed, "--seed") ?? 0,
      maxDocTokens: intFlag(values["max-doc-tokens"], "--max-doc-tokens", 1),
      maxCodeTokens: intFlag(values["max-code-tokens"], "--max-code-tokens", 1),
      progress: !values["no-progress"],
    });
    for (const s of skippedFiles) console.error(`${s.path}: skipped (${s.reason})`);
    if (!rows.length) throw new UserError("roundtrip: no functions found in the given paths");
    console.log(roundtripTable(rows));
    if (values.html) {
      writeFileAtomic(values.html, renderRoundtripReport(rows, { model: directions.name, threshold }));
      console.error(`report: ${values.html}`);
    }
    if (values.json) {
      fs.mkdirSync(".", { recursive: true });
      writeFileAtomic(values.json, JSON.stringify({ model: directions.name, threshold, rows }, null, 2) + "\n");
    }
    return 0;
  } finally {
    await directions.close();
  }
}
