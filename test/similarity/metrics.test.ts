import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadLanguage, detectLanguage, type LangId } from "../../src/lang/index.js";
import { similarity, similarityAll, METRICS } from "../../src/similarity/metrics.js";
import { sentenceBleu } from "../../src/similarity/bleu.js";
import { hungarian } from "../../src/similarity/ged.js";
import { UserError } from "../../src/core/errors.js";
import { CASES, fillVariants, UNRELATED } from "./cases.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const FIX = path.join(ROOT, "test/fixtures/lang");

// The graph languages plus Haskell (fallback). The Julia, Swift and Kotlin grammars cost seconds of CPU to
// compile, so this file leaves them to test/lang (which parses every registered language).
const LANGS: LangId[] = [
  "python",
  "javascript",
  "typescript",
  "java",
  "go",
  "ruby",
  "lua",
  "c",
  "cpp",
  "rust",
  "haskell",
  "elixir",
  "r",
  "bash",
  "php",
  "ocaml",
];

before(async () => {
  for (const l of LANGS) await loadLanguage(l);
});

test("identical code scores 1.0 on every metric, in every loaded language", () => {
  for (const f of fs.readdirSync(FIX)) {
    const src = fs.readFileSync(path.join(FIX, f), "utf8");
    const lang = detectLanguage(f, src.split("\n")[0])!;
    if (!LANGS.includes(lang)) continue;
    const all = similarityAll(src, src, lang);
    for (const m of METRICS) assert.equal(all[m].score, 1, `${lang} ${m}: ${JSON.stringify(all[m])}`);
  }
  for (const c of CASES)
    for (const m of METRICS) assert.equal(similarity(m, c.ref, c.ref, c.lang).score, 1, `${c.lang} ${m}`);
});

test("smoothed BLEU matches a hand computation", () => {
  // p1 = 3/4, p2 = (2+1)/(3+1), p3 = (1+1)/(2+1), p4 = (0+1)/(1+1), BP = 1
  const r = sentenceBleu(["a", "b", "c", "d"], ["a", "b", "c", "e"]);
  const expected = Math.pow(0.75 * 0.75 * (2 / 3) * 0.5, 1 / 4);
  assert.ok(Math.abs(r.score - expected) < 1e-12, `${r.score} vs ${expected}`);
  // brevity penalty: half-length candidate
  const s = sentenceBleu(["a", "b", "c", "d"], ["a", "b"]);
  assert.ok(Math.abs(s.components.brevityPenalty - Math.exp(1 - 4 / 2)) < 1e-12);
  assert.equal(sentenceBleu(["a"], []).score, 0);
  // n-grams are ordered: a reversed candidate matches unigrams only
  const rev = sentenceBleu(["a", "b", "c", "d"], ["d", "c", "b", "a"]);
  assert.deepEqual(rev.components.precisions, [1, 1 / 4, 1 / 3, 1 / 2]);
});

for (const c0 of CASES) {
  const c = fillVariants(c0);
  test(`graph metric (${c.lang}): renaming and independent reordering keep >= 0.9 while BLEU drops`, () => {
    for (const v of [c.renamed, c.reordered]) {
      assert.notEqual(v, c.ref);
      const g = similarity("dfg", c.ref, v, c.lang);
      assert.ok(g.score >= 0.9, `${c.lang}: dfg ${g.score}`);
      assert.deepEqual(g.warnings, []);
      const b = similarity("bleu", c.ref, v, c.lang);
      assert.ok(b.score < 1 && b.score < g.score, `${c.lang}: bleu ${b.score} dfg ${g.score}`);
    }
    assert.equal(similarity("dfg", c.ref, c.renamed, c.lang).score, 1);
    assert.ok(similarity("bleu", c.ref, c.renamed, c.lang).score < 0.7);
  });
  test(`graph metric (${c.lang}): flipped comparison, deleted statement, swapped arguments lower it`, () => {
    const keep = Math.min(
      similarity("dfg", c.ref, c.renamed, c.lang).score,
      similarity("dfg", c.ref, c.reordered, c.lang).score,
    );
    for (const [name, v] of [
      ["flipped", c.flipped],
      ["deleted", c.deleted],
      ["swapped", c.swapped],
    ] as const) {
      assert.notEqual(v, c.ref, name);
      const g = similarity("dfg", c.ref, v, c.lang).score;
      assert.ok(g < keep && g < 1, `${c.lang} ${name}: ${g} vs ${keep}`);
    }
    // a flipped comparison costs a real amount: at least as much as relabelling three nodes of the graph
    const r = similarity("dfg", c.ref, c.flipped, c.lang);
    const maxCost = r.components.maxCost as number;
    assert.ok(r.score <= 1 - 3 / maxCost + 1e-9, `${c.lang} flipped: ${r.score} (max cost ${maxCost})`);
  });
}

