// `batcoder serve CKPT --training`: a separate server process driven by RemotePolicy; option errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, spawnSync } from "node:child_process";
import { createEmbeddedPolicy, loadEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { connectRemotePolicy, RemotePolicyError } from "../../src/backends/remote.js";
import type { AdamParams, Datum } from "../../src/core/policy.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../../bin/batcoder.js");
const tok = new ByteTokenizer();
const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
};
const adam: AdamParams = { learningRate: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

test("serve --training: a separate process serves the checkpoint's training state; errors are clear", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-remote-cli-"));
  const ck = path.join(dir, "ck");
  const local = createEmbeddedPolicy({ config, tokenizer: tok, seed: 5, modelName: "tiny-train" });
  await local.saveState(ck);
  const child = spawn(process.execPath, [bin, "serve", ck, "--training", "--port", "0", "--api-key", "key-12345678"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const t = setTimeout(() => reject(new Error(`serve did not print its URL: ${stderr}`)), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /(http:\/\/\S+\/v1\/training)/.exec(buf);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const remote = await connectRemotePolicy(url, { apiKey: "key-12345678" });
    assert.equal(remote.info.modelName, "tiny-train");
    const full = [tok.bosId, ...tok.encode("def f(): pass"), tok.eosId];
    const d: Datum = {
      modelInput: full.slice(0, -1),
      lossInputs: { targetTokens: full.slice(1), weights: full.slice(1).map(() => 1) },
    };
    assert.deepEqual(
      await remote.forwardBackward([d], { kind: "cross_entropy" }),
      await local.forwardBackward([d], { kind: "cross_entropy" }),
    );
    assert.deepEqual(await remote.optimStep(adam), await local.optimStep(adam));
    const out = path.join(dir, "after");
    await remote.saveState(out);
    const back = loadEmbeddedPolicy(out);
    for (const [name, t] of local.llama.weights) assert.deepEqual(back.llama.weights.get(name)!.data, t.data, name);
    await assert.rejects(connectRemotePolicy(url, { apiKey: "nope-nope-nope", retries: 0 }), /HTTP 401/);
    // the server process goes away: the client says so, naming the endpoint
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await assert.rejects(
      remote.computeLogprobs([d]),
      (e: unknown) =>
        e instanceof RemotePolicyError && /compute_logprobs: cannot reach the training server/.test(e.message),
    );
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }

  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, "serve", ...args], { encoding: "utf8", timeout: 60_000 });
  let r = run([ck, "--api-key", "key-12345678"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--api-key only applies with --training/);
  r = run([ck, "--training", "--max-batch", "4"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--max-batch does not apply with --training/);
  r = run([ck, "--training", "--host", "0.0.0.0"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /refusing to expose the training API on 0\.0\.0\.0 without --api-key/);
  r = run([ck, "--training", "--api-key", "short"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /apiKey: use at least 8 characters/);
  r = run([path.join(dir, "missing"), "--training"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /does not exist \(expected a run directory/);
  fs.rmSync(dir, { recursive: true, force: true });
});
