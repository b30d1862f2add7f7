/**
 * Input enumeration, streaming: directories (recursive, sorted, honouring .gitignore files), local git
 * repositories (tracked files via `git ls-files`), JSONL / JSONL.gz files with `content` + `path`/`lang`
 * fields, and single files. Nothing is read before it is needed and nothing is held after it is yielded.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { isIgnored, parseGitignore, type IgnoreRule } from "./gitignore.js";
import type { FileDropReason } from "./filters.js";
import type { InputSpec } from "./schema.js";

export interface SourceFile {
  repo: string;
  /** Path relative to the input root ("/"-separated). */
  path: string;
  license: string | null;
  /** Size in bytes (file size, or the UTF-8 length of a JSONL `content`). */
  size: number;
  /** For messages: the absolute file path, or `file.jsonl:LINE`. */
  origin: string;
  /** Language named by a JSONL record's `lang` field. */
  langHint?: string | null;
  /** Decoded content (JSONL records). */
  text?: string;
  /** Reads the raw bytes (filesystem files). */
  read?: () => Promise<Buffer>;
  /** Set when the input itself is unusable (bad JSONL record). */
  dropped?: FileDropReason;
  detail?: string;
}

export interface NormalizedInput {
  path: string;
  repo: string;
  license: string | null;
  exclude: string[];
}

export function normalizeInput(spec: InputSpec): NormalizedInput {
  const o = typeof spec === "string" ? { path: spec } : spec;
  const abs = path.resolve(o.path);
  const base = path.basename(abs).replace(/\.jsonl(\.gz)?$/, "");
  return { path: abs, repo: o.repo ?? base, license: o.license ?? null, exclude: o.exclude ?? [] };
}

export function isJsonlPath(p: string): boolean {
  return /\.jsonl(\.gz)?$/.test(p);
}

