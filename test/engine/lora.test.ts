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
import {
  LORA_TARGETS,
  LoraAdapter,
  loadAdapter,
  mergeAdapter,
  PEFT_LM_HEAD_BASE,
  saveAdapter,
} from "../../src/engine/lora.js";
import { readSafetensors, writeSafetensors } from "../../src/engine/safetensors.js";
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
      test(`[${K.name}] ${arch} LoRA incl. lm_head (dropout ${dropout}): adapter gradients match finite differences; base gets none`, () => {
        // qwen2 ties its embeddings (the lm_head adapter sits on the embedding matrix used as output projection),
        // qwen3 does not
        const model = randomModel(ARCH_CONFIGS[arch]!, 3);
        model.kernels = K;
        const lora = randomAdapter(model, { rank: 3, alpha: 6, dropout, targetModules: [...LORA_TARGETS] }, 5);
        model.lora = lora;
        const ds = datums(model.V, 11);
        const spec = { kind: "cross_entropy" } as const;
        const grads = model.zeroGrads();
        assert.deepEqual(
          [...grads.keys()].sort(),
          [...lora.parameters().keys()].sort(),
          "gradients exist for the adapter only",
        );
        assert.equal(grads.size, 2 * (7 * model.L + 1));
        assert.ok(grads.has("lm_head.lora_A.weight") && grads.has("lm_head.lora_B.weight"));
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
  const m = mergeAdapter(model.kernels, model.config, model.weights, model.lora);
  assert.equal(m.config, model.config, "no lm_head adapter: the config is unchanged");
  const merged = new LlamaModel(m.config, m.weights);
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

for (const arch of ["qwen2", "qwen3"] as const) {
  test(`${arch} (${arch === "qwen2" ? "tied" : "untied"}): an lm_head adapter adapts the output projection only; merge unties; cached paths agree`, () => {
    const model = randomModel(ARCH_CONFIGS[arch]!, 12);
    const tied = model.config.tie_word_embeddings;
    assert.equal(tied, arch === "qwen2");
    const toks = [3, 5, 7, 11, 13, 17, 19, 23];
    const base = model.forwardLogits(toks);
    const E = model.weights.get("model.embed_tokens.weight")!.data.slice();
    model.lora = randomAdapter(model, { rank: 3, alpha: 5, targetModules: ["lm_head"] }, 4);
    const head = model.lora.modules.get("lm_head")!;
    assert.deepEqual([head.inDim, head.outDim], [model.d, model.V]);
    const adapted = model.forwardLogits(toks);
    // logits = base logits + scale (xf A^T) B^T: the input embedding is untouched, so only the last step differs;
    // check it directly from the final hidden states
    const fc = model.forward(packSequences([toks]), true);
    const N = toks.length,
      V = model.V,
      d = model.d,
      r = 3;
    let worst = 0;
    for (let i = 0; i < N; i++) {
      const xa = new Float64Array(r);
      for (let k = 0; k < r; k++) for (let j = 0; j < d; j++) xa[k]! += fc.xf[i * d + j]! * head.A.data[k * d + j]!;
      for (let v = 0; v < V; v++) {
        let delta = 0;
        for (let k = 0; k < r; k++) delta += xa[k]! * head.B.data[v * r + k]!;
        worst = Math.max(worst, Math.abs(base[i * V + v]! + model.lora.scale * delta - adapted[i * V + v]!));
      }
    }
    assert.ok(worst < 1e-5, `adapted = base + scale xf A^T B^T (max diff ${worst})`);
    assert.ok(maxDiff(adapted, base) > 1e-3, "the adapter changes the logits");
    assert.deepEqual(model.weights.get("model.embed_tokens.weight")!.data, E, "the embedding is not modified");
    // merge: its own lm_head = (E or W) + scale B A; a tied model comes out untied with the embedding unchanged
    const mg = mergeAdapter(model.kernels, model.config, model.weights, model.lora);
    assert.equal(mg.config.tie_word_embeddings, false);
    assert.ok(mg.weights.has("lm_head.weight"));
    assert.deepEqual(mg.weights.get("model.embed_tokens.weight")!.data, E, "merge leaves the input embedding as is");
    const merged = new LlamaModel(mg.config, mg.weights);
    assert.ok(maxDiff(merged.forwardLogits(toks), adapted) < 1e-5, "merged = base + adapter");
    // prefill / forwardCached (sampling) and datum scoring go through the same LM head
    const cache = model.createCache(2, 16);
    const pre = model.prefill(cache, [toks.slice(0, 5), toks.slice(0, 3)], [0, 1]);
    assert.ok(maxDiff(pre.subarray(0, V), adapted.subarray(4 * V, 5 * V)) < 1e-5);
    assert.ok(maxDiff(pre.subarray(V, 2 * V), adapted.subarray(2 * V, 3 * V)) < 1e-5);
    const step = model.forwardCached(cache, Int32Array.of(toks[5]!, toks[3]!), Int32Array.of(0, 1), [0, 1]);
    assert.ok(maxDiff(step.subarray(0, V), adapted.subarray(5 * V, 6 * V)) < 1e-5);
    assert.ok(maxDiff(step.subarray(V, 2 * V), adapted.subarray(3 * V, 4 * V)) < 1e-5);
    assert.deepEqual(model.generateGreedy(toks.slice(0, 4), 4, []), merged.generateGreedy(toks.slice(0, 4), 4, []));
  });
}

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
    fs.writeFileSync(
      path.join(dir, "adapter_config.json"),
      JSON.stringify({ ...cfg, target_modules: ["embed_tokens"] }),
    );
    assert.throws(
      () => loadAdapter(dir, model.config),
      (e: unknown) => e instanceof UserError && /target module "embed_tokens".*lm_head/.test((e as Error).message),
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

test("PEFT folder with lm_head: keys as PEFT writes them; PEFT's copy of the base LM head is checked, never loaded", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-head-"));
  try {
    const model = randomModel(ARCH_CONFIGS.llama!, 13); // tied embeddings
    const a = randomAdapter(model, { rank: 2, alpha: 4, targetModules: ["v_proj", "lm_head"] }, 8);
    saveAdapter(dir, a);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(cfg.target_modules, ["v_proj", "lm_head"]);
    const keys = [...readSafetensors(path.join(dir, "adapter_model.safetensors")).tensors.keys()].sort();
    assert.ok(keys.includes("base_model.model.lm_head.lora_A.weight"));
    assert.ok(keys.includes("base_model.model.lm_head.lora_B.weight"));
    assert.equal(keys.length, 2 * (model.L + 1), "ours holds only the adapter (no copy of the LM head)");
    const b = loadAdapter(dir, model.config, model.weights);
    for (const [k, t] of a.parameters()) assert.deepEqual(b.parameters().get(k)!.data, t.data, k);
    // PEFT (save_embedding_layers="auto") adds lm_head.base_layer.weight: equal to the base's (here the tied
    // embedding, stored in bf16 as a bf16 checkpoint would give it) it is accepted ...
    const tensors = readSafetensors(path.join(dir, "adapter_model.safetensors")).tensors;
    const E = model.weights.get("model.embed_tokens.weight")!.data as Float32Array;
    const bits = new Uint16Array(E.length);
    model.kernels.f32ToHalf(E, "bf16", bits, E.length);
    const withCopy = (data: Uint16Array | Float32Array) => {
      const t = new Map(tensors);
      t.set(PEFT_LM_HEAD_BASE, {
        dtype: data instanceof Uint16Array ? "BF16" : "F32",
        shape: [model.V, model.d],
        data,
      });
      writeSafetensors(path.join(dir, "adapter_model.safetensors"), t, { format: "pt" });
    };
    withCopy(bits);
    const c = loadAdapter(dir, model.config, model.weights);
    for (const [k, t] of a.parameters()) assert.deepEqual(c.parameters().get(k)!.data, t.data, k);
    assert.deepEqual(model.weights.get("model.embed_tokens.weight")!.data, E, "the base is not overwritten");
    // ... a different one (another base, a resized vocabulary) is refused, naming it
    const other = E.slice();
    other[17] = other[17]! + 0.5;
    withCopy(other);
    assert.throws(
      () => loadAdapter(dir, model.config, model.weights),
      (e: unknown) =>
        e instanceof UserError &&
        /lm_head\.base_layer\.weight.*differs from this base model's.*at value 17/.test((e as Error).message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const PEFT_PROGRAM = `
import json, sys, warnings, torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM
from peft import PeftModel, LoraConfig, get_peft_model
torch.set_num_threads(1)
mode, base, adir, toks, targets = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5])
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if mode == "load":
        model = PeftModel.from_pretrained(model, adir)
    else:
        cfg = LoraConfig(r=4, lora_alpha=12, lora_dropout=0.0, target_modules=targets)
        model = get_peft_model(model, cfg)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        model.save_pretrained(adir)
        with safe_open(adir + "/adapter_model.safetensors", "pt") as f:
            out["keys"] = sorted(f.keys())
    model.eval()
    with torch.no_grad():
        ids = torch.tensor([toks])
        out["logits"] = model(input_ids=ids).logits[0].flatten().tolist()
        if mode == "save":
            # what PEFT's own merge gives (on a tied model the delta lands in the one shared tensor)
            emb = model.get_input_embeddings().weight.detach().clone()
            merged = model.merge_and_unload()
            out["merge_moved_embedding"] = bool((merged.get_input_embeddings().weight != emb).any())
            out["merged_logits"] = merged(input_ids=ids).logits[0].flatten().tolist()
out["warnings"] = sorted({str(w.message)[:90] for w in caught if "tie" in str(w.message)})
print(json.dumps(out))
`;

for (const arch of ["qwen2", "qwen3"] as const) {
  test(`${arch} (${arch === "qwen2" ? "tied" : "untied"}): peft loads our adapter (lm_head included) with our logits, and we load peft's with its logits (1e-4)`, {
    skip: pythonSkip(),
  }, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peft-${arch}-`));
    try {
      const model = randomModel(ARCH_CONFIGS[arch]!, 21);
      const baseDir = path.join(dir, "base");
      saveHfFolder(baseDir, model.config, model.weights, { dtype: "F32" });
      const toks = Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % model.V);
      const py = (mode: string, adir: string, targets: string[]) =>
        JSON.parse(
          runPython({ code: PEFT_PROGRAM }, [mode, baseDir, adir, JSON.stringify(toks), JSON.stringify(targets)], {
            timeoutMs: 600_000,
          })
            .stdout.trim()
            .split("\n")
            .pop()!,
        ) as {
          logits: number[];
          keys?: string[];
          merge_moved_embedding?: boolean;
          merged_logits?: number[];
          warnings: string[];
        };
      // ours -> peft
      model.lora = randomAdapter(
        model,
        { rank: 3, alpha: 7, targetModules: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj", "lm_head"] },
        4,
      );
      const oursDir = path.join(dir, "ours");
      saveAdapter(oursDir, model.lora);
      const ours = model.forwardLogits(toks);
      const r1 = py("load", oursDir, []);
      const d1 = maxDiff(ours, r1.logits);
      // peft -> ours
      const peftDir = path.join(dir, "peft");
      const all = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"];
      const r2 = py("save", peftDir, all);
      // PEFT's own key names: base_model.model.lm_head.lora_{A,B}.weight, plus its copy of the base LM head
      assert.ok(r2.keys!.includes("base_model.model.lm_head.lora_A.weight"));
      assert.ok(r2.keys!.includes("base_model.model.lm_head.lora_B.weight"));
      assert.ok(r2.keys!.includes(PEFT_LM_HEAD_BASE), r2.keys!.join(", "));
      model.lora = loadAdapter(peftDir, model.config, model.weights);
      assert.equal(model.lora.config.rank, 4);
      assert.equal(model.lora.modules.size, 7 * model.L + 1);
      const adapted = model.forwardLogits(toks);
      const d2 = maxDiff(adapted, r2.logits);
      // our merge unties a tied model and equals the adapted model; PEFT's merge_and_unload on a tied model puts the
      // delta into the shared tensor (the input embedding moves too), so its merged model is not the adapted one
      const mg = mergeAdapter(model.kernels, model.config, model.weights, model.lora);
      const d3 = maxDiff(new LlamaModel(mg.config, mg.weights).forwardLogits(toks), adapted);
      const dPeftMerge = maxDiff(r2.merged_logits!, r2.logits);
      model.lora = null;
      const baseLogits = model.forwardLogits(toks);
      t.diagnostic(
        `${arch}: ours->peft max diff ${d1.toExponential(2)}, peft->ours ${d2.toExponential(2)}, our merge ${d3.toExponential(2)}; ` +
          `PEFT merge_and_unload moved the input embedding: ${r2.merge_moved_embedding}, its merged vs adapted logits ` +
          `${dPeftMerge.toExponential(2)}; PEFT warnings: ${r2.warnings.join(" | ") || "none"}`,
      );
      assert.ok(
        maxDiff(baseLogits, r2.logits) > 1e-3 && maxDiff(baseLogits, r1.logits) > 1e-3,
        "the adapters change the logits",
      );
      assert.ok(d1 < 1e-4, `ours->peft logits differ by ${d1}`);
      assert.ok(d2 < 1e-4, `peft->ours logits differ by ${d2}`);
      assert.ok(d3 < 1e-4, `our merged model differs from the adapted one by ${d3}`);
      assert.equal(mg.config.tie_word_embeddings, false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
