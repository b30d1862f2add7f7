import { latestCheckpoint, stepDirName } from "../../src/core/runs.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  saveCheckpoint,
  loadCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  expectedWeightShapes,
  type Checkpoint,
  type Tensor32,
} from "../../src/engine/checkpoint.js";
import { ModelConfigSchema, MODEL_PRESETS, type ModelConfig } from "../../src/engine/config.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { SPECIAL_TOKENS } from "../../src/engine/special.js";

function makeConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return ModelConfigSchema.parse({
    ...MODEL_PRESETS.tiny,
    vocab_size: SPECIAL_TOKENS.length + 256,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 0,
    ...overrides,
  });
}

function makeWeights(c: ModelConfig, seed: number): Map<string, Tensor32> {
  const w = new Map<string, Tensor32>();
  let s = seed >>> 0 || 1;
  for (const [name, shape] of expectedWeightShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      data[i] = s / 2 ** 32 - 0.5;
    }
    w.set(name, { shape, data });
  }
  return w;
}

function makeCkpt(seed: number, extra: Partial<Checkpoint> = {}, cfg: Partial<ModelConfig> = {}): Checkpoint {
  const config = makeConfig(cfg);
  return {
    config,
    weights: makeWeights(config, seed),
    tokenizer: new ByteTokenizer(),
    trainerState: { step: seed, version: seed },
    rng: { state: [seed, 2, 3] },
    ...extra,
  };
}

const here = fileURLToPath(import.meta.url);

