import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadLanguage } from "../../src/lang/index.js";
import {
  checkDoc,
  rejectedDocReward,
  reward,
  RewardConfigSchema,
  resolveRewardConfig,
} from "../../src/similarity/reward.js";
import { RewardPool, isRewardError, type RewardJob } from "../../src/similarity/pool.js";
import { UserError } from "../../src/core/errors.js";

const CODE =
  "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n";
const DOC =
  "Limit a value to a closed range.\n\nParameters:\n  x: the value\n  lo: the lower bound\n  hi: the upper bound\n\nReturns:\n  x, or the nearest bound when x is outside the range";
const REBUILT =
  "def clamp(v, low, high):\n    if v < low:\n        return low\n    if v > high:\n        return high\n    return v\n";
const WRONG = "def clamp(x, lo, hi):\n    return (x + lo + hi) / 3\n";

before(async () => {
  await loadLanguage("python");
});

test("reward config: defaults, validation with clear errors", () => {
  const d = RewardConfigSchema.parse({});
  assert.equal(d.metric, "dfg");
  assert.equal(d.mode, "gate");
  assert.throws(
    () => resolveRewardConfig({ mode: "both" } as never),
    (e: unknown) => e instanceof UserError && /mode/.test(e.message),
  );
  assert.throws(() => resolveRewardConfig({ leakPenalty: 2 }), UserError);
  assert.throws(() => resolveRewardConfig({ typo: 1 } as never), UserError);
});

test("reward: a faithful rebuild from a valid, honest doc scores high; a wrong rebuild scores lower", () => {
  const good = reward(CODE, DOC, REBUILT, "python");
  assert.equal(good.format.valid, true, good.format.violations.join("; "));
  assert.equal(good.leak.leaked, false);
  assert.equal(good.similarity, 1);
  assert.equal(good.reward, 1);
  const bad = reward(CODE, DOC, WRONG, "python");
  assert.ok(bad.reward < 0.6, String(bad.reward));
  for (const r of [good, bad]) for (const k of ["similarity", "format", "leak", "rebuilt", "terms"]) assert.ok(k in r);
});

test("reward gate vs penalty: leaks and malformed docs are punished as configured, every term reported", () => {
  const leaky = "Clamp.\n\n" + CODE;
  const g = reward(CODE, leaky, REBUILT, "python", { mode: "gate" });
  assert.equal(g.leak.leaked, true);
  assert.equal(g.terms.leakGate, 0);
  assert.equal(g.reward, 0);
  const p = reward(CODE, leaky, REBUILT, "python", { mode: "penalty", leakPenalty: 0.7 });
  assert.equal(p.terms.leakPenalty, 0.7);
  assert.ok(Math.abs(p.reward - (p.similarity - p.terms.formatPenalty! - 0.7 - p.terms.syntaxPenalty!)) < 1e-12);
  const malformed = reward(CODE, "clamps stuff", REBUILT, "python", { mode: "gate", formatPenalty: 0.5 });
  assert.equal(malformed.format.valid, false);
  assert.equal(malformed.reward, 0.5);
  const mp = reward(CODE, "clamps stuff", REBUILT, "python", { mode: "penalty", formatPenalty: 0.4 });
  assert.ok(mp.terms.formatPenalty! > 0 && mp.terms.formatPenalty! <= 0.4);
  // the metric is configurable
  const b = reward(CODE, DOC, REBUILT, "python", { metric: "bleu" });
  assert.ok(b.reward < 0.6 && b.metric === "bleu");
});

test("reward: empty, binary, unparseable rebuilt code gets the defined minimum, never NaN", () => {
  for (const rebuilt of ["", "   ", "\u0000\u0001\u0002", "def (((: ]]] !!", "x".repeat(300_000)]) {
    for (const mode of ["gate", "penalty"] as const) {
      const r = reward(CODE, DOC, rebuilt, "python", { mode });
      assert.ok(Number.isFinite(r.reward), `${mode} ${JSON.stringify(rebuilt.slice(0, 10))}`);
      assert.ok(r.reward <= 0.3, `${mode}: ${r.reward}`);
      if (mode === "gate") assert.ok(r.reward >= 0);
      else assert.ok(r.reward >= -1);
    }
  }
  const e = reward(CODE, DOC, "", "python", { mode: "penalty" });
  assert.equal(e.rebuilt.empty, true);
  assert.equal(e.similarity, 0);
  assert.equal(e.reward, -1); // the floor: minReward
  assert.equal(reward(CODE, DOC, "# just a comment\n", "python", { mode: "penalty", minReward: -0.3 }).reward, -0.3);
  const s = reward(CODE, DOC, "def clamp(x, lo, hi):\n    if x <\n", "python");
  assert.ok(s.rebuilt.parseErrors > 0);
  assert.ok(s.terms.syntaxGate! < 1);
  const strict = reward(CODE, DOC, "def clamp(x, lo, hi):\n    if x <\n", "python", { syntaxErrors: "minimum" });
  assert.equal(strict.reward, 0);
  assert.equal(
    reward(CODE, DOC, "def clamp(x, lo, hi):\n    if x <\n", "python", {
      syntaxErrors: "minimum",
      mode: "penalty",
      minReward: -0.5,
    }).reward,
    -0.5,
  );
  assert.throws(() => reward("", DOC, REBUILT, "python"), /reference code is empty/);
  assert.throws(() => reward("\u0000bin\u0000", DOC, REBUILT, "python"), /binary/);
});

