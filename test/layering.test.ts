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
  ["similarity", "corpus", "engine"],
  ["backends"],
  ["eval"],
  ["rl"],
  ["report"],
  ["orchestration"],
  ["cli"],
];

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

test("every src/ folder has a layer, and no folder imports a higher (or same-rank) folder", () => {
  const root = srcRoot();
  const folders = fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const unranked = folders.filter((f) => rankOf(f) < 0);
  assert.deepEqual(unranked, [], `folders missing from LAYERS (add them to the order here and in README.md): ${unranked.join(", ")}`);
  const violations: string[] = [];
  for (const file of walk(root)) {
    const from = path.relative(root, file).split(path.sep)[0]!;
    if (!folders.includes(from)) continue;
    for (const spec of importsOf(fs.readFileSync(file, "utf8"))) {
      const target = path.relative(root, path.resolve(path.dirname(file), spec));
      if (target.startsWith("..")) {
        violations.push(`${path.relative(root, file)} imports ${spec} (outside src/)`);
        continue;
      }
      const to = target.split(path.sep)[0]!;
      if (to === from) continue;
      if (rankOf(to) >= rankOf(from)) violations.push(`${from} → ${to}: src/${path.relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, [], `layering violations (a folder may import only from folders below it):\n${violations.join("\n")}`);
});

test("the README's Layout section states the same order", () => {
  const readme = fs.readFileSync(path.join(srcRoot(), "..", "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.startsWith("Layers, low → high:"));
  assert.ok(line, "README.md must have a 'Layers, low → high:' line in its Layout section");
  const stated = [...line.matchAll(/`([a-z]+)`/g)].map((m) => m[1]!);
  assert.deepEqual(stated, LAYERS.flat());
});
