/**
 * `batcoder corpus build|verify|stats` — see src/corpus/README.md.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { buildCorpus, formatSummary } from "../../corpus/pipeline.js";
import { readManifest, verifyCorpus } from "../../corpus/reader.js";
import type { CorpusConfigInput } from "../../corpus/schema.js";
import { buildExecSlice } from "../../orchestration/exec-slice.js";

export const help = `batcoder corpus <build|exec-slice|verify|stats> [options]

  corpus build --input PATH [--input PATH ...] --out DIR [options]
    Turns directories (recursive, .gitignore honoured), git repositories (tracked files), JSONL(.gz) files
    with \`content\` + \`path\`/\`lang\` fields, or single files into a clean, deduplicated, decontaminated
    function corpus: DIR/<train|validation|test>/shard-NNNNN.jsonl.gz, manifest.json, stats.json,
    config.json (resolved), contamination.jsonl, dropped-files.jsonl.

    --input PATH...       inputs (repeatable; bare paths after the options are inputs too)
    --out DIR             output directory (created; a previous corpus there is replaced)
    --config FILE         JSON config (same fields as config.json); flags override it
    --lang LIST           comma-separated languages to keep (e.g. python,ruby,go); default: all
    --repo NAME           repository name recorded for every input (default: each input's base name)
    --license ID          license id recorded in every record
    --min-lines N  --max-lines N  --min-tokens N  --max-tokens N   function length bounds
    --max-file-bytes N    skip larger files (default 1000000)
    --include-tests       keep test files and test functions (excluded by default)
    --keep-trivial        keep trivial bodies (pass, one-line getters/setters)
    --require-doc         keep only documented functions
    --near-threshold X    near-duplicate Jaccard threshold (default 0.85)
    --no-near-dedup       exact deduplication only
    --ngram N             decontamination n-gram size (code tokens and doc words, default 13)
    --benchmarks DIR      benchmark data to decontaminate against (default: the repository's data/benchmarks)
    --no-decontam         disable decontamination (not recommended; the summary says so loudly)
    --split R,R,R         train,validation,test ratios (default 0.9,0.05,0.05)
    --split-key file|repo the unit kept within one split (default file)
    --split-seed S        seed of the split hash
    --shard-records N     records per shard (default 50000)
    --workers N           analysis worker threads (default: cores - 1, at most 4, 0 with ≤ 2 cores);
                          the output is byte-identical whatever N
    --progress / --quiet  force the progress line on / off (default: on when stderr is a terminal)

  corpus exec-slice --from DIR [--from DIR ...] --out DIR [--lang LIST] [--seed N] [--inputs N]
    The records of the given corpora whose functions the behaviour runner can run alone in the sandbox
    (deterministic, defined alone, not failing on most inputs), each kept in its split; dropped.jsonl.gz and
    subset-stats.json give the reason for every other record. Default check settings: the RL reward's.

  corpus verify DIR       check every shard against manifest.json (sha256, record counts)
  corpus stats DIR        print the corpus' stats.json summary`;

/**
 * Analysis worker threads by default: with 4+ cores, one per core but one (at most 4); with 1–2 cores the
 * work stays in-process (measured on a busy 2-core machine, workers there cost memory without a speed-up).
 */
function defaultWorkers(): number {
  const n = os.availableParallelism();
  return n >= 4 ? Math.min(4, n - 1) : 0;
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UserError(`--${name} expects a number, got '${v}'`);
  return n;
}

