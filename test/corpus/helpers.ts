/** Shared fixtures for the corpus tests: a source tree with one example of every drop reason. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BenchmarkIndex, defaultBenchmarksDir } from "../../src/corpus/decontam.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (tests run from dist/test/corpus). */
export const repoRoot = path.resolve(here, "../../..");
export const fixtureSrc = path.join(repoRoot, "test/fixtures/corpus/src");

let benchIndex: BenchmarkIndex | null = null;
/** The real benchmark index (loaded once per test process). */
export function benchmarkIndex(): BenchmarkIndex {
  return (benchIndex ??= BenchmarkIndex.load(defaultBenchmarksDir()));
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `batcoder-${prefix}-`));
}

function copyDir(src: string, dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

function write(root: string, rel: string, content: string | Buffer): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

const pyFn = (name: string, extra = ""): string =>
  `def ${name}(items, key=None):\n    """Sort and filter ${name}."""\n    chosen = [x for x in items if x is not None]\n    chosen.sort(key=key)\n    return chosen${extra}\n`;

/**
 * Writes the fixture tree under `root` (a plain directory input) and returns its path. Besides the committed
 * fixture sources it adds every kind of file the pipeline must skip.
 */
export function makeTree(root: string): string {
  const tree = path.join(root, "tree");
  copyDir(fixtureSrc, tree);
  write(tree, ".gitignore", "# build outputs\nbuild/\n*.tmp.py\n!keep.tmp.py\n");
  write(tree, "build/ignored.py", pyFn("ignored_by_gitignore"));
  write(tree, "scratch.tmp.py", pyFn("ignored_tmp"));
  write(tree, "keep.tmp.py", pyFn("kept_by_negation"));
  write(tree, "vendor/lib.py", pyFn("vendored_fn"));
  write(tree, "Gemfile.lock", "GEM\n  remote: https://rubygems.org/\n");
  write(tree, "tests/test_geometry.py", pyFn("test_area"));
  write(
    tree,
    "gosrc/buffer_test.go",
    "package buffer\n\nfunc helperForTests(x int) int {\n\ty := x * 2\n\treturn y + 1\n}\n",
  );
  write(tree, "notes.txt", "plain text, no language\n");
  write(tree, "web/app.js", "function add(a, b) {\n  const s = a + b;\n  return s;\n}\n");
  write(tree, "big.py", pyFn("big") + "#" + "x".repeat(60_000) + "\n");
  write(tree, "blob.py", Buffer.from([0x64, 0x65, 0x66, 0x00, 0x01, 0x02, 0x00, 0x7f]));
  write(
    tree,
    "latin1.py",
    Buffer.concat([Buffer.from(pyFn("caf")), Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a])]),
  );
  write(
    tree,
    "min.py",
    "x = [" + Array.from({ length: 700 }, (_, i) => String(i)).join(", ") + "]\n" + pyFn("minified_neighbour"),
  );
  write(
    tree,
    "tool",
    "#!/usr/bin/env python3\ndef shebang_detected(argv):\n    opts = {}\n    for arg in argv[1:]:\n        name, _, value = arg.partition('=')\n        opts[name.lstrip('-')] = value or True\n    return opts\n",
  );
  // one function over maxLines (60) and one over maxTokens (400) but under 60 lines
  const longBody = Array.from({ length: 70 }, (_, i) => `    total += values[${i}] * ${i + 1}`).join("\n");
  const wideBody = Array.from({ length: 40 }, (_, i) => `    acc.append((values[${i}], ${i}, ${i * 3}, -${i}))`).join(
    "\n",
  );
  write(
    tree,
    "pkg/long.py",
    `def many_lines(values):\n    total = 0\n${longBody}\n    return total\n\n\ndef many_tokens(values):\n    acc = []\n${wideBody}\n    return acc\n`,
  );
  return tree;
}

/** A JSONL.gz input: good records, one per language, and every kind of bad line. */
export function makeJsonl(root: string): string {
  const lines: Buffer[] = [
    Buffer.from(
      JSON.stringify({
        repo: "jsonl-repo",
        path: "lib/words.py",
        lang: "python",
        content:
          'def count_words(text):\n    """Count the words of a text."""\n    parts = text.split()\n    return len([p for p in parts if p.strip()])\n',
      }),
    ),
    Buffer.from(
      JSON.stringify({
        repo: "jsonl-repo",
        path: "lib/greet.rb",
        content:
          '# Greets someone politely.\ndef greet(name, title = nil)\n  prefix = title ? "#{title} " : ""\n  "Hello, #{prefix}#{name}!"\nend\n',
      }),
    ),
    Buffer.from("{not json"),
    Buffer.from(JSON.stringify(["an", "array"])),
    Buffer.from(JSON.stringify({ path: "x.py" })),
    Buffer.concat([Buffer.from('{"path": "bad.py", "content": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
    Buffer.from(""),
  ];
  const p = path.join(root, "records.jsonl.gz");
  fs.writeFileSync(p, zlib.gzipSync(Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]))));
  return p;
}

/** A git work tree with tracked files, an untracked file and a tracked file deleted from the work tree. */
export function makeGitRepo(root: string): string {
  const repo = path.join(root, "gitrepo");
  write(
    repo,
    "src/tracked.py",
    'def tracked_function(a, b):\n    """Add two numbers with a twist."""\n    c = a * 2\n    return c + b\n',
  );
  write(repo, "src/deleted.py", pyFn("deleted_later"));
  write(repo, "src/untracked.py", pyFn("untracked_function"));
  const git = (...args: string[]): void => {
    const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  };
  git("init", "-q");
  git("add", "src/tracked.py", "src/deleted.py");
  fs.rmSync(path.join(repo, "src/deleted.py"));
  return repo;
}

export function readJsonlFile(p: string): Record<string, unknown>[] {
  const text = fs.readFileSync(p, "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