if (process.env.CKPT_CRASH_CHILD) {
  // Child mode for the crash test: save new versions over the same directory forever, reporting each one.
  const dir = process.env.CKPT_CRASH_CHILD;
  const base = makeCkpt(1, {}, { num_hidden_layers: 4, hidden_size: 128, intermediate_size: 352 });
  for (let v = 2; ; v++) {
    for (const t of base.weights.values()) t.data[0] = v; // version marker inside the weights too
    saveCheckpoint(dir, { ...base, trainerState: { step: v, version: v } });
    process.stdout.write(`saved ${v}\n`);
  }
} else {
  test("save/load round-trip: config, weights, tokenizer, optimizer, rng, trainer state", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
    try {
      const dir = path.join(root, "c1");
      const opt = new Map([
        ["m.model.norm.weight", { shape: [64], data: new Float32Array(64).fill(0.25) }],
        ["step", { shape: [1], data: Int32Array.from([7]) }],
      ]);
      const ck = makeCkpt(3, { optimizer: { state: opt, meta: { kind: "adamw", beta1: 0.9 } } });
      saveCheckpoint(dir, ck);
      for (const f of [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "optimizer.safetensors",
        "optimizer.json",
        "state.json",
        "manifest.json",
      ]) {
        assert.ok(fs.existsSync(path.join(dir, f)), f);
      }
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
      assert.equal(cfg.model_type, "llama");
      assert.deepEqual(cfg.architectures, ["LlamaForCausalLM"]);
      assert.equal(cfg.num_hidden_layers, 2);
      const l = loadCheckpoint(dir);
      assert.deepEqual(l.config, ck.config);
      assert.equal(l.weights.size, ck.weights.size);
      for (const [k, t] of ck.weights) {
        assert.deepEqual(l.weights.get(k)!.shape, t.shape);
        assert.deepEqual(l.weights.get(k)!.data, t.data);
      }
      assert.equal(l.tokenizer.vocabSize, SPECIAL_TOKENS.length + 256);
      assert.equal(l.tokenizer.decode(l.tokenizer.encode("héllo <|eos|>")), "héllo <|eos|>");
      assert.deepEqual(l.rng, { state: [3, 2, 3] });
      assert.deepEqual(l.trainerState, { step: 3, version: 3 });
      assert.equal(l.step, 3);
      assert.deepEqual(l.optimizer!.meta, { kind: "adamw", beta1: 0.9 });
      assert.deepEqual([...l.optimizer!.state.get("step")!.data], [7]);
      assert.ok(l.optimizer!.state.get("step")!.data instanceof Int32Array);
      const noOpt = loadCheckpoint(dir, { optimizer: false });
      assert.equal(noOpt.optimizer, undefined);
      // overwrite in place
      saveCheckpoint(dir, makeCkpt(4));
      const l2 = loadCheckpoint(dir);
      assert.equal(l2.step, 4);
      assert.equal(l2.optimizer, undefined);
      assert.deepEqual(fs.readdirSync(root), ["c1"], "no temp or aside directories left");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("damaged checkpoints are reported clearly", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
    try {
      const dir = path.join(root, "c");
      saveCheckpoint(dir, makeCkpt(5));
      // flip one byte in the weights: size same, hash differs
      const wf = path.join(dir, "model.safetensors");
      const b = fs.readFileSync(wf);
      b[b.length - 1] ^= 0xff;
      fs.writeFileSync(wf, b);
      assert.throws(() => loadCheckpoint(dir), /damaged: model.safetensors does not match its SHA-256/);
      assert.doesNotThrow(() => loadCheckpoint(dir, { verify: "size" }));
      fs.truncateSync(wf, 100);
      assert.throws(() => loadCheckpoint(dir, { verify: "size" }), /model.safetensors has 100 bytes/);
      fs.rmSync(path.join(dir, "tokenizer.json"));
      assert.throws(() => loadCheckpoint(dir), /tokenizer.json is missing/);
      fs.rmSync(path.join(dir, "manifest.json"));
      assert.throws(() => loadCheckpoint(dir), /manifest.json is missing/);
      assert.throws(() => loadCheckpoint(path.join(root, "nope")), /does not exist/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("save validates the weights against the config", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
    try {
      const ck = makeCkpt(6);
      ck.weights.delete("model.layers.1.mlp.up_proj.weight");
      assert.throws(() => saveCheckpoint(path.join(root, "x"), ck), /missing model.layers.1.mlp.up_proj.weight/);
      const ck2 = makeCkpt(6);
      ck2.weights.set("model.norm.weight", { shape: [3], data: new Float32Array(3) });
      assert.throws(() => saveCheckpoint(path.join(root, "x"), ck2), /model.norm.weight has shape \[3\]/);
      const ck3 = makeCkpt(6, {}, { vocab_size: 100 });
      assert.throws(() => saveCheckpoint(path.join(root, "x"), ck3), /tokenizer has 268 tokens/);
      assert.deepEqual(fs.readdirSync(root), [], "failed saves leave nothing behind");
      // untied embeddings need lm_head
      const ck4 = makeCkpt(6, {}, { tie_word_embeddings: false });
      saveCheckpoint(path.join(root, "untied"), ck4);
      assert.ok(loadCheckpoint(path.join(root, "untied")).weights.has("lm_head.weight"));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("listCheckpoints / pruneCheckpoints (and the run layout's latestCheckpoint)", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "run-"));
    try {
      assert.deepEqual(listCheckpoints(root), []);
      assert.equal(latestCheckpoint(root), null);
      for (const step of [20, 5, 100]) saveCheckpoint(path.join(root, stepDirName(step)), makeCkpt(step));
      fs.mkdirSync(path.join(root, "not-a-checkpoint"));
      fs.mkdirSync(path.join(root, ".step-00000200.tmp-999999-abcd")); // half-written by a dead writer
      const all = listCheckpoints(root);
      assert.deepEqual(
        all.map((c) => c.step),
        [5, 20, 100],
      );
      assert.equal(path.basename(latestCheckpoint(root)!.dir), "step-00000100");
      assert.ok(!fs.existsSync(path.join(root, ".step-00000200.tmp-999999-abcd")), "stale temp dir removed");
      const removed = pruneCheckpoints(root, 2);
      assert.equal(removed.length, 1);
      assert.deepEqual(
        listCheckpoints(root).map((c) => c.step),
        [20, 100],
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a crash between the two renames is recovered from the aside copy", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
    try {
      const dir = path.join(root, "c");
      saveCheckpoint(dir, makeCkpt(8));
      // simulate: target renamed aside by a writer that then died (pid 999999 is not running)
      fs.renameSync(dir, path.join(root, ".c.old-999999-0a0b"));
      const l = loadCheckpoint(dir);
      assert.equal(l.step, 8);
      assert.deepEqual(fs.readdirSync(root), ["c"]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("SIGKILL mid-save never corrupts the last good checkpoint", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-crash-"));
    try {
      const dir = path.join(root, "c");
      const delays = [15, 40, 70, 110, 160, 230];
      for (const delay of delays) {
        const child = spawn(process.execPath, [here], {
          env: { ...process.env, CKPT_CRASH_CHILD: dir },
          stdio: ["ignore", "pipe", "inherit"],
        });
        let lastSaved = 0;
        let buf = "";
        const firstSave = new Promise<void>((resolve, reject) => {
          child.stdout.on("data", (d: Buffer) => {
            buf += d.toString();
            const m = [...buf.matchAll(/saved (\d+)/g)];
            if (m.length) {
              lastSaved = Number(m[m.length - 1]![1]);
              resolve();
            }
          });
          child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
        });
        await firstSave;
        await new Promise((r) => setTimeout(r, delay));
        // "close" fires after the child's stdout is drained, so lastSaved is the last save it completed
        const closed = new Promise((r) => child.on("close", r));
        child.kill("SIGKILL");
        await closed;
        const l = loadCheckpoint(dir);
        const v = l.trainerState!.version as number;
        // the checkpoint on disk is the last reported save or the one in flight, never anything torn
        assert.ok(v === lastSaved || v === lastSaved + 1, `version ${v}, last reported ${lastSaved}`);
        for (const t of l.weights.values()) assert.equal(t.data[0], v);
      }
      const left = fs.readdirSync(root);
      assert.deepEqual(left, ["c"], `leftovers: ${left.join(", ")}`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

test("adapter-only LoRA state: round trip, a PEFT folder, verified manifest; not a full checkpoint; base hash", async () => {
  const { saveLoraState, loadLoraState, isLoraState, baseWeightsSha256, LORA_STATE_FORMAT } = await import(
    "../../src/engine/checkpoint.js"
  );
  const { LoraAdapter, loadAdapter } = await import("../../src/engine/lora.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ck-lora-"));
  try {
    const c = makeConfig();
    const weights = makeWeights(c, 5);
    const adapter = LoraAdapter.init(c, { rank: 2, alpha: 4, targetModules: ["q_proj", "lm_head"] }, 3);
    for (const m of adapter.modules.values()) m.B.data.fill(0.25);
    const sha = baseWeightsSha256(weights);
    const state = new Map([
      ["m.lm_head.lora_B.weight", { shape: [c.vocab_size, 2], data: new Float32Array(c.vocab_size * 2).fill(3) }],
    ]);
    const st = path.join(dir, "state");
    saveLoraState(st, {
      config: c,
      base: { model: "/models/base", sha256: sha, dtypes: { f32: 15 } },
      adapter,
      optimizer: { state, meta: { kind: "adamw", step: 7 } },
      rng: [1, 2, 3, 4],
      trainerState: { step: 7, loraDropoutRng: [5, 6, 7, 8] },
    });
    assert.ok(isLoraState(st));
    assert.ok(!fs.existsSync(path.join(st, "model.safetensors")), "no base weights");
    const manifest = JSON.parse(fs.readFileSync(path.join(st, "manifest.json"), "utf8"));
    assert.equal(manifest.format, LORA_STATE_FORMAT);
    assert.equal(manifest.step, 7);
    const back = loadLoraState(st);
    assert.deepEqual(back.base, { model: "/models/base", sha256: sha, dtypes: { f32: 15 } });
    assert.deepEqual(back.rng, [1, 2, 3, 4]);
    assert.equal(back.optimizer!.meta.step, 7);
    assert.deepEqual(
      back.optimizer!.state.get("m.lm_head.lora_B.weight")!.data,
      state.get("m.lm_head.lora_B.weight")!.data,
    );
    for (const [k, t] of adapter.parameters()) assert.deepEqual(back.adapter.parameters().get(k)!.data, t.data, k);
    // the folder is a PEFT adapter (base_model_name_or_path = the base reference)
    assert.equal(loadAdapter(st, c).modules.size, c.num_hidden_layers + 1);
    assert.equal(
      JSON.parse(fs.readFileSync(path.join(st, "adapter_config.json"), "utf8")).base_model_name_or_path,
      "/models/base",
    );
    // a full-checkpoint reader says what it is and what to do
    assert.throws(
      () => loadCheckpoint(st),
      /adapter-only LoRA training state \(no base weights; base: \/models\/base\)/,
    );
    // damage is detected by the manifest
    const f = path.join(st, "adapter_model.safetensors");
    const b = fs.readFileSync(f);
    b[b.length - 1] ^= 1;
    fs.writeFileSync(f, b);
    assert.throws(() => loadLoraState(st), /adapter_model\.safetensors does not match its SHA-256/);
    // the base hash: the same weights give the same hash; one flipped bit or another storage type changes it
    assert.equal(baseWeightsSha256(makeWeights(c, 5)), sha);
    const flipped = makeWeights(c, 5);
    const t = flipped.get("model.layers.1.mlp.up_proj.weight")!.data;
    new Uint32Array(t.buffer, t.byteOffset, t.length)[3]! ^= 1;
    assert.notEqual(baseWeightsSha256(flipped), sha);
    const half = makeWeights(c, 5) as Map<string, import("../../src/engine/tensor.js").WeightTensor>;
    const e = half.get("model.embed_tokens.weight")!;
    half.set("model.embed_tokens.weight", { shape: e.shape, data: new Uint16Array(e.data.length), dtype: "bf16" });
    assert.notEqual(baseWeightsSha256(half), sha);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
