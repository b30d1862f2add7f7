import { test } from "node:test";
import assert from "node:assert/strict";
import { textBleu, rougeL, textTokens } from "../../src/similarity/text.js";
import { Rng } from "../../src/core/rng.js";
import { bootstrapCI, meanCI, tQuantile975 } from "../../src/core/stats.js";
import { evaluateHeldOut } from "../../src/rl/eval.js";
import { TestByteTokenizer } from "./helpers.js";
import { BigramPolicy } from "./bigram-policy.js";

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `expected ${b}, got ${a}`);

test("text tokens: lower-cased words and punctuation", () => {
  assert.deepEqual(textTokens("Return the Sum, of x_1."), ["return", "the", "sum", ",", "of", "x_1", "."]);
});

test("BLEU+1 by hand", () => {
  close(textBleu("add two numbers", "add two numbers"), 1);
  assert.equal(textBleu("add two numbers", ""), 0);
  assert.equal(textBleu("add two numbers", "zzz"), 0); // no unigram match
  // ref "a b c d", cand "a b c": p1 = 3/3, p2 = (2+1)/(2+1) = 1, p3 = (1+1)/(1+1) = 1, p4 = (0+1)/(0+1) = 1
  // BP = exp(1 - 4/3) = 0.7165313105737893
  close(textBleu("a b c d", "a b c"), Math.exp(1 - 4 / 3));
  // ref "a b c d", cand "a x c d": p1 = 3/4, p2 = (1+1)/(3+1) = 1/2, p3 = (0+1)/(2+1) = 1/3, p4 = (0+1)/(1+1) = 1/2
  close(textBleu("a b c d", "a x c d"), Math.pow((3 / 4) * (1 / 2) * (1 / 3) * (1 / 2), 1 / 4));
});

test("ROUGE-L F1 by hand", () => {
  // LCS("a b c d e", "a c e x") = "a c e" = 3 ; P = 3/4, R = 3/5 ; F = 2PR/(P+R) = 0.6666...
  close(rougeL("a b c d e", "a c e x"), (2 * 0.75 * 0.6) / 1.35);
  assert.equal(rougeL("a", ""), 0);
  close(rougeL("same words here", "same words here"), 1);
});

test("confidence intervals: t by hand, bootstrap covers the mean", () => {
  // xs = 1..5: mean 3, sd (n-1) = sqrt(2.5), t(4) = 2.776 -> half width 2.776 * 1.5811 / 2.2361 = 1.96285
  const ci = meanCI([1, 2, 3, 4, 5]);
  close(ci.mean, 3);
  close(ci.hi - ci.mean, (2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 1e-12);
  assert.ok(Math.abs(tQuantile975(1000) - 1.96) < 0.01);
  const r = new Rng(3);
  const xs = Array.from({ length: 400 }, () => r.next());
  const b = bootstrapCI(xs);
  const t = meanCI(xs);
  assert.ok(b.lo < b.mean && b.mean < b.hi);
  // bootstrap and t intervals agree closely for n = 400 uniform values
  assert.ok(Math.abs(b.lo - t.lo) < 0.01 && Math.abs(b.hi - t.hi) < 0.01, JSON.stringify({ b, t }));
});

test("held-out eval: greedy both directions, human doc used for doc→code, CI over functions", async () => {
  const tok = new TestByteTokenizer();
  const policy = new BigramPolicy(tok, 4);
  const items = Array.from({ length: 12 }, (_, i) => ({
    id: `e${i}`,
    lang: "go",
    code: `func F${i}() int { return ${i} }`,
    doc: `Returns the number ${i}.`,
  }));
  const seen: string[] = [];
  const reward = {
    penalties: { formatPenalty: 0.1, leakPenalty: 0.5 },
    checkDoc: () => ({ valid: true, violations: [], leaked: false, leakFraction: 0, reasons: [] }),
    async score(jobs: { code: string; doc: string; rebuilt: string; lang: string }[]) {
      seen.push(...jobs.map((j) => j.doc));
      return jobs.map((j) => ({ total: j.rebuilt.length % 3, similarity: (j.rebuilt.length % 3) / 2, components: {} }));
    },
  };
  let calls = 0;
  const r = await evaluateHeldOut(policy, items, reward, {
    maxDocTokens: 6,
    maxCodeTokens: 6,
    batchSize: 5,
    signatureHint: false,
    keepExamples: 3,
    onProgress: () => calls++,
  });
  assert.equal(r.n, 12);
  assert.equal(calls, 9); // 3 passes x ceil(12/5) batches
  assert.equal(r.examples.length, 3);
  assert.ok(seen.includes("Returns the number 7."), "doc→code from the human documentation was scored");
  assert.ok(r.roundtrip.lo <= r.roundtrip.mean && r.roundtrip.mean <= r.roundtrip.hi);
  assert.equal(r.doc_valid_rate, 1);
});
