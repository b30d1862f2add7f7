// The executable slice: which functions the behaviour runner keeps, splits preserved, the corpus verifiable, and
// a failed build losing nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { buildCorpus } from "../../src/corpus/pipeline.js";
import { readCorpusSync, verifyCorpus } from "../../src/corpus/reader.js";
import { SPLITS, type CorpusRecord } from "../../src/corpus/schema.js";
import { subsetSources, writeCorpusSubset } from "../../src/corpus/subset.js";
import { buildExecSlice, reasonCategory } from "../../src/orchestration/exec-slice.js";
import { tmpDir } from "../corpus/helpers.js";

const FUNCS: Record<string, string> = {
  // pure, runs alone
  "pure_sum.py": `def total_of(values):\n    """Adds up the numbers."""\n    acc = 0\n    for v in values:\n        acc += v\n    return acc\n`,
  "pure_clamp.py": `def clamp_to(x, lo, hi):\n    """Keeps x between lo and hi."""\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n`,
  "pure_vowels.rb": `def vowel_count(word)\n  n = 0\n  word.each_char do |ch|\n    n += 1 if "aeiou".include?(ch)\n  end\n  n\nend\n`,
  // needs a module-level table it never defines: cannot run alone
  "missing.py": `def scaled_path(name, factor):\n    """Joins and scales."""\n    base = _SCALE_TABLE.get(name, 1)\n    return base * factor\n`,
  // not deterministic on two runs
  "clock.py": `def stamp_for(count):\n    """Adds the clock."""\n    import time\n    value = time.time_ns()\n    return value + count\n`,
  // every input fails
  "always_raises.py": `def must_fail(thing):\n    """Always fails."""\n    message = "cannot use " + str(thing)\n    raise ValueError(message)\n`,
};

async function sourceCorpus(root: string): Promise<string> {
  const src = path.join(root, "src");
  fs.mkdirSync(src, { recursive: true });
  for (const [name, code] of Object.entries(FUNCS)) fs.writeFileSync(path.join(src, name), code);
  const out = path.join(root, "corpus");
  await buildCorpus(
    {
      inputs: [src],
      langs: ["python", "ruby"],
      minLines: 2,
      minTokens: 8,
      split: { train: 0.34, validation: 0.33, test: 0.33 },
      // the loop that adds up numbers looks like an MBPP solution; this test is about executability
      decontam: { enabled: false },
      out,
    },
    { progress: false, workers: 0 },
  );
  return out;
}

function all(dir: string): CorpusRecord[] {
  return SPLITS.flatMap((split) => readCorpusSync(dir, { split }));
}

test("exec slice: keeps exactly the functions that run alone, in their own split; the result verifies", async () => {
  const root = tmpDir("exec-slice");
  const src = await sourceCorpus(root);
  const before = all(src);
  assert.equal(before.length, Object.keys(FUNCS).length, "every fixture function is in the source corpus");
  const out = path.join(root, "exec");
  const stats = await buildExecSlice({ sources: [src], out, progress: false });
  const kept = all(out);
  assert.deepEqual(kept.map((r) => r.name).sort(), ["clamp_to", "total_of", "vowel_count"]);
  for (const r of kept) {
    const orig = before.find((b) => b.id === r.id)!;
    assert.equal(r.split, orig.split, `${r.name} stays in its split`);
    assert.deepEqual(r, orig, "records are copied unchanged");
  }
  assert.deepEqual(verifyCorpus(out), []);
  const dropped = zlib
    .gunzipSync(fs.readFileSync(path.join(out, "dropped.jsonl.gz")))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { id: string; reason: string });
  assert.equal(dropped.length, 3);
  const reasonOf = (name: string) => dropped.find((d) => d.id === before.find((b) => b.name === name)!.id)!.reason;
  assert.match(reasonOf("stamp_for"), /determin/i);
  assert.match(reasonOf("must_fail"), /raises/);
  assert.match(reasonOf("scaled_path"), /NameError/);
  assert.equal(stats.kept.train + stats.kept.validation + stats.kept.test, 3);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(cfg.kind, "subset");
  assert.deepEqual(subsetSources(out), [src], "a slice names the corpora it was cut from (the warm start reads them)");
  assert.equal(subsetSources(src), null, "a built corpus is not a subset");
});

test("corpus subset: a selection that fails leaves the previous corpus whole; --out cannot be a source", async () => {
  const root = tmpDir("subset-fail");
  const src = await sourceCorpus(root);
  const out = path.join(root, "slice");
  await writeCorpusSubset({
    sources: [src],
    out,
    select: async (rs) => rs.map((r) => ({ keep: r.lang === "ruby", reason: "python" })),
    provenance: {},
  });
  assert.deepEqual(
    all(out).map((r) => r.lang),
    ["ruby"],
  );
  await assert.rejects(
    writeCorpusSubset({
      sources: [src],
      out,
      select: async () => {
        throw new Error("sandbox went away");
      },
      provenance: {},
    }),
    /sandbox went away/,
  );
  assert.deepEqual(verifyCorpus(out), [], "the earlier slice is untouched");
  assert.deepEqual(
    all(out).map((r) => r.lang),
    ["ruby"],
  );
  await assert.rejects(
    writeCorpusSubset({
      sources: [out],
      out,
      select: async (rs) => rs.map(() => ({ keep: true, reason: null })),
      provenance: {},
    }),
    /also a source/,
  );
});

test("reasonCategory folds details into a few categories", () => {
  assert.equal(
    reasonCategory("every input raises (16/16 NameError: name 'os' is not defined)"),
    "every input raises NameError",
  );
  assert.equal(reasonCategory("original does not load: SyntaxError at line 3"), "does not load: SyntaxError");
});
