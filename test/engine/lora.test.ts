// LoRA (src/engine/lora.ts + LlamaModel.lora): finite-difference gradient checks of every adapter tensor (with and
// without dropout, native and TS kernels, qwen2 biases and qwen3 q/k norms), a frozen base (no base gradients, no
// optimizer state, base weights bit-identical after AdamW steps), a fresh adapter leaves logits unchanged, merge
// equals the adapted model, the KV-cache path equals the full forward pass, PEFT folder round trip and bad input.
// With the Python venv: peft loads our adapter onto the transformers model and gives our logits (1e-4), and an
// adapter saved by peft loads here with peft's logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { nativeKernels, tsKernels, type Kernels } from "../../src/engine/kernels.js";
import { LlamaModel, packSequences } from "../../src/engine/model.js";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { lossForwardBackward } from "../../src/engine/train.js";
import { AdamW } from "../../src/engine/optim.js";
import { LoraAdapter, loadAdapter, mergeAdapter, saveAdapter } from "../../src/engine/lora.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { UserError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import type { Datum } from "../../src/core/policy.js";
import { ARCH_CONFIGS, randomModel } from "./arch-helpers.js";
import { pythonSkip, runPython } from "../helpers/python.js";

const nk = nativeKernels();
if (!nk) throw new Error("native kernels addon not built: scripts/setup.sh builds it");
const backends: Kernels[] = [tsKernels, nk];

/** An adapter with random (non-zero) B so every path carries gradient. */
function randomAdapter(
  model: LlamaModel,
  cfg: ConstructorParameters<typeof LoraAdapter>[0],
  seed: number,
): LoraAdapter {
  const a = LoraAdapter.init(model.config, cfg, seed);
  const rng = new Rng(seed + 100);
  for (const m of a.modules.values()) for (let i = 0; i < m.B.data.length; i++) m.B.data[i] = rng.normal() * 0.1;
  return a;
}

