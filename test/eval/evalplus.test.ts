/**
 * HumanEval+ / MBPP+ (EvalPlus semantics): canonical and deliberately wrong solutions get the verdicts EvalPlus
 * gives — base vs plus inputs, atol, special oracles, per-input time limits — and, where the project's venv holds
 * the reference `evalplus` package, exactly the reference's verdicts (under CI the venv must be there).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { scoreSamples, formatSummaryTable } from "../../src/eval/evaluate.js";
import {
  loadHumanEvalPlusTasks,
  loadMbppPlusTasks,
  MBPP_PLUS_V020_LINKS,
  MBPP_PLUS_V020_REMOVED,
  parsePythonJson,
  timeLimits,
} from "../../src/eval/evalplus.js";
import { referenceMissing, runReference } from "./evalplus-reference.js";

interface Case {
  task_id: string;
  completion: string;
  /** Expected [base passes, base AND plus pass]. */
  expect: [boolean, boolean];
  why: string;
}

const HE: Case[] = [
  { task_id: "HumanEval/0", completion: "CANONICAL", expect: [true, true], why: "canonical" },
  { task_id: "HumanEval/0", completion: "    return False\n", expect: [false, false], why: "wrong on base" },
  {
    task_id: "HumanEval/0",
    completion: "    import time\n    time.sleep(3)\n    return False\n",
    expect: [false, false],
    why: "slower than the 1 s floor",
  },
  { task_id: "HumanEval/2", completion: "CANONICAL", expect: [true, true], why: "canonical" },
  {
    task_id: "HumanEval/2",
    completion: "    return number - int(number) + 1e-9\n",
    expect: [true, true],
    why: "within atol",
  },
  {
    task_id: "HumanEval/2",
    completion: "    return number - int(number) + 1e-3\n",
    expect: [false, false],
    why: "beyond atol",
  },
  {
    task_id: "HumanEval/23",
    completion: "    return len(string) if len(string) < 10 else 0\n",
    expect: [true, false],
    why: "right on base only",
  },
  { task_id: "HumanEval/32", completion: "CANONICAL", expect: [true, true], why: "find_zero oracle" },
  { task_id: "HumanEval/32", completion: "    return 0.0\n", expect: [false, false], why: "not a zero" },
  {
    task_id: "HumanEval/53",
    completion: "    return x + y if x >= 0 and y >= 0 else 0\n",
    expect: [true, false],
    why: "plus has negatives",
  },
  {
    task_id: "HumanEval/53",
    completion: "    return x + y\n\nif __name__ == '__main__':\n    raise SystemExit(1)\n",
    expect: [true, true],
    why: "__main__ block not run",
  },
];

const MBPP: Case[] = [
  { task_id: "Mbpp/2", completion: "CANONICAL", expect: [true, true], why: "canonical" },
  {
    task_id: "Mbpp/2",
    completion: "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n",
    expect: [true, true],
    why: "set oracle: order free",
  },
  {
    task_id: "Mbpp/2",
    completion: "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n",
    expect: [false, false],
    why: "union",
  },
  {
    task_id: "Mbpp/3",
    completion: "def is_not_prime(n):\n    return n % 2 == 0\n",
    expect: [false, false],
    why: "wrong",
  },
  {
    task_id: "Mbpp/82",
    completion: "import math\ndef volume_sphere(r):\n    return (4 / 3) * math.pi * r ** 3 + 1e-7\n",
    expect: [true, true],
    why: "atol 1e-4",
  },
  {
    task_id: "Mbpp/82",
    completion: "import math\ndef volume_sphere(r):\n    return int((4 / 3) * math.pi * r ** 3)\n",
    expect: [false, false],
    why: "int, not float",
  },
  {
    task_id: "Mbpp/737",
    completion: "import re\ndef check_str(s):\n    return bool(re.search('^[aeiouAEIOU][A-Za-z0-9_]*', s))\n",
    expect: [true, true],
    why: "not-None oracle",
  },
  {
    task_id: "Mbpp/737",
    completion: "def check_str(s):\n    return None\n",
    expect: [false, false],
    why: "always None",
  },
];

