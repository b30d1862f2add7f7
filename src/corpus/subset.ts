/**
 * A corpus made of records selected from other corpora (e.g. the executable slice): every record keeps its
 * split, so a subset never moves a function between train, validation and test. The selection is decided by the
 * caller, one split and source at a time; this module only reads, writes shards, the manifest and a provenance
 * file. Written into `<out>.tmp` and renamed at the end, so an interrupted build leaves the old corpus whole.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { UserError } from "../core/errors.js";
import { readCorpusSync, CORPUS_FORMAT } from "./reader.js";
import { SPLITS, type CorpusRecord, type Split } from "./schema.js";
import { ShardedWriter, type ShardInfo } from "./writer.js";

/** The verdict on one record: kept, or dropped with a short reason. */
export interface SubsetVerdict {
  keep: boolean;
  reason: string | null;
}

export interface SubsetOptions {
  /** Corpus directories read in this order (records keep their source order). */
  sources: string[];
  out: string;
  /** Decides on the records of one source and split; returns one verdict per record, in order. */
  select: (records: CorpusRecord[], ctx: { source: string; split: Split }) => Promise<SubsetVerdict[]>;
  /** What built this subset (recorded in config.json). */
  provenance: Record<string, unknown>;
  shardRecords?: number;
}

export interface SubsetStats {
  /** [source][split][lang] → {read, kept}. */
  counts: Record<string, Record<string, Record<string, { read: number; kept: number }>>>;
  /** Drop reasons, counted per language. */
  reasons: Record<string, Record<string, number>>;
  kept: Record<Split, number>;
}

export async function writeCorpusSubset(opts: SubsetOptions): Promise<SubsetStats> {
  if (!opts.sources.length) throw new UserError("corpus subset: no source corpus given");
  const out = path.resolve(opts.out);
  for (const s of opts.sources)
    if (path.resolve(s) === out) throw new UserError(`corpus subset: --out ${opts.out} is also a source`);
  const tmp = `${out}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const stats: SubsetStats = { counts: {}, reasons: {}, kept: { train: 0, validation: 0, test: 0 } };
  const shards: ShardInfo[] = [];
  const manifestCounts: Record<string, Record<string, number>> = {};
  const dropped: string[] = [];
  for (const split of SPLITS) {
    const writer = new ShardedWriter(tmp, split, opts.shardRecords ?? 50_000);
    const counts: Record<string, number> = { total: 0 };
    for (const source of opts.sources) {
      const records = readCorpusSync(source, { split });
      const verdicts = await opts.select(records, { source, split });
      if (verdicts.length !== records.length)
        throw new Error(`corpus subset: select gave ${verdicts.length} verdicts for ${records.length} records`);
      const bySplit = ((stats.counts[source] ??= {})[split] ??= {});
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const v = verdicts[i]!;
        const c = (bySplit[r.lang] ??= { read: 0, kept: 0 });
        c.read++;
        if (v.keep) {
          c.kept++;
          counts.total!++;
          counts[r.lang] = (counts[r.lang] ?? 0) + 1;
          await writer.write(JSON.stringify(r));
        } else {
          const reason = v.reason ?? "not selected";
          const byLang = (stats.reasons[r.lang] ??= {});
          byLang[reason] = (byLang[reason] ?? 0) + 1;
          dropped.push(JSON.stringify({ id: r.id, lang: r.lang, split, reason }));
        }
      }
    }
    shards.push(...(await writer.close()));
    manifestCounts[split] = counts;
    stats.kept[split] = counts.total!;
  }
  // gzip without a timestamp: the same verdicts give the same bytes
  fs.writeFileSync(path.join(tmp, "dropped.jsonl.gz"), zlib.gzipSync(dropped.join("\n") + "\n", { level: 9 }));
  const manifest = { format: CORPUS_FORMAT, shards, counts: manifestCounts };
  fs.writeFileSync(path.join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  fs.writeFileSync(
    path.join(tmp, "config.json"),
    // Sources relative to the subset, so the pair can move together (src/corpus/subset.ts `subsetSources`).
    JSON.stringify(
      { kind: "subset", sources: opts.sources.map((s) => path.relative(out, path.resolve(s))), ...opts.provenance },
      null,
      2,
    ) + "\n",
  );
  fs.writeFileSync(path.join(tmp, "subset-stats.json"), JSON.stringify(stats, null, 2) + "\n");
  // Files the caller added beside the corpus (a README, licenses) survive a rebuild.
  if (fs.existsSync(out)) {
    for (const keep of ["README.md", "licenses"]) {
      const p = path.join(out, keep);
      if (fs.existsSync(p)) fs.cpSync(p, path.join(tmp, keep), { recursive: true });
    }
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(tmp, out);
  return stats;
}

/** The corpora a subset was cut from (absolute paths), or null when `dir` is not a subset. */
export function subsetSources(dir: string): string[] | null {
  const p = path.join(dir, "config.json");
  if (!fs.existsSync(p)) return null;
  let cfg: { kind?: unknown; sources?: unknown };
  try {
    cfg = JSON.parse(fs.readFileSync(p, "utf8"));
  } catch (e) {
    throw new UserError(`corpus ${dir}: config.json is not valid JSON (${(e as Error).message})`);
  }
  if (cfg.kind !== "subset") return null;
  if (!Array.isArray(cfg.sources) || !cfg.sources.every((s) => typeof s === "string"))
    throw new UserError(`corpus ${dir}: config.json of a subset must list its sources`);
  return (cfg.sources as string[]).map((s) => path.resolve(dir, s));
}
