// The seed study summary: per-seed changes, mean and t-interval across seeds, and refusal of runs that are not
// one config under several seeds.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatSeedSummary, seedSummary } from "../../src/report/seeds.js";
import { tQuantile975 } from "../../src/core/stats.js";

const ci = (mean: number) => ({ mean, lo: mean, hi: mean, n: 4, method: "bootstrap" });
function evalAt(step: number, equiv: number, lenTok: number, ids = ["a", "b", "c", "d"]) {
  const h = { n: 4, n_executable: 4, rt_equiv: ci(equiv), rt_pass: ci(equiv + 0.1), doc_len: ci(lenTok) };
  return {
    step,
    n: 4,
    roundtrip: ci(0.3),
    doc2code_human: ci(0.2),
    doc_bleu: ci(0.1),
    doc_rougeL: ci(0.1),
    doc_valid_rate: 1,
    per_function: { ids },
    headline: h,
    headline_by_lang: { python: { ...h, n: 4 } },
  };
}
function writeRun(
  root: string,
  name: string,
  seed: number,
  after: number,
  extra: Record<string, unknown> = {},
  ids?: string[],
) {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "config.resolved.json"),
    JSON.stringify({ run_name: name, seed, output_dir: root, max_steps: 30, eval_split: "test", ...extra }),
  );
  fs.writeFileSync(
    path.join(dir, "summary.json"),
    JSON.stringify({ steps: 30, first_eval: evalAt(0, 0.25, 20), last_eval: evalAt(30, after, 18, ids) }),
  );
  return dir;
}

test("report --seeds: per-seed changes and the mean with a 95% t-interval across seeds", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-seeds-"));
  const runs = [writeRun(root, "s1", 1, 0.35), writeRun(root, "s2", 2, 0.3), writeRun(root, "s3", 3, 0.4)];
  const s = seedSummary(runs);
  assert.deepEqual(s.seeds, [1, 2, 3]);
  const row = s.rows.find((r) => r.scope === "all" && r.metric === "rt_equiv")!;
  assert.deepEqual(
    row.perSeed.map((p) => Number(p.delta.toFixed(6))),
    [0.1, 0.05, 0.15],
  );
  assert.ok(Math.abs(row.delta.mean - 0.1) < 1e-12);
  const sd = 0.05; // sample sd of 0.10, 0.05, 0.15
  const h = (tQuantile975(2) * sd) / Math.sqrt(3);
  assert.ok(Math.abs(row.delta.lo - (0.1 - h)) < 1e-9 && Math.abs(row.delta.hi - (0.1 + h)) < 1e-9);
  assert.ok(s.rows.some((r) => r.scope === "python" && r.metric === "rt_pass"));
  assert.ok(
    s.rows.some((r) => r.metric === "roundtrip"),
    "static similarity shown beside",
  );
  const text = formatSeedSummary(s);
  assert.match(text, /3 seeds \(1, 2, 3\), 30 RL steps, 4 held-out functions of the test split/);
  assert.match(text, /\+0\.100 \+0\.050 \+0\.150/);
  // doc length fell by 2 tokens in every seed: the interval is a point below zero
  assert.match(text, /doc length \(tokens\) \(4\) \| 20\.000 .*-2\.000 \[-2\.000, -2\.000\] ↓/);
});

test("report --seeds refuses runs that differ in more than the seed, or in the held-out functions", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-seeds-bad-"));
  const a = writeRun(root, "a", 1, 0.3);
  const b = writeRun(root, "b", 2, 0.3, { max_steps: 60 });
  assert.throws(() => seedSummary([a, b]), /differ in max_steps/);
  const c = writeRun(root, "c", 3, 0.3, {}, ["a", "b", "c", "e"]);
  assert.throws(() => seedSummary([a, c]), /different held-out functions/);
  const d = writeRun(root, "d", 1, 0.3);
  assert.throws(() => seedSummary([a, d]), /seeds repeat/);
  assert.throws(() => seedSummary([a, path.join(root, "missing")]), /not found/);
  assert.throws(() => seedSummary([a]), /at least two/);
});
