/** `batcoder serve`: an embedded-model checkpoint behind the OpenAI-compatible HTTP API. */
import { parseArgs } from "node:util";
import { z } from "zod";
import { UserError } from "../errors.js";
import { OpenAIServer } from "../../backends/openai-server.js";
import { loadCheckpointSampler } from "../../eval/model.js";

export const help = `batcoder serve CHECKPOINT [--port 8000] [--host 127.0.0.1] [options]

Serves a checkpoint (or the latest checkpoint of a run directory) over the OpenAI-compatible API:
GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streaming and not; logprobs, stop, n,
seed, max_tokens, temperature, top_p). Concurrent requests are batched into one sampling call. Chat messages
are rendered as plain "### User:" / "### Assistant:" turns (the model has no chat training).

  --port N              TCP port (0 = any free port)                    [8000]
  --host ADDR           interface to bind                               [127.0.0.1]
  --model-name NAME     model id reported and accepted                  [the checkpoint's model name]
  --batch-window MS     wait this long for more requests before sampling [5]
  --max-batch N         max sequences (sum of n) per sampling call      [64]`;

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
        port: { type: "string" }, host: { type: "string" }, "model-name": { type: "string" },
        "batch-window": { type: "string" }, "max-batch": { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`batcoder serve: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (positionals.length !== 1) throw new UserError("give exactly one CHECKPOINT directory (see batcoder serve --help)");
  const n = (v: string | undefined, d: number, flag: string) => {
    if (v === undefined) return d;
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x)) throw new UserError(`${flag} expects a number, got '${v}'`);
    return x;
  };
  const parsed = Schema.safeParse({
    checkpoint: positionals[0],
    port: n(values.port, 8000, "--port"),
    host: values.host ?? "127.0.0.1",
    modelName: values["model-name"],
    batchWindowMs: n(values["batch-window"], 5, "--batch-window"),
    maxBatch: n(values["max-batch"], 64, "--max-batch"),
  });
  if (!parsed.success) throw new UserError(`invalid options: ${parsed.error.issues.map((i) => `${String(i.path[0] ?? "")}: ${i.message}`).join("; ")}`);
  const cfg = parsed.data;
  const { sampler, dir } = await loadCheckpointSampler(cfg.checkpoint);
  const server = new OpenAIServer({
    sampler,
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
