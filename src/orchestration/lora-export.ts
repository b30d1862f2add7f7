/**
 * Merge-and-export of a LoRA adapter: base model reference + PEFT adapter folder -> one model with W + scale B A
 * (an lm_head adapter on a tied model gives an untied model: its own lm_head, the embedding unchanged),
 * written as a Hugging Face folder (safetensors; the base's tokenizer / generation files copied along) or a GGUF
 * file llama.cpp runs (the base's own tokenizer: embedded BPE or the GGUF's tokenizer metadata).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { loadModel, tokenizerFor, type LoadModelOptions } from "../backends/model-ref.js";
import { mergeAdapter } from "../engine/lora.js";
import { saveHfFolder, type HfWeightDtype } from "../engine/hf.js";
import { exportModelGguf, type GgufTokenizerData } from "../engine/gguf.js";
import type { BpeTokenizer } from "../engine/tokenizer.js";

export interface MergeExportOptions extends Omit<LoadModelOptions, "adapter"> {
  format: "hf" | "gguf";
  /** HF: F32 / F16 / BF16 (default F32); GGUF: f32 / f16 (default f32). */
  dtype?: string;
  name?: string;
}

/** Files of an HF folder that travel with merged weights. */
const HF_SIDE_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "generation_config.json",
  "special_tokens_map.json",
  "chat_template.jinja",
];

export async function mergeAndExport(
  modelRef: string,
  adapterDir: string,
  out: string,
  opts: MergeExportOptions,
): Promise<{ format: string; out: string; tensors: number; bytes: number; description: string }> {
  const loaded = await loadModel(modelRef, { ...opts, adapter: adapterDir });
  const lora = loaded.model.lora!;
  // an lm_head adapter on a tied model unties it: the merged config has its own lm_head (see mergeAdapter)
  const { config, weights: merged } = mergeAdapter(loaded.model.kernels, loaded.config, loaded.model.weights, lora);
  if (opts.format === "hf") {
    const dtype = (opts.dtype ?? "F32").toUpperCase();
    if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16")
      throw new UserError(`export --format hf: --dtype must be f32, f16 or bf16, got ${opts.dtype}`);
    const extraFiles: Record<string, string> = {};
    const srcDir = fs.statSync(loaded.path).isDirectory() ? loaded.path : path.dirname(loaded.path);
    for (const f of HF_SIDE_FILES) {
      const p = path.join(srcDir, f);
      if (fs.existsSync(p)) extraFiles[f] = fs.readFileSync(p, "utf8");
    }
    saveHfFolder(out, config, merged, { dtype: dtype as HfWeightDtype, extraFiles });
    let bytes = 0;
    for (const f of fs.readdirSync(out)) bytes += fs.statSync(path.join(out, f)).size;
    return { format: "hf", out: path.resolve(out), tensors: merged.size, bytes, description: loaded.description };
  }
  const dtype = (opts.dtype ?? "f32").toLowerCase();
  if (dtype !== "f32" && dtype !== "f16")
    throw new UserError(`export --format gguf: --dtype must be f32 or f16, got ${opts.dtype}`);
  let tok: BpeTokenizer | GgufTokenizerData;
  if (loaded.tokenizer?.kind === "gguf") tok = loaded.tokenizer.data;
  else tok = tokenizerFor(loaded);
  const r = exportModelGguf(out, config, merged, tok, {
    dtype,
    name: opts.name ?? `${path.basename(loaded.path)}+lora`,
  });
  return { format: "gguf", out: path.resolve(out), ...r, description: loaded.description };
}
