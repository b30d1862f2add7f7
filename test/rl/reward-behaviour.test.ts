// The RL reward: behaviour as the primary term, the static metric as tie-break and fallback; expected failures
// counted, internal errors rethrown; the syntax penalty on the code direction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { combineReward, createRewardBackend, rlRewardConfigFor, type RLRewardConfig } from "../../src/rl/reward.js";
import { parseConfig } from "../../src/rl/config.js";
import type { RewardBreakdown } from "../../src/similarity/index.js";
import type { BehaviourResult } from "../../src/behaviour/index.js";

const near = (a: number, b: number, msg = "") => assert.ok(Math.abs(a - b) < 1e-9, `${msg} ${a} != ${b}`);

function breakdown(over: Partial<RewardBreakdown> & { terms: Record<string, number> }): RewardBreakdown {
  return {
    reward: 0,
    mode: "gate",
    metric: "dfg",
    similarity: 0.5,
    similarityComponents: {},
    format: { valid: true, score: 1, violations: [] },
    leak: { leaked: false, fraction: 0, reasons: [] },
    rebuilt: { empty: false, parseErrors: 0 },
    warnings: [],
    ...over,
  };
}
const beh = (score: number | null): BehaviourResult => ({
  score,
  executable: score !== null,
  reason: null,
  nInputs: 16,
  agree: 0,
  entryPoint: "f",
});

test("combineReward: hand values (gate and penalty modes, executable and fallback, syntax penalty on the code direction)", () => {
  const cfg: RLRewardConfig = rlRewardConfigFor(parseConfig({ reward_options: { behaviour: { weight: 0.8 } } }));
  // gate: executable -> sim = 0.8*1 + 0.2*0.5 = 0.9; syntax gate 0.8 -> code 0.72; format gate 0.9 -> total 0.648
  const g = combineReward(
    breakdown({
      similarity: 0.5,
      rebuilt: { empty: false, parseErrors: 2 },
      terms: { similarity: 0.5, formatGate: 0.9, leakGate: 1, syntaxGate: 0.8 },
    }),
    beh(1),
    cfg,
  );
  near(g.sim, 0.9);
  near(g.code, 0.72);
  near(g.total, 0.648);
  assert.equal(g.executable, true);
  assert.equal(g.syntaxBad, true);
  // not executable -> the static similarity alone
  const f = combineReward(
    breakdown({ similarity: 0.5, terms: { similarity: 0.5, formatGate: 1, leakGate: 1, syntaxGate: 1 } }),
    beh(null),
    cfg,
  );
  near(f.sim, 0.5);
  near(f.total, 0.5);
  assert.equal(f.executable, false);
  // behaviour decides: a rebuild that behaves alike beats a closer-looking one that does not
  const alike = combineReward(breakdown({ similarity: 0.3, terms: { similarity: 0.3 } }), beh(1), cfg);
  const broken = combineReward(breakdown({ similarity: 0.99, terms: { similarity: 0.99 } }), beh(0.5), cfg);
  assert.ok(alike.total > broken.total);
  // and the static metric breaks ties between rebuilds that behave alike
  const tieA = combineReward(breakdown({ similarity: 0.7, terms: { similarity: 0.7 } }), beh(0), cfg);
  const tieB = combineReward(breakdown({ similarity: 0.2, terms: { similarity: 0.2 } }), beh(0), cfg);
  assert.ok(tieA.total > tieB.total);
  // penalty mode: code = max(min, sim - p_syntax); total also subtracts format and leak penalties
  const pcfg = rlRewardConfigFor(
    parseConfig({ reward_options: { mode: "penalty", minReward: -1, behaviour: { weight: 0.5 } } }),
  );
  const p = combineReward(
    breakdown({
      mode: "penalty",
      similarity: 0.4,
      rebuilt: { empty: false, parseErrors: 1 },
      terms: { similarity: 0.4, formatPenalty: 0.05, leakPenalty: 0, syntaxPenalty: 0.2 },
    }),
    beh(0.8),
    pcfg,
  );
  near(p.sim, 0.6);
  near(p.code, 0.4);
  near(p.total, 0.35);
  // empty rebuilt code: the floor in both directions
  const e = combineReward(
    breakdown({ mode: "penalty", similarity: 0, rebuilt: { empty: true, parseErrors: 0 }, terms: {} }),
    beh(0),
    pcfg,
  );
  assert.equal(e.total, -1);
  assert.equal(e.code, -1);
});

