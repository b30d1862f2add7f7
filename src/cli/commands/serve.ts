/**
 * `batcoder serve`: an embedded-model checkpoint behind the OpenAI-compatible HTTP API, or (with --training)
 * behind the training APIs: Tinker's protocol (src/backends/tinker/server.ts: TinkerPolicy and the stock `tinker`
 * SDK) under /api/v1, and batcoder's own (src/backends/training-server.ts: RemotePolicy) under /v1/training.
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { OpenAIServer } from "../../backends/openai-server.js";
import { loadCheckpointSampler, loadPolicyFrom } from "../../orchestration/models.js";
import { parseBaseDtype } from "../../backends/model-ref.js";

export const help = `batcoder serve MODEL [--port 8000] [--host 127.0.0.1] [options]
batcoder serve MODEL --training [--port 8001] [--api-key KEY] [--state-dir DIR]

Serves MODEL over the OpenAI-compatible API: a checkpoint (or the latest checkpoint of a run directory), a
Hugging Face model folder, a hub id ORG/NAME (from the HF cache; --allow-download fetches it) or a .gguf file:
GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streaming and not; logprobs, stop, n,
seed, max_tokens, temperature, top_p). Concurrent requests are batched into one sampling call. Chat messages
go through the model's own chat template when it has one (an HF folder or hub id's tokenizer_config.json, a
GGUF's tokenizer.chat_template; add_generation_prompt, generation ends at its end-of-turn tokens); an embedded
checkpoint has none, so its chat messages are plain "### User:" / "### Assistant:" turns.

  --port N              TCP port (0 = any free port)                    [8000]
  --host ADDR           interface to bind                               [127.0.0.1]
  --model-name NAME     model id reported and accepted                  [the checkpoint's model name]
  --batch-window MS     wait this long for more requests before sampling [5]
  --max-batch N         max sequences (sum of n) per sampling call      [64]
  --allow-download      let a hub id missing from the HF cache be downloaded into it
  --adapter DIR         apply a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) to MODEL
  --base-dtype T        storage of the weight matrices, computed in f32: auto (16-bit matrices of the source stay
                        16-bit, the rest f32), bf16, f16 (f32 sources rounded) or f32                  [auto]

Training APIs (--training): serve the checkpoint's full training state (weights, AdamW, step, RNG), or any other
MODEL reference (HF folder, hub id, .gguf; a fresh optimizer), on one port:
- Tinker's protocol (tinker SDK 0.38.0 wire format) under /api/v1/: sessions, create_model, forward_backward
  (protobuf), optim_step, asample with prompt_logprobs, save_weights / save_weights_for_sampler / load_weights with
  tinker:// paths, retrieve_future. For TinkerPolicy (batcoder rl --policy-url URL) and the stock Python SDK
  (TINKER_BASE_URL=URL; its API keys must start with "tml-"). One model per server. create_model's LoRA rank r > 0
  trains a rank-r adapter (alpha 32; train_attn: q/k/v/o, train_mlp: gate/up/down, train_unembed: lm_head) on the
  frozen base; rank 0 trains every weight; a checkpoint that carries an adapter continues it at its rank. A LoRA
  model's tinker://…/weights/… state holds the adapter, its optimizer and RNGs and a reference to the base (path
  and weights hash), not the base: serving such a state loads the base it names (a different base is refused).
- batcoder's own protocol under /v1/training/ (RemotePolicy): info, sample, compute_logprobs, forward_backward,
  optim_step, save_state, load_state, reference/{snapshot,compute_logprobs,sample,release}.
One training op runs at a time.

  --training            serve the training APIs instead of the OpenAI one
  --api-key KEY         require it: "X-API-Key: KEY" (Tinker) / "Authorization: Bearer KEY" (batcoder)
                        (or set BATCODER_API_KEY / TINKER_API_KEY)
  --state-dir DIR       where tinker:// states are written (and the root for /v1/training server-side
                        paths)                                          [./tinker-states for Tinker only]
  --model-name NAME     the base model id Tinker clients name in create_model   [the checkpoint's model name]
  --port N              as above                                        [8001 with --training]
  --host ADDR           as above; binding beyond 127.0.0.1 without --api-key is refused`;

const TrainingSchema = z.object({
  checkpoint: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  modelName: z.string().min(1).optional(),
  apiKey: z.string().min(8, "use at least 8 characters").optional(),
  stateDir: z.string().min(1).optional(),
});

const Schema = z.object({
  checkpoint: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  modelName: z.string().min(1).optional(),
  batchWindowMs: z.number().min(0).max(10_000),
  maxBatch: z.number().int().min(1).max(4096),
});

export async function run(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "model-name": { type: "string" },
        "batch-window": { type: "string" },
        "max-batch": { type: "string" },
        training: { type: "boolean" },
        "api-key": { type: "string" },
        "state-dir": { type: "string" },
        "allow-download": { type: "boolean" },
        adapter: { type: "string" },
        "base-dtype": { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`batcoder serve: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (positionals.length !== 1)
    throw new UserError("give exactly one CHECKPOINT directory (see batcoder serve --help)");
  const n = (v: string | undefined, d: number, flag: string) => {
    if (v === undefined) return d;
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x)) throw new UserError(`${flag} expects a number, got '${v}'`);
    return x;
  };
  if (values.training && values.adapter !== undefined)
    throw new UserError("--adapter is not supported with --training");
  const baseDtype = parseBaseDtype(values["base-dtype"]);
  if (values.training && baseDtype !== undefined)
    throw new UserError(
      "--base-dtype is not supported with --training (the training APIs keep the base in f32: a client may train all weights)",
    );
  if (values.training) return runTraining(positionals[0]!, values, n);
  for (const f of ["api-key", "state-dir"] as const) {
    if (values[f] !== undefined) throw new UserError(`--${f} only applies with --training`);
  }
  const parsed = Schema.safeParse({
    checkpoint: positionals[0],
    port: n(values.port, 8000, "--port"),
    host: values.host ?? "127.0.0.1",
    modelName: values["model-name"],
    batchWindowMs: n(values["batch-window"], 5, "--batch-window"),
    maxBatch: n(values["max-batch"], 64, "--max-batch"),
  });
  if (!parsed.success)
    throw new UserError(
      `invalid options: ${parsed.error.issues.map((i) => `${String(i.path[0] ?? "")}: ${i.message}`).join("; ")}`,
    );
  const cfg = parsed.data;
  const { sampler, dir, chat } = await loadCheckpointSampler(cfg.checkpoint, undefined, {
    allowDownload: values["allow-download"] ?? false,
    baseDtype: baseDtype ?? "auto",
    ...(values.adapter !== undefined ? { adapter: values.adapter } : {}),
  });
  const server = new OpenAIServer({
    sampler,
    chat,
    modelName: cfg.modelName,
    batchWindowMs: cfg.batchWindowMs,
    maxBatchSequences: cfg.maxBatch,
    log: (l) => console.error(l),
  });
  let url: string;
  try {
    url = await server.listen(cfg.port, cfg.host);
  } catch (e) {
    throw new UserError(`cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}`);
  }
  console.error(`batcoder serve: ${server.modelName} (${dir}) at ${url}  — Ctrl-C to stop`);
  console.log(url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      console.error("batcoder serve: shutting down");
      void server.close().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

async function runTraining(
  checkpoint: string,
  values: Record<string, string | boolean | undefined>,
  n: (v: string | undefined, d: number, flag: string) => number,
): Promise<number> {
  for (const f of ["batch-window", "max-batch"] as const) {
    if (values[f] !== undefined)
      throw new UserError(`--${f} does not apply with --training (training ops run one at a time)`);
  }
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const parsed = TrainingSchema.safeParse({
    checkpoint,
    port: n(str("port"), 8001, "--port"),
    host: str("host") ?? "127.0.0.1",
    modelName: str("model-name"),
    apiKey: str("api-key") ?? (process.env.BATCODER_API_KEY || process.env.TINKER_API_KEY || undefined),
    stateDir: str("state-dir"),
  });
  if (!parsed.success)
    throw new UserError(
      `invalid options: ${parsed.error.issues.map((i) => `${String(i.path[0] ?? "")}: ${i.message}`).join("; ")}`,
    );
  const cfg = parsed.data;
  const loopback = cfg.host === "127.0.0.1" || cfg.host === "::1" || cfg.host === "localhost";
  if (!loopback && cfg.apiKey === undefined) {
    throw new UserError(
      `refusing to expose the training API on ${cfg.host} without --api-key (anyone reaching it could change or overwrite the model)`,
    );
  }
  // an embedded checkpoint / run (full training state), or any outside model reference (HF folder, hub id, .gguf:
  // fresh optimizer; a Tinker client's LoRA rank then trains an adapter on its frozen base)
  const { isExternalModelRef, loadPolicyForRef, loadPolicyForLoraState } = await import("../../backends/model-ref.js");
  const { isLoraState } = await import("../../engine/checkpoint.js");
  let policy: Awaited<ReturnType<typeof loadPolicyFrom>>["policy"];
  let dir: string;
  // the base's reference a LoRA model's adapter-only tinker:// states record (absolute path, or the hub id)
  let baseRef: string;
  if (isLoraState(cfg.checkpoint)) {
    // an adapter-only LoRA state (a Tinker LoRA model's save_weights): its base from the reference it records
    const r = await loadPolicyForLoraState(cfg.checkpoint, {
      log: (l) => console.error(l),
      allowDownload: values["allow-download"] === true,
    });
    policy = r.policy;
    dir = cfg.checkpoint;
    baseRef = r.loaded.kind === "hub" ? r.loaded.ref : r.loaded.path;
  } else if (isExternalModelRef(cfg.checkpoint)) {
    const r = await loadPolicyForRef(cfg.checkpoint, {
      log: (l) => console.error(l),
      allowDownload: values["allow-download"] === true,
    });
    policy = r.policy;
    dir = r.loaded.path;
    baseRef = r.loaded.kind === "hub" ? cfg.checkpoint : r.loaded.path;
  } else {
    const r = await loadPolicyFrom(cfg.checkpoint);
    policy = r.policy;
    dir = r.weights.weights;
    baseRef = path.resolve(dir);
  }
  const { TrainingServer } = await import("../../backends/training-server.js");
  if (cfg.stateDir) {
    const fs = await import("node:fs");
    fs.mkdirSync(cfg.stateDir, { recursive: true });
  }
  const legacy = new TrainingServer({
    policy,
    modelName: cfg.modelName,
    apiKey: cfg.apiKey,
    stateRoot: cfg.stateDir,
    log: (l) => console.error(l),
  });
  const { TinkerServer } = await import("../../backends/tinker/server.js");
  const stateRoot = path.resolve(cfg.stateDir ?? "tinker-states");
  const server = new TinkerServer({
    policy,
    baseModel: cfg.modelName,
    baseRef,
    apiKey: cfg.apiKey,
    stateRoot,
    fallback: (req, res) => legacy.server.emit("request", req, res),
    log: (l) => console.error(l),
  });
  let url: string;
  try {
    url = await server.listen(cfg.port, cfg.host);
  } catch (e) {
    throw new UserError(`cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}`);
  }
  console.error(
    `batcoder serve --training: ${server.baseModel} (${dir}, step ${policy.step}) at ${url} — Tinker API ${url}/api/v1 (states in ${stateRoot}), batcoder API ${url}/v1/training — Ctrl-C to stop`,
  );
  console.log(url);
  console.log(`${url}/v1/training`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      console.error("batcoder serve: shutting down");
      void server.close().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
