// The held-out benchmark plan of an RL run (src/orchestration/benchmarks.ts) and its rows in the before/after table:
// default lists per command, the prompt format against the model's chat template, bad names, the results-file
// layout, pass@1 intervals and the paired task-by-task difference.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { parseConfig, OWN_MODEL_BENCHMARKS } from "../../src/rl/config.js";
import { benchmarkResultsFile, runPaths } from "../../src/core/runs.js";
import {
  benchmarkDelta,
  describePlan,
  passAt1CI,
  planBenchmarks,
  type BenchmarkRecord,
} from "../../src/orchestration/benchmarks.js";
import { beforeAfterTable, type RunEval } from "../../src/orchestration/rl-run.js";
import { probeSandbox } from "../../src/sandbox/sandbox.js";

const canSandbox = probeSandbox().ok;
const own = { ownModel: true, hasChatTemplate: true, model: "m" };

test("planBenchmarks: the command's default list, the format from the chat template, limits", {
  skip: !canSandbox,
}, () => {
  const d = planBenchmarks(parseConfig({}), own)!;
  assert.deepEqual(
    d.benchmarks.map((b) => b.name),
    [...OWN_MODEL_BENCHMARKS],
  );
  assert.equal(d.format, "instruct");
  assert.equal(d.maxTokens, 512);
  assert.equal(d.benchmarks[0]!.problems.length, 164, "all of HumanEval without a limit");
  assert.equal(planBenchmarks(parseConfig({}), { ...own, ownModel: false }), null, "the embedded model: none");
  assert.equal(planBenchmarks(parseConfig({ eval_benchmarks: [] }), own), null);
  const lim = planBenchmarks(parseConfig({ eval_benchmarks: ["MBPP"], eval_benchmark_limit: 3 }), {
    ...own,
    hasChatTemplate: false,
  })!;
  assert.equal(lim.format, "completion", "auto without a chat template");
  assert.deepEqual(
    lim.benchmarks.map((b) => [b.name, b.problems.length, b.available]),
    [["mbpp", 3, 500]],
  );
  assert.match(
    describePlan(lim),
    /^benchmarks before and after RL: mbpp 3\/500 tasks; pass@1, greedy, completion format/,
  );
  const forced = planBenchmarks(parseConfig({ eval_benchmark_format: "completion" }), own)!;
  assert.equal(forced.format, "completion");
});

test("planBenchmarks: unknown names and instruct without a chat template are UserErrors", () => {
  assert.throws(
    () => planBenchmarks(parseConfig({ eval_benchmarks: ["humaneval", "humaneval-x"] }), own),
    (e: Error & { userFacing?: boolean }) =>
      e.userFacing === true && /eval_benchmarks: unknown benchmark 'humaneval-x'\. Use: humaneval/.test(e.message),
  );
  assert.throws(
    () => planBenchmarks(parseConfig({ eval_benchmarks: ["multipl-e:xx"] }), own),
    /eval_benchmarks: MultiPL-E language 'xx' is not supported/,
  );
  assert.throws(
    () => planBenchmarks(parseConfig({ eval_benchmark_format: "instruct" }), { ...own, hasChatTemplate: false }),
    (e: Error & { userFacing?: boolean }) =>
      e.userFacing === true && /eval_benchmark_format=instruct: m has no chat template/.test(e.message),
  );
});

test("per-task results files live under eval/benchmarks/ with the step", () => {
  assert.equal(
    benchmarkResultsFile("runs/x", "multipl-e:rb", 20),
    path.join("runs/x", "eval", "benchmarks", "multipl-e-rb-step-00000020.jsonl"),
  );
  assert.equal(path.basename(benchmarkResultsFile("r", "HumanEval+", 0)), "humaneval+-step-00000000.jsonl");
  assert.equal(runPaths("r").benchmarks, path.join("r", "eval", "benchmarks"));
});

const rec = (name: string, ids: string[], passed: number[]): BenchmarkRecord => ({
  name,
  format: "instruct",
  tasks: ids.length,
  passed: passed.reduce((a, b) => a + b, 0),
  pass_at_1: passed.reduce((a, b) => a + b, 0) / ids.length,
  max_tokens: 512,
  status: {},
  results_file: "x",
  per_task: { ids, passed },
});

test("pass@1 interval and the paired before/after difference over the same tasks", () => {
  const ids = Array.from({ length: 40 }, (_, i) => `T/${i}`);
  const before = rec(
    "humaneval",
    ids,
    ids.map((_, i) => (i < 10 ? 1 : 0)),
  );
  const after = rec(
    "humaneval",
    ids,
    ids.map((_, i) => (i < 30 ? 1 : 0)),
  );
  const ci = passAt1CI(before);
  assert.equal(ci.mean, 0.25);
  assert.ok(ci.lo < 0.25 && ci.hi > 0.25 && ci.n === 40);
  const d = benchmarkDelta(before, after)!;
  assert.equal(d.mean, 0.5);
  assert.ok(d.lo > 0, "twenty more tasks solved, none lost: the interval lies above zero");
  // only the tasks both ran are paired
  const partial = benchmarkDelta(before, rec("humaneval", ["T/0", "T/39", "other"], [0, 1, 1]))!;
  assert.equal(partial.n, 2);
  assert.equal(partial.mean, 0);
  assert.equal(benchmarkDelta(before, rec("humaneval", ["zzz"], [1])), null);
});

test("the before/after table has a pass@1 row per benchmark with its task count and a paired Δ", () => {
  const held = {
    n: 3,
    roundtrip: { mean: 0.5, lo: 0.4, hi: 0.6, n: 3, method: "bootstrap" },
    doc2code_human: { mean: 0.5, lo: 0.4, hi: 0.6, n: 3, method: "bootstrap" },
    doc_bleu: { mean: 0.1, lo: 0.1, hi: 0.1, n: 3, method: "bootstrap" },
    doc_rougeL: { mean: 0.1, lo: 0.1, hi: 0.1, n: 3, method: "bootstrap" },
    doc_valid_rate: 1,
  } as unknown as RunEval;
  const ids = ["a", "b", "c", "d"];
  const before: RunEval = {
    ...held,
    benchmarks: [rec("humaneval", ids, [0, 0, 0, 1]), rec("multipl-e:lua", ids, [0, 0, 0, 0])],
  };
  const after: RunEval = {
    ...held,
    benchmarks: [rec("humaneval", ids, [1, 1, 0, 1]), rec("multipl-e:lua", ids, [0, 0, 0, 0])],
  };
  const t = beforeAfterTable(before, after);
  assert.match(
    t,
    /benchmarks: pass@1 \[95% bootstrap CI over tasks\], greedy, instruct format \(the model's chat template\)/,
  );
  assert.match(t, /  humaneval \(n=4 tasks\)\s+0\.250 \[[\d.]+, [\d.]+\]\s+0\.750 \[[\d.]+, [\d.]+\]\s+\+0\.500 \[/);
  assert.match(
    t,
    /  multipl-e:lua \(n=4 tasks\)\s+0\.000 \[0\.000, 0\.000\]\s+0\.000 \[0\.000, 0\.000\]\s+\+0\.000 \[/,
  );
  // before only (an interrupted run): the rows without the after column
  assert.match(beforeAfterTable(before, null), /  humaneval \(n=4 tasks\)\s+0\.250 \[/);
  assert.doesNotMatch(beforeAfterTable(held, held), /benchmarks: pass@1/);
});