function datums(V: number, seed: number): Datum[] {
  const rng = new Rng(seed);
  return [9, 6].map((n) => {
    const toks = Array.from({ length: n }, () => rng.int(V));
    return {
      modelInput: toks.slice(0, -1),
      lossInputs: { targetTokens: toks.slice(1), weights: toks.slice(1).map(() => 1) },
    };
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const K of backends) {
  for (const arch of ["qwen2", "qwen3"] as const) {
    for (const dropout of [0, 0.3]) {
      test(`[${K.name}] ${arch} LoRA (dropout ${dropout}): adapter gradients match finite differences; base gets none`, () => {
        const model = randomModel(ARCH_CONFIGS[arch]!, 3);
        model.kernels = K;
        const lora = randomAdapter(model, { rank: 3, alpha: 6, dropout }, 5);
        model.lora = lora;
        const ds = datums(model.V, 11);
        const spec = { kind: "cross_entropy" } as const;
        const grads = model.zeroGrads();
        assert.deepEqual(
          [...grads.keys()].sort(),
          [...lora.parameters().keys()].sort(),
          "gradients exist for the adapter only",
        );
        assert.equal(grads.size, 2 * 7 * model.L);
        lora.dropoutRng = new Rng(42);
        lossForwardBackward(model, ds, spec, grads);
        const lossOf = () => {
          lora.dropoutRng = new Rng(42); // the same dropout masks on every evaluation
          return lossForwardBackward(model, ds, spec, model.zeroGrads()).loss;
        };
        const eps = K === tsKernels ? 1e-2 : 1e-2;
        for (const [name, t] of lora.parameters()) {
          const g = grads.get(name)!;
          const rng = new Rng(name.length);
          const sample = Array.from({ length: 6 }, () => rng.int(t.data.length));
          let num2 = 0,
            den2 = 0;
          for (const i of sample) {
            const old = t.data[i]!;
            t.data[i] = old + eps;
            const fp = lossOf();
            t.data[i] = old - eps;
            const fm = lossOf();
            t.data[i] = old;
            const fd = (fp - fm) / (2 * eps);
            num2 += (fd - g[i]!) ** 2;
            den2 += fd ** 2 + g[i]! ** 2;
          }
          assert.ok(den2 > 1e-14, `${name}: gradient identically zero`);
          const rel = Math.sqrt(num2 / den2);
          assert.ok(rel < 3e-2, `${name}: relative gradient error ${rel.toExponential(2)}`);
        }
      });
    }
  }
}

test("frozen base: AdamW updates only the adapter; base weights and optimizer state untouched", () => {
  const model = randomModel(ARCH_CONFIGS.qwen2!, 4);
  model.lora = randomAdapter(model, { rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj", "down_proj"] }, 6);
  const before = new Map([...model.weights].map(([k, t]) => [k, t.data.slice()]));
  const aBefore = new Map([...model.lora.parameters()].map(([k, t]) => [k, t.data.slice()]));
  const opt = new AdamW(model.kernels);
  for (let s = 0; s < 2; s++) {
    const grads = model.zeroGrads();
    lossForwardBackward(model, datums(model.V, s), { kind: "cross_entropy" }, grads);
    opt.update(model.trainableWeights(), grads, {
      learningRate: 1e-2,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      maxGradNorm: 1,
    });
  }
  for (const [k, t] of model.weights) assert.deepEqual(t.data, before.get(k), `${k} changed`);
  assert.deepEqual([...opt.m.keys()].sort(), [...model.lora.parameters().keys()].sort());
  assert.equal(opt.m.size, 2 * 3 * model.L);
  let changed = 0;
  for (const [k, t] of model.lora.parameters()) if (maxDiff(t.data, aBefore.get(k)!) > 0) changed++;
  assert.equal(changed, opt.m.size, "every adapter tensor moved");
  model.freezeBase = false;
  assert.equal(
    model.zeroGrads().size,
    model.weights.size + opt.m.size,
    "full fine-tuning plus adapter when the base is unfrozen",
  );
});

test("a fresh adapter leaves logits unchanged; merged weights equal the adapted model; cached decoding equals the full pass", () => {
  const model = randomModel(ARCH_CONFIGS.qwen3!, 8);
  const toks = [3, 5, 7, 11, 13, 17, 19, 23];
  const base = model.forwardLogits(toks);
  model.lora = LoraAdapter.init(model.config, { rank: 4 }, 1);
  assert.equal(maxDiff(model.forwardLogits(toks), base), 0);
  model.lora = randomAdapter(model, { rank: 4, alpha: 8 }, 2);
  const adapted = model.forwardLogits(toks);
  assert.ok(maxDiff(adapted, base) > 1e-3, "a non-zero adapter changes the logits");
  const merged = new LlamaModel(model.config, mergeAdapter(model.kernels, model.weights, model.lora));
  assert.ok(maxDiff(merged.forwardLogits(toks), adapted) < 1e-4);
  const cache = model.createCache(1, 16);
  const V = model.V;
  const pre = model.prefill(cache, [toks.slice(0, 5)], [0]);
  assert.ok(maxDiff(pre, adapted.subarray(4 * V, 5 * V)) < 1e-4);
  const step = model.forwardCached(cache, Int32Array.of(toks[5]!), Int32Array.of(0), [0]);
  assert.ok(maxDiff(step, adapted.subarray(5 * V, 6 * V)) < 1e-4);
  // inference forward passes apply no dropout
  model.lora = randomAdapter(model, { rank: 4, alpha: 8, dropout: 0.5 }, 2);
  assert.ok(maxDiff(model.forward(packSequences([toks]), false).logits, adapted) < 1e-6);
});

test("PEFT folder: save/load round trip; bad adapters are UserErrors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-"));
  try {
    const model = randomModel(ARCH_CONFIGS.llama!, 9);
    const a = randomAdapter(
      model,
      { rank: 2, alpha: 5, dropout: 0.1, targetModules: ["k_proj", "o_proj", "gate_proj"] },
      3,
    );
    saveAdapter(dir, a, { baseModel: "test/base" });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(cfg.peft_type, "LORA");
    assert.equal(cfg.r, 2);
    assert.equal(cfg.lora_alpha, 5);
    const b = loadAdapter(dir, model.config);
    assert.deepEqual(b.config, a.config);
    for (const [k, t] of a.parameters()) assert.deepEqual(b.parameters().get(k)!.data, t.data);
    // wrong base: a model with a different hidden size
    const other = ModelConfigSchema.parse({
      ...ARCH_CONFIGS.llama!,
      hidden_size: 16,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    });
    assert.throws(
      () => loadAdapter(dir, other),
      (e: unknown) => e instanceof UserError && /shape/.test((e as Error).message),
    );
    fs.writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({ ...cfg, use_dora: true }));
    assert.throws(
      () => loadAdapter(dir, model.config),
      (e: unknown) => e instanceof UserError && /use_dora/.test((e as Error).message),
    );
    fs.writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({ ...cfg, target_modules: ["lm_head"] }));
    assert.throws(
      () => loadAdapter(dir, model.config),
      (e: unknown) => e instanceof UserError && /lm_head/.test((e as Error).message),
    );
    fs.writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({ ...cfg, target_modules: ["q_proj"] }));
    assert.throws(
      () => loadAdapter(dir, model.config),
      (e: unknown) => e instanceof UserError && /no tensor/.test((e as Error).message),
    );
    assert.throws(() => loadAdapter(path.join(dir, "nope"), model.config), UserError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const PEFT_PROGRAM = `
import json, sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel, LoraConfig, get_peft_model
torch.set_num_threads(1)
mode, base, adir, toks = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
if mode == "load":
    model = PeftModel.from_pretrained(model, adir)
else:
    cfg = LoraConfig(r=4, lora_alpha=12, lora_dropout=0.0, target_modules=["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj","down_proj"])
    model = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    model.save_pretrained(adir)
model.eval()
with torch.no_grad():
    out = model(input_ids=torch.tensor([toks])).logits[0]
print(json.dumps(out.flatten().tolist()))
`;

for (const arch of ["qwen2", "qwen3"] as const) {
  test(`${arch}: peft loads our adapter with our logits, and we load peft's adapter with its logits (1e-4)`, {
    skip: pythonSkip(),
  }, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peft-${arch}-`));
    try {
      const model = randomModel(ARCH_CONFIGS[arch]!, 21);
      const baseDir = path.join(dir, "base");
      saveHfFolder(baseDir, model.config, model.weights, { dtype: "F32" });
      const toks = Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % model.V);
      // ours -> peft
      model.lora = randomAdapter(
        model,
        { rank: 3, alpha: 7, targetModules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"] },
        4,
      );
      const oursDir = path.join(dir, "ours");
      saveAdapter(oursDir, model.lora);
      const ours = model.forwardLogits(toks);
      const r1 = runPython({ code: PEFT_PROGRAM }, ["load", baseDir, oursDir, JSON.stringify(toks)], {
        timeoutMs: 600_000,
      });
      const theirs1 = JSON.parse(r1.stdout.trim().split("\n").pop()!) as number[];
      const d1 = maxDiff(ours, theirs1);
      // peft -> ours
      const peftDir = path.join(dir, "peft");
      const r2 = runPython({ code: PEFT_PROGRAM }, ["save", baseDir, peftDir, JSON.stringify(toks)], {
        timeoutMs: 600_000,
      });
      const theirs2 = JSON.parse(r2.stdout.trim().split("\n").pop()!) as number[];
      model.lora = loadAdapter(peftDir, model.config);
      assert.equal(model.lora.config.rank, 4);
      assert.equal(model.lora.modules.size, 7 * model.L);
      const d2 = maxDiff(model.forwardLogits(toks), theirs2);
      model.lora = null;
      const baseLogits = model.forwardLogits(toks);
      t.diagnostic(`${arch}: ours->peft max diff ${d1.toExponential(2)}, peft->ours ${d2.toExponential(2)}`);
      assert.ok(
        maxDiff(baseLogits, theirs2) > 1e-3 && maxDiff(baseLogits, theirs1) > 1e-3,
        "the adapters change the logits",
      );
      assert.ok(d1 < 1e-4, `ours->peft logits differ by ${d1}`);
      assert.ok(d2 < 1e-4, `peft->ours logits differ by ${d2}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
