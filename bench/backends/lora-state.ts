/**
 * Size and save/load time of a LoRA model's training state: the full state (base weights + adapter + AdamW + RNG,
 * what a Tinker `tinker://…/weights/…` state of a LoRA model held before) vs the adapter-only state the Tinker
 * server now writes for LoRA models (adapter in the PEFT layout + its AdamW moments + RNGs + base.json: the base's
 * reference and weights SHA-256). The adapter is Tinker's default (rank r on q/k/v/o, gate/up/down and lm_head), one
 * optimizer step taken so the moments exist. Both sides run in one process, interleaved, median of `--reps`.
 *
 *   node dist/bench/backends/lora-state.js [--preset small] [--vocab 0] [--rank 16] [--reps 3]
 *
 * `--vocab N` widens the vocabulary (the LM head and embedding grow; 0 = the byte tokenizer's own).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { MODEL_PRESETS, type ModelPreset } from "../../src/engine/config.js";
import { engineInfo } from "../../src/engine/kernels.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { TINKER_LORA_ALPHA, tinkerLoraTargets } from "../../src/backends/tinker/server.js";
import type { Datum } from "../../src/core/policy.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "small" },
    vocab: { type: "string", default: "0" },
    rank: { type: "string", default: "16" },
    reps: { type: "string", default: "3" },
  },
});
const presetName = values.preset as ModelPreset;
if (!MODEL_PRESETS[presetName]) throw new Error(`unknown preset ${presetName}`);
const tok = new ByteTokenizer();
const vocab = Number(values.vocab);
const policy = createEmbeddedPolicy({
  preset: presetName,
  ...(vocab > 0 ? { config: { ...MODEL_PRESETS[presetName], vocab_size: vocab } } : {}),
  tokenizer: tok,
  seed: 1,
});
const rank = Number(values.rank);
const adapter = policy.attachLora({ rank, alpha: TINKER_LORA_ALPHA, targetModules: tinkerLoraTargets({}) }, 0);
const text = tok.encode("def add(a, b):\n    return a + b\n");
const d: Datum = {
  modelInput: text.slice(0, -1),
  lossInputs: { targetTokens: text.slice(1), weights: text.slice(1).map(() => 1) },
};
await policy.forwardBackward([d], { kind: "cross_entropy" });
await policy.optimStep({ learningRate: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bc-lora-state-"));
const bytes = (dir: string): number => {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? bytes(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size;
  return n;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const t = { fullSave: [] as number[], slimSave: [] as number[], fullLoad: [] as number[], slimLoad: [] as number[] };
const full = path.join(root, "full"),
  slim = path.join(root, "slim");
try {
  for (let i = 0; i < Number(values.reps); i++) {
    let a = performance.now();
    await policy.saveState(full);
    t.fullSave.push(performance.now() - a);
    a = performance.now();
    await policy.saveAdapterState(slim, { model: `preset:${presetName}` });
    t.slimSave.push(performance.now() - a);
    a = performance.now();
    await policy.loadState(full);
    t.fullLoad.push(performance.now() - a);
    a = performance.now();
    await policy.loadState(slim);
    t.slimLoad.push(performance.now() - a);
  }
  const fb = bytes(full),
    sb = bytes(slim);
  const info = engineInfo();
  console.log(
    `preset ${presetName}${vocab > 0 ? ` (vocab ${vocab})` : ""}: ${policy.llama.nParams().toLocaleString("en-US")} base params, ` +
      `LoRA rank ${rank} on ${adapter.config.targetModules.join("/")}: ${adapter.nParams().toLocaleString("en-US")} ` +
      `adapter params; kernels ${info.kernels}, ${info.threads} threads`,
  );
  console.log(
    `files: full ${fs.readdirSync(full).sort().join(", ")}; adapter-only ${fs.readdirSync(slim).sort().join(", ")}`,
  );
  console.log(`| | full state (before) | adapter-only (now) | ratio |`);
  console.log(`|---|---|---|---|`);
  console.log(
    `| bytes on disk | ${fb.toLocaleString("en-US")} | ${sb.toLocaleString("en-US")} | ×${(sb / fb).toFixed(3)} |`,
  );
  const row = (what: string, x: number[], y: number[]) =>
    console.log(
      `| ${what}, median ms | ${median(x).toFixed(1)} | ${median(y).toFixed(1)} | ×${(median(y) / median(x)).toFixed(2)} |`,
    );
  row("save", t.fullSave, t.slimSave);
  row("load", t.fullLoad, t.slimLoad);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
