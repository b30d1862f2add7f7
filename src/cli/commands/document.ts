/**
 * `batcoder document PATH… --model REF [--write] [--check] [--overwrite] …` — documentation for every
 * undocumented function, in each language's convention; a unified diff by default.
 */
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { METRICS, type Metric } from "../../similarity/index.js";
import { documentFiles, formatSummary } from "../../orchestration/document.js";
import { MODEL_HELP, MODEL_OPTIONS, directionsFrom, intFlag, langFlag, numFlag } from "./model-options.js";

export const help = `batcoder document PATH... [options]

Writes documentation for every undocumented function and method in the files and directories (directories
are walked with .gitignore honoured), in each language's own convention: Python docstrings, Go doc comments
(// Name ...), JSDoc/TSDoc, Javadoc, Doxygen, PHPDoc, KDoc, Scaladoc, YARD tags for Ruby where the file
already uses them (plain # comments otherwise), LDoc (---) for Lua, roxygen (#') for R, Rust/Swift ///,
Haskell -- |, OCaml (** *), Julia and Elixir doc strings, # comments for Bash.
Each documentation is checked for format and code leaks; a rejected one is reported, not written. A file
that would no longer parse is left alone and reported. Indentation and line endings (CRLF) are kept.
Prints a unified diff on stdout (apply it with \`git apply\` or \`patch -p1\`), the summary on stderr.

Options:
  --write               edit the files in place (atomic write) instead of printing a diff
  --check               only report undocumented functions; exit 1 when there are any (no model needed)
  --overwrite           also replace existing documentation (never touched otherwise)
  --include GLOB        only files matching (gitignore syntax, relative to a named directory; repeatable)
  --exclude GLOB        skip files matching (repeatable; .gitignore files are always honoured)
  --lang L              treat every file as language L
  --min-roundtrip X     keep only documentation from which the model rebuilds the code with similarity ≥ X
  --metric M            similarity for --min-roundtrip: ${METRICS.join(", ")} (default codebleu)
  --max-doc-tokens N    documentation length limit (default 256)
  --max-code-tokens N   rebuild length limit for --min-roundtrip (default 512)
  --json                print the per-function outcomes as JSON instead of the diff
  --no-progress         no progress bar
${MODEL_HELP}
  -h, --help            this help

Exit status: 0; 1 with --check when undocumented functions exist, or when a file was left alone because
its documented version would not parse.`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        write: { type: "boolean", default: false },
        check: { type: "boolean", default: false },
        overwrite: { type: "boolean", default: false },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        lang: { type: "string" },
        "min-roundtrip": { type: "string" },
        metric: { type: "string", default: "codebleu" },
        "max-doc-tokens": { type: "string" },
        "max-code-tokens": { type: "string" },
        json: { type: "boolean", default: false },
        "no-progress": { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UserError(`document: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (!positionals.length) throw new UserError("document: give one or more files or directories (see --help)");
  if (values.check && values.write) throw new UserError("document: --check and --write are exclusive");
  const metric = values.metric as Metric;
  if (!METRICS.includes(metric))
    throw new UserError(`--metric must be one of ${METRICS.join(", ")} (got '${values.metric}')`);
  const minRoundtrip = numFlag(values["min-roundtrip"], "--min-roundtrip", 0, 1);
  const common = {
    paths: positionals,
    include: values.include,
    exclude: values.exclude,
    lang: langFlag(values.lang),
    overwrite: values.overwrite,
    progress: !values["no-progress"] && !values.json,
  };
  if (values.check) {
    const { outcomes, summary, skippedFiles } = await documentFiles({ ...common, directions: null });
    for (const o of outcomes)
      for (const f of o.functions)
        if (f.status === "skipped" && f.reason?.startsWith("undocumented"))
          console.log(`${o.path}:${f.line}: ${f.name} has no documentation`);
    for (const s of skippedFiles) console.error(`${s.path}: skipped (${s.reason})`);
    console.error(formatSummary(summary, true));
    const undocumented = outcomes.reduce(
      (n, o) => n + o.functions.filter((f) => f.reason?.startsWith("undocumented")).length,
      0,
    );
    return undocumented > 0 ? 1 : 0;
  }
  const directions = await directionsFrom(values, "document");
  try {
    const seed = intFlag(values.seed, "--seed") ?? 0;
    const { outcomes, summary, skippedFiles } = await documentFiles({
      ...common,
      directions,
      write: values.write,
      minRoundtrip,
      metric,
      seed,
      maxDocTokens: intFlag(values["max-doc-tokens"], "--max-doc-tokens", 1),
      maxCodeTokens: intFlag(values["max-code-tokens"], "--max-code-tokens", 1),
    });
    if (values.json)
      console.log(
        JSON.stringify(
          { summary, files: outcomes.map(({ newText: _t, ...o }) => o), skipped_files: skippedFiles },
          null,
          2,
        ),
      );
    else if (!values.write) for (const o of outcomes) if (o.diff) process.stdout.write(o.diff);
    for (const o of outcomes) {
      if (o.failed) console.error(`${o.path}: ${o.failed}`);
      for (const f of o.functions)
        if (f.status === "failed") console.error(`${o.path}:${f.line}: ${f.name}: not documented (${f.reason})`);
      if (o.written) console.error(`${o.path}: written`);
    }
    for (const s of skippedFiles) console.error(`${s.path}: skipped (${s.reason})`);
    console.error(formatSummary(summary, false));
    return summary.filesFailed > 0 ? 1 : 0;
  } finally {
    await directions.close();
  }
}