test("RewardPool: worker results equal in-process results, in order; errors stay in their slot", async () => {
  const jobs: RewardJob[] = [];
  for (let i = 0; i < 24; i++)
    jobs.push({
      code: CODE,
      doc: DOC,
      rebuilt: i % 3 === 0 ? WRONG : i % 3 === 1 ? REBUILT : "",
      lang: "python",
      cfg: { mode: i % 2 ? "gate" : "penalty" },
    });
  jobs.push({ code: "", doc: DOC, rebuilt: REBUILT, lang: "python" });
  jobs.push({
    code: "package p\nfunc F(a int) int { return a }\n",
    doc: "Return a.",
    rebuilt: "package p\nfunc F(b int) int { return b }\n",
    lang: "go",
  });
  const pool = new RewardPool({ workers: 2, inProcessBelow: 4 });
  try {
    const res = await pool.score(jobs);
    assert.equal(res.length, jobs.length);
    for (let i = 0; i < 24; i++) {
      const r = res[i]!;
      assert.ok(!isRewardError(r));
      assert.deepEqual(r, reward(jobs[i]!.code, jobs[i]!.doc, jobs[i]!.rebuilt, "python", jobs[i]!.cfg));
    }
    const err = res[24]!;
    assert.ok(isRewardError(err) && err.userFacing && /empty/.test(err.error));
    const go = res[25]!;
    assert.ok(!isRewardError(go) && go.similarity === 1);
    // small batches run in-process; an empty batch is fine
    assert.equal((await pool.score(jobs.slice(0, 2))).length, 2);
    assert.deepEqual(await pool.score([]), []);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.score(jobs), /closed/);
});

test("RewardPool: a worker dying mid-batch loses no results (its chunk is rescored)", async () => {
  const jobs: RewardJob[] = Array.from({ length: 120 }, (_, i) => ({
    code: CODE + `# ${i}\n`,
    doc: DOC,
    rebuilt: REBUILT,
    lang: "python" as const,
  }));
  const pool = new RewardPool({ workers: 2, inProcessBelow: 1 });
  try {
    await pool.score(jobs.slice(0, 10));
    const pending = pool.score(jobs);
    const slots = (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots;
    await slots[0]!.worker.terminate();
    const res = await pending;
    assert.equal(res.length, jobs.length);
    for (const r of res) assert.ok(!isRewardError(r) && r.similarity === 1);
    assert.equal((await pool.score(jobs.slice(0, 30))).length, 30);
  } finally {
    await pool.close();
  }
});

test("CLI: similarity and doc-check", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-sim-"));
  const a = path.join(dir, "a.py");
  const b = path.join(dir, "b.py");
  const d = path.join(dir, "doc.txt");
  fs.writeFileSync(a, CODE);
  fs.writeFileSync(b, REBUILT);
  fs.writeFileSync(d, DOC);
  const run = (...args: string[]) => spawnSync(process.execPath, ["bin/batcoder.js", ...args], { encoding: "utf8" });
  const r = run("similarity", a, b, "--json");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.lang, "python");
  assert.deepEqual(
    j.results.map((x: { metric: string }) => x.metric),
    ["bleu", "codebleu", "dfg", "exact"],
  );
  assert.equal(j.results[2].score, 1);
  const one = run("similarity", a, b, "--metric", "bleu");
  assert.equal(one.status, 0);
  assert.match(one.stdout, /^bleu\s+0\.\d+/m);
  assert.equal(run("similarity", a, path.join(dir, "missing.py")).status, 1);
  assert.match(run("similarity", a, path.join(dir, "missing.py")).stderr, /no such file/);
  assert.match(run("similarity", a, b, "--metric", "nope").stderr, /unknown metric/);
  assert.match(run("similarity", d, b).stderr, /cannot detect the language/);
  fs.writeFileSync(path.join(dir, "bin.py"), Buffer.from([0, 1, 2, 3]));
  assert.match(run("similarity", a, path.join(dir, "bin.py")).stderr, /binary/);
  const ok = run("doc-check", d, "--code", a);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  fs.writeFileSync(path.join(dir, "leak.txt"), "Clamp.\n\n" + CODE);
  const leak = run("doc-check", path.join(dir, "leak.txt"), "--code", a, "--json");
  assert.equal(leak.status, 1);
  const lj = JSON.parse(leak.stdout);
  assert.equal(lj.leak.leaked, true);
  assert.equal(run("doc-check", "--spec").status, 0);
});

test("reward: a documentation's checks made once (checkDoc) are reused, not redone per reconstruction", () => {
  const cfg = resolveRewardConfig({ metric: "bleu", mode: "penalty" });
  const check = checkDoc(DOC, CODE, "python", cfg);
  assert.equal(check.valid, true);
  assert.equal(check.leaked, false);
  const fresh = reward(CODE, DOC, REBUILT, "python", cfg);
  assert.deepEqual(reward(CODE, DOC, REBUILT, "python", cfg, check), fresh);
  // the given verdict is what counts (here a made-up leak): proof the check is not recomputed
  const leaked = reward(CODE, DOC, REBUILT, "python", cfg, {
    ...check,
    leaked: true,
    leakFraction: 0.9,
    reasons: ["copied"],
  });
  assert.equal(leaked.leak.leaked, true);
  assert.ok(Math.abs(leaked.reward - Math.max(cfg.minReward, fresh.reward - cfg.leakPenalty)) < 1e-12);
  // a documentation rejected before reconstruction: minus the penalty of the failed check (the larger when both)
  assert.equal(rejectedDocReward({ format: true, leak: false }, cfg), -cfg.formatPenalty);
  assert.equal(rejectedDocReward({ format: true, leak: true }, cfg), -Math.max(cfg.formatPenalty, cfg.leakPenalty));
});
