/**
 * One run layout (src/core/runs.ts): what `resolveWeights` picks for a run directory, a checkpoints folder and one
 * checkpoint, and the round trip through the commands: `train` → `eval --model runs/<name>` → `serve runs/<name>`
 * → `export runs/<name>`, each saying which weights it picked, none picking the frozen reference.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { latestCheckpoint, parseStepDirName, resolveWeights, stepDirName } from "../../src/core/runs.js";
import { readGguf } from "../../src/engine/gguf.js";
import { writeCorpus } from "../rl/corpus-fixture.js";

const tiny = {
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
};

test("resolveWeights: run dir and checkpoints folder → newest step; one checkpoint → itself; the reference is refused", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-runs-"));
  try {
    const policy = createEmbeddedPolicy({ config: tiny, tokenizer: new ByteTokenizer(), seed: 1 });
    const run = path.join(dir, "runs", "x");
    const ck = path.join(run, "checkpoints");
    await policy.saveState(path.join(ck, "reference")); // the frozen KL reference of an RL run
    await policy.saveState(path.join(ck, stepDirName(2), "policy")); // RL layout: policy/ + trainer.json
    fs.writeFileSync(path.join(ck, stepDirName(2), "trainer.json"), "{}");
    await policy.saveState(path.join(ck, "step-000010", "policy")); // an older 6-digit name still counts
    fs.mkdirSync(path.join(ck, ".tmp-step-00000020", "policy"), { recursive: true }); // half-written: ignored
    assert.equal(stepDirName(60), "step-00000060");
    assert.equal(parseStepDirName("step-000010"), 10);
    assert.equal(parseStepDirName("reference"), null);

    const viaRun = resolveWeights(run);
    assert.equal(viaRun.kind, "run");
    assert.equal(viaRun.step, 10);
    assert.equal(viaRun.weights, path.join(ck, "step-000010", "policy"));
    assert.match(viaRun.description, /latest checkpoint of run .*step-000010.policy \(step 10\)/);
    assert.equal(resolveWeights(ck).kind, "checkpoints-folder");
    assert.equal(resolveWeights(ck).weights, viaRun.weights);
    const one = resolveWeights(path.join(ck, stepDirName(2)));
    assert.deepEqual([one.kind, one.step, one.weights], ["checkpoint", 2, path.join(ck, stepDirName(2), "policy")]);
    assert.equal(resolveWeights(path.join(ck, stepDirName(2), "policy")).weights, one.weights);
    assert.equal(latestCheckpoint(run)!.step, 10);
    assert.throws(() => resolveWeights(path.join(ck, "reference")), /frozen reference model of an RL run/);
    // a run whose only weights are the reference has NO checkpoint to offer (never the reference instead)
    fs.rmSync(path.join(ck, stepDirName(2)), { recursive: true });
    fs.rmSync(path.join(ck, "step-000010"), { recursive: true });
    assert.throws(() => resolveWeights(run), /holds no checkpoint/);
    assert.throws(() => resolveWeights(path.join(dir, "missing")), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("round trip: train → eval --model runs/<name> → serve runs/<name> → export runs/<name> (→ tokenizer info)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-roundtrip-"));
  const bin = path.resolve("bin/batcoder.js");
  try {
    writeCorpus(path.join(dir, "corpus"), { train: 20, validation: 4, test: 6 });
    const train = spawnSync(
      process.execPath,
      [
        bin,
        "train",
        "--corpus",
        "corpus",
        "--run-name",
        "rt",
        "--quiet",
        "--steps",
        "2",
        "--no-report",
        "--set",
        "rollout_batch_size=2",
        "--set",
        "num_docs_per_code=2",
        "--set",
        "num_codes_per_doc=1",
        "--set",
        "max_doc_tokens=32",
        "--set",
        "max_rebuild_tokens=8",
        "--set",
        "eval_size=4",
        "--set",
        "save_steps=1",
        "--set",
        "keep_checkpoints=2",
        "--set",
        "kl_coef=0.01",
        "--set",
        'warmstart.model={"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":2,"max_position_embeddings":256}',
        "--set",
        "warmstart.vocab_size=300",
        "--set",
        "warmstart.pretrain_steps=2",
        "--set",
        "warmstart.pretrain_seq_len=64",
        "--set",
        "warmstart.pretrain_batch_tokens=256",
        "--set",
        "warmstart.sft_steps=1",
        "--set",
        "warmstart.sft_batch_tokens=512",
      ],
      { cwd: dir, encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(train.status, 0, train.stderr + train.stdout);
    const run = path.join("runs", "rt");
    const picked = path.join(run, "checkpoints", "step-00000002", "policy");
    assert.ok(
      fs.existsSync(path.join(dir, run, "checkpoints", "reference", "manifest.json")),
      "an RL run with KL keeps its reference",
    );
    assert.deepEqual(fs.readdirSync(path.join(dir, run, "checkpoints")).sort(), [
      "reference",
      "step-00000001",
      "step-00000002",
    ]);

    // eval: the run directory and its checkpoints folder both mean the newest checkpoint
    for (const spec of [run, path.join(run, "checkpoints")]) {
      const ev = spawnSync(
        process.execPath,
        [
          bin,
          "eval",
          "--benchmark",
          "humaneval",
          "--model",
          spec,
          "--limit",
          "1",
          "--n",
          "1",
          "--k",
          "1",
          "--max-tokens",
          "8",
          "--out",
          "ev",
          "--quiet",
        ],
        { cwd: dir, encoding: "utf8", timeout: 120_000 },
      );
      assert.equal(ev.status, 0, ev.stderr + ev.stdout);
      assert.ok(
        ev.stderr.includes(
          `using weights: latest checkpoint of ${spec === run ? "run" : "folder"} ${spec}: ${picked} (step 2)`,
        ),
        ev.stderr,
      );
      const summary = JSON.parse(fs.readFileSync(path.join(dir, "ev", "summary.json"), "utf8")) as { tasks: number };
      assert.equal(summary.tasks, 1);
      fs.rmSync(path.join(dir, "ev"), { recursive: true });
    }

    // serve: the same weights behind the OpenAI-compatible API
    const child = spawn(process.execPath, [bin, "serve", run, "--port", "0"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "",
      err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
        const poll = setInterval(() => {
          const m = /^(http:\/\/\S+\/v1)$/m.exec(out);
          if (m) {
            clearTimeout(t);
            clearInterval(poll);
            resolve(m[1]!);
          }
        }, 50);
        child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      assert.ok(err.includes(`using weights: latest checkpoint of run ${run}: ${picked} (step 2)`), err);
      const r = await fetch(`${url}/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "def f(", max_tokens: 4, temperature: 0 }),
      });
      assert.equal(r.status, 200);
      const body = (await r.json()) as { choices: { text: string; finish_reason: string }[] };
      assert.equal(body.choices.length, 1);
      assert.ok(["stop", "length"].includes(body.choices[0]!.finish_reason));
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }

    // export: the same checkpoint, as GGUF
    const ex = spawnSync(process.execPath, [bin, "export", run, "--format", "gguf", "--out", "m.gguf"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(ex.status, 0, ex.stderr);
    assert.ok(ex.stderr.includes(`using weights: latest checkpoint of run ${run}: ${picked} (step 2)`), ex.stderr);
    assert.equal(JSON.parse(ex.stdout).checkpoint, path.join(dir, picked));
    assert.ok(readGguf(path.join(dir, "m.gguf")).tensors.size > 0);

    // the tokenizer command reads the same run
    const tk = spawnSync(process.execPath, [bin, "tokenizer", "info", "--tokenizer", run], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.equal(tk.status, 0, tk.stderr);
    assert.ok(tk.stderr.includes(`using weights: latest checkpoint of run ${run}: ${picked} (step 2)`), tk.stderr);

    // the frozen reference is refused by name
    const ref = spawnSync(
      process.execPath,
      [bin, "export", path.join(run, "checkpoints", "reference"), "--format", "gguf", "--out", "r.gguf"],
      { cwd: dir, encoding: "utf8" },
    );
    assert.equal(ref.status, 1);
    assert.match(ref.stderr, /frozen reference model/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
