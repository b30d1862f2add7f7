import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { BenchmarkIndex, loadBenchmarkUnits, defaultBenchmarksDir } from "../../src/corpus/decontam.js";
import { benchmarkIndex, fixtureSrc } from "./helpers.js";
import { plantPython } from "./plant.js";

const benchDir = defaultBenchmarksDir();
const humaneval = zlib
  .gunzipSync(fs.readFileSync(path.join(benchDir, "humaneval/HumanEval.jsonl.gz")))
  .toString("utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { task_id: string; prompt: string; canonical_solution: string });
const mbpp = zlib
  .gunzipSync(fs.readFileSync(path.join(benchDir, "mbpp/mbpp.jsonl.gz")))
  .toString("utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { task_id: number; code: string; text: string });

test("the index covers every benchmark file: HumanEval, MBPP full + sanitized, all MultiPL-E languages", () => {
  const { files } = loadBenchmarkUnits(benchDir);
  const multiple = fs.readdirSync(path.join(benchDir, "multipl-e")).filter((f) => f.endsWith(".jsonl.gz"));
  assert.ok(multiple.length >= 36);
  for (const f of multiple) assert.ok(files.includes(path.join(benchDir, "multipl-e", f)), f);
  const idx = benchmarkIndex();
  for (const b of [
    "humaneval",
    "mbpp",
    "mbpp-sanitized",
    "multipl-e/humaneval-rb",
    "multipl-e/mbpp-go",
    "multipl-e/humaneval-lua",
  ])
    assert.ok(idx.stats.benchmarks.has(b), b);
  assert.throws(() => loadBenchmarkUnits(path.join(benchDir, "nope")), /benchmark directory not found/);
});

test("verbatim HumanEval and MBPP solutions are all caught", () => {
  const idx = benchmarkIndex();
  let missed: string[] = [];
  for (const t of humaneval)
    if (idx.check("python", t.prompt + t.canonical_solution, null).length === 0) missed.push(t.task_id);
  assert.deepEqual(missed, []);
  missed = [];
  for (const t of mbpp) if (idx.check("python", t.code, null).length === 0) missed.push(String(t.task_id));
  // MBPP solutions of fewer than 8 tokens (e.g. `def f(x): return min(x)`) carry no signal and are not indexed
  assert.ok(missed.length <= 5, `missed verbatim MBPP: ${missed.join(",")}`);
});

test("renamed and reformatted planted solutions are caught (HumanEval ≥ 97%, MBPP ≥ 95%)", () => {
  const idx = benchmarkIndex();
  const missedHe: string[] = [];
  for (const t of humaneval) {
    const planted = plantPython(t.prompt.replace(/"""[\s\S]*?"""|'''[\s\S]*?'''/g, "") + t.canonical_solution, "v");
    const m = idx.check("python", planted, null);
    if (!m.some((x) => x.benchmark === "humaneval" && x.task_id === t.task_id)) missedHe.push(t.task_id);
  }
  // a few one-line solutions (`return number % 1.0`, `return n**2`) are too short to tell from any code
  assert.ok(missedHe.length <= 5, `missed ${missedHe.length}/164 planted HumanEval: ${missedHe.join(", ")}`);
  let caught = 0;
  const missed: number[] = [];
  for (const t of mbpp) {
    const m = idx.check("python", plantPython(t.code, "w"), null);
    if (m.some((x) => x.benchmark === "mbpp" && x.task_id === String(t.task_id))) caught++;
    else missed.push(t.task_id);
  }
  assert.ok(
    caught / mbpp.length >= 0.95,
    `caught ${caught}/${mbpp.length} planted MBPP; missed e.g. ${missed.slice(0, 10).join(",")}`,
  );
});

test("documentation copied from a benchmark description is caught; ordinary documentation is not", () => {
  const idx = benchmarkIndex();
  let caught = 0;
  for (const t of mbpp) {
    const m = idx.check("python", "def f(a, b):\n    c = a * b\n    return c\n", `${t.text}\n\nArgs:\n  a: first.\n`);
    if (m.some((x) => x.kind === "doc-ngram")) caught++;
  }
  assert.ok(caught / mbpp.length >= 0.95, `caught ${caught}/${mbpp.length} copied MBPP descriptions`);
  const doc = "Return the area of a simple polygon given as a list of (x, y) vertices. Uses the shoelace formula.";
  assert.deepEqual(idx.check("python", "def area(p):\n    return 0\n", doc), []);
});

test("clean fixture code is not flagged; a custom unit list is honoured", () => {
  const idx = benchmarkIndex();
  for (const f of ["pkg/geometry.py", "pkg/stats.py"]) {
    const src = fs.readFileSync(path.join(fixtureSrc, f), "utf8");
    for (const chunk of src.split(/\n\n\n/)) assert.deepEqual(idx.check("python", chunk, null), [], chunk);
  }
  const custom = new BenchmarkIndex([
    {
      benchmark: "mine",
      taskId: "t1",
      part: "solution",
      lang: "go",
      code: "func Sum(xs []int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n",
      renamed: true,
    },
  ]);
  const hit = custom.check(
    "go",
    "func Total(values []int) int {\n  acc := 0\n  for _, v := range values { acc += v }\n  return acc\n}",
    null,
  );
  assert.equal(hit.length, 1);
  assert.equal(hit[0]!.kind, "code-renamed");
  assert.equal(hit[0]!.task_id, "t1");
});
