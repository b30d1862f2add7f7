/** `batcoder export`: convert a checkpoint to another format (GGUF for llama.cpp). */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { exportGguf } from "../../engine/gguf.js";
import { pickWeights } from "../../orchestration/models.js";

export const help = `batcoder export CHECKPOINT --format gguf --out FILE [options]

Exports a checkpoint directory (config.json + model.safetensors + tokenizer.json) to a GGUF v3 file that
llama.cpp (and tools built on it: llama-cli, llama-server, node-llama-cpp, ...) can load and run. CHECKPOINT may
also be a run directory: its latest complete checkpoint is used.

  --format gguf         output format (only gguf)
  --out FILE            output file
  --dtype f32|f16       tensor type of the 2-D weights (norms always stay f32)     [f32]
  --name NAME           general.name stored in the file        [checkpoint dir name]

Example:
  batcoder export runs/rl/step-00000200 --format gguf --dtype f16 --out model.gguf
  llama-cli -m model.gguf -p '<|bos|><|doc2code|><|lang:python|>Add two numbers.<|code|>' -n 64

Merge-and-export of a LoRA adapter (PEFT layout) into its base model:
batcoder export MODEL --adapter DIR --format hf|gguf --out PATH [--dtype f32|f16|bf16]
  MODEL is any model reference (checkpoint / run directory, HF folder, hub id from the cache, .gguf file); the
  merged weights W + (alpha/r) B A are written as an HF folder (with the base's tokenizer files) or a GGUF file.
  --allow-download      let a hub id missing from the HF cache be downloaded into it`;

const OptionsSchema = z.object({
  checkpoint: z.string().min(1),
  format: z.literal("gguf"),
  out: z.string().min(1),
  dtype: z.enum(["f32", "f16"]).default("f32"),
  name: z.string().min(1).optional(),
});

export async function run(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        format: { type: "string" },
        out: { type: "string" },
        dtype: { type: "string" },
        name: { type: "string" },
        adapter: { type: "string" },
        "allow-download": { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`batcoder export: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (positionals.length !== 1) {
    console.error(`batcoder export: expected exactly one CHECKPOINT argument\n\n${help}`);
    return 2;
  }
  if (values.adapter !== undefined) {
    const format = values.format;
    if (format !== "hf" && format !== "gguf")
      throw new UserError(`export --adapter: --format must be hf or gguf, got ${String(format)}`);
    if (!values.out) throw new UserError("export --adapter: --out PATH is required");
    const { mergeAndExport } = await import("../../orchestration/lora-export.js");
    const r = await mergeAndExport(positionals[0]!, values.adapter, values.out, {
      format,
      ...(values.dtype ? { dtype: values.dtype } : {}),
      ...(values.name ? { name: values.name } : {}),
      allowDownload: values["allow-download"] ?? false,
    });
    console.log(JSON.stringify(r));
    return 0;
  }
  if (values["allow-download"] !== undefined) throw new UserError("--allow-download only applies with --adapter");
  const parsed = OptionsSchema.safeParse({
    checkpoint: positionals[0],
    format: values.format,
    out: values.out,
    dtype: values.dtype,
    name: values.name,
  });
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ");
    throw new UserError(`export: ${msg}`);
  }
  const o = parsed.data;
  const dir = pickWeights(o.checkpoint).weights;
  let result;
  try {
    result = exportGguf(dir, o.out, { dtype: o.dtype, ...(o.name ? { name: o.name } : {}) });
  } catch (e) {
    throw new UserError(`export failed: ${(e as Error).message}`);
  }
  console.log(
    JSON.stringify({
      format: "gguf",
      checkpoint: dir,
      out: path.resolve(o.out),
      dtype: o.dtype,
      tensors: result.tensors,
      bytes: result.bytes,
    }),
  );
  return 0;
}
