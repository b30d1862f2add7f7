/**
 * The unchanged RL loop (trainRL) driving a TinkerPolicy over the real Tinker protocol (protobuf forward_backward,
 * futures, sampling sessions, tinker:// states) against `batcoder serve --training`'s server ends with exactly the
 * weights and logged metrics of the same run in-process — KL-in-loss, entropy bonus and PPO epochs included
 * (the exact path) — and an interrupted run resumes onto a FRESH server from its checkpoints.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { trainRL } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import { readJsonl } from "../../src/core/jsonl.js";
import { stepDirName } from "../../src/core/runs.js";
import type { CodeItem } from "../../src/rl/data.js";
import { lowercaseToyReward, TINY_MODEL } from "../rl/helpers.js";
import { LORA_TARGETS } from "../../src/engine/lora.js";

const tok = new ByteTokenizer();
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-rl-"));
const items: CodeItem[] = Array.from({ length: 4 }, (_, i) => ({
  id: `f${i}`,
  lang: "python",
  code: `def f${i}(x):\n    return x + ${i}\n`,
}));
// full fine-tuning (LoRA rank 0), as the in-process runs it is compared with; LoRA: tinker-lora.test.ts
const quiet = { log: () => {}, heartbeatMs: 0, loraRank: 0 };
/**
 * The engine's float results depend on how sequences are batched together; Tinker's API carries one prompt per
 * sample request (and prompt_logprobs score one sequence), so both sides run per-sequence batches here.
 */
const make = (seed: number) =>
  createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed, maxSampleBatch: 1, maxChunkTokens: 1 });

const cfg = parseConfig({
  max_steps: 4,
  rollout_batch_size: 2,
  num_docs_per_code: 2,
  num_codes_per_doc: 2,
  max_doc_tokens: 5,
  max_rebuild_tokens: 5,
  learning_rate: 0.01,
  kl_coef: 0.05,
  use_kl_loss: true,
  entropy_coef: 0.01,
  save_steps: 2,
  eval_at_start: false,
  eval_at_end: false,
  ppo_epochs: 2,
});

function metrics(dir: string): Record<string, number>[] {
  return readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl")).map((m) =>
    Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith("time/") && k !== "tokens_per_s")),
  );
}
function sameWeights(a: EmbeddedPolicy, b: EmbeddedPolicy, what: string): void {
  for (const [name, t] of a.llama.weights)
    assert.deepEqual(b.llama.weights.get(name)!.data, t.data, `${what}: weights differ: ${name}`);
  assert.equal(b.step, a.step, `${what}: optimizer step`);
}

