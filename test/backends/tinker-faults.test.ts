/**
 * Faults on the Tinker protocol: a lost response (TCP proxy), 408 / 429 / 5xx answers, a future that never
 * resolves, and the server restarting mid-run. Each is retried safely (a training request runs once: its seq_id
 * is answered with the first request's future) or fails with a clear error, and the run resumes from its last
 * checkpoint with the weights of an uninterrupted in-process run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { trainRL } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import type { AdamParams, Datum, LossSpec, Policy } from "../../src/core/policy.js";
import type { CodeItem } from "../../src/rl/data.js";
import { lowercaseToyReward, TINY_MODEL } from "../rl/helpers.js";
import { lossyProxy } from "./helpers/lossy-proxy.js";

const tok = new ByteTokenizer();
const make = (seed = 13) =>
  createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed, maxSampleBatch: 1, maxChunkTokens: 1 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-faults-"));
// full fine-tuning (LoRA rank 0): the runs are compared with in-process training of every weight
const quiet = { log: () => {}, heartbeatMs: 0, backoffMs: 5, loraRank: 0 };
const d: Datum = {
  modelInput: [3, 4, 5, 6],
  lossInputs: {
    targetTokens: [4, 5, 6, 7],
    weights: [0, 1, 1, 1],
    advantages: [0, 0.5, 0.5, -1],
    samplingLogprobs: [0, -5.5, -5.5, -5.5],
  },
};
const spec: LossSpec = {
  kind: "ppo",
  clipLow: 0.2,
  clipHigh: 0.2,
  klCoef: 0,
  klEstimator: "k3",
  entropyCoef: 0,
  aggregation: "token-mean",
};
const adam: AdamParams = { learningRate: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };

function sameWeights(a: EmbeddedPolicy, b: EmbeddedPolicy, what: string): void {
  for (const [name, t] of a.llama.weights)
    assert.deepEqual(b.llama.weights.get(name)!.data, t.data, `${what}: weights differ: ${name}`);
  assert.equal(b.step, a.step, `${what}: optimizer step`);
}

test("a lost forward_backward / optim_step response is retried with its seq_id and runs once", async () => {
  const local = make();
  for (let i = 0; i < 2; i++) {
    await local.forwardBackward([d], spec);
    await local.optimStep(adam);
  }
  for (const drop of [
    /^POST \/api\/v1\/forward_backward/,
    /^POST \/api\/v1\/optim_step/,
    /^POST \/api\/v1\/retrieve_future/,
  ]) {
    const served = make(),
      root = tmp();
    const logs: string[] = [];
    const { server, url } = await serveTinker({
      policy: served,
      port: 0,
      stateRoot: root,
      baseModel: "tiny",
      log: (l) => logs.push(l),
    });
    const proxy = await lossyProxy(url, drop);
    try {
      const p = await connectTinkerPolicy(proxy.url, quiet);
      for (let i = 0; i < 2; i++) {
        await p.forwardBackward([d], spec);
        await p.optimStep(adam);
      }
      assert.equal(proxy.dropped(), 1, `${drop}: one response was lost`);
      sameWeights(local, served, `after a lost response to ${drop}`);
      if (!/retrieve_future/.test(drop.source))
        assert.ok(
          logs.some((l) => /repeated (forward_backward|optim_step) seq_id/.test(l)),
          "the retry was answered from the first request",
        );
    } finally {
      await proxy.close();
      await server.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});

/** An HTTP proxy that answers the first requests of each listed endpoint with the given statuses. */
async function faultyProxy(
  target: string,
  plan: Record<string, number[]>,
): Promise<{ url: string; injected: () => number; close(): Promise<void> }> {
  let injected = 0;
  const srv = http.createServer((req, res) => {
    const todo = plan[req.url ?? ""];
    const status = todo?.shift();
    if (status !== undefined) {
      injected++;
      req.resume();
      res.writeHead(status, { "content-type": "application/json" });
      return res.end(JSON.stringify({ detail: `injected ${status}` }));
    }
    const up = http.request(target + (req.url ?? ""), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
    injected: () => injected,
    close: () => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

test("408 / 429 / 5xx answers are retried with back-off; a 4xx fails at once with the server's message", async () => {
  const local = make();
  await local.forwardBackward([d], spec);
  await local.optimStep(adam);
  const served = make(),
    root = tmp();
  const { server, url } = await serveTinker({ policy: served, port: 0, stateRoot: root, baseModel: "tiny" });
  const proxy = await faultyProxy(url, {
    "/api/v1/forward_backward": [503, 429],
    "/api/v1/retrieve_future": [408, 500, 502],
    "/api/v1/optim_step": [504],
  });
  const lines: string[] = [];
  try {
    const p = await connectTinkerPolicy(proxy.url, { ...quiet, log: (l) => lines.push(l) });
    await p.forwardBackward([d], spec);
    await p.optimStep(adam);
    assert.equal(proxy.injected(), 6);
    sameWeights(local, served, "after injected 408/429/5xx");
    assert.ok(
      lines.some((l) => /forward_backward: HTTP 503: injected 503; retry 1/.test(l)),
      "retries are logged",
    );
    await assert.rejects(
      p.forwardBackward([{ ...d, lossInputs: { ...d.lossInputs, advantages: undefined } }], spec),
      (e: Error) =>
        e.name === "TinkerError" &&
        /HTTP 400: forward_backward: data\[0\]\.loss_fn_inputs\.advantages is required for loss 'ppo'/.test(e.message),
    );
    const p2 = await connectTinkerPolicy(url, { ...quiet, retries: 2 }).catch((e: Error) => e);
    assert.match(String(p2), /already has/, "create_model on a server that trains another model");
  } finally {
    await proxy.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a future that never resolves fails with a clear timeout; retrieve_future long-polls meanwhile", async () => {
  const inner = make();
  const stuck: Policy = new Proxy(inner, {
    get(t, k, r) {
      if (k === "forwardBackward") return () => new Promise(() => {});
      return Reflect.get(t, k, r);
    },
  });
  const root = tmp();
  const { server, url } = await serveTinker({
    policy: stuck,
    port: 0,
    stateRoot: root,
    baseModel: "tiny",
    longPollMs: 100,
  });
  try {
    const p = await connectTinkerPolicy(url, { ...quiet, futureTimeoutMs: 700 });
    const t0 = Date.now();
    await assert.rejects(p.forwardBackward([d], spec), /forward_backward: future .* did not resolve within 1 s/);
    assert.ok(Date.now() - t0 >= 700);
    assert.ok(
      (server.counts.retrieve_future ?? 0) >= 3 && (server.counts.retrieve_future ?? 0) <= 20,
      `polled ${server.counts.retrieve_future} times`,
    );
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the server restarting mid-run: a clear error, then the run resumes from its last checkpoint (same weights)", async () => {
  const items: CodeItem[] = Array.from({ length: 4 }, (_, i) => ({
    id: `f${i}`,
    lang: "python",
    code: `def g${i}(y):\n    return y * ${i}\n`,
  }));
  const cfg = parseConfig({
    max_steps: 4,
    rollout_batch_size: 2,
    num_docs_per_code: 2,
    num_codes_per_doc: 2,
    max_doc_tokens: 4,
    max_rebuild_tokens: 4,
    learning_rate: 0.01,
    kl_coef: 0.05,
    use_kl_loss: true,
    save_steps: 2,
    eval_at_start: false,
    eval_at_end: false,
  });
  const localDir = tmp(),
    runDir = tmp(),
    root = tmp();
  const a = make(7);
  await trainRL({ config: cfg, policy: a, reward: lowercaseToyReward, train: items, runDir: localDir });

  const s1 = await serveTinker({ policy: make(7), port: 0, stateRoot: root, baseModel: "tiny" });
  const port = Number(new URL(s1.url).port);
  let s2: Awaited<ReturnType<typeof serveTinker>> | null = null;
  const p1 = await connectTinkerPolicy(s1.url, quiet);
  // after the 3rd optimizer step (the step-2 checkpoint is on disk), the server process "restarts" on the same port
  let steps = 0;
  const crashing: Policy = new Proxy(p1, {
    get(t, k, r) {
      if (k === "optimStep") {
        return async (x: AdamParams) => {
          const out = await t.optimStep(x);
          if (++steps === 3) {
            await s1.server.close();
            s2 = await serveTinker({ policy: make(999), port, stateRoot: root, baseModel: "tiny" });
          }
          return out;
        };
      }
      const v = Reflect.get(t, k, r);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  try {
    await assert.rejects(
      trainRL({ config: cfg, policy: crashing, reward: lowercaseToyReward, train: items, runDir }),
      /unknown (model_id|session|sampling_session_id).*the server may have restarted/,
    );
    assert.ok(s2, "the server restarted");
    const fresh = s2! as Awaited<ReturnType<typeof serveTinker>>;
    await fresh.server.close();
    const served = make(555);
    const s3 = await serveTinker({ policy: served, port: 0, stateRoot: root, baseModel: "tiny" });
    try {
      await trainRL({
        config: cfg,
        policy: await connectTinkerPolicy(s3.url, quiet),
        reward: lowercaseToyReward,
        train: items,
        runDir,
        resume: true,
      });
      sameWeights(a, served, "resumed after the restart");
    } finally {
      await s3.server.close();
    }
  } finally {
    await p1.close();
    await s1.server.close();
    for (const x of [localDir, runDir, root]) fs.rmSync(x, { recursive: true, force: true });
  }
});
