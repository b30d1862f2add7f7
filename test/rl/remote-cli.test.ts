/**
 * `batcoder rl --policy-url`: the CLI trains a REMOTE policy (a real training server on loopback, backed by a
 * tiny embedded model) with the unchanged loop, and the before/after table reports the paired change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { serveTraining } from "../../src/backends/training-server.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { pairedDelta } from "../../src/orchestration/rl-run.js";
import type { HeldOutEval } from "../../src/rl/eval.js";
import { writeCorpus } from "./corpus-fixture.js";

function runAsync(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.resolve("bin/batcoder.js"), ...args], { cwd });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test("rl --policy-url trains a remote policy through the training API and writes the before/after table", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-rl-remote-"));
  writeCorpus(path.join(dir, "corpus"), { train: 12, validation: 2, test: 6 });
  const policy = createEmbeddedPolicy({
    config: {
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 2,
      max_position_embeddings: 256,
    },
    tokenizer: new ByteTokenizer(),
    seed: 3,
  });
  const before = policy.llama.weights.get("model.norm.weight")!.data.slice();
  const { server, url } = await serveTraining({ policy, port: 0 });
  try {
    const r = await runAsync(
      [
        "rl",
        "--policy-url",
        url,
        "--corpus",
        "corpus",
        "--run-name",
        "remote",
        "--steps",
        "2",
        "--quiet",
        "--no-report",
        "--set",
        "rollout_batch_size=2",
        "--set",
        "num_docs_per_code=2",
        "--set",
        "num_codes_per_doc=1",
        "--set",
        "max_doc_tokens=16",
        "--set",
        "max_rebuild_tokens=8",
        "--set",
        "eval_size=4",
        "--set",
        "reject_invalid_docs=false",
        "--set",
        "learning_rate=0.01",
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const table = fs.readFileSync(path.join(dir, "runs", "remote", "before_after.txt"), "utf8");
    assert.match(table, /Δ paired/);
    assert.match(table, /round-trip similarity/);
    const metrics = fs
      .readFileSync(path.join(dir, "runs", "remote", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    assert.equal(metrics.length, 2);
    // the server's weights moved: the optimizer steps ran remotely
    const after = policy.llama.weights.get("model.norm.weight")!.data;
    assert.ok(
      after.some((x, i) => x !== before[i]),
      "remote optimizer steps changed the served policy's weights",
    );
    // exclusive options
    const bad = await runAsync(["rl", "--policy-url", url, "--from", "x"], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /exclusive/);
  } finally {
    await server.close();
  }
});

test("pairedDelta: mean of per-function differences with a bootstrap interval; null when the functions differ", () => {
  const mk = (ids: string[], rt: number[]): HeldOutEval => ({
    n: ids.length,
    roundtrip: { mean: 0, lo: 0, hi: 0, n: ids.length, method: "bootstrap" },
    doc2code_human: { mean: 0, lo: 0, hi: 0, n: ids.length, method: "bootstrap" },
    doc_bleu: { mean: 0, lo: 0, hi: 0, n: ids.length, method: "bootstrap" },
    doc_rougeL: { mean: 0, lo: 0, hi: 0, n: ids.length, method: "bootstrap" },
    doc_valid_rate: 1,
    doc_leak_rate: 0,
    examples: [],
    per_function: { ids, roundtrip: rt, doc2code_human: rt, doc_bleu: rt, doc_rougeL: rt },
  });
  // differences 0.1, 0.2, 0.1, 0.2 → mean 0.15; every resample mean lies in [0.1, 0.2]
  const a = mk(["a", "b", "c", "d"], [0.1, 0.2, 0.3, 0.4]);
  const b = mk(["a", "b", "c", "d"], [0.2, 0.4, 0.4, 0.6]);
  const d = pairedDelta(a, b, "roundtrip")!;
  assert.ok(Math.abs(d.mean - 0.15) < 1e-12);
  assert.ok(d.lo >= 0.1 - 1e-12 && d.hi <= 0.2 + 1e-12 && d.lo <= d.mean && d.mean <= d.hi);
  // a constant shift has a zero-width interval
  const c = mk(["a", "b", "c", "d"], [0.15, 0.25, 0.35, 0.45]);
  const e = pairedDelta(a, c, "roundtrip")!;
  assert.ok(Math.abs(e.lo - 0.05) < 1e-12 && Math.abs(e.hi - 0.05) < 1e-12);
  // different functions → no paired comparison
  assert.equal(pairedDelta(a, mk(["a", "b", "c", "x"], [0, 0, 0, 0]), "roundtrip"), null);
});
