// RemotePolicy against a REAL training server on 127.0.0.1 backed by a real tiny EmbeddedPolicy: every primitive
// gives the numbers the in-process policy gives, idempotency keys prevent double updates, errors are clear.
import { lossyProxy } from "./helpers/lossy-proxy.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { BpeTokenizer, ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { AdamParams, Datum, LossSpec } from "../../src/core/policy.js";
import { serveTraining, type TrainingServer } from "../../src/backends/training-server.js";
import { parseWire, stringifyWire } from "../../src/backends/training-wire.js";
import {
  connectRemotePolicy,
  normalizeBaseUrl,
  RemotePolicyError,
  type RemotePolicy,
} from "../../src/backends/remote.js";

const tok = new ByteTokenizer();
const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 96,
};
const adam: AdamParams = { learningRate: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-remote-"));

function datum(prompt: string, completion: string, extra = false): Datum {
  const p = [tok.bosId, ...tok.encode(prompt)],
    c = [...tok.encode(completion), tok.eosId];
  const all = [...p, ...c];
  const n = all.length - 1;
  const d: Datum = {
    modelInput: all.slice(0, -1),
    lossInputs: {
      targetTokens: all.slice(1),
      weights: Array.from({ length: n }, (_, i) => (i + 1 >= p.length ? 1 : 0)),
    },
  };
  if (extra) {
    d.lossInputs.advantages = Array.from({ length: n }, (_, i) => ((i % 3) - 1) * 0.7);
    d.lossInputs.samplingLogprobs = Array.from({ length: n }, (_, i) => -5.5 + 0.01 * i);
    d.lossInputs.refLogprobs = Array.from({ length: n }, (_, i) => -5.6 + 0.02 * i);
  }
  return d;
}
const data = [datum("sum: ", "def f(a, b): return a + b"), datum("neg: ", "lambda x: -x"), datum("hi", "print('hi')")];
const rlData = [datum("a", "return 1", true), datum("bb", "x = y", true)];
const ppo: LossSpec = {
  kind: "ppo",
  clipLow: 0.2,
  clipHigh: 0.28,
  klCoef: 0.05,
  klEstimator: "k3",
  entropyCoef: 0.01,
  aggregation: "seq-mean-token-mean",
};

async function pair(
  seed: number,
  opts: { apiKey?: string } = {},
): Promise<{
  local: EmbeddedPolicy;
  served: EmbeddedPolicy;
  server: TrainingServer;
  url: string;
  remote: RemotePolicy;
}> {
  const local = createEmbeddedPolicy({ config, tokenizer: tok, seed });
  const served = createEmbeddedPolicy({ config, tokenizer: tok, seed });
  const { server, url } = await serveTraining({ policy: served, port: 0, apiKey: opts.apiKey });
  const remote = await connectRemotePolicy(url, { apiKey: opts.apiKey });
  return { local, served, server, url, remote };
}

function sameWeights(a: EmbeddedPolicy, b: EmbeddedPolicy): void {
  for (const [name, t] of a.llama.weights)
    assert.deepEqual(b.llama.weights.get(name)!.data, t.data, `weights differ: ${name}`);
}

test("every primitive through RemotePolicy gives the in-process numbers bit-for-bit", async () => {
  const { local, served, server, remote } = await pair(7);
  try {
    assert.equal(remote.info.backend, "remote:embedded");
    assert.equal(remote.info.nParams, local.info.nParams);
    assert.equal(remote.info.contextLength, local.info.contextLength);
    assert.equal(remote.step, 0);
    // the tokenizer travelled as HF JSON and tokenizes identically
    const text = "def f(x):\n    return x ** 2  # ünïcödé ✓";
    assert.deepEqual(remote.tokenizer.encode(text), tok.encode(text));
    assert.equal(remote.tokenizer.decode(tok.encode(text)), text);
    assert.equal(remote.tokenizer.eosId, tok.eosId);
    assert.equal(remote.tokenizer.vocabSize, tok.vocabSize);

    assert.deepEqual(await remote.computeLogprobs(data), await local.computeLogprobs(data));
    for (let step = 0; step < 4; step++) {
      // seeded and unseeded sampling (the latter consumes the server's RNG exactly like the local one's)
      const reqs = [
        {
          prompt: [tok.bosId, ...tok.encode("sum: ")],
          n: 2,
          params: { maxTokens: 6, temperature: 1, seed: 11 + step },
        },
        {
          prompt: [tok.bosId],
          n: 2,
          params: { maxTokens: 5, temperature: 0.8, topP: 0.9, stop: ["x"], stopTokenIds: [tok.eosId] },
        },
      ];
      assert.deepEqual(await remote.sample(reqs), await local.sample(reqs));
      const spec: LossSpec = step % 2 === 0 ? { kind: "cross_entropy" } : ppo;
      const batch = step % 2 === 0 ? data : rlData;
      const fr = await remote.forwardBackward(batch, spec),
        fl = await local.forwardBackward(batch, spec);
      assert.deepEqual(fr, fl);
      if (spec.kind === "ppo") assert.ok(Number.isFinite(fr.metrics.entropy), "entropy metric comes through");
      const or = await remote.optimStep(adam),
        ol = await local.optimStep(adam);
      assert.deepEqual(or, ol);
      assert.ok(or.gradNorm > 0);
    }
    assert.equal(remote.step, 4);
    sameWeights(local, served);
    assert.deepEqual(served.rngState, local.rngState);

    // importance sampling and seq-sum-constant aggregation travel too
    const is = await remote.forwardBackward(rlData, { kind: "importance_sampling", aggregation: "token-mean" });
    assert.deepEqual(
      is,
      await local.forwardBackward(rlData, { kind: "importance_sampling", aggregation: "token-mean" }),
    );
    const dr: LossSpec = { ...ppo, aggregation: "seq-sum-constant", constantNormalizer: 16, entropyCoef: 0 };
    assert.deepEqual(await remote.forwardBackward(rlData, dr), await local.forwardBackward(rlData, dr));
    assert.deepEqual(await remote.optimStep(adam), await local.optimStep(adam));

    // reference snapshot: frozen log-probs and sampling on the server
    const rr = await remote.snapshotReference(),
      rl = await local.snapshotReference();
    await remote.forwardBackward(data, { kind: "cross_entropy" });
    await remote.optimStep(adam);
    await local.forwardBackward(data, { kind: "cross_entropy" });
    await local.optimStep(adam);
    assert.deepEqual(await rr.computeLogprobs(data), await rl.computeLogprobs(data));
    assert.notDeepEqual(
      await remote.computeLogprobs(data),
      await rr.computeLogprobs(data),
      "the reference stays frozen",
    );
    const rq = [{ prompt: [tok.bosId], n: 2, params: { maxTokens: 4, temperature: 1, seed: 3 } }];
    assert.deepEqual(await rr.sample(rq), await rl.sample(rq));
    await rr.release();
    await assert.rejects(
      rr.computeLogprobs(data),
      (e: unknown) => e instanceof RemotePolicyError && e.status === 404 && /no reference snapshot/.test(e.message),
    );
    sameWeights(local, served);
  } finally {
    await server.close();
  }
});

test("a trained BPE tokenizer travels as HF JSON and tokenizes identically on the client", async () => {
  const texts = Array.from(
    { length: 60 },
    (_, i) => `def add_${i}(a, b):\n    """Add two numbers."""\n    return a + b * ${i}\n`,
  );
  const bpe = await BpeTokenizer.train(texts, { vocabSize: 420 });
  const policy = createEmbeddedPolicy({ config, tokenizer: bpe, seed: 1 });
  const { server, url } = await serveTraining({ policy, port: 0 });
  try {
    const remote = await connectRemotePolicy(url);
    assert.equal(remote.tokenizer.vocabSize, bpe.vocabSize);
    for (const t of [...texts.slice(0, 5), "<|bos|>def  f():<|eos|>", "ünï ✓ \t\r\n", ""]) {
      assert.deepEqual(remote.tokenizer.encode(t), bpe.encode(t), JSON.stringify(t));
    }
    const ids = bpe.encode(texts[3]!);
    assert.ok(ids.length < texts[3]!.length * 0.8, "merges were learned and used");
    assert.equal(remote.tokenizer.decode(ids), texts[3]);
    assert.equal(remote.tokenizer.tokenId("<|eos|>"), bpe.tokenId("<|eos|>"));
  } finally {
    await server.close();
  }
});

test("calls made without awaiting run in call order (forward_backward before optim_step)", async () => {
  const { local, served, server, remote } = await pair(8);
  try {
    const calls = [
      remote.forwardBackward(data, { kind: "cross_entropy" }),
      remote.optimStep(adam),
      remote.forwardBackward(rlData, ppo),
      remote.optimStep(adam),
      remote.computeLogprobs(data),
    ];
    const got = await Promise.all(calls);
    const want = [
      await local.forwardBackward(data, { kind: "cross_entropy" }),
      await local.optimStep(adam),
      await local.forwardBackward(rlData, ppo),
      await local.optimStep(adam),
      await local.computeLogprobs(data),
    ];
    assert.deepEqual(got, want);
    sameWeights(local, served);
  } finally {
    await server.close();
  }
});

test("saveState/loadState move the full state over HTTP; resume continues bit-for-bit", async () => {
  const dir = tmp();
  const { local, server, remote } = await pair(3);
  try {
    for (let i = 0; i < 2; i++) {
      await remote.forwardBackward(data, { kind: "cross_entropy" });
      await remote.optimStep(adam);
      await local.forwardBackward(data, { kind: "cross_entropy" });
      await local.optimStep(adam);
    }
    const ck = path.join(dir, "nested", "ck");
    await remote.saveState(ck);
    // the client wrote a normal checkpoint: it loads in-process and equals the local policy
    const loaded = loadEmbeddedPolicy(ck);
    assert.equal(loaded.step, 2);
    sameWeights(local, loaded);
    assert.deepEqual(loaded.rngState, local.rngState);
    assert.deepEqual(fs.readdirSync(path.dirname(ck)), ["ck"], "no temp directories left behind");

    // train the server away, then load the checkpoint back: continuing gives the local numbers
    await remote.forwardBackward(rlData, ppo);
    await remote.optimStep({ ...adam, learningRate: 0.1 });
    await remote.loadState(ck);
    assert.equal(remote.step, 2);
    const a = await remote.forwardBackward(data, { kind: "cross_entropy" }),
      b = await local.forwardBackward(data, { kind: "cross_entropy" });
    assert.deepEqual(a, b);
    assert.deepEqual(await remote.optimStep(adam), await local.optimStep(adam));

    // loading something that is not a checkpoint is a clear error and leaves the server usable
    const junk = path.join(dir, "junk");
    fs.mkdirSync(junk);
    fs.writeFileSync(path.join(junk, "manifest.json"), "{ nope");
    await assert.rejects(
      remote.loadState(junk),
      (e: unknown) => e instanceof RemotePolicyError && e.status === 500 && /load_state/.test(e.message),
    );
    await assert.rejects(remote.loadState(path.join(dir, "missing")), /not a directory/);
    assert.deepEqual(await remote.computeLogprobs(data), await local.computeLogprobs(data));
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("server-side state paths stay inside the state root", async () => {
  const root = tmp();
  const policy = createEmbeddedPolicy({ config, tokenizer: tok, seed: 4 });
  const { server, url } = await serveTraining({ policy, port: 0, stateRoot: root });
  try {
    const remote = await connectRemotePolicy(url, { stateLocation: "server" });
    await remote.saveState("runs/a");
    assert.ok(fs.existsSync(path.join(root, "runs", "a", "manifest.json")));
    await remote.loadState("runs/a");
    await assert.rejects(remote.saveState("../outside"), /outside the server's state root/);
    // a server without a state root refuses server paths up front
    const { server: s2, url: u2 } = await serveTraining({ policy, port: 0 });
    await assert.rejects(connectRemotePolicy(u2, { stateLocation: "server" }), /--state-dir/);
    await s2.close();
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a repeated Idempotency-Key returns the first response instead of accumulating gradients twice", async () => {
  const { local, served, server, url } = await pair(9);
  try {
    const body = JSON.stringify({
      data: data.map((d) => ({
        model_input: d.modelInput,
        loss_fn_inputs: { target_tokens: d.lossInputs.targetTokens, weights: d.lossInputs.weights },
      })),
      loss_fn: "cross_entropy",
    });
    const post = (key: string) =>
      fetch(`${url}/v1/training/forward_backward`, { method: "POST", body, headers: { "idempotency-key": key } }).then(
        async (r) => [r.status, await r.text()] as const,
      );
    const [r1, r2] = await Promise.all([post("k1"), post("k1")]); // the second arrives while the first runs
    const r3 = await post("k1");
    assert.equal(r1[0], 200);
    assert.equal(r2[1], r1[1]);
    assert.equal(r3[1], r1[1]);
    assert.equal(server.counts.forward_backward, 3);
    // one accumulation happened: the step equals the local policy's after ONE forwardBackward
    const remote = await connectRemotePolicy(url);
    await local.forwardBackward(data, { kind: "cross_entropy" });
    assert.deepEqual(await remote.optimStep(adam), await local.optimStep(adam));
    sameWeights(local, served);
    // a key reused for another operation is refused
    const r4 = await fetch(`${url}/v1/training/optim_step`, {
      method: "POST",
      body: JSON.stringify({ adam_params: { learning_rate: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8 } }),
      headers: { "idempotency-key": "k1" },
    });
    assert.equal(r4.status, 409);
    assert.match(
      ((await r4.json()) as { error: { message: string } }).error.message,
      /already used for forward_backward/,
    );
  } finally {
    await server.close();
  }
});

test("a forward_backward whose response is lost is retried under its Idempotency-Key and runs once", async () => {
  const { local, served, server, url } = await pair(12);
  const proxy = await lossyProxy(url, /^POST \/v1\/training\/forward_backward/);
  try {
    const remote = await connectRemotePolicy(proxy.url, { backoffMs: 5 });
    const fr = await remote.forwardBackward(data, { kind: "cross_entropy" });
    assert.equal(proxy.dropped(), 1);
    assert.equal(server.counts.forward_backward, 2, "the client did re-send it");
    assert.deepEqual(fr, await local.forwardBackward(data, { kind: "cross_entropy" }));
    // gradients were accumulated once: the step matches the local policy's
    assert.deepEqual(await remote.optimStep(adam), await local.optimStep(adam));
    sameWeights(local, served);
  } finally {
    await proxy.close();
    await server.close();
  }
  // with retryMutating false the lost response surfaces as a clear error instead
  const p2 = await pair(12);
  const proxy2 = await lossyProxy(p2.url, /^POST \/v1\/training\/optim_step/);
  try {
    const remote = await connectRemotePolicy(proxy2.url, { retryMutating: false });
    await assert.rejects(
      remote.optimStep(adam),
      (e: unknown) =>
        e instanceof RemotePolicyError &&
        e.status === 0 &&
        /POST http:\/\/127\.0\.0\.1:\d+\/v1\/training\/optim_step: (cannot reach|the connection broke)/.test(
          e.message,
        ) &&
        !/attempts/.test(e.message),
    );
    assert.equal(p2.server.counts.optim_step, 1);
  } finally {
    await proxy2.close();
    await p2.server.close();
  }
});

test("errors: bad JSON, wrong fields, unknown path, wrong method, api key, body too large, policy errors", async () => {
  const { server, url, remote } = await pair(1, { apiKey: "s3cret-key" });
  const auth = { authorization: "Bearer s3cret-key" };
  const req = async (p: string, init: RequestInit = {}) => {
    const r = await fetch(`${url}${p}`, {
      ...init,
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
    });
    return { status: r.status, body: (await r.json()) as { error: { message: string; code: string; type: string } } };
  };
  try {
    let r = await req("/v1/training/forward_backward", { method: "POST", body: "{ not json" });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, "invalid_json");
    r = await req("/v1/training/forward_backward", {
      method: "POST",
      body: JSON.stringify({ datums: [], loss_fn: "cross_entropy" }),
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /data/);
    assert.match(r.body.error.message, /datums/);
    r = await req("/v1/training/forward_backward", {
      method: "POST",
      body: JSON.stringify({
        data: [{ model_input: [1, 2], loss_fn_inputs: { target_tokens: [2, "x"], weights: [1, 1] } }],
        loss_fn: "cross_entropy",
      }),
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /data\.0\.loss_fn_inputs\.target_tokens\.1/);
    r = await req("/v1/training/forward_backward", {
      method: "POST",
      body: JSON.stringify({ data: [], loss_fn: "ppo", loss_fn_config: { clip_low: 0.2 } }),
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /loss_fn_config\.clip_high/);
    r = await req("/v1/training/compute_logprobs", {
      method: "POST",
      body: JSON.stringify({
        data: [{ model_input: [1, 2, 3], loss_fn_inputs: { target_tokens: [2, 3, 4], weights: [1, 1] } }],
      }),
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /data\.0\.loss_fn_inputs\.weights: has 2 entries but model_input has 3/);
    r = await req("/v1/training/optim_step", {
      method: "POST",
      body: JSON.stringify({ adam_params: { learning_rate: "fast" } }),
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /adam_params\.learning_rate/);
    r = await req("/v1/training/nope", { method: "POST", body: "{}" });
    assert.equal(r.status, 404);
    assert.match(r.body.error.message, /unknown path \/v1\/training\/nope/);
    r = await req("/v2/whatever");
    assert.equal(r.status, 404);
    r = await req("/v1/training/optim_step");
    assert.equal(r.status, 405);
    r = await req("/v1/training/info", { method: "POST", body: "{}" });
    assert.equal(r.status, 405);
    // a policy-side rejection (token id out of range) passes the policy's message on, names the endpoint
    await assert.rejects(
      remote.forwardBackward([{ modelInput: [1, 99999], lossInputs: { targetTokens: [1, 2], weights: [1, 1] } }], {
        kind: "cross_entropy",
      }),
      (e: unknown) =>
        e instanceof RemotePolicyError &&
        e.status === 500 &&
        /forward_backward/.test(e.message) &&
        /out of range/.test(e.message),
    );
    // a failed op does not poison the queue
    assert.equal((await remote.computeLogprobs(data)).length, 3);

    // authentication
    const noKey = await fetch(`${url}/v1/training/info`);
    assert.equal(noKey.status, 401);
    assert.match(((await noKey.json()) as { error: { message: string } }).error.message, /missing API key/);
    await assert.rejects(
      connectRemotePolicy(url, { apiKey: "wrong-key!", retries: 0 }),
      (e: unknown) =>
        e instanceof RemotePolicyError &&
        e.status === 401 &&
        /invalid API key/.test(e.message) &&
        /\/v1\/training\/info/.test(e.message),
    );
    await assert.rejects(connectRemotePolicy(url, { retries: 0 }), /HTTP 401/);
  } finally {
    await server.close();
  }
  // body limit
  const small = await serveTraining({
    policy: createEmbeddedPolicy({ config, tokenizer: tok, seed: 1 }),
    port: 0,
    maxBodyBytes: 1000,
  });
  try {
    const r = await fetch(`${small.url}/v1/training/compute_logprobs`, {
      method: "POST",
      body: JSON.stringify({ data: [{ model_input: new Array(2000).fill(1) }] }),
    });
    assert.equal(r.status, 413);
  } finally {
    await small.server.close();
  }
});

test("server gone or restarted: clear client errors, no op replayed on a fresh server", async () => {
  const policy = createEmbeddedPolicy({ config, tokenizer: tok, seed: 2 });
  const first = await serveTraining({ policy, port: 0 });
  const port = Number(new URL(first.url).port);
  const remote = await connectRemotePolicy(first.url, { retries: 2, backoffMs: 10 });
  await first.server.close();
  const t0 = Date.now();
  await assert.rejects(remote.computeLogprobs(data), (e: unknown) => {
    assert.ok(e instanceof RemotePolicyError);
    assert.equal(e.status, 0);
    assert.match(
      e.message,
      /POST http:\/\/127\.0\.0\.1:\d+\/v1\/training\/compute_logprobs: cannot reach the training server \(ECONNREFUSED\) \(after 3 attempts\)/,
    );
    return true;
  });
  assert.ok(Date.now() - t0 < 5000);
  await assert.rejects(connectRemotePolicy("http://127.0.0.1:1", { retries: 0 }), /cannot reach the training server/);
  // a new server on the same port (fresh state): the old client's training calls are refused with 409
  const second = await serveTraining({ policy: createEmbeddedPolicy({ config, tokenizer: tok, seed: 2 }), port });
  try {
    await assert.rejects(
      remote.optimStep(adam),
      (e: unknown) => e instanceof RemotePolicyError && e.status === 409 && /restarted/.test(e.message),
    );
    assert.equal(second.server.counts.optim_step, undefined, "the op never ran");
  } finally {
    await second.server.close();
  }
  // timeouts are reported as such
  const slow = await serveTraining({ policy: createEmbeddedPolicy({ config, tokenizer: tok, seed: 2 }), port: 0 });
  try {
    const r = await connectRemotePolicy(slow.url, { timeoutMs: 1, retries: 0 });
    const big = Array.from({ length: 8 }, () => data[0]!);
    await assert.rejects(r.forwardBackward(big, { kind: "cross_entropy" }), /no response within 1 ms/);
  } finally {
    await slow.server.close();
  }
});

test("wire helpers: URL forms, non-finite numbers survive a response", () => {
  assert.equal(normalizeBaseUrl("http://h:1/v1/training/"), "http://h:1");
  assert.equal(normalizeBaseUrl("http://h:1/v1"), "http://h:1");
  assert.equal(normalizeBaseUrl("http://h:1"), "http://h:1");
  assert.throws(() => normalizeBaseUrl("ftp://h"), /unsupported URL scheme/);
  assert.throws(() => normalizeBaseUrl("nope"), /not a URL/);
  const v = {
    loss: NaN,
    lp: [[-Infinity, 1.5, 0.1 + 0.2]],
    m: { x: Infinity },
    s: "NaN",
    t: ["Infinity", "$nonfinite"],
  };
  assert.deepEqual(parseWire(stringifyWire(v)), v);
  const f = Math.fround(-1.2345678);
  assert.equal((parseWire(stringifyWire([f])) as number[])[0], f);
});
