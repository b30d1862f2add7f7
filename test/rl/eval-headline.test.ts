// Held-out headline metrics (not optimised by RL): behavioural equivalence and pass rate of round trips and of
// doc→code from human docs (real sandboxed runner), doc↔code n-gram overlap, leak rate, doc length, per language;
// paired deltas over the functions where a metric applies; the before/after table shows them.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SampledSequence, SampleRequest, Sampler } from "../../src/core/policy.js";
import { evaluateHeldOut, headlineOf, type HeldOutEval } from "../../src/rl/eval.js";
import { createRewardBackend } from "../../src/rl/reward.js";
import { parseConfig } from "../../src/rl/config.js";
import { beforeAfterTable, pairedDelta } from "../../src/orchestration/rl-run.js";
import { BehaviourRunner } from "../../src/behaviour/index.js";
import type { HeldOutItem } from "../../src/rl/data.js";
import { TestByteTokenizer } from "./helpers.js";

const tok = new TestByteTokenizer();

/** A scripted sampler (test double for the policy): answers each prompt from a table keyed by a substring. */
function scripted(table: Array<[string, string]>): Sampler {
  return {
    info: { backend: "scripted", modelName: "scripted", contextLength: 4096 },
    tokenizer: tok,
    async sample(reqs: SampleRequest[]): Promise<SampledSequence[][]> {
      return reqs.map((r) => {
        const text = tok.decode(r.prompt);
        const hit = table.find(([k]) => text.includes(k));
        const out = hit ? hit[1] : "";
        return [
          {
            tokens: tok.encode(out),
            logprobs: tok.encode(out).map(() => -1),
            text: out,
            finishReason: "stop" as const,
          },
        ];
      });
    },
  };
}

const items: HeldOutItem[] = [
  { id: "a", lang: "python", code: "def double(x):\n    return x * 2\n", doc: "Twice the number." },
  { id: "b", lang: "python", code: "def inc(n):\n    return n + 1\n", doc: "The next integer." },
  {
    id: "c",
    lang: "python",
    code: "def show(v):\n    print(open('/nonexistent-file').read())\n",
    doc: "Prints a file.",
  },
];

test("evaluateHeldOut: behavioural equivalence / pass rate (real sandbox), overlap, leak, doc length, per language", async () => {
  const reward = await createRewardBackend(
    parseConfig({ reward_workers: 1, reward_options: { behaviour: { enabled: false } } }),
    ["python"],
  );
  const runner = new BehaviourRunner({ seed: 0, nInputs: 8, workers: 1 });
  try {
    const sampler = scripted([
      // code→doc
      ["return x * 2", "Returns twice the number."],
      ["return n + 1", "return n + 1"],
      ["print(open", "Prints a file."],
      // doc→code: the round trip of "a" is equivalent, of "b" a one-token break; human-doc rebuilds likewise
      ["Returns twice the number.", "def double(y):\n    return y + y\n"],
      ["<|code|>", ""],
    ]);
    const r = await evaluateHeldOut(sampler, items, reward, {
      maxDocTokens: 32,
      maxCodeTokens: 64,
      batchSize: 8,
      signatureHint: false,
      behaviour: runner,
    });
    const pf = r.per_function!;
    assert.deepEqual(
      pf.rt_equiv,
      [1, 0, null],
      "a: equivalent; b: the rebuild defines no function; c: original not executable",
    );
    assert.equal(pf.rt_pass![0], 1);
    assert.equal(pf.rt_pass![1], 0);
    assert.equal(pf.rt_pass![2], null);
    assert.equal(r.headline!.n_executable, 2);
    assert.ok(Math.abs(r.headline!.rt_equiv!.mean - 0.5) < 1e-12);
    // the documentation "return n + 1" copies the code: 3-gram overlap 1 and leak
    assert.ok(pf.overlap3![1]! > 0.5, `overlap ${pf.overlap3![1]}`);
    assert.ok(pf.overlap3![0]! < 0.5);
    assert.equal(pf.doc_len![0], tok.encode("Returns twice the number.").length);
    assert.deepEqual(Object.keys(r.headline_by_lang!), ["python"]);
  } finally {
    await reward.close?.();
  }
});

test("paired deltas skip functions where a metric does not apply; the table prints headline rows", () => {
  const ci = { mean: 0, lo: 0, hi: 0, n: 3, method: "bootstrap" as const };
  const mk = (rtEquiv: (number | null)[]): HeldOutEval => {
    const pf = {
      ids: ["a", "b", "c"],
      langs: ["python", "python", "go"],
      roundtrip: [0, 0, 0],
      doc2code_human: [0, 0, 0],
      doc_bleu: [0, 0, 0],
      doc_rougeL: [0, 0, 0],
      rt_equiv: rtEquiv,
    };
    return {
      n: 3,
      roundtrip: ci,
      doc2code_human: ci,
      doc_bleu: ci,
      doc_rougeL: ci,
      doc_valid_rate: 1,
      doc_leak_rate: 0,
      examples: [],
      per_function: pf,
      headline: headlineOf(pf, [0, 1, 2]),
      headline_by_lang: { go: headlineOf(pf, [2]), python: headlineOf(pf, [0, 1]) },
    };
  };
  const before = mk([0, 0, null]);
  const after = mk([1, 0, null]);
  const d = pairedDelta(before, after, "rt_equiv")!;
  assert.equal(d.n, 2);
  assert.ok(Math.abs(d.mean - 0.5) < 1e-12);
  assert.equal(pairedDelta(before, after, "rt_equiv", "go"), null);
  const table = beforeAfterTable(before, after);
  assert.match(table, /round trips behaviourally equivalent/);
  assert.match(table, /headline, python/);
  assert.match(table, /static similarities/);
});
