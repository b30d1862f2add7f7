/** MultiPL-E: hand-written correct completions pass and wrong ones fail, in every enabled language. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { scoreSamples } from "../../src/eval/evaluate.js";
import { availableLanguages } from "../../src/eval/sandbox/executors.js";
import { HAND_SOLUTIONS } from "./multipl-e-solutions.js";

const REQUIRED = ["py", "rb", "go", "lua", "js", "ts", "rs", "php", "java", "cpp", "sh"] as const;

test("every required language has its toolchain here", () => {
  const have = availableLanguages();
  assert.deepEqual(REQUIRED.filter((l) => !have.includes(l)), []);
});

for (const lang of REQUIRED) {
  test(`MultiPL-E ${lang}: right completions pass, wrong ones fail`, async () => {
    const sols = HAND_SOLUTIONS[lang]!;
    const problems = loadBenchmark(`multipl-e:${lang}`).filter((p) => sols.some((s) => s.task === p.taskId));
    assert.equal(problems.length, sols.length, "every hand-solved task exists in the data");
    const samples = sols.flatMap((s) => [
      { task_id: s.task, completion: s.right, expect: true },
      ...(s.wrong !== undefined ? [{ task_id: s.task, completion: s.wrong, expect: false }] : []),
    ]);
    const { results } = await scoreSamples({ benchmark: problems, samples: samples.map(({ task_id, completion }) => ({ task_id, completion })) });
    results.forEach((r, i) => assert.equal(r.passed, samples[i]!.expect, `${r.task_id} (${samples[i]!.expect ? "right" : "wrong"}): ${r.result}`));
    assert.ok(results.some((r) => !r.passed), "at least one wrong completion per language");
  });
}
