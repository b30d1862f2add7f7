/**
 * `buildCorpus`: the streaming pipeline from raw inputs to a sharded, deduplicated, decontaminated corpus.
 *
 *   inputs ─▶ files (path rules, size, binary, UTF-8, generated/minified) ─▶ language layer extraction
 *     ─▶ function filters (parse errors, length, trivial, tests, license) ─▶ decontamination
 *     ─▶ exact dedup ─▶ near dedup (MinHash/LSH) ─▶ split by file/repo hash ─▶ DIR/<split>/shard-*.jsonl.gz
 *
 * Everything is processed one file at a time in a deterministic order (sorted walks, input order), so the
 * same inputs and config produce byte-identical shards. Memory holds one file plus the dedup state.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { detectLanguage, resolveLangId, LANG_IDS, type LangId } from "../lang/index.js";
import { FileAnalyzer, type FileResult, type FileTask } from "./analyze.js";
import { BenchmarkIndex, defaultBenchmarksDir } from "./decontam.js";
import { HashSet52, NearDupIndex } from "./dedup.js";
import {
  contentDropReason,
  decodeUtf8,
  isBinary,
  pathDropReason,
  FILE_DROP_REASONS,
  FUNCTION_DROP_REASONS,
  type FileDropReason,
  type FunctionDropReason,
} from "./filters.js";
import { sha256Hex, unitHash } from "./hash.js";
import { AnalyzerPool } from "./pool.js";
import { ProgressBar } from "../core/progress.js";
import { CORPUS_FORMAT, type CorpusManifest } from "./reader.js";
import {
  CorpusConfigSchema,
  SPLITS,
  type CorpusConfig,
  type CorpusConfigInput,
  type CorpusRecord,
  type Split,
} from "./schema.js";
import { inputKind, inputSources, normalizeInput, type NormalizedInput, type SourceFile } from "./sources.js";
import { JsonlFile, ShardedWriter, type ShardInfo } from "./writer.js";

type Counts = Record<string, number>;

export interface LangStats {
  files: number;
  bytes: number;
  extracted: number;
  kept: number;
  kept_with_doc: number;
  dropped: Counts;
}

export interface CorpusStats {
  format: string;
  inputs: { path: string; kind: string; repo: string; license: string | null }[];
  files: { seen: number; extracted: number; dropped: Counts };
  functions: { extracted: number; kept: number; kept_with_doc: number; dropped: Counts };
  by_lang: Record<string, LangStats>;
  splits: Record<Split, { total: number; with_doc: number; by_lang: Counts }>;
  duplicates: { exact: number; near: number };
  contamination: { records: number; by_benchmark: Counts; by_kind: Counts };
  docs_removed_as_license: number;
  /** Bytes read from the inputs: files read from disk plus the whole raw stream of JSONL inputs. */
  bytes_read: number;
  /** Bytes of source text handed to the language layer (after the file filters). */
  bytes_analyzed: number;
  decontamination: { enabled: boolean; benchmarks: string[]; units: number } | null;
  throughput?: {
    seconds: number;
    mb_per_s: number;
    /** CPU time of the process (all threads) and MB read per CPU second: stable on a shared machine. */
    cpu_seconds: number;
    mb_per_cpu_s: number;
    files_per_s: number;
    functions_per_s: number;
    peak_rss_mb: number;
    /** Bytes held by the deduplication state at the end (grows with kept functions only). */
    dedup_state_mb: number;
    /** RSS over the run: [MB read, RSS MB, dedup state MB], sampled every ~2 s (at most 64 points). */
    memory_samples: [number, number, number][];
  };
}

export interface BuildOptions {
  /** Show the progress line on stderr (default: when stderr is a TTY). */
  progress?: boolean;
  /** Reuse an already loaded benchmark index (tests). */
  benchmarkIndex?: BenchmarkIndex;
  /** Called with each kept record (tests, in-process consumers). */
  onRecord?: (r: CorpusRecord) => void;
  /**
   * Worker threads for the per-file analysis (extraction, filters, decontamination, MinHash). 0 (default)
   * analyses in this thread. Output is byte-identical whatever the number.
   */
  workers?: number;
}