async function ours(cases: Case[], benchmark: "humaneval+" | "mbpp+") {
  const problems = loadBenchmark(benchmark);
  const byId = new Map(problems.map((p) => [p.taskId, p]));
  const samples = cases.map((c) => ({
    task_id: c.task_id,
    completion: c.completion === "CANONICAL" ? byId.get(c.task_id)!.canonical! : c.completion,
  }));
  const used = problems.filter((p) => cases.some((c) => c.task_id === p.taskId));
  const { summary, results } = await scoreSamples({ benchmark: used, samples, k: [1] });
  return { summary, results, samples };
}

test("HumanEval+ and MBPP+ data: 164 and 378 tasks, base and plus inputs, EvalPlus fields", () => {
  const he = loadHumanEvalPlusTasks();
  assert.equal(he.length, 164);
  assert.equal(
    he.reduce((a, t) => a + t.nBase, 0),
    1570,
  );
  assert.ok(he.every((t) => t.nPlus > 0 && t.entryPoint && t.canonical));
  const mb = loadMbppPlusTasks();
  assert.equal(mb.length, 378);
  assert.ok(!mb.some((t) => MBPP_PLUS_V020_REMOVED.includes(Number(t.taskId.split("/")[1]))));
  assert.ok(mb.every((t) => t.prompt.startsWith('"""\n') && /\nassert /.test(t.prompt)));
  assert.ok(
    !mb.some((t) => Object.values(MBPP_PLUS_V020_LINKS).some((l) => t.prompt.includes(l))),
    "v0.2.0 links removed",
  );
  assert.equal(mb.find((t) => t.taskId === "Mbpp/82")!.atol, 1e-4);
});

test("Python-style JSON (NaN, Infinity) parses for the JS view; strings are left alone", () => {
  assert.deepEqual(parsePythonJson('{"a": [NaN, -Infinity, 1], "s": "NaN Infinity \\" x"}'), {
    a: [null, null, 1],
    s: 'NaN Infinity " x',
  });
});

test("time limits: max(1 s, 4 x canonical time) per input, phase deadline min(60, sum) + 2", () => {
  assert.deepEqual(timeLimits([0.001, 0.5, 2]), { limits: [1, 2, 8], timeout: 13 });
  assert.equal(timeLimits(new Array(100).fill(1)).timeout, 62);
});

test("HumanEval+: base and plus verdicts for canonical and deliberately wrong solutions", async () => {
  const { summary, results } = await ours(HE, "humaneval+");
  results.forEach((r, i) => {
    const c = HE[i]!;
    assert.deepEqual([r.base_passed, r.passed], c.expect, `${c.task_id} (${c.why}): ${r.result}`);
  });
  assert.equal(
    results[2]!.base_status,
    "fail",
    "an input over its limit fails the phase (EvalPlus: fail, not timeout)",
  );
  assert.ok(
    summary.basePassAtK && summary.basePassAtK["pass@1"]! > summary.passAtK["pass@1"]!,
    "base pass@1 above plus pass@1",
  );
  assert.match(formatSummaryTable(summary), /pass@1 \(base tests\)[\s\S]*pass@1 \(base \+ extra tests\)/);
});

test("MBPP+: set and not-None oracles, atol with type check", async () => {
  const { results } = await ours(MBPP, "mbpp+");
  results.forEach((r, i) => {
    const c = MBPP[i]!;
    assert.deepEqual([r.base_passed, r.passed], c.expect, `${c.task_id} (${c.why}): ${r.result}`);
  });
});

