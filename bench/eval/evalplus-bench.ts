/**
 * HumanEval+ / MBPP+ (EvalPlus semantics) speed and agreement with the reference `evalplus` package.
 *
 *   node dist/bench/eval/evalplus-bench.js [--dataset humaneval|mbpp|both] [--mutants] [--reference VENV]
 *                                          [--concurrency 2] [--limit N] [--tasks ID,ID]
 *
 * Times, in the sandbox: the ground truth (canonical solution on every base + plus input, timed per input) and
 * the judging of every canonical solution (and, with --mutants, one mechanically mutated solution per task:
 * the first of a fixed list of operator swaps that applies, rotated by task index). With --reference VENV it
 * also runs the reference evalplus (that venv's package, inside the sandbox, on the same data and samples) and
 * counts base and base+plus verdict agreements, listing every disagreement.
 */
import { parseArgs } from "node:util";
import { Pool, scoreSamples, type ResultRecord } from "../../src/eval/evaluate.js";
import {
  groundTruth,
  loadHumanEvalPlus,
  loadHumanEvalPlusTasks,
  loadMbppPlus,
  loadMbppPlusTasks,
} from "../../src/eval/evalplus.js";
import { Sandbox } from "../../src/sandbox/sandbox.js";
import { runReference } from "../../test/eval/evalplus-reference.js";

const { values } = parseArgs({
  options: {
    dataset: { type: "string" },
    mutants: { type: "boolean" },
    reference: { type: "string" },
    concurrency: { type: "string" },
    limit: { type: "string" },
    tasks: { type: "string" },
  },
});
const conc = Number(values.concurrency ?? 2);
const limit = values.limit ? Number(values.limit) : undefined;
const only = values.tasks ? new Set(values.tasks.split(",")) : undefined;

const SWAPS: [string, string][] = [
  [" + ", " - "],
  [" < ", " <= "],
  [" > ", " >= "],
  ["<=", "<"],
  [">=", ">"],
  [" == ", " != "],
  [" and ", " or "],
  [" or ", " and "],
  ["return True", "return False"],
  ["[0]", "[1]"],
  [" - ", " + "],
  ["+ 1", "+ 2"],
];

function mutate(code: string, i: number): string | undefined {
  for (let k = 0; k < SWAPS.length; k++) {
    const [a, b] = SWAPS[(i + k) % SWAPS.length]!;
    const at = code.indexOf(a);
    if (at >= 0) return code.slice(0, at) + b + code.slice(at + a.length);
  }
  return undefined;
}

async function one(dataset: "humaneval" | "mbpp"): Promise<void> {
  const tasks = (dataset === "humaneval" ? loadHumanEvalPlusTasks() : loadMbppPlusTasks())
    .filter((t) => !only || only.has(t.taskId))
    .slice(0, limit);
  const problems = (dataset === "humaneval" ? loadHumanEvalPlus() : loadMbppPlus())
    .filter((p) => !only || only.has(p.taskId))
    .slice(0, limit);
  const sandbox = new Sandbox();
  const pool = new Pool(conc);
  const nInputs = tasks.reduce((a, t) => a + t.nBase + t.nPlus, 0);
  let t0 = performance.now();
  await Promise.all(tasks.map((t) => pool.run(() => groundTruth(sandbox, t))));
  const gtS = (performance.now() - t0) / 1000;
  console.log(
    `${dataset}+: ground truth for ${tasks.length} tasks (${nInputs} inputs): ${gtS.toFixed(1)} s (${(tasks.length / gtS).toFixed(2)} tasks/s)`,
  );

  const samples: { task_id: string; completion: string; kind: string }[] = problems.map((p) => ({
    task_id: p.taskId,
    completion: p.canonical!,
    kind: "canonical",
  }));
  if (values.mutants) {
    problems.forEach((p, i) => {
      const m = mutate(p.canonical!, i);
      if (m !== undefined) samples.push({ task_id: p.taskId, completion: m, kind: "mutant" });
    });
  }
  t0 = performance.now();
  const { results } = await scoreSamples({
    benchmark: problems,
    samples: samples.map(({ task_id, completion }) => ({ task_id, completion })),
    concurrency: conc,
    k: [1],
  });
  const s = (performance.now() - t0) / 1000;
  for (const kind of ["canonical", "mutant"]) {
    const rs = results.filter((_, i) => samples[i]!.kind === kind);
    if (!rs.length) continue;
    const base = rs.filter((r) => r.base_passed).length;
    const plus = rs.filter((r) => r.passed).length;
    console.log(`${dataset}+ ${kind}: ${rs.length} solutions, base pass ${base}, base+plus pass ${plus}`);
    if (kind === "canonical")
      for (const r of rs.filter((x) => !x.passed)) console.log(`  canonical FAIL ${r.task_id}: ${r.result}`);
  }
  console.log(
    `${dataset}+: judged ${results.length} solutions in ${s.toFixed(1)} s (${(results.length / s).toFixed(2)} solutions/s, ground truth cached)`,
  );

  if (values.reference) {
    t0 = performance.now();
    const ref = await runReference(
      tasks,
      samples.map(({ task_id, completion }) => ({ task_id, completion })),
      values.reference,
    );
    const rs = (performance.now() - t0) / 1000;
    const seen = new Map<string, number>();
    const agree = { base: 0, plus: 0 };
    const diffs: string[] = [];
    results.forEach((r: ResultRecord, i) => {
      const j = seen.get(r.task_id) ?? 0;
      seen.set(r.task_id, j + 1);
      const [rb, rp] = ref.verdicts[r.task_id]![j]!;
      const refBase = rb === "pass";
      const refPlus = refBase && rp === "pass";
      if (refBase === r.base_passed) agree.base++;
      if (refPlus === r.passed) agree.plus++;
      if (refBase !== r.base_passed || refPlus !== r.passed)
        diffs.push(
          `${r.task_id} ${samples[i]!.kind}: ours ${r.base_passed ? "pass" : "fail"}/${r.passed ? "pass" : "fail"} (${r.result}); reference ${rb}/${rp}`,
        );
    });
    console.log(`${dataset}+: reference evalplus ${ref.version} (same sandbox, own ground truth): ${rs.toFixed(1)} s`);
    console.log(
      `${dataset}+: agreement base ${agree.base}/${results.length}, base+plus ${agree.plus}/${results.length}`,
    );
    for (const d of diffs) console.log(`  DIFF ${d}`);
  }
}

async function main(): Promise<void> {
  const ds = values.dataset ?? "both";
  if (ds === "humaneval" || ds === "both") await one("humaneval");
  if (ds === "mbpp" || ds === "both") await one("mbpp");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
