/** Canonical solutions through the real sandbox: every HumanEval task, and an MBPP sample (full sets in bench/eval). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { formatSummaryTable, readSamplesFile, scoreSamples } from "../../src/eval/evaluate.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

test("benchmark sizes: HumanEval 164, MBPP test split 500 (ids 11-510), full 974, sanitized 427", () => {
  assert.equal(loadBenchmark("humaneval").length, 164);
  const mbpp = loadBenchmark("mbpp");
  assert.equal(mbpp.length, 500);
  assert.equal(mbpp[0]!.taskId, "Mbpp/11");
  assert.equal(mbpp[499]!.taskId, "Mbpp/510");
  assert.equal(loadBenchmark("mbpp:all").length, 974);
  assert.equal(loadBenchmark("mbpp-sanitized").length, 427);
  assert.equal(loadBenchmark("multipl-e:rb").length, 161);
  assert.ok(loadBenchmark("multipl-e-mbpp:go").length > 350);
  assert.throws(() => loadBenchmark("nope"), /unknown benchmark/);
  assert.throws(() => loadBenchmark("multipl-e:cobol"), /not supported/);
});

test("HumanEval canonical solutions: 164/164 pass in the sandbox", async () => {
  const problems = loadBenchmark("humaneval");
  const samples = problems.map((p) => ({ task_id: p.taskId, completion: p.canonical! }));
  const { summary, results } = await scoreSamples({ benchmark: problems, samples, k: [1] });
  const failed = results.filter((r) => !r.passed).map((r) => `${r.task_id}: ${r.result}`);
  assert.deepEqual(failed, []);
  assert.equal(summary.passAtK["pass@1"], 1);
  assert.match(formatSummaryTable(summary), /pass@1\s+\| 100\.00%/);
});

test("MBPP canonical solutions (every 10th task of the full set and of sanitized) pass; a broken one fails", async () => {
  const pick = (name: string) => loadBenchmark(name).filter((_, i) => i % 10 === 0);
  for (const name of ["mbpp:all", "mbpp-sanitized"]) {
    const problems = pick(name);
    const samples = problems.map((p) => ({ task_id: p.taskId, completion: p.canonical! }));
    const { results } = await scoreSamples({ benchmark: problems, samples });
    assert.deepEqual(
      results.filter((r) => !r.passed).map((r) => `${r.task_id}: ${r.result}`),
      [],
      name,
    );
  }
  const p = loadBenchmark("mbpp").find((q) => q.taskId === "Mbpp/11")!;
  const { results } = await scoreSamples({
    benchmark: [p],
    samples: [{ task_id: p.taskId, completion: "def remove_Occ(s, ch):\n    return s\n" }],
  });
  assert.equal(results[0]!.passed, false);
});

test("samples files: human-eval format in, results with passed/result out; bad lines are clear errors", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-samples-"));
  try {
    const f = path.join(dir, "s.jsonl");
    fs.writeFileSync(
      f,
      '{"task_id": "HumanEval/53", "completion": "    return x + y\\n"}\n{"task_id": "HumanEval/53", "completion": "    return 0\\n"}\n',
    );
    const samples = readSamplesFile(f);
    const { summary, results } = await scoreSamples({ benchmark: "humaneval", samples, k: [1, 2], outDir: dir });
    assert.deepEqual(
      results.map((r) => r.passed),
      [true, false],
    );
    assert.equal(summary.passAtK["pass@1"], 0.5);
    assert.equal(summary.passAtK["pass@2"], 1);
    const lines = fs
      .readFileSync(path.join(dir, "results.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(lines[0]).slice(0, 2), ["task_id", "completion"]);
    assert.equal(lines[1].result.startsWith("failed"), true);
    fs.writeFileSync(f, '{"task_id": 3}\n');
    assert.throws(() => readSamplesFile(f), /needs string fields/);
    fs.writeFileSync(f, "not json\n");
    assert.throws(() => readSamplesFile(f), /not valid JSON/);
    await assert.rejects(
      scoreSamples({ benchmark: "humaneval", samples: [{ task_id: "Nope/1", completion: "" }] }),
      /unknown task_id/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("evaluateBenchmark validates its selection before generating anything", async () => {
  const { evaluateBenchmark } = await import("../../src/eval/evaluate.js");
  let called = false;
  const generator = { name: "never", supportsChat: false, generate: async () => ((called = true), []) };
  await assert.rejects(
    evaluateBenchmark({ benchmark: "humaneval", generator, taskIds: ["HumanEval/999"] }),
    /unknown task id/,
  );
  await assert.rejects(evaluateBenchmark({ benchmark: "humaneval", generator, limit: 0 }), /--limit/);
  await assert.rejects(evaluateBenchmark({ benchmark: "humaneval", generator, n: 1, k: [5] }), /exceeds --n/);
  await assert.rejects(
    evaluateBenchmark({ benchmark: "humaneval", generator, format: "instruct" }),
    /no chat endpoint/,
  );
  assert.equal(called, false);
});
