/**
 * `batcoder serve` batching: C concurrent /v1/completions requests against the embedded model (random init,
 * byte tokenizer), served with request batching (one sampler.sample call for everything queued) vs without
 * (maxBatchSequences = 1: one call per request), alternating in the same process over real HTTP.
 *
 *   node dist/bench/eval/serve-bench.js [--preset small] [--concurrency 16] [--max-tokens 32] [--rounds 2]
 */
import { parseArgs } from "node:util";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { OpenAIServer } from "../../src/backends/openai-server.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import type { ModelPreset } from "../../src/engine/config.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string" },
    concurrency: { type: "string" },
    "max-tokens": { type: "string" },
    rounds: { type: "string" },
  },
});
const preset = (values.preset ?? "small") as ModelPreset;
const C = Number(values.concurrency ?? 16);
const maxTokens = Number(values["max-tokens"] ?? 32);
const rounds = Number(values.rounds ?? 2);

async function measure(maxBatch: number): Promise<{ s: number; tokens: number; calls: number }> {
  const policy = createEmbeddedPolicy({ preset, tokenizer: new ByteTokenizer(), seed: 1, modelName: "bench" });
  let calls = 0;
  const server = new OpenAIServer({
    sampler: policy,
    batchWindowMs: 5,
    maxBatchSequences: maxBatch,
    onBatch: () => calls++,
  });
  const base = await server.listen(0, "127.0.0.1");
  try {
    const t0 = performance.now();
    const rs = await Promise.all(
      Array.from({ length: C }, (_, i) =>
        fetch(`${base}/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: `def f${i}(x):\n    return`, max_tokens: maxTokens, temperature: 1, seed: i }),
        }).then((r) => r.json() as Promise<{ usage: { completion_tokens: number } }>),
      ),
    );
    const s = (performance.now() - t0) / 1000;
    return { s, tokens: rs.reduce((a, r) => a + r.usage.completion_tokens, 0), calls };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `embedded model preset '${preset}' (random init, byte tokenizer), ${C} concurrent requests x ${maxTokens} tokens`,
  );
  console.log("| round | unbatched (1 seq/call) | batched (one call) | speed-up |");
  console.log("|---|---|---|---|");
  for (let r = 1; r <= rounds; r++) {
    const a = await measure(1);
    const b = await measure(4096);
    console.log(
      `| ${r} | ${a.s.toFixed(2)} s, ${(a.tokens / a.s).toFixed(0)} tok/s, ${a.calls} calls | ${b.s.toFixed(2)} s, ${(b.tokens / b.s).toFixed(0)} tok/s, ${b.calls} calls | ${(a.s / b.s).toFixed(2)}x |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
