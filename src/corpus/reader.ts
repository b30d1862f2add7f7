/**
 * Reading a built corpus: `readCorpus` streams records of one split (optionally one language) as an
 * AsyncIterable; `readCorpusSync` loads a small corpus into memory. Both validate every record against the
 * zod schema and fail with a UserError naming the file and line of the first bad record.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { UserError } from "../core/errors.js";
import { resolveLangId } from "../lang/index.js";
import { byteLines } from "./sources.js";
import { CorpusRecordSchema, SPLITS, type CorpusRecord, type Split } from "./schema.js";
import type { ShardInfo } from "./writer.js";

export const CORPUS_FORMAT = "batcoder-corpus/1";

export interface CorpusManifest {
  format: string;
  shards: ShardInfo[];
  counts: Record<string, Record<string, number>>;
}

export interface ReadOptions {
  split: Split;
  /** Keep only this language (or these languages). */
  lang?: string | string[];
  /** Keep only records that have documentation. */
  withDoc?: boolean;
  /** Stop after this many records. */
  limit?: number;
}

function splitDirShards(dir: string, split: string): string[] {
  const manifestPath = path.join(dir, "manifest.json");
  if (fs.existsSync(manifestPath)) {
    const m = readManifest(dir);
    return m.shards.filter((s) => s.split === split).map((s) => path.join(dir, s.path));
  }
  const sd = path.join(dir, split);
  if (!fs.existsSync(sd)) return [];
  return fs
    .readdirSync(sd)
    .filter((f) => /^shard-\d+\.jsonl(\.gz)?$/.test(f))
    .sort()
    .map((f) => path.join(sd, f));
}

export function readManifest(dir: string): CorpusManifest {
  const p = path.join(dir, "manifest.json");
  let m: CorpusManifest;
  try {
    m = JSON.parse(fs.readFileSync(p, "utf8")) as CorpusManifest;
  } catch (e) {
    throw new UserError(`corpus ${dir}: cannot read manifest.json (${(e as Error).message})`);
  }
  if (!m || m.format !== CORPUS_FORMAT || !Array.isArray(m.shards))
    throw new UserError(`corpus ${dir}: manifest.json is not a ${CORPUS_FORMAT} manifest`);
  return m;
}

function checkCorpusDir(dir: string, split: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`corpus directory not found: ${dir}`);
  if (!(SPLITS as readonly string[]).includes(split))
    throw new UserError(`unknown split '${split}' (expected one of ${SPLITS.join(", ")})`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseLine(buf: Buffer, file: string, no: number): CorpusRecord {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw new UserError(`${file}:${no}: line is not valid UTF-8`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}:${no}: invalid JSON (${(e as Error).message})`);
  }
  const r = CorpusRecordSchema.safeParse(obj);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`);
    throw new UserError(`${file}:${no}: bad corpus record — ${issues.join("; ")}`);
  }
  return r.data;
}

function makeFilter(opts: ReadOptions): (r: CorpusRecord) => boolean {
  const langs =
    opts.lang === undefined
      ? null
      : new Set((Array.isArray(opts.lang) ? opts.lang : [opts.lang]).map((l) => resolveLangId(l) ?? l));
  return (r) => (!langs || langs.has(r.lang)) && (!opts.withDoc || r.doc !== null) && r.split === opts.split;
}

/** Streams the records of one split. Memory stays flat: one shard chunk at a time. */
export async function* readCorpus(dir: string, opts: ReadOptions): AsyncGenerator<CorpusRecord> {
  checkCorpusDir(dir, opts.split);
  const keep = makeFilter(opts);
  let n = 0;
  for (const file of splitDirShards(dir, opts.split)) {
    if (!fs.existsSync(file)) throw new UserError(`corpus ${dir}: shard listed in manifest.json is missing: ${file}`);
    const raw = fs.createReadStream(file);
    const stream = file.endsWith(".gz") ? raw.pipe(zlib.createGunzip()) : raw;
    raw.on("error", (e) => stream.destroy(e));
    try {
      for await (const { line, no } of byteLines(stream)) {
        if (line.length === 0) continue;
        const rec = parseLine(line, file, no);
        if (!keep(rec)) continue;
        yield rec;
        if (opts.limit !== undefined && ++n >= opts.limit) {
          raw.destroy();
          return;
        }
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${file}: cannot read shard (${(e as Error).message})`);
    }
  }
}

/** Loads a split into memory (for small corpora such as the bundled default one). */
export function readCorpusSync(dir: string, opts: ReadOptions): CorpusRecord[] {
  checkCorpusDir(dir, opts.split);
  const keep = makeFilter(opts);
  const out: CorpusRecord[] = [];
  for (const file of splitDirShards(dir, opts.split)) {
    if (!fs.existsSync(file)) throw new UserError(`corpus ${dir}: shard listed in manifest.json is missing: ${file}`);
    let buf = fs.readFileSync(file);
    if (file.endsWith(".gz")) {
      try {
        buf = zlib.gunzipSync(buf);
      } catch (e) {
        throw new UserError(`${file}: not a valid gzip file (${(e as Error).message})`);
      }
    }
    let start = 0;
    let no = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      if (nl < 0) nl = buf.length;
      no++;
      if (nl > start) {
        const rec = parseLine(buf.subarray(start, nl), file, no);
        if (keep(rec)) {
          out.push(rec);
          if (opts.limit !== undefined && out.length >= opts.limit) return out;
        }
      }
      start = nl + 1;
    }
  }
  return out;
}

/** Verifies every shard listed in the manifest against its sha256 and record count. Returns problems found. */
export function verifyCorpus(dir: string): string[] {
  const m = readManifest(dir);
  const problems: string[] = [];
  for (const s of m.shards) {
    const p = path.join(dir, s.path);
    if (!fs.existsSync(p)) {
      problems.push(`${s.path}: missing`);
      continue;
    }
    const buf = fs.readFileSync(p);
    const sha = createHash("sha256").update(buf).digest("hex");
    if (sha !== s.sha256) problems.push(`${s.path}: sha256 ${sha} != manifest ${s.sha256}`);
    else {
      const text = zlib.gunzipSync(buf);
      let lines = 0;
      for (let i = 0; i < text.length; i++) if (text[i] === 10) lines++;
      if (lines !== s.records) problems.push(`${s.path}: ${lines} records != manifest ${s.records}`);
    }
  }
  return problems;
}
