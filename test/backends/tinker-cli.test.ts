/**
 * The CLI on the Tinker protocol: `batcoder serve CKPT --training` (a separate process) serves Tinker's API under
 * /api/v1 AND batcoder's own under /v1/training on one port; `batcoder rl --policy-url URL` detects a Tinker
 * service and trains through TinkerPolicy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { connectRemotePolicy } from "../../src/backends/remote.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { OpenAIServer } from "../../src/backends/openai-server.js";
import type { AdamParams, Datum } from "../../src/core/policy.js";
import { writeCorpus } from "../rl/corpus-fixture.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../../bin/batcoder.js");
const tok = new ByteTokenizer();
const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
};
const adam: AdamParams = { learningRate: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

function runAsync(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd });
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test("serve --training: one process speaks Tinker's protocol (/api/v1) and batcoder's (/v1/training)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-cli-"));
  const ck = path.join(dir, "ck");
  const local = createEmbeddedPolicy({ config, tokenizer: tok, seed: 5, modelName: "tiny-train" });
  await local.saveState(ck);
  const child = spawn(
    process.execPath,
    [
      bin,
      "serve",
      ck,
      "--training",
      "--port",
      "0",
      "--api-key",
      "tml-key-12345",
      "--state-dir",
      path.join(dir, "states"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const t = setTimeout(() => reject(new Error(`serve did not print its URL: ${stderr}`)), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /^(http:\/\/\S+)\n/m.exec(buf);
        if (m && !m[1]!.endsWith("/v1/training")) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const full = [tok.bosId, ...tok.encode("def f(): pass"), tok.eosId];
    const d: Datum = {
      modelInput: full.slice(0, -1),
      lossInputs: { targetTokens: full.slice(1), weights: full.slice(1).map(() => 1) },
    };
    const p = await connectTinkerPolicy(url, { apiKey: "tml-key-12345", loraRank: 0, log: () => {}, heartbeatMs: 0 });
    assert.equal(p.info.modelName, "tiny-train");
    assert.equal(p.baseModel, "tiny-train");
    assert.deepEqual(
      await p.forwardBackward([d], { kind: "cross_entropy" }),
      await local.forwardBackward([d], { kind: "cross_entropy" }),
    );
    assert.deepEqual(await p.optimStep(adam), await local.optimStep(adam));
    await p.saveState(path.join(dir, "saved"));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "saved", "tinker-state.json"), "utf8"));
    const [, modelId, , name] = /^tinker:\/\/([^/]+)\/(weights)\/(.+)$/.exec(manifest.path)!;
    assert.ok(
      fs.existsSync(path.join(dir, "states", modelId!, "weights", name!, "model.safetensors")),
      "the state is on the server's --state-dir",
    );
    await assert.rejects(
      connectTinkerPolicy(url, { apiKey: "tml-wrong-key", retries: 1, log: () => {} }),
      /HTTP 401: invalid API key/,
    );
    // batcoder's own protocol on the same port, same training state
    const legacy = await connectRemotePolicy(`${url}/v1/training`, { apiKey: "tml-key-12345" });
    assert.equal(legacy.step, 1);
    await p.close();
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(null)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("rl --policy-url URL trains through TinkerPolicy when URL is a Tinker service", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-rl-cli-"));
  writeCorpus(path.join(dir, "corpus"), { train: 12, validation: 2, test: 6 });
  const policy = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
  const before = policy.llama.weights.get("model.norm.weight")!.data.slice();
  const { server, url } = await serveTinker({
    policy,
    port: 0,
    stateRoot: path.join(dir, "states"),
    baseModel: "tiny",
  });
  try {
    const r = await runAsync(
      [
        "rl",
        "--policy-url",
        url,
        "--lora-rank",
        "4",
        "--corpus",
        "corpus",
        "--run-name",
        "tk",
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
        "max_doc_tokens=12",
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
    assert.match(r.stderr, /tinker: .*model .* \(tiny, LoRA rank 4\), batcoder extensions on/);
    assert.match(r.stderr, /tinker: loss 'ppo' on the exact path/);
    assert.equal(
      fs
        .readFileSync(path.join(dir, "runs", "tk", "metrics.jsonl"), "utf8")
        .trim()
        .split("\n").length,
      2,
    );
    assert.ok(server.counts.forward_backward! >= 2 && server.counts.optim_step! >= 2);
    // rank 4: the server trained a LoRA adapter on the frozen base
    assert.equal(policy.llama.lora?.config.rank, 4);
    assert.ok(
      [...policy.llama.lora!.modules.values()].some((m) => m.B.data.some((x) => x !== 0)),
      "the optimizer steps ran on the Tinker server (the adapter's B left zero)",
    );
    assert.deepEqual(policy.llama.weights.get("model.norm.weight")!.data, before, "the base stayed frozen");
    const bad = await runAsync(["rl", "--policy-url", url, "--lora-rank", "zero", "--corpus", "corpus"], dir);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--lora-rank must be an integer in 0\.\.1024 \(0 = full fine-tuning\), got 'zero'/);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("rl --policy-url (Tinker trainer) --sampler-url (OpenAI-compatible sampler): rollouts from the server, mismatch logged", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-sampler-cli-"));
  writeCorpus(path.join(dir, "corpus"), { train: 12, validation: 2, test: 6 });
  const trainer = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
  const sampler = createEmbeddedPolicy({ config, tokenizer: tok, seed: 3 });
  const { server, url } = await serveTinker({
    policy: trainer,
    port: 0,
    stateRoot: path.join(dir, "states"),
    baseModel: "tiny",
  });
  const batches: number[] = [];
  const oai = new OpenAIServer({ sampler, modelName: "tiny", onBatch: (b) => batches.push(b.sequences) });
  const oaiUrl = await oai.listen(0);
  try {
    const r = await runAsync(
      [
        "rl",
        "--policy-url",
        url,
        "--sampler-url",
        oaiUrl,
        "--corpus",
        "corpus",
        "--run-name",
        "mix",
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
        "max_doc_tokens=12",
        "--set",
        "max_rebuild_tokens=8",
        "--set",
        "eval_size=4",
        "--set",
        "reject_invalid_docs=false",
        "--set",
        "learning_rate=0.01",
        "--set",
        "tis_cap=3",
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /TEXT mode/, "batcoder serve offers token ids");
    assert.ok(batches.length >= 2, "the rollouts were sampled by the OpenAI-compatible server");
    const m = fs
      .readFileSync(path.join(dir, "runs", "mix", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
    assert.equal(m.length, 2);
    for (const x of m)
      assert.ok(Number.isFinite(x["mismatch/mean_abs_dlogp"]) && Number.isFinite(x["mismatch/ratio_p95"]));
    assert.ok(server.counts.forward_backward! >= 2, "training went to the Tinker server");
  } finally {
    await oai.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