async function build(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        input: { type: "string", multiple: true },
        out: { type: "string" },
        config: { type: "string" },
        lang: { type: "string" },
        repo: { type: "string" },
        license: { type: "string" },
        "min-lines": { type: "string" },
        "max-lines": { type: "string" },
        "min-tokens": { type: "string" },
        "max-tokens": { type: "string" },
        "max-file-bytes": { type: "string" },
        "include-tests": { type: "boolean" },
        "keep-trivial": { type: "boolean" },
        "require-doc": { type: "boolean" },
        "near-threshold": { type: "string" },
        "no-near-dedup": { type: "boolean" },
        ngram: { type: "string" },
        benchmarks: { type: "string" },
        "no-decontam": { type: "boolean" },
        split: { type: "string" },
        "split-key": { type: "string" },
        "split-seed": { type: "string" },
        "shard-records": { type: "string" },
        progress: { type: "boolean" },
        quiet: { type: "boolean" },
        workers: { type: "string" },
      },
      allowPositionals: true,
    });
  } catch (e) {
    throw new UserError(`corpus build: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  // `--input a b c` works too: bare paths are more inputs
  const inputsFromArgs = [...(values.input ?? []), ...positionals];
  let cfg: Record<string, unknown> = {};
  if (values.config) {
    try {
      cfg = JSON.parse(fs.readFileSync(values.config, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`--config ${values.config}: ${(e as Error).message}`);
    }
    if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg))
      throw new UserError(`--config ${values.config}: expected a JSON object`);
    // relative input paths in a config file are relative to the file
    const base = path.dirname(path.resolve(values.config));
    if (Array.isArray(cfg.inputs))
      cfg.inputs = (cfg.inputs as unknown[]).map((i) =>
        typeof i === "string"
          ? path.resolve(base, i)
          : i && typeof i === "object" && typeof (i as { path?: unknown }).path === "string"
            ? { ...(i as object), path: path.resolve(base, (i as { path: string }).path) }
            : i,
      );
  }
  if (inputsFromArgs.length) {
    const extra: Record<string, string> = {};
    if (values.repo) extra.repo = values.repo;
    if (values.license) extra.license = values.license;
    cfg.inputs = inputsFromArgs.map((p) => (Object.keys(extra).length ? { path: p, ...extra } : p));
  }
  if (!cfg.inputs) throw new UserError("corpus build: --input PATH is required (repeatable)");
  if (values.out) cfg.out = values.out;
  if (!cfg.out) throw new UserError("corpus build: --out DIR is required");
  if (values.lang)
    cfg.langs = values.lang
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const setNum = (flag: string, key: string): void => {
    const n = num((values as Record<string, string | undefined>)[flag], flag);
    if (n !== undefined) cfg[key] = n;
  };
  setNum("min-lines", "minLines");
  setNum("max-lines", "maxLines");
  setNum("min-tokens", "minTokens");
  setNum("max-tokens", "maxTokens");
  setNum("max-file-bytes", "maxFileBytes");
  setNum("shard-records", "shardRecords");
  if (values["include-tests"]) cfg.excludeTests = false;
  if (values["keep-trivial"]) cfg.dropTrivial = false;
  if (values["require-doc"]) cfg.requireDoc = true;
  const dedup = { ...((cfg.dedup as object) ?? {}) } as Record<string, unknown>;
  const nt = num(values["near-threshold"], "near-threshold");
  if (nt !== undefined) dedup.threshold = nt;
  if (values["no-near-dedup"]) dedup.near = false;
  cfg.dedup = dedup;
  const dc = { ...((cfg.decontam as object) ?? {}) } as Record<string, unknown>;
  const ng = num(values.ngram, "ngram");
  if (ng !== undefined) {
    dc.codeN = ng;
    dc.docN = ng;
  }
  if (values.benchmarks) dc.benchmarksDir = path.resolve(values.benchmarks);
  if (values["no-decontam"]) dc.enabled = false;
  cfg.decontam = dc;
  const sp = { ...((cfg.split as object) ?? {}) } as Record<string, unknown>;
  if (values.split) {
    const parts = values.split.split(",").map(Number);
    if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)))
      throw new UserError(`--split expects three numbers train,validation,test (got '${values.split}')`);
    [sp.train, sp.validation, sp.test] = parts;
  }
  if (values["split-key"]) sp.key = values["split-key"];
  if (values["split-seed"]) sp.seed = values["split-seed"];
  cfg.split = sp;
  const progress = values.quiet ? false : values.progress ? true : undefined;
  const workers = num(values.workers, "workers") ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0 || workers > 64)
    throw new UserError(`--workers expects an integer 0..64 (got ${values.workers})`);
  const stats = await buildCorpus(cfg as CorpusConfigInput, { progress, workers });
  console.log(formatSummary(stats, path.resolve(cfg.out as string)));
  return 0;
}

async function execSlice(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        from: { type: "string", multiple: true },
        out: { type: "string" },
        lang: { type: "string" },
        seed: { type: "string" },
        inputs: { type: "string" },
        progress: { type: "boolean" },
        quiet: { type: "boolean" },
      },
      strict: true,
    });
  } catch (e) {
    throw new UserError(`corpus exec-slice: ${(e as Error).message}`);
  }
  const v = parsed.values;
  if (!v.from?.length) throw new UserError("corpus exec-slice: at least one --from DIR is required");
  if (!v.out) throw new UserError("corpus exec-slice: --out DIR is required");
  const stats = await buildExecSlice({
    sources: v.from,
    out: v.out,
    langs: v.lang ? v.lang.split(",").map((s) => s.trim()) : undefined,
    seed: num(v.seed, "seed"),
    inputs: num(v.inputs, "inputs"),
    progress: v.quiet ? false : (v.progress ?? process.stderr.isTTY),
    log: (s) => console.error(s),
  });
  console.log(
    `exec slice written to ${v.out}: train ${stats.kept.train}, validation ${stats.kept.validation}, test ${stats.kept.test}`,
  );
  for (const [src, bySplit] of Object.entries(stats.counts))
    for (const [split, byLang] of Object.entries(bySplit))
      console.log(
        `  ${src} ${split}: ${Object.entries(byLang)
          .map(([l, c]) => `${l} ${c.kept}/${c.read}`)
          .join(", ")}`,
      );
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "build") return build(rest);
  if (sub === "exec-slice") return execSlice(rest);
  if (sub === "verify") {
    const dir = rest[0];
    if (!dir) throw new UserError("corpus verify: DIR is required");
    const problems = verifyCorpus(dir);
    const m = readManifest(dir);
    if (problems.length) {
      for (const p of problems) console.error(`corpus verify: ${p}`);
      return 1;
    }
    console.log(
      `corpus ${dir}: ${m.shards.length} shards, ${m.shards.reduce((s, x) => s + x.records, 0)} records, all sha256 match`,
    );
    return 0;
  }
  if (sub === "stats") {
    const dir = rest[0];
    if (!dir) throw new UserError("corpus stats: DIR is required");
    const p = path.join(dir, "stats.json");
    if (!fs.existsSync(p)) throw new UserError(`corpus stats: ${p} not found`);
    const stats = JSON.parse(fs.readFileSync(p, "utf8"));
    console.log(formatSummary(stats, path.resolve(dir), "corpus at"));
    return 0;
  }
  console.error(`batcoder corpus: unknown subcommand '${sub ?? ""}'\n\n${help}`);
  return 2;
}
