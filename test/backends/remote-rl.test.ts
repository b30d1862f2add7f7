/**
 * The unchanged RL loop (src/rl/trainer.ts trainRL) driving a RemotePolicy over real HTTP ends with exactly the
 * weights (and logged metrics) of the same run on the in-process EmbeddedPolicy — including the KL reference
 * snapshot, checkpoints written through the client, and a resume onto a FRESH server from those checkpoints.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTraining } from "../../src/backends/training-server.js";
import { connectRemotePolicy } from "../../src/backends/remote.js";
import { trainRL, type RewardBackend } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import { readJsonl } from "../../src/core/jsonl.js";
import type { CodeItem } from "../../src/rl/data.js";
import { lowercaseToyReward, TINY_MODEL } from "../rl/helpers.js";

const tok = new ByteTokenizer();
const tiny = TINY_MODEL;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-remote-rl-"));
const items: CodeItem[] = Array.from({ length: 4 }, (_, i) => ({
  id: `f${i}`,
  lang: "python",
  code: `def f${i}(x):\n    return x + ${i}\n`,
}));

/** Toy reward: the fraction of lowercase letters in the reconstruction (shared test fixture). */
const toy: RewardBackend = lowercaseToyReward;

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

/** metrics.jsonl without wall-clock fields. */
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

test("trainRL against RemotePolicy equals trainRL in-process (weights, metrics, checkpoints, resume on a fresh server)", async () => {
  const localDir = tmp(),
    remoteDir = tmp(),
    resumeDir = tmp();
  const servers: { close(): Promise<void> }[] = [];
  try {
    // in-process reference run
    const a = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 11 });
    await trainRL({ config: cfg, policy: a, reward: toy, train: items, runDir: localDir });

    // the same run through HTTP
    const served = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 11 });
    const s1 = await serveTraining({ policy: served, port: 0 });
    servers.push(s1.server);
    const remote = await connectRemotePolicy(s1.url);
    await trainRL({ config: cfg, policy: remote, reward: toy, train: items, runDir: remoteDir });
    sameWeights(a, served, "remote run");
    assert.deepEqual(metrics(remoteDir), metrics(localDir));
    assert.ok(
      metrics(remoteDir).length === 4 &&
        metrics(remoteDir).every((m) => Number.isFinite(m.kl) && Number.isFinite(m.loss)),
    );
    assert.ok(
      metrics(remoteDir).some((m) => m.kl !== 0),
      "the reference snapshot was used",
    );
    assert.ok(s1.server.counts.forward_backward! >= 8 && s1.server.counts["reference/compute_logprobs"]! >= 4);
    // the checkpoint the loop wrote through the client is a real, loadable checkpoint
    const ck = loadEmbeddedPolicy(path.join(remoteDir, "checkpoints", "step-00000004", "policy"));
    sameWeights(a, ck, "checkpoint written through RemotePolicy");

    // interrupted remote run, resumed against a NEW server whose policy starts from other weights
    const b1 = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 11 });
    const s2 = await serveTraining({ policy: b1, port: 0 });
    servers.push(s2.server);
    await trainRL({
      config: cfg,
      policy: await connectRemotePolicy(s2.url),
      reward: toy,
      train: items,
      runDir: resumeDir,
      stopAfterSteps: 3,
    });
    await s2.server.close();
    const b2 = createEmbeddedPolicy({ config: tiny, tokenizer: tok, seed: 999 });
    const s3 = await serveTraining({ policy: b2, port: 0 });
    servers.push(s3.server);
    await trainRL({
      config: cfg,
      policy: await connectRemotePolicy(s3.url),
      reward: toy,
      train: items,
      runDir: resumeDir,
      resume: true,
    });
    sameWeights(a, b2, "resumed remote run");
    assert.deepEqual(metrics(resumeDir), metrics(localDir));
  } finally {
    for (const s of servers) await s.close();
    for (const d of [localDir, remoteDir, resumeDir]) fs.rmSync(d, { recursive: true, force: true });
  }
});
