import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";

const bin = path.resolve("bin/batcoder.js");
const run = (args: string[], cwd = process.cwd()) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd, timeout: 60_000 });

test("train on a corpus with zero usable functions fails fast with a reason", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-empty-"));
  fs.mkdirSync(path.join(dir, "train"));
  fs.writeFileSync(path.join(dir, "train", "shard-00000.jsonl"), "");
  const t0 = Date.now();
  const r = run(["train", "--corpus", dir, "--quiet"], dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /zero usable functions in split 'train'/);
  assert.ok(!/at .*\.js:\d+/.test(r.stderr), "a user error must not print a stack trace");
  assert.ok(Date.now() - t0 < 20_000);
  assert.ok(!fs.existsSync(path.join(dir, ".cache")), "nothing was trained");
});

test("train/rl reject bad options and configs with clear messages", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-cli-"));
  let r = run(["train", "--set", "learning_rate=-1"], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /learning_rate: learning_rate must be > 0/);
  r = run(["train", "--set", "num_docs_per_code=1", "--set", "advantage_estimator=rloo"], dir);
  assert.match(r.stderr, /num_docs_per_code: advantage_estimator 'rloo' compares samples within a group/);
  r = run(["train", "--set", "warmstart.model=huge"], dir);
  assert.match(r.stderr, /invalid warmstart config:\n\s+model:/);
  r = run(["train", "--bogus"], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Unknown option '--bogus'/);
  r = run(["rl"], dir);
  assert.match(r.stderr, /--from CHECKPOINT or --policy-url URL is required/);
  r = run(["rl", "--from", path.join(dir, "nope")], dir);
  assert.match(r.stderr, /does not exist \(expected a run directory, a checkpoints folder or a checkpoint\)/);
  fs.writeFileSync(path.join(dir, "c.json"), JSON.stringify({ max_steps: 0 }));
  r = run(["train", "--config", "c.json"], dir);
  assert.match(r.stderr, /max_steps: max_steps must be > 0/);
  r = run(["train", "--resume", "--run-name", "ghost"], dir);
  assert.match(r.stderr, /--resume: runs\/ghost\/config.resolved.json not found/);
});

test("report command: usage errors", () => {
  const r = run(["report"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /expected exactly one run directory/);
});