function zodMessage(e: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return e.issues.map((i) => `${i.path.map(String).join(".") || "config"}: ${i.message}`).join("; ");
}

export function resolveCorpusConfig(input: CorpusConfigInput): CorpusConfig {
  const r = CorpusConfigSchema.safeParse(input);
  if (!r.success) throw new UserError(`invalid corpus config — ${zodMessage(r.error)}`);
  const cfg = r.data;
  if (cfg.langs) {
    const resolved: string[] = [];
    for (const l of cfg.langs) {
      const id = resolveLangId(l);
      if (!id) throw new UserError(`unknown language '${l}' (supported: ${LANG_IDS.join(", ")})`);
      if (!resolved.includes(id)) resolved.push(id);
    }
    cfg.langs = resolved;
  }
  if (cfg.minLines > cfg.maxLines) throw new UserError(`minLines (${cfg.minLines}) > maxLines (${cfg.maxLines})`);
  if (cfg.minTokens > cfg.maxTokens) throw new UserError(`minTokens (${cfg.minTokens}) > maxTokens (${cfg.maxTokens})`);
  return cfg;
}

/** The split of a key: deterministic, uniform, stable across runs and machines. */
export function assignSplit(key: string, cfg: CorpusConfig["split"]): Split {
  const u = unitHash(key, cfg.seed);
  if (u < cfg.train) return "train";
  if (u < cfg.train + cfg.validation) return "validation";
  return "test";
}

function checkOutDir(out: string): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new UserError(`--out ${out} exists and is not a directory`);
    const entries = fs.readdirSync(out);
    if (entries.length > 0 && !entries.includes("manifest.json") && !entries.includes("config.json"))
      throw new UserError(`--out ${out} is not empty and does not hold a corpus; refusing to overwrite it`);
  }
}

function prepareOutDir(out: string): void {
  checkOutDir(out);
  if (fs.existsSync(out)) {
    const entries = fs.readdirSync(out);
    if (entries.length > 0) {
      // a previous corpus: replace it
      for (const s of SPLITS) fs.rmSync(path.join(out, s), { recursive: true, force: true });
      for (const f of ["manifest.json", "stats.json", "config.json", "contamination.jsonl", "dropped-files.jsonl"])
        fs.rmSync(path.join(out, f), { force: true });
    }
  }
  fs.mkdirSync(out, { recursive: true });
}

function inc(c: Counts, k: string, n = 1): void {
  c[k] = (c[k] ?? 0) + n;
}

/** File drops that are worth a line in dropped-files.jsonl (the rest are only counted). */
const LOGGED_FILE_DROPS = new Set<FileDropReason>([
  "too-large",
  "binary",
  "invalid-utf8",
  "generated",
  "minified",
  "read-error",
  "bad-input-record",
  "extract-error",
]);

/**
 * Runs up to `ahead` items in front of the consumer and starts the reads of the files `wanted` selects, so
 * disk reads (on the libuv thread pool) overlap with parsing. Order is preserved; at most `ahead` file
 * contents are held.
 */