test("batcoder eval --benchmark mbpp+ --samples: base and base+plus pass@k, EvalPlus 'solution' samples accepted", () => {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../bin/batcoder.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-evalplus-cli-"));
  const samples = path.join(dir, "samples.jsonl");
  const rows = [
    {
      task_id: "Mbpp/3",
      completion:
        "import math\ndef is_not_prime(n):\n    return n < 2 or any(n % i == 0 for i in range(2, math.isqrt(n) + 1))\n",
    },
    { task_id: "Mbpp/2", solution: '"""doc"""\ndef similar_elements(a, b):\n    return tuple(set(a) | set(b))\n' },
  ];
  fs.writeFileSync(samples, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const r = spawnSync(
    process.execPath,
    [bin, "eval", "--benchmark", "mbpp+", "--samples", samples, "--out", path.join(dir, "out"), "--k", "1", "--quiet"],
    {
      cwd: dir,
      encoding: "utf8",
      timeout: 300_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /pass@1 \(base tests\)\s*\|\s*50\.00%/);
  assert.match(r.stdout, /pass@1 \(base \+ extra tests\)\s*\|\s*50\.00%/);
  const results = fs
    .readFileSync(path.join(dir, "out", "results.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    results.map((x) => [x.task_id, x.base_passed, x.passed]),
    [
      ["Mbpp/3", true, true],
      ["Mbpp/2", false, false],
    ],
  );
  assert.ok(
    fs.readdirSync(path.join(dir, ".cache", "evalplus")).length >= 2,
    "ground truths cached under .cache/evalplus",
  );
});

test("EvalPlus judge: a solution that exits early, reads stdin or writes a fake verdict to fd 1 does not pass", async () => {
  const cases: Case[] = [
    {
      task_id: "HumanEval/53",
      completion: "    return x - y\nimport os\nos._exit(0)\n",
      expect: [false, false],
      why: "os._exit at import",
    },
    {
      task_id: "HumanEval/53",
      completion:
        '    return x - y\nimport os, sys\nleak = sys.stdin.read()\nos.write(1, b\'{"base": {"status": "pass"}}\\n\' + leak.encode())\n',
      expect: [false, false],
      why: "stdin / fd 1 are /dev/null for the candidate",
    },
  ];
  const { results } = await ours(cases, "humaneval+");
  results.forEach((r, i) =>
    assert.deepEqual([r.base_passed, r.passed], cases[i]!.expect, `${cases[i]!.why}: ${r.result}`),
  );
});

test("sandbox shm: a private /dev/shm only when asked (Python multiprocessing locks need it)", async () => {
  const { Sandbox } = await import("../../src/sandbox/sandbox.js");
  const sb = new Sandbox();
  const job = { command: ["/usr/bin/python3", "-c", "import multiprocessing as m; m.Lock(); print('ok')"] };
  const withShm = await sb.run({ ...job, shm: true });
  assert.equal(withShm.exitCode, 0, withShm.stderr);
  const without = await sb.run(job);
  assert.notEqual(without.exitCode, 0);
});

const missing = referenceMissing();
const mustHave = process.env.CI === "true";
for (const [name, cases, bench] of [
  ["HumanEval+", HE, "humaneval+"],
  ["MBPP+", MBPP, "mbpp+"],
] as const) {
  test(`${name}: our verdicts equal the reference evalplus package's on the same samples`, {
    skip: !mustHave && missing ? `reference evalplus unavailable: ${missing}` : false,
  }, async () => {
    if (missing) assert.fail(`CI=true but the reference evalplus cannot run: ${missing}`);
    const { results, samples } = await ours(cases, bench);
    const tasks = (bench === "humaneval+" ? loadHumanEvalPlusTasks() : loadMbppPlusTasks()).filter((t) =>
      cases.some((c) => c.task_id === t.taskId),
    );
    const ref = await runReference(tasks, samples);
    const seen = new Map<string, number>();
    let compared = 0;
    results.forEach((r, i) => {
      const j = seen.get(r.task_id) ?? 0;
      seen.set(r.task_id, j + 1);
      const [rb, rp] = ref.verdicts[r.task_id]![j]!;
      // evalplus <= 0.3.1 never records HumanEval/32 (find_zero) inputs as passed (its special oracle `continue`s
      // before counting the input), so every solution fails there; fixed upstream after 0.3.1 (evalplus #241).
      // We judge as the fixed version does; the old package's verdict is pinned here so a change is noticed.
      if (r.task_id === "HumanEval/32" && ref.version <= "0.3.1") {
        assert.deepEqual([rb, rp], ["fail", "fail"], `evalplus ${ref.version} on HumanEval/32`);
        return;
      }
      const refBase = rb === "pass";
      const refPlus = refBase && rp === "pass";
      assert.deepEqual(
        [r.base_passed, r.passed],
        [refBase, refPlus],
        `${r.task_id} (${cases[i]!.why}): ours ${r.result}; reference ${rb}/${rp}`,
      );
      compared++;
    });
    assert.ok(compared >= cases.length - 2, `compared ${compared} of ${cases.length} samples`);
  });
}
