/**
 * `batcoder similarity A B [--lang L] [--metric bleu|codebleu|dfg|exact|all] [--json]`
 * Scores the similarity of code file B (candidate) to code file A (reference).
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { detectLanguage, loadLanguage, resolveLangId, LANG_IDS, type LangId } from "../../lang/index.js";
import { similarity, similarityAll, METRICS, type Metric, type SimilarityResult } from "../../similarity/index.js";

export const help = `batcoder similarity REFERENCE CANDIDATE [options]

Scores how similar the CANDIDATE code file is to the REFERENCE code file (each score in [0, 1]).

Options:
  --lang L        language (${LANG_IDS.join(", ")}); default: detected from REFERENCE
  --metric M      bleu | codebleu | dfg | exact | all (default: all)
                  dfg = dependency-graph similarity (falls back to CodeBLEU where unsupported)
  --json          print JSON
  -h, --help      this help`;

export function readCodeFile(p: string, what: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read ${what} '${p}': ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message}`,
    );
  }
  if (buf.includes(0)) throw new UserError(`${what} '${p}' looks binary (contains NUL bytes)`);
  return buf.toString("utf8");
}

export function resolveLang(flag: string | undefined, file: string, text: string): LangId {
  if (flag) {
    const l = resolveLangId(flag);
    if (!l) throw new UserError(`unknown language '${flag}' (known: ${LANG_IDS.join(", ")})`);
    return l;
  }
  const l = detectLanguage(file, text.split("\n", 1)[0]);
  if (!l) throw new UserError(`cannot detect the language of '${file}'; pass --lang`);
  return l;
}

function fmt(r: SimilarityResult): string {
  const comps = Object.entries(r.components)
    .map(([k, v]) => `${k}=${v === null ? "n/a" : Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(" ");
  return `${r.metric.padEnd(9)} ${r.score.toFixed(4)}  ${comps}${r.warnings.length ? `\n          warnings: ${r.warnings.join("; ")}` : ""}`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lang: { type: "string" },
        metric: { type: "string", default: "all" },
        json: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UserError(`similarity: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2)
    throw new UserError("similarity: expected two files, REFERENCE and CANDIDATE (see --help)");
  const metric = values.metric!;
  if (metric !== "all" && !METRICS.includes(metric as Metric))
    throw new UserError(`similarity: unknown metric '${metric}' (bleu, codebleu, dfg, exact, all)`);
  const [a, b] = positionals as [string, string];
  const ref = readCodeFile(a, "reference");
  const cand = readCodeFile(b, "candidate");
  const lang = resolveLang(values.lang, a, ref);
  await loadLanguage(lang);
  const results: SimilarityResult[] =
    metric === "all" ? Object.values(similarityAll(ref, cand, lang)) : [similarity(metric as Metric, ref, cand, lang)];
  if (values.json) console.log(JSON.stringify({ reference: a, candidate: b, lang, results }, null, 2));
  else {
    console.log(`${a} vs ${b} (${lang})`);
    for (const r of results) console.log(fmt(r));
  }
  return 0;
}