async function* prefetch(
  src: AsyncIterable<SourceFile>,
  ahead: number,
  wanted: (f: SourceFile) => boolean,
): AsyncGenerator<SourceFile> {
  const it = src[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<SourceFile>>[] = [];
  const pull = (): void => {
    const next = it.next().then((r) => {
      if (!r.done && wanted(r.value)) {
        const f = r.value;
        const p = f.read!();
        p.catch(() => undefined); // a read error is reported when the file is processed
        f.read = () => p;
      }
      return r;
    });
    next.catch(() => undefined); // rethrown when awaited in order; never an unhandled rejection
    queue.push(next);
  };
  pull();
  for (;;) {
    const r = await queue.shift()!;
    if (r.done) return;
    while (queue.length < ahead) pull();
    yield r.value;
  }
}

export async function buildCorpus(input: CorpusConfigInput, opts: BuildOptions = {}): Promise<CorpusStats> {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const cfg = resolveCorpusConfig(input);
  const inputs: NormalizedInput[] = cfg.inputs.map(normalizeInput);
  const kinds = inputs.map((inp) => {
    try {
      return inputKind(inp);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  });
  const out = path.resolve(cfg.out);
  checkOutDir(out);
  const nWorkers = Math.max(0, Math.floor(opts.workers ?? 0));
  let bench: BenchmarkIndex | null = null;
  let benchInfo: CorpusStats["decontamination"] = null;
  if (cfg.decontam.enabled) {
    if (opts.benchmarkIndex) bench = opts.benchmarkIndex;
    else {
      const dir = cfg.decontam.benchmarksDir ?? defaultBenchmarksDir();
      try {
        bench = BenchmarkIndex.load(dir, cfg.decontam);
      } catch (e) {
        throw new UserError(`decontamination: ${(e as Error).message}`);
      }
    }
    const names = [...bench.stats.benchmarks];
    benchInfo = { enabled: true, benchmarks: names.sort(), units: bench.stats.units };
  }
  prepareOutDir(out);
  const { out: _out, ...persisted } = cfg;
  void _out;
  fs.writeFileSync(path.join(out, "config.json"), JSON.stringify(persisted, null, 2) + "\n");

  const stats: CorpusStats = {
    format: CORPUS_FORMAT,
    inputs: inputs.map((inp, i) => ({ path: inp.path, kind: kinds[i]!, repo: inp.repo, license: inp.license })),
    files: { seen: 0, extracted: 0, dropped: {} },
    functions: { extracted: 0, kept: 0, kept_with_doc: 0, dropped: {} },
    by_lang: {},
    splits: {
      train: { total: 0, with_doc: 0, by_lang: {} },
      validation: { total: 0, with_doc: 0, by_lang: {} },
      test: { total: 0, with_doc: 0, by_lang: {} },
    },
    duplicates: { exact: 0, near: 0 },
    contamination: { records: 0, by_benchmark: {}, by_kind: {} },
    docs_removed_as_license: 0,
    bytes_read: 0,
    bytes_analyzed: 0,
    decontamination: benchInfo,
  };
  const langStats = (lang: string): LangStats =>
    (stats.by_lang[lang] ??= { files: 0, bytes: 0, extracted: 0, kept: 0, kept_with_doc: 0, dropped: {} });

  const writers = new Map<Split, ShardedWriter>();
  const writerFor = (s: Split): ShardedWriter => {
    let w = writers.get(s);
    if (!w) writers.set(s, (w = new ShardedWriter(out, s, cfg.shardRecords, cfg.gzipLevel)));
    return w;
  };
  const contamination = new JsonlFile(path.join(out, "contamination.jsonl"));
  const droppedFiles = new JsonlFile(path.join(out, "dropped-files.jsonl"));
  const exact = new HashSet52();
  const near = new Map<string, NearDupIndex>();
  const progress = new ProgressBar("corpus", null, opts.progress ?? Boolean(process.stderr.isTTY));
  const progressT0 = Date.now();
  const progressLine = (): string => {
    const mb = stats.bytes_read / 1e6;
    const secs = Math.max(1e-3, (Date.now() - progressT0) / 1000);
    return `${mb.toFixed(1)} MB  ${(mb / secs).toFixed(2)} MB/s  ${stats.files.seen} files  ${stats.functions.extracted} functions  ${stats.functions.kept} kept`;
  };
  const langFilter = cfg.langs ? new Set(cfg.langs) : null;

  const dropFile = async (f: SourceFile, reason: FileDropReason, detail?: string, lang?: string): Promise<void> => {
    inc(stats.files.dropped, reason);
    if (lang) inc(langStats(lang).dropped, `file:${reason}`);
    if (LOGGED_FILE_DROPS.has(reason))
      await droppedFiles.write({ repo: f.repo, path: f.path, origin: f.origin, reason, detail: detail ?? null });
  };
  const dropFn = (lang: string, reason: FunctionDropReason): void => {
    inc(stats.functions.dropped, reason);
    inc(langStats(lang).dropped, reason);
  };

  /** Applies one analysed file: counts, contamination report, dedup decisions, split, output. */
  const commit = async (f: SourceFile, lang: LangId, res: FileResult): Promise<void> => {
    if (res.error !== undefined) return dropFile(f, "extract-error", res.error, lang);
    stats.files.extracted++;
    const ls = langStats(lang);
    ls.files++;
    ls.bytes += f.size;
    for (const o of res.functions) {
      stats.functions.extracted++;
      ls.extracted++;
      if ("drop" in o) {
        if (o.docWasLicense) stats.docs_removed_as_license++;
        dropFn(lang, o.drop);
        continue;
      }
      if ("contaminated" in o) {
        if (o.docWasLicense) stats.docs_removed_as_license++;
        const c = o.contaminated;
        dropFn(lang, "contaminated");
        stats.contamination.records++;
        for (const b of new Set(c.matches.map((m) => m.benchmark))) inc(stats.contamination.by_benchmark, b);
        for (const k of new Set(c.matches.map((m) => m.kind))) inc(stats.contamination.by_kind, k);
        await contamination.write({
          id: c.id,
          lang,
          repo: f.repo,
          path: f.path,
          name: c.name,
          class_name: c.class_name,
          start_line: c.start_line,
          matches: c.matches,
          code: c.code,
          doc: c.doc,
        });
        continue;
      }
      const c = o.candidate;
      if (c.docWasLicense) stats.docs_removed_as_license++;
      if (cfg.dedup.exact && !exact.add(c.exactKey)) {
        stats.duplicates.exact++;
        dropFn(lang, "duplicate-exact");
        continue;
      }
      if (cfg.dedup.near && c.sig) {
        let idx = near.get(lang);
        if (!idx) near.set(lang, (idx = new NearDupIndex({ ...cfg.dedup })));
        if (idx.checkSignature(c.sig).dupOf >= 0) {
          stats.duplicates.near++;
          dropFn(lang, "near-duplicate");
          continue;
        }
      }
      const splitKey = cfg.split.key === "file" ? `${f.repo}\u0000${f.path}` : f.repo;
      const split = assignSplit(splitKey, cfg.split);
      const rec: CorpusRecord = {
        id: c.id,
        lang,
        repo: f.repo,
        path: f.path,
        name: c.name,
        class_name: c.class_name,
        kind: c.kind,
        signature: c.signature,
        code: c.code,
        doc: c.doc,
        start_line: c.start_line,
        end_line: c.end_line,
        n_lines: c.n_lines,
        n_tokens: c.n_tokens,
        hashes: {
          exact: c.exactKey.toString(16).padStart(13, "0"),
          code_sha256: sha256Hex(c.code).slice(0, 16),
          split_key: sha256Hex(splitKey).slice(0, 16),
        },
        split,
        license: f.license,
      };
      await writerFor(split).write(JSON.stringify(rec));
      opts.onRecord?.(rec);
      stats.functions.kept++;
      ls.kept++;
      const sp = stats.splits[split];
      sp.total++;
      inc(sp.by_lang, lang);
      if (c.doc) {
        stats.functions.kept_with_doc++;
        ls.kept_with_doc++;
        sp.with_doc++;
      }
    }
  };

  const analyzer = nWorkers === 0 ? new FileAnalyzer(cfg, bench) : null;
  const pool = nWorkers > 0 ? new AnalyzerPool(nWorkers, { cfg, bench: bench ? bench.toData() : null }) : null;
  /** Files being analysed by workers, committed strictly in this order. */
  const inflight: { f: SourceFile; lang: LangId; result: Promise<FileResult> }[] = [];
  const window = Math.max(2, nWorkers * 4);
  const drain = async (keep: number): Promise<void> => {
    while (inflight.length > keep) {
      const head = inflight.shift()!;
      await commit(head.f, head.lang, await head.result);
    }
  };
  const analyze = async (f: SourceFile, task: FileTask): Promise<void> => {
    if (pool) {
      inflight.push({ f, lang: task.lang, result: pool.submit(task) });
      await drain(window);
    } else await commit(f, task.lang, await analyzer!.analyze(task));
  };

  /** Files the pipeline is going to read (their reads may start early, see `prefetch`). */
  const willRead = (f: SourceFile): boolean => {
    if (!f.read || f.dropped || f.size > cfg.maxFileBytes || pathDropReason(f.path, cfg.excludeTests)) return false;
    const lang = detectLanguage(f.path);
    return lang !== null && (!langFilter || langFilter.has(lang));
  };

  const processFile = async (f: SourceFile): Promise<void> => {
    stats.files.seen++;
    if (f.dropped) return dropFile(f, f.dropped, f.detail);
    const pathReason = pathDropReason(f.path, cfg.excludeTests);
    if (pathReason) return dropFile(f, pathReason);
    let lang: LangId | null = f.langHint ? resolveLangId(f.langHint) : null;
    if (!lang) lang = detectLanguage(f.path);
    let buf: Buffer | null = null;
    let text: string | null = f.text ?? null;
    if (!lang && text === null && !/\.[^/]*$/.test(f.path) && f.read && f.size <= cfg.maxFileBytes) {
      // extension-less file: try the #! line
      try {
        buf = await f.read();
      } catch (e) {
        return dropFile(f, "read-error", (e as Error).message);
      }
      const nl = buf.indexOf(10);
      lang = detectLanguage(
        f.path,
        buf.subarray(0, nl < 0 ? Math.min(buf.length, 200) : Math.min(nl, 200)).toString("utf8"),
      );
    } else if (!lang && text !== null) {
      lang = detectLanguage(f.path, text.slice(0, Math.max(0, text.indexOf("\n"))));
    }
    if (!lang) return dropFile(f, "unsupported-language");
    if (langFilter && !langFilter.has(lang)) return dropFile(f, "language-excluded");
    if (f.size > cfg.maxFileBytes) return dropFile(f, "too-large", `${f.size} bytes > ${cfg.maxFileBytes}`, lang);
    if (text === null) {
      if (!buf) {
        try {
          buf = await f.read!();
        } catch (e) {
          return dropFile(f, "read-error", (e as Error).message, lang);
        }
      }
      stats.bytes_read += buf.length;
      if (isBinary(buf)) return dropFile(f, "binary", undefined, lang);
      text = decodeUtf8(buf);
      if (text === null) return dropFile(f, "invalid-utf8", "file is not valid UTF-8", lang);
      buf = null;
    } else {
      if (text.slice(0, 8192).includes("\u0000")) return dropFile(f, "binary", undefined, lang);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const contentReason = contentDropReason(text, cfg.maxLineLength);
    if (contentReason) return dropFile(f, contentReason, undefined, lang);
    stats.bytes_analyzed += f.size;
    await analyze(f, { lang, text, repo: f.repo, path: f.path });
  };

  const dedupBytes = (): number => exact.bytes + [...near.values()].reduce((a, x) => a + x.bytes, 0);
  let samples: [number, number, number][] = [];
  let sampleEvery = 2000;
  let lastSample = 0;
  const sample = (): void => {
    samples.push([
      Math.round(stats.bytes_read / 1e5) / 10,
      Math.round(process.memoryUsage.rss() / 1e5) / 10,
      Math.round(dedupBytes() / 1e5) / 10,
    ]);
    if (samples.length >= 64) {
      samples = samples.filter((_, i) => i % 2 === 0);
      sampleEvery *= 2;
    }
  };
  try {
    for (const inp of inputs) {
      for await (const f of prefetch(
        inputSources(inp, (n) => (stats.bytes_read += n)),
        8,
        willRead,
      )) {
        await processFile(f);
        progress.update(stats.bytes_read, progressLine());
        const now = Date.now();
        if (now - lastSample >= sampleEvery) {
          lastSample = now;
          sample();
        }
      }
    }
    await drain(0);
  } catch (e) {
    await pool?.close().catch(() => undefined);
    await contamination.close().catch(() => undefined);
    await droppedFiles.close().catch(() => undefined);
    for (const w of writers.values()) await w.close().catch(() => undefined);
    if (e instanceof UserError) throw e;
    throw new UserError(`corpus build failed: ${(e as Error).message}`);
  }
  await pool?.close();
  progress.done(progressLine());
  await contamination.close();
  await droppedFiles.close();
  const shards: ShardInfo[] = [];
  for (const s of SPLITS) {
    const w = writers.get(s);
    if (w) shards.push(...(await w.close()));
  }
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    shards,
    counts: Object.fromEntries(SPLITS.map((s) => [s, { total: stats.splits[s].total, ...stats.splits[s].by_lang }])),
  };
  fs.writeFileSync(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  stats.throughput = {
    seconds: Math.round(seconds * 1000) / 1000,
    mb_per_s: Math.round((stats.bytes_read / 1e6 / seconds) * 1000) / 1000,
    cpu_seconds: Math.round(cpuSeconds * 1000) / 1000,
    mb_per_cpu_s: Math.round((stats.bytes_read / 1e6 / Math.max(cpuSeconds, 1e-3)) * 1000) / 1000,
    files_per_s: Math.round((stats.files.seen / seconds) * 10) / 10,
    functions_per_s: Math.round((stats.functions.extracted / seconds) * 10) / 10,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    dedup_state_mb: Math.round(dedupBytes() / 1e5) / 10,
    memory_samples: (sample(), samples),
  };
  fs.writeFileSync(path.join(out, "stats.json"), JSON.stringify(stats, null, 2) + "\n");
  return stats;
}

/** A human-readable summary of a build (printed by `batcoder corpus build`). */
export function formatSummary(stats: CorpusStats, out: string, heading = "corpus written to"): string {
  const lines: string[] = [];
  const t = stats.throughput;
  lines.push(`${heading} ${out}`);
  lines.push(
    `files: ${stats.files.seen} seen, ${stats.files.extracted} extracted; functions: ${stats.functions.extracted} extracted, ` +
      `${stats.functions.kept} kept (${stats.functions.kept_with_doc} with documentation)`,
  );
  lines.push("per language:        files      MB   extracted     kept  with doc");
  for (const [lang, s] of Object.entries(stats.by_lang).sort()) {
    lines.push(
      `  ${lang.padEnd(16)} ${String(s.files).padStart(8)} ${(s.bytes / 1e6).toFixed(1).padStart(7)} ${String(s.extracted).padStart(11)} ${String(s.kept).padStart(8)} ${String(s.kept_with_doc).padStart(9)}`,
    );
  }
  lines.push(
    "splits: " + SPLITS.map((s) => `${s} ${stats.splits[s].total} (${stats.splits[s].with_doc} with doc)`).join(", "),
  );
  const fd = Object.entries(stats.files.dropped).sort((a, b) => b[1] - a[1]);
  if (fd.length) lines.push("files dropped: " + fd.map(([k, v]) => `${k} ${v}`).join(", "));
  const dd = Object.entries(stats.functions.dropped).sort((a, b) => b[1] - a[1]);
  if (dd.length) lines.push("functions dropped: " + dd.map(([k, v]) => `${k} ${v}`).join(", "));
  lines.push(`duplicates removed: ${stats.duplicates.exact} exact, ${stats.duplicates.near} near`);
  if (stats.decontamination) {
    const cb = Object.entries(stats.contamination.by_benchmark).sort((a, b) => b[1] - a[1]);
    lines.push(
      `contamination: ${stats.contamination.records} functions removed` +
        (cb.length ? ` (${cb.map(([k, v]) => `${k} ${v}`).join(", ")})` : "") +
        ` — see contamination.jsonl; checked against ${stats.decontamination.benchmarks.length} benchmark files`,
    );
  } else lines.push("contamination: decontamination DISABLED");
  if (stats.docs_removed_as_license)
    lines.push(`license notices removed from documentation: ${stats.docs_removed_as_license}`);
  if (t)
    lines.push(
      `throughput: ${(stats.bytes_read / 1e6).toFixed(1)} MB read (${(stats.bytes_analyzed / 1e6).toFixed(1)} MB of source analysed) in ${t.seconds.toFixed(1)} s = ${t.mb_per_s.toFixed(2)} MB/s, ` +
        `${t.functions_per_s.toFixed(0)} functions/s (${t.mb_per_cpu_s?.toFixed(2) ?? "?"} MB per CPU second); peak RSS ${t.peak_rss_mb} MB`,
    );
  return lines.join("\n");
}

export { FILE_DROP_REASONS, FUNCTION_DROP_REASONS };
