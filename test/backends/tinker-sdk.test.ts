/**
 * The stock Python SDK (`tinker` 0.38.0, pinned in scripts/python/requirements.txt) against our Tinker-protocol
 * server: one server serves both our TinkerPolicy and the SDK. Runs in the Python reference venv
 * (scripts/setup-python.sh; skipped, saying so, when it is not set up); $TINKER_PYTHON overrides the interpreter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { TINY_MODEL } from "../rl/helpers.js";
import { LORA_TARGETS } from "../../src/engine/lora.js";

import { pythonSkip, repoRoot, venvPython } from "../helpers/python.js";

const script = path.join(repoRoot, "test/backends/tinker/sdk_drive.py");
const python = process.env.TINKER_PYTHON ?? venvPython;
const skip = process.env.TINKER_PYTHON ? false : pythonSkip();

test("the stock tinker SDK trains and samples through our server (protobuf forward_backward, futures, save/load, prompt_logprobs)", {
  skip,
}, async () => {
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-sdk-"));
  const policy = createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: new ByteTokenizer(), seed: 5 });
  const base = new Map([...policy.llama.weights].map(([k, t]) => [k, t.data.slice()]));
  const { server, url } = await serveTinker({
    policy,
    port: 0,
    stateRoot,
    baseModel: "batcoder/tiny",
    apiKey: "tml-test-key",
    longPollMs: 200,
  });
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        python,
        [script, "batcoder/tiny"],
        {
          env: { ...process.env, TINKER_BASE_URL: url, TINKER_API_KEY: "tml-test-key", TINKER_TELEMETRY: "0" },
          timeout: 120_000,
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    const r = JSON.parse(out.trim().split("\n").pop()!);
    assert.deepEqual(r.models, ["batcoder/tiny"]);
    assert.ok(r.loss1 > 0 && Number.isFinite(r.loss1), "cross_entropy loss (a sum of -logp)");
    const sumNll = -r.logprobs1[0].reduce((a: number, b: number) => a + b, 0);
    assert.ok(Math.abs(r.loss1 - sumNll) < 1e-4, `Tinker's cross_entropy is sum(-logp * w): ${r.loss1} vs ${sumNll}`);
    assert.ok(r.loss2 < r.loss1, "an optim_step lowered the loss");
    assert.equal(r.loss3, r.loss2, "load_state_with_optimizer restored the saved weights exactly");
    assert.deepEqual(
      r.logprobs3,
      r.logprobs3.map((row: number[]) => row.map(Math.fround)),
    );
    assert.equal(r.optim_metrics["step:max"], 1);
    assert.match(r.state_path, /^tinker:\/\/.+\/weights\/sdk-ckpt$/);
    assert.ok(Number.isFinite(r.ppo_loss) && r.ppo_metrics["clip_fraction:mean"] >= 0);
    assert.equal(r.samples.length, 2);
    for (const s of r.samples) {
      assert.ok(s.tokens.length >= 1 && s.tokens.length <= 4 && s.logprobs.length === s.tokens.length);
      assert.ok(["stop", "length"].includes(s.stop_reason));
    }
    assert.equal(r.prompt_logprobs.length, 6);
    assert.equal(r.prompt_logprobs[0], null);
    assert.ok(r.prompt_logprobs.slice(1).every((x: number) => x < 0));
    assert.match(
      r.unsupported_loss_error,
      /loss_fn 'dro' is not supported by this server \(supported: cross_entropy, importance_sampling, ppo\)/,
    );
    assert.ok(server.counts.forward_backward! >= 4 && server.counts.retrieve_future! >= 6);
    // create_lora_training_client(rank=8): only a rank-8 adapter trained; the base is bit-identical. The SDK's
    // LoraConfig has train_unembed=True by default: the unembedding (lm_head) has an adapter that trained too
    const lora = policy.llama.lora!;
    assert.equal(lora.config.rank, 8);
    assert.deepEqual(lora.config.targetModules, [...LORA_TARGETS]);
    // r·(in+out) per target from the config's own numbers: q/k/v/o, gate/up/down per layer, and lm_head [V, h]
    const rk = 8,
      h = TINY_MODEL.hidden_size,
      i = TINY_MODEL.intermediate_size,
      hd = h / TINY_MODEL.num_attention_heads,
      q = TINY_MODEL.num_attention_heads * hd,
      kv = TINY_MODEL.num_key_value_heads * hd,
      V = policy.llama.V;
    const perLayer = rk * (h + q) + 2 * rk * (h + kv) + rk * (q + h) + 2 * rk * (h + i) + rk * (i + h);
    assert.equal(lora.nParams(), perLayer * TINY_MODEL.num_hidden_layers + rk * (h + V));
    assert.deepEqual([lora.modules.get("lm_head")!.inDim, lora.modules.get("lm_head")!.outDim], [h, V]);
    assert.ok(
      lora.modules.get("lm_head")!.B.data.some((x) => x !== 0),
      "the unembedding's adapter trained",
    );
    assert.ok(
      [...lora.modules.values()].every((m) => m.B.data.some((x) => x !== 0)),
      "every adapter trained",
    );
    for (const [k, w] of base) assert.deepEqual(policy.llama.weights.get(k)!.data, w, `base weight ${k}`);
    // its save_state is adapter-only: the adapter (PEFT layout), optimizer and RNGs, and the base by reference
    const m = /^tinker:\/\/([^/]+)\/weights\/(.+)$/.exec(r.state_path)!;
    const stateDir = path.join(stateRoot, m[1]!, "weights", m[2]!);
    assert.ok(fs.existsSync(path.join(stateDir, "adapter_model.safetensors")));
    assert.ok(!fs.existsSync(path.join(stateDir, "model.safetensors")), "no base weights in a LoRA state");
    assert.equal(JSON.parse(fs.readFileSync(path.join(stateDir, "base.json"), "utf8")).model, "batcoder/tiny");

    // the same server then serves our own client (a second model is refused: one training state per server)
    await assert.rejects(
      connectTinkerPolicy(url, { apiKey: "tml-test-key", log: () => {}, heartbeatMs: 0 }),
      /already has/,
    );
  } finally {
    await server.close();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
});