test("trainRL through TinkerPolicy (Tinker protocol) equals trainRL in-process: weights, metrics, resume on a fresh server", async () => {
  const localDir = tmp(),
    remoteDir = tmp(),
    resumeDir = tmp(),
    stateRoot = tmp();
  const servers: { close(): Promise<void> }[] = [];
  try {
    const a = make(11);
    await trainRL({ config: cfg, policy: a, reward: lowercaseToyReward, train: items, runDir: localDir });

    const served = make(11);
    const s1 = await serveTinker({ policy: served, port: 0, stateRoot, baseModel: "batcoder/tiny" });
    servers.push(s1.server);
    const remote = await connectTinkerPolicy(s1.url, quiet);
    assert.equal(remote.exact, true);
    await trainRL({ config: cfg, policy: remote, reward: lowercaseToyReward, train: items, runDir: remoteDir });
    sameWeights(a, served, "Tinker-protocol run");
    assert.deepEqual(metrics(remoteDir), metrics(localDir));
    assert.ok(
      metrics(remoteDir).some((m) => m.kl !== 0),
      "the reference snapshot was used",
    );
    assert.ok(remote.lossPaths.exact >= 8, "forward_backward went over the protocol");
    assert.ok(
      s1.server.counts.forward_backward! >= 8 &&
        s1.server.counts.asample! >= 4 &&
        s1.server.counts.retrieve_future! >= 8,
    );
    const manifest = JSON.parse(
      fs.readFileSync(path.join(remoteDir, "checkpoints", stepDirName(4), "policy", "tinker-state.json"), "utf8"),
    );
    assert.match(manifest.path, /^tinker:\/\/[^/]+\/weights\/state-/);
    await remote.close();

    // interrupted, then resumed on a NEW server (another instance, other initial weights): the tinker:// state on
    // disk carries weights, optimizer and step.
    const b1 = make(11);
    const s2 = await serveTinker({ policy: b1, port: 0, stateRoot, baseModel: "batcoder/tiny" });
    servers.push(s2.server);
    await trainRL({
      config: cfg,
      policy: await connectTinkerPolicy(s2.url, quiet),
      reward: lowercaseToyReward,
      train: items,
      runDir: resumeDir,
      stopAfterSteps: 3,
    });
    await s2.server.close();
    const b2 = make(999);
    const s3 = await serveTinker({ policy: b2, port: 0, stateRoot, baseModel: "batcoder/tiny" });
    servers.push(s3.server);
    await trainRL({
      config: cfg,
      policy: await connectTinkerPolicy(s3.url, quiet),
      reward: lowercaseToyReward,
      train: items,
      runDir: resumeDir,
      resume: true,
    });
    sameWeights(a, b2, "resumed Tinker-protocol run");
    assert.deepEqual(metrics(resumeDir), metrics(localDir));
  } finally {
    for (const s of servers) await s.close();
    for (const d of [localDir, remoteDir, resumeDir, stateRoot]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test("LoRA: trainRL through TinkerPolicy with a rank equals trainRL in-process with the same adapter; resume on a fresh server", async () => {
  const { TINKER_LORA_ALPHA } = await import("../../src/backends/tinker/server.js");
  const localDir = tmp(),
    remoteDir = tmp(),
    resumeDir = tmp(),
    stateRoot = tmp();
  const servers: { close(): Promise<void> }[] = [];
  const lora = { log: () => {}, heartbeatMs: 0, loraRank: 4 };
  const sameAdapter = (a: EmbeddedPolicy, b: EmbeddedPolicy, what: string) => {
    sameWeights(a, b, what);
    for (const [k, t] of a.llama.lora!.parameters())
      assert.deepEqual(b.llama.lora!.parameters().get(k)!.data, t.data, `${what}: adapter differs: ${k}`);
  };
  try {
    const a = make(11);
    const base = new Map([...a.llama.weights].map(([k, t]) => [k, t.data.slice()]));
    // the client's lora_config trains attention, MLP and the unembedding (lm_head), as the SDK's defaults do
    a.attachLora({ rank: 4, alpha: TINKER_LORA_ALPHA, targetModules: [...LORA_TARGETS] }, 0);
    await trainRL({ config: cfg, policy: a, reward: lowercaseToyReward, train: items, runDir: localDir });
    for (const [k, w] of base)
      assert.deepEqual(a.llama.weights.get(k)!.data, w, `in-process LoRA moved the base: ${k}`);

    const served = make(11);
    const s1 = await serveTinker({ policy: served, port: 0, stateRoot, baseModel: "batcoder/tiny", log: () => {} });
    servers.push(s1.server);
    await trainRL({
      config: cfg,
      policy: await connectTinkerPolicy(s1.url, lora),
      reward: lowercaseToyReward,
      train: items,
      runDir: remoteDir,
    });
    sameAdapter(a, served, "Tinker-protocol LoRA run");
    assert.deepEqual(metrics(remoteDir), metrics(localDir));

    const b1 = make(11);
    const s2 = await serveTinker({ policy: b1, port: 0, stateRoot, baseModel: "batcoder/tiny", log: () => {} });
    servers.push(s2.server);
    await trainRL({
      config: cfg,
      policy: await connectTinkerPolicy(s2.url, lora),
      reward: lowercaseToyReward,
      train: items,
      runDir: resumeDir,
      stopAfterSteps: 3,
    });
    await s2.server.close();
    // a LoRA model's tinker:// states hold the adapter, optimizer and RNGs and only a reference to the base: a
    // server on another base refuses them clearly
    const stateDirs = fs
      .readdirSync(resumeDir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith("tinker-state.json"))
      .map((f) => path.dirname(path.join(resumeDir, f)));
    assert.ok(stateDirs.length > 0, "the interrupted run saved a state");
    const wrong = make(999);
    const sw = await serveTinker({ policy: wrong, port: 0, stateRoot, baseModel: "batcoder/tiny", log: () => {} });
    servers.push(sw.server);
    const pw = await connectTinkerPolicy(sw.url, lora);
    await assert.rejects(
      pw.loadState(stateDirs[0]!),
      /LoRA state trained on base 'batcoder\/tiny'.*but this policy's base differs/,
    );
    await sw.server.close();
    // a fresh server on the same base continues the run exactly
    const b2 = make(11);
    const s3 = await serveTinker({ policy: b2, port: 0, stateRoot, baseModel: "batcoder/tiny", log: () => {} });
    servers.push(s3.server);
    await trainRL({
      config: cfg,
      policy: await connectTinkerPolicy(s3.url, lora),
      reward: lowercaseToyReward,
      train: items,
      runDir: resumeDir,
      resume: true,
    });
    sameAdapter(a, b2, "resumed Tinker-protocol LoRA run");
    assert.deepEqual(metrics(resumeDir), metrics(localDir));
  } finally {
    for (const s of servers) await s.close();
    for (const d of [localDir, remoteDir, resumeDir, stateRoot]) fs.rmSync(d, { recursive: true, force: true });
  }
});