test("reward_options.behaviour is validated (zod) and kept apart from the similarity module's options", () => {
  assert.throws(
    () => rlRewardConfigFor(parseConfig({ reward_options: { behaviour: { weight: 2 } } })),
    /behaviour.weight/,
  );
  assert.throws(() => rlRewardConfigFor(parseConfig({ reward_options: { behaviour: { sed: 1 } } })), /behaviour/);
  const c = rlRewardConfigFor(parseConfig({ reward_metric: "bleu", reward_options: { syntaxPenalty: 0.3 } }));
  assert.equal(c.static.metric, "bleu");
  assert.equal(c.static.syntaxPenalty, 0.3);
  assert.deepEqual(c.behaviour, { enabled: true, weight: 0.9, inputs: 16, seed: 0, call_ms: 1000, workers: 0 });
});

test("reward backend (real sandbox): behaviour ranks a correct rewrite above a one-token break; errors", async () => {
  const cfg = parseConfig({
    reward_metric: "bleu",
    reward_workers: 1,
    reward_options: { behaviour: { inputs: 8, workers: 1 } },
  });
  const rb = await createRewardBackend(cfg, ["python"]);
  try {
    const code =
      "def total_even(xs):\n    s = 0\n    for x in xs:\n        if x % 2 == 0:\n            s += x\n    return s\n";
    const rewrite = "def total_even(values):\n    return sum(v for v in values if v % 2 == 0)\n";
    const brk =
      "def total_even(xs):\n    s = 0\n    for x in xs:\n        if x % 2 == 1:\n            s += x\n    return s\n";
    const syntaxBad = "def total_even(xs):\n    s = 0\n    for x in xs\n        s += x\n    return s\n";
    const doc = "Sum of the even numbers in a list.";
    const dc = await rb.checkDoc(doc, code, "python");
    const [a, b, c] = await rb.score(
      [rewrite, brk, syntaxBad].map((rebuilt) => ({ code, doc, rebuilt, lang: "python", docCheck: dc })),
    );
    assert.equal(a!.components.executable, 1);
    assert.equal(a!.components.behaviour, 1);
    assert.ok(b!.components.behaviour! < 1);
    assert.ok(a!.components.static! < b!.components.static!, "BLEU prefers the broken copy (the near-miss problem)");
    assert.ok(
      a!.total > b!.total && a!.code! > b!.code!,
      `behaviour-first reward: rewrite ${a!.total} vs break ${b!.total}`,
    );
    assert.equal(c!.components.rebuilt_syntax_error, 1);
    assert.ok(c!.code! < c!.similarity, "syntax penalty applies to the code direction");
    // an unusable original (a UserError in the reward module) is an expected failure: counted, floor reward
    const [u] = await rb.score([{ code: "\u0000\u0001binary", doc, rebuilt: rewrite, lang: "python", docCheck: dc }]);
    assert.ok(u!.error, "unusable original is reported as an error");
    assert.equal(u!.total, 0);
    // a programming error inside the metric is rethrown, never the minimum reward
    const broken = { ...dc, violations: undefined as unknown as string[], valid: false };
    await assert.rejects(
      rb.score([{ code, doc, rebuilt: rewrite, lang: "python", docCheck: broken }]),
      /internal error/,
    );
  } finally {
    await rb.close?.();
  }
});