test("unrelated functions of similar length score low on every metric", () => {
  for (const c of CASES) {
    const u = UNRELATED[c.lang];
    if (!u) continue;
    const all = similarityAll(c.ref, u, c.lang);
    assert.ok(all.bleu.score < 0.15, `${c.lang} bleu ${all.bleu.score}`);
    assert.ok(all.codebleu.score < 0.3, `${c.lang} codebleu ${all.codebleu.score}`);
    assert.ok(all.dfg.score < 0.55, `${c.lang} dfg ${all.dfg.score}`);
    assert.equal(all.exact.score, 0);
  }
});

const JUNK: Partial<Record<LangId, string>> = {
  python:
    "\ndef junk(a):\n    z = a * 3\n    while z > 0:\n        z -= 1\n    print(z)\n    return z\n\nunused = [k for k in range(10)]\n",
  javascript:
    "\nfunction junk(a) {\n  let z = a * 3;\n  while (z > 0) { z -= 1; }\n  console.log(z);\n  return z;\n}\nconst unused = [1, 2, 3].map((k) => k * 2);\n",
  go: "\nfunc junk(a int) int {\n\tz := a * 3\n\tfor z > 0 {\n\t\tz -= 1\n\t}\n\tfmt.Println(z)\n\treturn z\n}\n",
  ruby: "\ndef junk(a)\n  z = a * 3\n  while z > 0\n    z -= 1\n  end\n  puts z\n  z\nend\n",
};

test("padding the candidate with junk never raises CodeBLEU or the graph metric", () => {
  for (const c0 of CASES) {
    const junk = JUNK[c0.lang];
    if (!junk) continue;
    const c = fillVariants(c0);
    for (const cand of [c.ref, c.flipped, c.deleted, c.renamed]) {
      for (const m of ["codebleu", "dfg"] as const) {
        const base = similarity(m, c.ref, cand, c.lang).score;
        const padded = similarity(m, c.ref, cand + junk, c.lang).score;
        const twice = similarity(m, c.ref, cand + junk + junk.replace(/junk/g, "junk2"), c.lang).score;
        assert.ok(padded < base || (base === 0 && padded === 0), `${c.lang} ${m}: ${padded} !< ${base}`);
        assert.ok(twice <= padded, `${c.lang} ${m}: more junk ${twice} > ${padded}`);
      }
    }
  }
});

test("CodeBLEU: a zero data-flow match counts as zero, not as full credit", () => {
  const ref = "def f(a):\n    b = a + 1\n    c = b * 2\n    return c\n";
  const cand = "def f(a):\n    return 3\n";
  const r = similarity("codebleu", ref, cand, "python");
  assert.equal(r.components.dataflow, 0);
  const onlyDf = similarity("codebleu", ref, cand, "python", {
    codebleuWeights: { ngram: 0, weighted: 0, syntax: 0, dataflow: 1 },
  });
  assert.equal(onlyDf.score, 0);
  // weights are honoured: the score is the weighted mean of the parts
  const w = { ngram: 0.1, weighted: 0.2, syntax: 0.3, dataflow: 0.4 };
  const rw = similarity("codebleu", ref, cand, "python", { codebleuWeights: w });
  const c = rw.components as Record<string, number>;
  assert.ok(Math.abs(rw.score - (0.1 * c.ngram! + 0.2 * c.weighted! + 0.3 * c.syntax! + 0.4 * c.dataflow!)) < 1e-12);
});

test("CodeBLEU: when neither side has data flow the part is undefined and its weight is spread, with a warning", () => {
  const r = similarity("codebleu", "def f():\n    return 1\n", "def f():\n    return 2\n", "python");
  assert.equal(r.components.dataflow, null);
  assert.ok(r.warnings.some((w) => /data flow/.test(w)));
  const c = r.components as Record<string, number>;
  assert.ok(Math.abs(r.score - (c.ngram! + c.weighted! + c.syntax!) / 3) < 1e-12);
});

