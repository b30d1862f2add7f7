import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { DEFAULT_CORPUS_DIR, readCorpusSync, verifyCorpus, SPLITS, type CorpusRecord } from "../../src/corpus/index.js";
import { benchmarkIndex } from "./helpers.js";

const dir = DEFAULT_CORPUS_DIR;
const all: CorpusRecord[] = SPLITS.flatMap((split) => readCorpusSync(dir, { split }));

test("the bundled default corpus matches its SHA256SUMS and manifest", () => {
  const sums = fs.readFileSync(path.join(dir, "SHA256SUMS"), "utf8").trim().split("\n");
  assert.ok(sums.length >= 7);
  for (const line of sums) {
    const [hash, file] = line.split(/\s+/);
    const actual = createHash("sha256")
      .update(fs.readFileSync(path.join(dir, file!)))
      .digest("hex");
    assert.equal(actual, hash, file);
  }
  assert.deepEqual(verifyCorpus(dir), []);
  for (const lic of ["python-3.11-LICENSE.txt", "ruby-3.1-debian-copyright", "go-1.19-debian-copyright"])
    assert.ok(fs.statSync(path.join(dir, "licenses", lic)).size > 1000, lic);
});

test("default corpus: Python, Ruby and Go; short functions; enough documented held-out Python", () => {
  const langs = new Set(all.map((r) => r.lang));
  assert.deepEqual([...langs].sort(), ["go", "python", "ruby"]);
  for (const r of all) {
    assert.ok(r.n_lines <= 40, `${r.path}:${r.name} has ${r.n_lines} lines`);
    assert.ok(r.n_tokens <= 400, `${r.path}:${r.name} has ${r.n_tokens} tokens`);
    assert.ok(r.license !== null);
  }
  const heldOutPy = all.filter((r) => r.split === "test" && r.lang === "python" && r.doc !== null);
  assert.ok(heldOutPy.length >= 200, `only ${heldOutPy.length} documented Python test functions`);
  // no test-suite code from the standard libraries
  assert.ok(!all.some((r) => /(^|\/)(tests?|testdata|idle_test)\//.test(r.path) || /_test\.go$/.test(r.path)));
  // documentation is separate from code
  const withDoc = all.filter((r) => r.doc !== null && r.doc.length > 30);
  assert.ok(withDoc.length > 5000);
  const leaked = withDoc.filter((r) => r.code.includes(r.doc!)).map((r) => `${r.path}:${r.name}`);
  assert.deepEqual(leaked, []);
});

test("default corpus: no held-out function (nor a sample of training ones) is flagged by decontamination", () => {
  const idx = benchmarkIndex();
  const sample = all.filter((r, i) => r.split !== "train" || i % 6 === 0);
  const flagged = sample
    .filter((r) => idx.check(r.lang, r.code, r.doc).length > 0)
    .map((r) => `${r.repo}/${r.path}:${r.name}`);
  assert.deepEqual(flagged, []);
});
