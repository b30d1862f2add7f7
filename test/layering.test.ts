/**
 * The folder layering of src/ (README.md, "Layout"): a folder imports only from folders BELOW it (or itself).
 * Every static and dynamic relative import in src/ is parsed; an upward or sideways import between folders fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

/** Low → high. Folders on the same rank may not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ["core"],
  ["lang"],
  ["sandbox"],
  ["similarity", "behaviour", "corpus", "engine"],
  ["backends"],
  ["eval"],
  ["rl"],
  ["report"],
  ["orchestration"],
  ["cli"],
];

/** Pairs the ranks allow but the design does not: eval is HANDED a generator, it never opens models itself. */
export const FORBIDDEN: readonly [string, string][] = [["eval", "backends"]];

function rankOf(folder: string): number {
  const r = LAYERS.findIndex((l) => l.includes(folder));
  return r;
}

function srcRoot(): string {
  // dist/test/layering.test.js → repo root; the .ts sources are what is checked
  for (let d = path.dirname(new URL(import.meta.url).pathname); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json")) && fs.existsSync(path.join(d, "src"))) return path.join(d, "src");
  }
  throw new Error("repository root not found");
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Relative import specifiers of a TypeScript file: `import … from "…"`, `export … from "…"`, `import("…")`. */
export function importsOf(text: string): string[] {
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (let m = re.exec(noComments); m; m = re.exec(noComments)) out.push(m[1]!);
  return out;
}

test("import parser sees static, type-only, re-export and dynamic imports", () => {
  const src = `import a from "./a.js";\nimport type { B } from "../b/b.js";\nexport { c } from "./c.js";\nconst d = await import("../d/d.js");\nimport "./side.js";\n// import x from "../commented.js"`;
  assert.deepEqual(importsOf(src), ["./a.js", "../b/b.js", "./c.js", "../d/d.js", "./side.js"]);
});

/** Upward or same-rank imports between folders, for files given as (path relative to src/, text). */
export function layeringViolations(files: Iterable<[string, string]>): string[] {
  const violations: string[] = [];
  for (const [rel, text] of files) {
    const from = rel.split("/")[0]!;
    if (!rel.includes("/")) continue;
    for (const spec of importsOf(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (target.startsWith("..")) {
        violations.push(`${rel} imports ${spec} (outside src/)`);
        continue;
      }
      const to = target.split("/")[0]!;
      if (to === from) continue;
      if (rankOf(to) >= rankOf(from) || FORBIDDEN.some(([a, b]) => a === from && b === to))
        violations.push(`${from} → ${to}: src/${rel} imports ${spec}`);
    }
  }
  return violations;
}

test("the checker flags upward and sideways imports, and accepts downward ones", () => {
  assert.deepEqual(
    layeringViolations([
      ["engine/pretrain.ts", 'import { createEmbeddedPolicy } from "../backends/embedded.js";'],
      ["similarity/x.ts", 'import type { CorpusRecord } from "../corpus/schema.js";'],
      ["backends/x.ts", 'const m = await import("../eval/model.js");'],
      ["rl/ok.ts", 'import { Rng } from "../core/rng.js";\nimport { x } from "./y.js";'],
      ["eval/model.ts", 'import { loadEmbeddedPolicy } from "../backends/embedded.js";'],
    ]),
    [
      "engine → backends: src/engine/pretrain.ts imports ../backends/embedded.js",
      "similarity → corpus: src/similarity/x.ts imports ../corpus/schema.js",
      "backends → eval: src/backends/x.ts imports ../eval/model.js",
      "eval → backends: src/eval/model.ts imports ../backends/embedded.js",
    ],
  );
});

test("every src/ folder has a layer, and no folder imports a higher (or same-rank) folder", () => {
  const root = srcRoot();
  const folders = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const unranked = folders.filter((f) => rankOf(f) < 0);
  assert.deepEqual(
    unranked,
    [],
    `folders missing from LAYERS (add them to the order here and in README.md): ${unranked.join(", ")}`,
  );
  const files = walk(root).map((f): [string, string] => [
    path.relative(root, f).split(path.sep).join("/"),
    fs.readFileSync(f, "utf8"),
  ]);
  const violations = layeringViolations(files);
  assert.deepEqual(
    violations,
    [],
    `layering violations (a folder may import only from folders below it):\n${violations.join("\n")}`,
  );
});

test("the README's Layout section states the same order", () => {
  const readme = fs.readFileSync(path.join(srcRoot(), "..", "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.startsWith("Layers, low → high:"));
  assert.ok(line, "README.md must have a 'Layers, low → high:' line in its Layout section");
  const stated = [...line.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!);
  assert.deepEqual(stated, LAYERS.flat());
});
