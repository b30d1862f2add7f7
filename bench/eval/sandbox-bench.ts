/**
 * Sandbox overhead: canonical HumanEval (164 programs) scored end-to-end in the sandbox (runner + sentinel,
 * bubblewrap, setpriv/cgroups, rlimits), against a plain unsandboxed `python3 prog.py` loop over the same
 * programs, with the same parallelism, in the same process, alternating rounds.
 *
 *   node dist/bench/eval/sandbox-bench.js [--rounds 2] [--concurrency 2] [--mbpp] [--langs]
 *
 * --mbpp also scores all 974 MBPP reference solutions and the 427 sanitized ones (sandboxed);
 * --langs times a trivial program per MultiPL-E language (compile + run) in the sandbox.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { Pool, scoreSamples } from "../../src/eval/evaluate.js";
import { executeProgram, EXEC_LANGUAGES, type Language } from "../../src/sandbox/executors.js";
import { Sandbox } from "../../src/sandbox/sandbox.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    concurrency: { type: "string" },
    mbpp: { type: "boolean" },
    langs: { type: "boolean" },
  },
});
const rounds = Number(values.rounds ?? 2);
const conc = Number(values.concurrency ?? 2);

function runPlain(file: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn("/usr/bin/python3", [file], { stdio: ["ignore", "ignore", "ignore"] });
    const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.on("close", (code) => {
      clearTimeout(t);
      resolve(code === 0);
    });
  });
}

async function main(): Promise<void> {
  const problems = loadBenchmark("humaneval");
  const samples = problems.map((p) => ({ task_id: p.taskId, completion: p.canonical! }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-bench-plain-"));
  const files = problems.map((p, i) => {
    const f = path.join(dir, `p${i}.py`);
    fs.writeFileSync(f, p.assemble(p.canonical!));
    return f;
  });
  const sandboxMode = new Sandbox().mode;
  console.log(
    `HumanEval canonical: ${problems.length} programs, concurrency ${conc}, sandbox mode ${sandboxMode}, node ${process.version}, ${os.cpus().length} CPUs`,
  );
  console.log("| round | plain python3 loop | sandboxed (harness) | ratio | plain passed | sandboxed passed |");
  console.log("|---|---|---|---|---|---|");
  const ratios: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const pool = new Pool(conc);
    let t0 = performance.now();
    const plainOk = await Promise.all(files.map((f) => pool.run(() => runPlain(f, 10_000))));
    const plain = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const { summary } = await scoreSamples({ benchmark: problems, samples, concurrency: conc });
    const boxed = (performance.now() - t0) / 1000;
    ratios.push(boxed / plain);
    console.log(
      `| ${r} | ${plain.toFixed(2)} s (${(files.length / plain).toFixed(1)} prog/s) | ${boxed.toFixed(2)} s (${(files.length / boxed).toFixed(1)} prog/s) | ${(boxed / plain).toFixed(2)}x | ${plainOk.filter(Boolean).length}/${files.length} | ${summary.passed}/${summary.samples} |`,
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(`median sandbox overhead ratio: ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)}x`);
  fs.rmSync(dir, { recursive: true, force: true });

  if (values.mbpp) {
    for (const name of ["mbpp:all", "mbpp-sanitized"]) {
      const ps = loadBenchmark(name);
      const t0 = performance.now();
      const { summary, results } = await scoreSamples({
        benchmark: ps,
        samples: ps.map((p) => ({ task_id: p.taskId, completion: p.canonical! })),
        concurrency: conc,
      });
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${name}: reference solutions ${summary.passed}/${summary.samples} pass, ${s.toFixed(1)} s (${(ps.length / s).toFixed(1)} prog/s)`,
      );
      for (const r of results.filter((x) => !x.passed)) console.log(`  FAIL ${r.task_id}: ${r.result}`);
    }
  }

  if (values.langs) {
    const sb = new Sandbox();
    const hello: Record<Language, string> = {
      py: "print(1)\n",
      rb: "require 'test/unit'\nputs 1\n",
      lua: "print(1)\n",
      php: "<?php echo 1;\n",
      sh: "echo 1\n",
      js: "console.log(1);\n",
      ts: "const x: number = 1; console.log(x);\n",
      go: 'package main_test\nimport "testing"\nfunc TestX(t *testing.T) {}\n',
      cpp: "#include <bits/stdc++.h>\nint main() {\n  std::cout << 1 << std::endl;\n}\n",
      java: "class Problem {\n    public static void main(String[] args) {\n        System.out.println(1);\n    }\n}\n",
      rs: 'fn main() {\n    println!("1");\n}\n',
      pl: "print 1;\n",
      r: 'cat(1, "\\n")\n',
      rkt: "#lang racket\n(displayln 1)\n",
      ml: 'let () = print_endline "1"\n',
      scala: "object Problem {\n    def main(args: Array[String]) = {\n        println(1)\n    }\n\n}\n",
    };
    console.log("| language | sandboxed run of a trivial program (compile + run), median of 3 |");
    console.log("|---|---|");
    for (const l of EXEC_LANGUAGES) {
      const ts: number[] = [];
      let status = "";
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await executeProgram(sb, l, hello[l]);
        ts.push(performance.now() - t0);
        status = r.status;
      }
      ts.sort((a, b) => a - b);
      console.log(`| ${l} | ${ts[1]!.toFixed(0)} ms (${status}) |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
