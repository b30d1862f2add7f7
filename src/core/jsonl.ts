/**
 * Files: JSONL reading (strict for data, tolerant of a torn last line for run logs), appending, optional gzip,
 * and atomic writes (temp file in the same directory, fsync, rename).
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { UserError } from "./errors.js";

/** Reads a text file, gunzipping it when the name ends in `.gz`. */
export function readTextMaybeGz(file: string): string {
  const buf = fs.readFileSync(file);
  if (!file.endsWith(".gz")) return buf.toString("utf8");
  try {
    return zlib.gunzipSync(buf).toString("utf8");
  } catch (e) {
    throw new UserError(`${file}: not a valid gzip file (${(e as Error).message})`);
  }
}

/**
 * Parses JSONL text strictly: every non-blank line must be a JSON object. `where` names the source in errors,
 * which are `UserError`s of the form "<where>:<line>: ...".
 */
export function parseJsonl(text: string, where: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${where}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (!r || typeof r !== "object" || Array.isArray(r))
      throw new UserError(`${where}:${i + 1}: a record must be a JSON object`);
    out.push(r as Record<string, unknown>);
  }
  return out;
}

/** Reads a data JSONL file (optionally .gz) strictly: a malformed line is a `UserError` naming file and line. */
export function readJsonlStrict(file: string): Record<string, unknown>[] {
  return parseJsonl(readTextMaybeGz(file), file);
}

/**
 * Reads a run log (metrics, samples, evals): a missing file is empty, and a line that does not parse (torn by a
 * kill mid-append) is skipped.
 */
export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let r: T;
    try {
      r = JSON.parse(line) as T;
    } catch {
      continue; // torn line from a kill mid-write
    }
    out.push(r);
  }
  return out;
}

export function appendJsonl(file: string, obj: unknown): void {
  fs.appendFileSync(file, JSON.stringify(obj) + "\n");
}

/** Keeps only the records whose `step` is <= maxStep (used on resume so no step is logged twice). */
export function truncateJsonlByStep(file: string, maxStep: number): void {
  if (!fs.existsSync(file)) return;
  const keep = readJsonl<{ step?: number }>(file).filter((r) => typeof r.step !== "number" || r.step <= maxStep);
  writeFileAtomic(file, keep.map((r) => JSON.stringify(r) + "\n").join(""));
}

/** fsyncs a file or directory by path (directories: makes a rename inside it durable). */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file and fsyncs it (no rename: for files inside a directory that is itself renamed into place). */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file atomically: a temp file in the same directory, fsync, rename over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeFileSynced(tmp, data);
  fs.renameSync(tmp, file);
}