/** Splits a byte stream into lines (without the newline), with 1-based line numbers. */
export async function* byteLines(
  stream: Readable,
  maxLineBytes = 256 * 1024 * 1024,
): AsyncGenerator<{ line: Buffer; no: number }> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let no = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      const line = pendingLen ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingLen = 0;
      no++;
      yield { line, no };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingLen += chunk.length - start;
      if (pendingLen > maxLineBytes) throw new Error(`line ${no + 1} is longer than ${maxLineBytes} bytes`);
    }
  }
  if (pendingLen) {
    no++;
    yield { line: Buffer.concat(pending), no };
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Records of a JSONL(.gz) input. Bad lines come out as dropped items with the file and line. */
export async function* jsonlSources(inp: NormalizedInput, onBytes?: (n: number) => void): AsyncGenerator<SourceFile> {
  const raw = fs.createReadStream(inp.path);
  if (onBytes) raw.on("data", (c) => onBytes((c as Buffer).length));
  const stream: Readable = inp.path.endsWith(".gz") ? raw.pipe(zlib.createGunzip()) : raw;
  raw.on("error", (e) => stream.destroy(e));
  const rel = path.basename(inp.path);
  for await (const { line, no } of byteLines(stream)) {
    const origin = `${inp.path}:${no}`;
    if (line.length === 0 || (line.length < 8 && line.toString().trim() === "")) continue;
    let text: string;
    try {
      text = utf8.decode(line);
    } catch {
      yield {
        repo: inp.repo,
        path: `${rel}:${no}`,
        license: inp.license,
        size: line.length,
        origin,
        dropped: "invalid-utf8",
        detail: "JSONL line is not valid UTF-8",
      };
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      yield {
        repo: inp.repo,
        path: `${rel}:${no}`,
        license: inp.license,
        size: line.length,
        origin,
        dropped: "bad-input-record",
        detail: `invalid JSON: ${(e as Error).message}`,
      };
      continue;
    }
    if (
      typeof obj !== "object" ||
      obj === null ||
      Array.isArray(obj) ||
      typeof (obj as { content?: unknown }).content !== "string"
    ) {
      yield {
        repo: inp.repo,
        path: `${rel}:${no}`,
        license: inp.license,
        size: line.length,
        origin,
        dropped: "bad-input-record",
        detail: "not an object with a string `content` field",
      };
      continue;
    }
    const r = obj as Record<string, unknown>;
    const s = (k: string): string | null =>
      typeof r[k] === "string" && (r[k] as string).length > 0 ? (r[k] as string) : null;
    const p = s("path") ?? s("max_stars_repo_path") ?? s("filename") ?? `${rel}:${no}`;
    yield {
      repo: s("repo") ?? s("repo_name") ?? s("max_stars_repo_name") ?? inp.repo,
      path: p.replace(/\\/g, "/").replace(/^\.?\//, ""),
      license: s("license") ?? inp.license,
      size: Buffer.byteLength(r.content as string),
      origin,
      langHint: s("lang") ?? s("language"),
      text: r.content as string,
    };
  }
}

function fileSource(inp: NormalizedInput, abs: string, rel: string, size: number): SourceFile {
  return { repo: inp.repo, path: rel, license: inp.license, size, origin: abs, read: () => fs.promises.readFile(abs) };
}

/** Files of a directory tree, sorted, honouring .gitignore files and the input's exclude globs. */
export async function* directorySources(inp: NormalizedInput): AsyncGenerator<SourceFile> {
  const root = inp.path;
  const baseRules = inp.exclude.length ? parseGitignore(inp.exclude.join("\n"), "") : [];
  async function* walk(dirAbs: string, dirRel: string, rules: IgnoreRule[]): AsyncGenerator<SourceFile> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dirAbs, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const gi = entries.find((e) => e.name === ".gitignore" && e.isFile());
    if (gi) {
      try {
        rules = rules.concat(
          parseGitignore(await fs.promises.readFile(path.join(dirAbs, ".gitignore"), "utf8"), dirRel),
        );
      } catch {
        /* unreadable .gitignore: ignore it */
      }
    }
    for (const e of entries) {
      if (e.name === ".git") continue;
      const rel = dirRel ? `${dirRel}/${e.name}` : e.name;
      const abs = path.join(dirAbs, e.name);
      if (e.isDirectory()) {
        if (!isIgnored(rules, rel, true)) yield* walk(abs, rel, rules);
      } else if (e.isFile()) {
        if (isIgnored(rules, rel, false)) continue;
        let size = 0;
        try {
          size = (await fs.promises.stat(abs)).size;
        } catch {
          continue;
        }
        yield fileSource(inp, abs, rel, size);
      }
      // symlinks inside a tree are not followed (no cycles, no escaping the tree)
    }
  }
  yield* walk(root, "", baseRules);
}

/** Tracked files of a git work tree (`git ls-files -z`), in git's (sorted) order. */
export async function* gitSources(inp: NormalizedInput): AsyncGenerator<SourceFile> {
  const child = spawn("git", ["-C", inp.path, "ls-files", "-z", "--cached"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  const done = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  const rules = inp.exclude.length ? parseGitignore(inp.exclude.join("\n"), "") : [];
  let pending = "";
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    pending += chunk.toString("utf8");
    const parts = pending.split("\0");
    pending = parts.pop()!;
    for (const rel of parts) {
      if (!rel || isIgnored(rules, rel, false)) continue;
      const abs = path.join(inp.path, rel);
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(abs);
      } catch (e) {
        // tracked but missing from the work tree (or a dangling link): reported as a read error
        const err = e as Error;
        yield {
          repo: inp.repo,
          path: rel,
          license: inp.license,
          size: 0,
          origin: abs,
          read: () => Promise.reject(err),
        };
        continue;
      }
      if (!st.isFile()) continue;
      yield fileSource(inp, abs, rel, st.size);
    }
  }
  const code = await done;
  if (code !== 0) throw new Error(`git ls-files failed in ${inp.path} (exit ${code}): ${stderr.trim()}`);
}

export type InputKind = "directory" | "git" | "jsonl" | "file";

export function inputKind(inp: NormalizedInput): InputKind {
  let st: fs.Stats;
  try {
    st = fs.statSync(inp.path);
  } catch {
    throw new Error(`input not found: ${inp.path}`);
  }
  if (st.isDirectory()) return fs.existsSync(path.join(inp.path, ".git")) ? "git" : "directory";
  if (isJsonlPath(inp.path)) return "jsonl";
  return "file";
}

/** All source files of one input, whatever its kind. */
export async function* inputSources(inp: NormalizedInput, onBytes?: (n: number) => void): AsyncGenerator<SourceFile> {
  const kind = inputKind(inp);
  if (kind === "git") yield* gitSources(inp);
  else if (kind === "directory") yield* directorySources(inp);
  else if (kind === "jsonl") yield* jsonlSources(inp, onBytes);
  else {
    const st = fs.statSync(inp.path);
    const repo = inp.repo === path.basename(inp.path) ? path.basename(path.dirname(inp.path)) : inp.repo;
    yield { ...fileSource(inp, inp.path, path.basename(inp.path), st.size), repo };
  }
}
