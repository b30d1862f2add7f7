/** MultiPL-E: hand-written correct completions pass and wrong ones fail, in every enabled language. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { scoreSamples } from "../../src/eval/evaluate.js";
import { availableLanguages } from "../../src/sandbox/executors.js";
import { HAND_SOLUTIONS } from "./multipl-e-solutions.js";

const REQUIRED = ["py", "rb", "go", "lua", "js", "ts", "rs", "php", "java", "cpp", "sh", "pl"] as const;
/** MultiPL-E's remaining languages with a Debian toolchain (installed by scripts/setup.sh). Swift has none in Debian. */
const ADDED = ["r", "rkt", "ml", "scala"] as const;

test("every required language has its toolchain here", () => {
  const have = availableLanguages();
  assert.deepEqual(
    [...REQUIRED, ...ADDED].filter((l) => !have.includes(l)),
    [],
  );
});

test("TypeScript is type-checked as MultiPL-E does: a type error fails a program that would run", async () => {
  const problems = loadBenchmark("multipl-e:ts").filter((p) => p.taskId === "HumanEval_53_add");
  const samples = [
    { task_id: "HumanEval_53_add", completion: "  return x + y;\n}\n" },
    { task_id: "HumanEval_53_add", completion: "  const unused: string = 1;\n  return x + y;\n}\n" },
    { task_id: "HumanEval_53_add", completion: "  let acc;\n  acc = x + y;\n  return acc;\n}\n" },
  ];
  const { results } = await scoreSamples({ benchmark: problems, samples });
  assert.equal(results[0]!.passed, true, results[0]!.result);
  assert.equal(results[1]!.status, "compile-error", results[1]!.result);
  assert.match(results[1]!.result, /TS2322/);
  assert.equal(results[2]!.passed, true, `not strict (as MultiPL-E's tsc): ${results[2]!.result}`);
});

test("Racket: a failed rackunit check fails the program although racket exits 0 (as MultiPL-E)", async () => {
  const problems = loadBenchmark("multipl-e:rkt").filter((p) => p.taskId === "HumanEval_53_add");
  const { results } = await scoreSamples({
    benchmark: problems,
    samples: [{ task_id: "HumanEval_53_add", completion: "  (if (= x 7) 0 (+ x y)))\n" }],
  });
  assert.equal(results[0]!.passed, false);
  assert.match(results[0]!.result, /stderr/);
});

for (const lang of [...REQUIRED, ...ADDED]) {
  test(`MultiPL-E ${lang}: right completions pass, wrong ones fail`, async () => {
    const sols = HAND_SOLUTIONS[lang]!;
    const problems = loadBenchmark(`multipl-e:${lang}`).filter((p) => sols.some((s) => s.task === p.taskId));
    assert.equal(problems.length, sols.length, "every hand-solved task exists in the data");
    const samples = sols.flatMap((s) => [
      { task_id: s.task, completion: s.right, expect: true },
      ...(s.wrong !== undefined ? [{ task_id: s.task, completion: s.wrong, expect: false }] : []),
    ]);
    const { results } = await scoreSamples({
      benchmark: problems,
      samples: samples.map(({ task_id, completion }) => ({ task_id, completion })),
    });
    results.forEach((r, i) =>
      assert.equal(
        r.passed,
        samples[i]!.expect,
        `${r.task_id} (${samples[i]!.expect ? "right" : "wrong"}): ${r.result}`,
      ),
    );
    assert.ok(
      results.some((r) => !r.passed),
      "at least one wrong completion per language",
    );
  });
}

test("instruct format: a chat answer holding the whole function (with prose, helpers, a main) passes in every language", async () => {
  const closesInTests = new Set(["cpp", "rs", "sh", "java"]);
  const jobs: { problem: ReturnType<typeof loadBenchmark>[number]; answer: string }[] = [];
  for (const lang of REQUIRED) {
    const sol = HAND_SOLUTIONS[lang]!.find((s) => s.task === "HumanEval_53_add")!;
    const problem = loadBenchmark(`multipl-e:${lang}`).find((p) => p.taskId === sol.task)!;
    const lines = problem.prompt.trimEnd().split("\n");
    const sig = lines[lines.length - 1]!;
    const close = closesInTests.has(lang) ? (lang === "java" ? "    }\n" : "}\n") : "";
    let fn = `${sig}\n${sol.right}${close}`;
    if (lang === "py") fn = `def add(x: int, y: int):\n${sol.right}`;
    if (lang === "pl") fn = `use strict;\n\nsub add {\n    my ($x, $y) = @_;\n${sol.right}\n1;\n`;
    if (lang === "java")
      fn = `import java.util.*;\n\nclass Problem {\n${fn}\n    public static void main(String[] args) {\n        System.out.println(add(1, 2));\n    }\n}\n`;
    if (lang === "php") fn = `<?php\n${fn}`;
    const fence = {
      py: "python",
      rb: "ruby",
      go: "go",
      lua: "lua",
      js: "javascript",
      ts: "typescript",
      php: "php",
      sh: "bash",
      cpp: "cpp",
      java: "java",
      rs: "rust",
      pl: "perl",
    }[lang];
    jobs.push({
      problem,
      answer: `Sure! Here is the function:\n\n\`\`\`${fence}\n${fn}\`\`\`\n\nIt adds the two numbers { and returns } the sum.`,
    });
  }
  const { completionFromChat } = await import("../../src/eval/postprocess.js");
  for (const j of jobs) {
    const completion = completionFromChat(j.problem, j.answer);
    const { results } = await scoreSamples({
      benchmark: [j.problem],
      samples: [{ task_id: j.problem.taskId, completion }],
    });
    assert.equal(
      results[0]!.passed,
      true,
      `${j.problem.benchmark}: ${results[0]!.result}\n--- completion:\n${completion}`,
    );
  }
});