test("CodeBLEU: the syntax part penalises extra code (F-score, not recall)", () => {
  const ref = "def f(a):\n    b = a + 1\n    return b\n";
  const cand = ref + "\ndef g(x):\n    if x:\n        return [x, x]\n    return None\n";
  const r = similarity("codebleu", ref, cand, "python");
  assert.ok((r.components.syntax as number) < 0.8, `syntax ${r.components.syntax}`);
});

test("graph metric falls back to CodeBLEU for languages without graph support, with a warning", () => {
  const a = "add :: Int -> Int -> Int\nadd a b = a + b\n";
  const b = "add :: Int -> Int -> Int\nadd x y = x - y\n";
  const r = similarity("dfg", a, b, "haskell");
  const cb = similarity("codebleu", a, b, "haskell");
  assert.equal(r.score, cb.score);
  assert.equal(r.components.fallbackCodebleu, 1);
  assert.ok(r.warnings.some((w) => /fell back to CodeBLEU/.test(w)));
});

test("malformed input: binary, empty, huge and unknown give clear errors; bad candidates score, never NaN", () => {
  const ref = "def f(a):\n    return a + 1\n";
  assert.throws(
    () => similarity("bleu", "\u0000\u0001ELF\u0000", ref, "python"),
    (e: unknown) => e instanceof UserError && /reference code: input looks binary/.test(e.message),
  );
  assert.throws(
    () => similarity("dfg", ref, "\u0000\u0000\u0000", "python"),
    (e: unknown) => e instanceof UserError && /candidate code: .*binary/.test(e.message),
  );
  assert.throws(
    () => similarity("codebleu", "  \n", ref, "python"),
    (e: unknown) => e instanceof UserError && /reference code is empty/.test(e.message),
  );
  assert.throws(
    () => similarity("bleu", ref, "x".repeat(300_000), "python"),
    (e: unknown) => e instanceof UserError && /too large/.test(e.message),
  );
  assert.throws(() => similarity("bleu", ref, ref, "cobol" as LangId), /unknown language/);
  assert.throws(() => similarity("nope" as never, ref, ref, "python"), /unknown metric/);
  for (const cand of ["", "   \n", "# only a comment\n", "def (((( ::: return ]]]", ")))))"]) {
    const all = similarityAll(ref, cand, "python");
    for (const m of METRICS) {
      assert.ok(
        Number.isFinite(all[m].score) && all[m].score >= 0 && all[m].score <= 1,
        `${m} ${JSON.stringify(cand)}: ${all[m].score}`,
      );
      assert.ok(all[m].score < 0.5, `${m} ${JSON.stringify(cand)}: ${all[m].score}`);
    }
  }
  assert.ok(similarity("bleu", ref, "", "python").warnings.some((w) => /no code tokens/.test(w)));
  assert.ok(
    similarity("dfg", ref, "def f(a:\n    return a +\n", "python").warnings.some((w) => /syntax error/.test(w)),
  );
});

test("very deep code: the graph parts report it (0 for a candidate, UserError for a reference), never a stack overflow", () => {
  const ref = "def f(a):\n    return a + 1\n";
  const deep = "def f(a):\n    return " + "(".repeat(3000) + "a" + ")".repeat(3000) + "\n";
  const chain = "def f(a):\n    return a" + " + a".repeat(3000) + "\n";
  for (const cand of [deep, chain]) {
    const all = similarityAll(ref, cand, "python");
    assert.equal(all.dfg.score, 0);
    assert.ok(all.dfg.warnings.some((w) => /nested too deeply/.test(w)));
    assert.equal(all.codebleu.score, 0);
    assert.ok(all.bleu.score >= 0 && all.bleu.score < 0.1);
  }
  assert.throws(
    () => similarity("dfg", chain, ref, "python"),
    (e: unknown) => e instanceof UserError && /reference code is nested too deeply/.test(e.message),
  );
  // BLEU and exact need no graph
  assert.ok(similarity("bleu", chain, chain, "python").score === 1);
});

test("Hungarian assignment is optimal (brute force on random 5x5 matrices)", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const perms = (n: number): number[][] =>
    n === 0
      ? [[]]
      : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
  const all = perms(5);
  for (let t = 0; t < 20; t++) {
    const C = new Float64Array(25).map(() => Math.floor(rnd() * 20));
    const a = hungarian(C, 5);
    const got = [...a].reduce((s, c, r) => s + C[r * 5 + c]!, 0);
    const best = Math.min(...all.map((p) => p.reduce((s, c, r) => s + C[r * 5 + c]!, 0)));
    assert.equal(got, best);
    assert.equal(new Set(a).size, 5);
  }
});
