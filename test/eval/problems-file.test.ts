/** `--problems FILE`: a human-eval-format JSONL file as a custom benchmark, with clear errors for bad input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadProblemsFile, parseProblems } from "../../src/eval/problems-file.js";
import { scoreSamples } from "../../src/eval/evaluate.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../../bin/batcoder.js");

const ADD = {
  task_id: "Custom/add",
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  entry_point: "add",
  test: "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
  canonical_solution: "    return a + b\n",
};
const REV = {
  task_id: "Custom/rev",
  prompt: "def rev(s):\n",
  entry_point: "rev",
  test: "def check(candidate):\n    assert candidate('abc') == 'cba'\n",
};

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const buf = (s: string) => Buffer.from(s, "utf8");

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.equal((e as { userFacing?: boolean }).userFacing, true, `a UserError, got ${(e as Error).stack}`);
    return (e as Error).message;
  }
  assert.fail("no error thrown");
}

test("problems file: valid lines parse; canonical_solution optional; extra fields kept", () => {
  const rows = parseProblems(buf(jsonl([ADD, { ...REV, extra: 1 }])), "p.jsonl");
  assert.equal(rows.length, 2);
  assert.equal(rows[1]!.canonical_solution, undefined);
  assert.equal((rows[1] as Record<string, unknown>).extra, 1);
});

test("problems file: malformed JSON, missing or mistyped fields, duplicates, non-UTF-8, empty — line and field named", () => {
  assert.match(
    err(() => parseProblems(buf(jsonl([ADD]) + "{not json\n"), "p.jsonl")),
    /^p\.jsonl:2: not valid JSON/,
  );
  const { test: _t, ...noTest } = ADD;
  assert.match(
    err(() => parseProblems(buf(jsonl([REV, noTest])), "p.jsonl")),
    /^p\.jsonl:2: field "test" is missing/,
  );
  assert.match(
    err(() => parseProblems(buf(jsonl([{ ...ADD, prompt: 3 }])), "p.jsonl")),
    /^p\.jsonl:1: field "prompt" .*string/i,
  );
  assert.match(
    err(() => parseProblems(buf(jsonl([{ ...ADD, entry_point: "not an id" }])), "p.jsonl")),
    /field "entry_point" must be a Python identifier/,
  );
  assert.match(
    err(() => parseProblems(buf(jsonl([ADD, REV, ADD])), "p.jsonl")),
    /^p\.jsonl:3: duplicate task_id "Custom\/add" \(first on line 1\)/,
  );
  const bad = Buffer.concat([buf(jsonl([ADD])), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])]);
  assert.match(
    err(() => parseProblems(bad, "p.jsonl")),
    /^p\.jsonl:2: not valid UTF-8/,
  );
  assert.match(
    err(() => parseProblems(buf("\n\n"), "p.jsonl")),
    /holds no problems/,
  );
  assert.match(
    err(() => parseProblems(buf("[1, 2]\n"), "p.jsonl")),
    /^p\.jsonl:1: a record must be a JSON object/,
  );
  assert.match(
    err(() => loadProblemsFile("/nonexistent/problems.jsonl")),
    /cannot read problems file/,
  );
});

test("problems file: judged as HumanEval — a right completion passes, a wrong one fails", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-problems-"));
  const file = path.join(dir, "mine.jsonl");
  fs.writeFileSync(file, jsonl([ADD, REV]));
  const problems = loadProblemsFile(file);
  assert.equal(problems[0]!.benchmark, "custom:mine.jsonl");
  const samples = [
    { task_id: "Custom/add", completion: "    return a + b\n" },
    { task_id: "Custom/add", completion: "    return a - b\n" },
    { task_id: "Custom/rev", completion: "    return s[::-1]\n" },
  ];
  const { results } = await scoreSamples({ benchmark: problems, samples });
  assert.deepEqual(
    results.map((r) => r.passed),
    [true, false, true],
  );
});

test("batcoder eval --problems FILE --samples FILE scores a custom benchmark; a bad file is a clear error", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-problems-cli-"));
  const file = path.join(dir, "mine.jsonl");
  fs.writeFileSync(file, jsonl([ADD, REV]));
  const samples = path.join(dir, "samples.jsonl");
  fs.writeFileSync(
    samples,
    jsonl([
      { task_id: "Custom/add", completion: "    return a + b\n" },
      { task_id: "Custom/rev", completion: "    return s\n" },
    ]),
  );
  const r = spawnSync(
    process.execPath,
    [bin, "eval", "--problems", file, "--samples", samples, "--out", path.join(dir, "out"), "--k", "1", "--quiet"],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /custom:mine\.jsonl/);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, "out", "summary.json"), "utf8")) as {
    passAtK: Record<string, number>;
  };
  assert.equal(summary.passAtK["pass@1"], 0.5);
  fs.writeFileSync(file, jsonl([ADD]) + '{"task_id": "x"}\n');
  const bad = spawnSync(process.execPath, [bin, "eval", "--problems", file, "--samples", samples, "--quiet"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /mine\.jsonl:2: field "prompt" is missing/);
});
