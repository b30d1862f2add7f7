/**
 * `batcoder serve CKPT --training` honours the LoRA rank of Tinker's create_model: a rank r > 0 attaches a fresh
 * adapter (src/engine/lora.ts) to the served policy, forward_backward + optim_step train only the adapter (the base
 * is bit-identical afterwards), the trainable parameter count is r·(in+out) over the targeted linears (lm_head
 * included: train_unembed), and save_weights / load_weights (tinker:// paths) keep an adapter-only state (PEFT
 * layout + optimizer + RNGs + the base's reference and weights hash, no base weights) that continues exactly on a
 * fresh server on the same base and is refused on another base or base dtype. Rank 0 is full fine-tuning.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, loadEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker, TINKER_LORA_ALPHA } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import { loadAdapter, LORA_TARGETS } from "../../src/engine/lora.js";
import { loadModel, loadPolicyForLoraState } from "../../src/backends/model-ref.js";
import type { AdamParams, Datum } from "../../src/core/policy.js";
import { TINY_MODEL } from "../rl/helpers.js";

const tok = new ByteTokenizer();
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-lora-"));
const make = () => createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed: 3 });
const text = tok.encode("def f(x):\n    return x + 1\n");
const datum: Datum = {
  modelInput: text.slice(0, -1),
  lossInputs: { targetTokens: text.slice(1), weights: text.slice(1).map(() => 1) },
};
const adam: AdamParams = { learningRate: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

function copyWeights(p: EmbeddedPolicy): Map<string, Float32Array> {
  return new Map([...p.llama.f32Weights()].map(([k, t]) => [k, t.data.slice()]));
}
function adapterTensors(p: EmbeddedPolicy): Map<string, Float32Array> {
  return new Map([...p.llama.lora!.parameters()].map(([k, t]) => [k, t.data.slice()]));
}

test("Tinker create_model with a LoRA rank trains only the adapter; states keep it (PEFT layout), also on a fresh server", async (t) => {
  const stateRoot = tmp();
  const served = make();
  const base = copyWeights(served);
  const lines: string[] = [];
  const { server, url } = await serveTinker({
    policy: served,
    port: 0,
    stateRoot,
    baseModel: "tiny",
    log: (l) => lines.push(l),
  });
  const r = 4;
  try {
    const p = await connectTinkerPolicy(url, { loraRank: r, log: () => {}, heartbeatMs: 0 });
    const lora = served.llama.lora;
    assert.ok(lora, "create_model with rank 4 attached an adapter");
    assert.equal(lora.config.rank, r);
    assert.equal(lora.config.alpha, TINKER_LORA_ALPHA);
    // r·(in+out) over q/k/v/o/gate/up/down of every layer, from the config's own numbers
    const h = TINY_MODEL.hidden_size,
      i = TINY_MODEL.intermediate_size,
      hd = h / TINY_MODEL.num_attention_heads,
      q = TINY_MODEL.num_attention_heads * hd,
      kv = TINY_MODEL.num_key_value_heads * hd;
    const perLayer = r * (h + q) + 2 * r * (h + kv) + r * (q + h) + 2 * r * (h + i) + r * (i + h);
    // the client sends train_unembed: true (as the SDK does): lm_head [vocab, hidden] has an adapter too
    const want = perLayer * TINY_MODEL.num_hidden_layers + r * (h + served.llama.V);
    assert.deepEqual(lora.config.targetModules, [...LORA_TARGETS]);
    assert.equal(lora.nParams(), want);
    assert.equal(
      [...served.llama.trainableWeights().values()].reduce((a, t) => a + t.data.length, 0),
      want,
    );
    assert.ok(
      lines.some(
        (l) =>
          l.includes(`LoRA rank 4, alpha 32`) &&
          l.includes(`${want.toLocaleString("en-US")} trainable parameters, base frozen`),
      ),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => /on q_proj\/k_proj\/v_proj\/o_proj\/gate_proj\/up_proj\/down_proj\/lm_head: /.test(l)));

    const before = adapterTensors(served);
    const fb1 = await p.forwardBackward([datum], { kind: "cross_entropy" });
    await p.optimStep(adam);
    for (const [k, w] of base) assert.deepEqual(served.llama.weights.get(k)!.data, w, `base weight ${k} changed`);
    let changedA = 0,
      changedB = 0;
    for (const [k, t] of adapterTensors(served)) {
      const old = before.get(k)!;
      const moved = t.some((x, j) => x !== old[j]);
      if (moved && k.endsWith("lora_A.weight")) changedA++;
      if (moved && k.endsWith("lora_B.weight")) changedB++;
    }
    assert.equal(changedB, lora.modules.size, "every B moved off zero");
    assert.equal(changedA, 0, "A gets no gradient while B is still zero (the first step)");
    const fb2 = await p.forwardBackward([datum], { kind: "cross_entropy" });
    assert.ok(fb2.loss < fb1.loss, `the adapter step lowered the loss: ${fb1.loss} -> ${fb2.loss}`);
    await p.optimStep(adam);
    assert.ok(
      [...adapterTensors(served)].some(
        ([k, t]) => k.endsWith("lora_A.weight") && t.some((x, j) => x !== before.get(k)![j]),
      ),
      "A moves once B is non-zero",
    );
    for (const [k, w] of base) assert.deepEqual(served.llama.weights.get(k)!.data, w, `base weight ${k} changed`);

    // the same two steps in-process on a policy with the documented adapter (rank r, alpha 32, seed 0): same adapter
    const local = make();
    local.attachLora({ rank: r, alpha: TINKER_LORA_ALPHA, targetModules: [...LORA_TARGETS] }, 0);
    for (let s = 0; s < 2; s++) {
      await local.forwardBackward([datum], { kind: "cross_entropy" });
      await local.optimStep(adam);
    }
    for (const [k, t] of adapterTensors(served)) assert.deepEqual(local.llama.lora!.parameters().get(k)!.data, t, k);

    // save_weights: an adapter-only tinker:// state (a PEFT folder with the trained adapter, its optimizer and RNGs,
    // and a reference to the base: model id + weights hash), no base weights
    const ckDir = path.join(stateRoot, "client-side");
    await p.saveState(ckDir);
    const manifest = JSON.parse(fs.readFileSync(path.join(ckDir, "tinker-state.json"), "utf8"));
    const m = /^tinker:\/\/([^/]+)\/weights\/(.+)$/.exec(manifest.path)!;
    const onDisk = path.join(stateRoot, m[1]!, "weights", m[2]!);
    assert.ok(!fs.existsSync(path.join(onDisk, "model.safetensors")), "no base weights in a LoRA state");
    const baseRef = JSON.parse(fs.readFileSync(path.join(onDisk, "base.json"), "utf8"));
    assert.equal(baseRef.model, "tiny");
    assert.equal(baseRef.sha256, served.baseSha256());
    // the same training state saved in full (base included), for the size comparison
    const fullDir = path.join(stateRoot, "full-state");
    await served.saveState(fullDir);
    const bytes = (d: string) => fs.readdirSync(d).reduce((a, f) => a + fs.statSync(path.join(d, f)).size, 0);
    const full = bytes(fullDir) + bytes(path.join(fullDir, "adapter")),
      slim = bytes(onDisk);
    assert.ok(slim < full - 4 * served.llama.nParams() * 0.9, `adapter-only ${slim} B vs full ${full} B`);
    t.diagnostic(`LoRA state on disk: full ${full} B -> adapter-only ${slim} B`);
    const peft = JSON.parse(fs.readFileSync(path.join(onDisk, "adapter_config.json"), "utf8"));
    assert.equal(peft.r, r);
    assert.equal(peft.lora_alpha, TINKER_LORA_ALPHA);
    const savedAdapter = loadAdapter(onDisk, served.llama.config);
    const trained = adapterTensors(served);
    for (const [k, t] of savedAdapter.parameters()) assert.deepEqual(t.data, trained.get(k), k);
    // one more step, then load_weights restores the saved adapter exactly (the base never moved)
    await p.forwardBackward([datum], { kind: "cross_entropy" });
    await p.optimStep(adam);
    await p.loadState(ckDir);
    for (const [k, t] of adapterTensors(served)) assert.deepEqual(t, trained.get(k), `restored ${k}`);
    for (const [k, w] of base) assert.deepEqual(served.llama.weights.get(k)!.data, w);

    // a fresh server (a restart): create_model rank r, load_weights -> the trained adapter and its optimizer
    const fresh = make();
    const s2 = await serveTinker({ policy: fresh, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
    try {
      const p2 = await connectTinkerPolicy(s2.url, { loraRank: r, log: () => {}, heartbeatMs: 0 });
      await p2.loadState(ckDir);
      for (const [k, t] of adapterTensors(fresh)) assert.deepEqual(t, trained.get(k), `fresh server: ${k}`);
      assert.equal(fresh.step, 2);
      // the next step on both servers is the same (the AdamW moments came back too)
      await p.forwardBackward([datum], { kind: "cross_entropy" });
      await p.optimStep(adam);
      await p2.forwardBackward([datum], { kind: "cross_entropy" });
      await p2.optimStep(adam);
      const a1 = adapterTensors(served);
      for (const [k, t] of adapterTensors(fresh)) assert.deepEqual(t, a1.get(k), `next step: ${k}`);
    } finally {
      await s2.server.close();
    }
    // an adapter-only state is not a standalone checkpoint: loading one without its base says what to do
    assert.throws(() => loadEmbeddedPolicy(onDisk), /adapter-only LoRA training state \(no base weights; base: tiny\)/);
    // ... and its base 'tiny' names no model on disk: `serve STATE --training` refuses clearly
    await assert.rejects(loadPolicyForLoraState(onDisk), /its base 'tiny' is neither a path nor a hub id/);
    // a policy on the same base, with the adapter attached, loads it; create_model then continues that adapter
    const fromDisk = make();
    fromDisk.attachLora({ rank: r, alpha: TINKER_LORA_ALPHA, targetModules: [...LORA_TARGETS] });
    await fromDisk.loadState(onDisk);
    assert.equal(fromDisk.step, 2);
    assert.equal(fromDisk.loraConfig?.rank, r);
    for (const [k, t] of adapterTensors(fromDisk)) assert.deepEqual(t, trained.get(k), `loaded with its adapter: ${k}`);
    for (const rank of [0, 8]) {
      const sx = await serveTinker({ policy: fromDisk, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
      try {
        await assert.rejects(
          connectTinkerPolicy(sx.url, { loraRank: rank, log: () => {}, heartbeatMs: 0, retries: 0 }),
          /carries a LoRA adapter of rank 4: create the model with rank 4/,
        );
      } finally {
        await sx.server.close();
      }
    }
    const cont: string[] = [];
    const s4 = await serveTinker({ policy: fromDisk, port: 0, stateRoot, baseModel: "tiny", log: (l) => cont.push(l) });
    try {
      const p4 = await connectTinkerPolicy(s4.url, { loraRank: r, log: () => {}, heartbeatMs: 0 });
      assert.ok(cont.some((l) => l.includes("continuing the served checkpoint's LoRA adapter (rank 4")));
      await p4.forwardBackward([datum], { kind: "cross_entropy" });
      await p4.optimStep(adam);
      for (const [k, w] of base) assert.deepEqual(fromDisk.llama.weights.get(k)!.data, w);
    } finally {
      await s4.server.close();
    }

    // a state trained on another base (other weights, or the same weights rounded to bf16) is refused clearly
    for (const [what, otherBase] of [
      ["other weights", createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed: 4 })],
      ["bf16", make()],
    ] as const) {
      if (what === "bf16") otherBase.llama.setBaseDtype("bf16");
      const sb = await serveTinker({ policy: otherBase, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
      try {
        const pb = await connectTinkerPolicy(sb.url, { loraRank: r, log: () => {}, heartbeatMs: 0 });
        const fresh = adapterTensors(otherBase);
        await assert.rejects(
          pb.loadState(ckDir),
          what === "bf16"
            ? /trained on base 'tiny' .*matrices f32 ×\d+\), but this policy's base differs .*matrices bf16 ×\d+\)/
            : /trained on base 'tiny' \(weights sha256 [0-9a-f]{16}….*but this policy's base differs/,
        );
        for (const [k, v] of adapterTensors(otherBase)) assert.deepEqual(v, fresh.get(k), `${what}: ${k} untouched`);
      } finally {
        await sb.server.close();
      }
    }
    // a state of another rank is refused clearly, before anything changes
    const other = make();
    const s3 = await serveTinker({ policy: other, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
    try {
      const p3 = await connectTinkerPolicy(s3.url, { loraRank: 8, log: () => {}, heartbeatMs: 0 });
      await assert.rejects(p3.loadState(ckDir), /rank 4.*this policy's is rank 8/);
    } finally {
      await s3.server.close();
    }
  } finally {
    await server.close();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
});

test("Tinker create_model with rank 0 is full fine-tuning; a full state does not load into a LoRA model", async () => {
  const stateRoot = tmp();
  const served = make();
  const base = copyWeights(served);
  const { server, url } = await serveTinker({ policy: served, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
  try {
    const p = await connectTinkerPolicy(url, { loraRank: 0, log: () => {}, heartbeatMs: 0 });
    assert.equal(served.llama.lora, null);
    await p.forwardBackward([datum], { kind: "cross_entropy" });
    await p.optimStep(adam);
    assert.ok(
      [...base].every(([k, w]) => served.llama.weights.get(k)!.data.some((x, j) => x !== w[j]) || k.includes("norm")),
      "every matrix trained",
    );
    const ckDir = path.join(stateRoot, "client-side");
    await p.saveState(ckDir);
    const s2 = await serveTinker({ policy: make(), port: 0, stateRoot, baseModel: "tiny", log: () => {} });
    try {
      const p2 = await connectTinkerPolicy(s2.url, { loraRank: 2, log: () => {}, heartbeatMs: 0 });
      await assert.rejects(p2.loadState(ckDir), /has no LoRA adapter.*this policy trains one/);
    } finally {
      await s2.server.close();
    }
  } finally {
    await server.close();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
});

test("batcoder serve HF_FOLDER --training: a Tinker client's LoRA rank trains an adapter on the user's model, base frozen", async () => {
  const { spawn } = await import("node:child_process");
  const { ModelConfigSchema } = await import("../../src/engine/config.js");
  const { saveHfFolder, loadHfFolder } = await import("../../src/engine/hf.js");
  const { BpeTokenizer } = await import("../../src/engine/tokenizer.js");
  const { baseWeightsSha256 } = await import("../../src/engine/checkpoint.js");
  const { ARCH_CONFIGS, randomModel } = await import("../engine/arch-helpers.js");
  const dir = tmp();
  const hfTok = await BpeTokenizer.train(["def add(a, b):\n    return a + b\n", "hello world"], { vocabSize: 300 });
  const config = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.qwen2!,
    vocab_size: hfTok.vocabSize,
    bos_token_id: hfTok.bosId,
    eos_token_id: hfTok.eosId,
    max_position_embeddings: 128,
  });
  const hfDir = path.join(dir, "qwen2-tiny");
  saveHfFolder(hfDir, config, randomModel(config, 7).weights, {
    dtype: "F32",
    extraFiles: { "tokenizer.json": JSON.stringify(hfTok.toHuggingFaceJSON()) },
  });
  const states = path.join(dir, "states");
  const child = spawn(
    process.execPath,
    [path.resolve("bin/batcoder.js"), "serve", hfDir, "--training", "--port", "0", "--state-dir", states],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        const m = /^(http:\/\/\S+)\n/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (c) => reject(new Error(`serve exited ${c}: ${stderr}`)));
    });
    const p = await connectTinkerPolicy(url, { loraRank: 2, log: () => {}, heartbeatMs: 0 });
    const ids = [hfTok.bosId, ...hfTok.encode("def add(a, b):\n    return a + b\n")];
    const d: Datum = {
      modelInput: ids.slice(0, -1),
      lossInputs: { targetTokens: ids.slice(1), weights: ids.slice(1).map(() => 1) },
    };
    const l1 = (await p.forwardBackward([d], { kind: "cross_entropy" })).loss;
    // alpha 32 at rank 2 scales the adapter by 16, and the lm_head adapter moves every logit: a gentler step
    await p.optimStep({ ...adam, learningRate: 0.005 });
    const l2 = (await p.forwardBackward([d], { kind: "cross_entropy" })).loss;
    assert.ok(l2 < l1, `${l1} -> ${l2}`);
    await p.saveState(path.join(dir, "saved"));
    assert.match(stderr, /using weights: HF folder .*Qwen2ForCausalLM/);
    assert.match(
      stderr,
      /LoRA rank 2, alpha 32 on q_proj\/k_proj\/v_proj\/o_proj\/gate_proj\/up_proj\/down_proj\/lm_head: [\d,]+ trainable/,
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "saved", "tinker-state.json"), "utf8"));
    const m = /^tinker:\/\/([^/]+)\/weights\/(.+)$/.exec(manifest.path)!;
    const state = path.join(states, m[1]!, "weights", m[2]!);
    // adapter-only: the PEFT adapter (lm_head of this tied model included), no base weights, the base by reference
    const adapter = loadAdapter(state, config);
    assert.equal(adapter.config.rank, 2);
    assert.ok(adapter.modules.has("lm_head"));
    assert.ok(
      [...adapter.modules.values()].every((x) => x.B.data.some((v) => v !== 0)),
      "the adapter trained",
    );
    assert.ok(!fs.existsSync(path.join(state, "model.safetensors")));
    const ref = JSON.parse(fs.readFileSync(path.join(state, "base.json"), "utf8"));
    assert.equal(ref.model, path.resolve(hfDir));
    assert.equal(ref.sha256, baseWeightsSha256(loadHfFolder(hfDir).weights), "the hash of the base as loaded (F32)");
    // `serve STATE --training`: the base comes from the recorded path, the adapter and optimizer from the state
    const child2 = spawn(
      process.execPath,
      [path.resolve("bin/batcoder.js"), "serve", state, "--training", "--port", "0", "--state-dir", states],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr2 = "";
    child2.stderr.setEncoding("utf8").on("data", (x: string) => (stderr2 += x));
    try {
      const url2 = await new Promise<string>((resolve, reject) => {
        let out = "";
        child2.stdout.setEncoding("utf8").on("data", (x: string) => {
          out += x;
          const mm = /^(http:\/\/\S+)\n/m.exec(out);
          if (mm) resolve(mm[1]!);
        });
        child2.on("exit", (c) => reject(new Error(`serve STATE exited ${c}: ${stderr2}`)));
      });
      const p2 = await connectTinkerPolicy(url2, { loraRank: 2, log: () => {}, heartbeatMs: 0 });
      assert.match(stderr2, /continuing the served checkpoint's LoRA adapter \(rank 2/);
      assert.match(stderr2, /step 1\b/);
      // the continued adapter scores exactly as the one that was saved (the first server has not stepped since)
      assert.deepEqual(await p2.computeLogprobs([d]), await p.computeLogprobs([d]));
    } finally {
      child2.kill("SIGTERM");
      await new Promise((r) => child2.once("close", r));
    }
    // the state as a model reference (eval --model STATE, serve STATE): base + the state's adapter
    const lm = await loadModel(state);
    assert.match(lm.description, /the LoRA adapter of state .* \(rank 2, alpha 32, .*\/lm_head, step 1\)/);
    for (const [k, t] of adapter.parameters()) assert.deepEqual(lm.model.lora!.parameters().get(k)!.data, t.data, k);
    // ... and what serve / eval --model open it with (the sampler of loadCheckpointSampler)
    const { loadCheckpointSampler } = await import("../../src/orchestration/models.js");
    const cs = await loadCheckpointSampler(state, () => {});
    assert.ok((cs.sampler as EmbeddedPolicy).llama.lora?.modules.has("lm_head"));
    // a base that changed since the state was saved is refused, naming both hashes
    saveHfFolder(hfDir, config, randomModel(config, 8).weights, { dtype: "F32" });
    await assert.rejects(
      loadModel(state),
      /was trained on base '.*qwen2-tiny' with weights sha256 [0-9a-f]{16}…, but that base now loads with sha256 [0-9a-f]{16}…/,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Tinker lora_config flags choose the adapted modules: train_unembed only, no unembedding, none at all", async () => {
  const stateRoot = tmp();
  try {
    for (const [flags, want] of [
      [{ trainAttn: false, trainMlp: false, trainUnembed: true }, ["lm_head"]],
      [{ trainUnembed: false }, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]],
      [{ trainMlp: false }, ["q_proj", "k_proj", "v_proj", "o_proj", "lm_head"]],
    ] as const) {
      const served = make();
      const base = copyWeights(served);
      const s = await serveTinker({ policy: served, port: 0, stateRoot, baseModel: "tiny", log: () => {} });
      try {
        const p = await connectTinkerPolicy(s.url, { loraRank: 2, ...flags, log: () => {}, heartbeatMs: 0 });
        assert.deepEqual(served.llama.lora!.config.targetModules, want, JSON.stringify(flags));
        await p.forwardBackward([datum], { kind: "cross_entropy" });
        await p.optimStep({ ...adam, learningRate: 0.01 });
        for (const m of served.llama.lora!.modules.values())
          assert.ok(
            m.B.data.some((x) => x !== 0),
            `${m.module} trained`,
          );
        for (const [k, w] of base) assert.deepEqual(served.llama.weights.get(k)!.data, w, `base weight ${k} changed`);
      } finally {
        await s.server.close();
      }
    }
    const s = await serveTinker({ policy: make(), port: 0, stateRoot, baseModel: "tiny", log: () => {} });
    try {
      await assert.rejects(
        connectTinkerPolicy(s.url, {
          loraRank: 2,
          trainAttn: false,
          trainMlp: false,
          trainUnembed: false,
          log: () => {},
          heartbeatMs: 0,
          retries: 0,
        }),
        /train_attn, train_mlp and train_unembed are all false, so there is nothing to adapt/,
      );
    } finally {
      await s.server.close();
    }
  } finally {
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
});
