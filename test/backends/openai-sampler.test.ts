/**
 * --sampler-url: rollouts from an OpenAI-compatible server. Token ids in and out with `batcoder serve` (vLLM's
 * return_tokens_as_token_ids / stop_token_ids / prompt_logprobs), a loud text fallback for servers without them,
 * and the RL loop's sampler/trainer mismatch: logged, corrected with truncated importance sampling.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { OpenAIServer } from "../../src/backends/openai-server.js";
import { OpenAIClient } from "../../src/backends/openai-client.js";
import { OpenAISampler } from "../../src/backends/openai-sampler.js";
import type { SampleRequest } from "../../src/core/policy.js";
import { trainRL, samplerMismatch } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import { readJsonl } from "../../src/core/jsonl.js";
import type { CodeItem } from "../../src/rl/data.js";
import { lowercaseToyReward, TINY_MODEL } from "../rl/helpers.js";

const tok = new ByteTokenizer();
const make = (seed = 4) => createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: tok, seed, maxSampleBatch: 1 });

async function serveOpenAI(seed = 4) {
  const policy = make(seed);
  const server = new OpenAIServer({ sampler: policy, modelName: "tiny", batchWindowMs: 0 });
  const url = await server.listen(0);
  return { policy, server, url };
}

/** A proxy in front of an OpenAI server: `refuse` answers 400 to token-id requests; `textOnly` drops token ids. */
async function proxy(target: string, how: "refuse" | "textOnly") {
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const j = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if (how === "refuse" && j.return_tokens_as_token_ids !== undefined) {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end(
          JSON.stringify({ error: { message: "Unrecognized request argument supplied: return_tokens_as_token_ids" } }),
        );
      }
      if (how === "textOnly") {
        delete j.return_tokens_as_token_ids;
        delete j.stop_token_ids;
      }
      const up = await fetch(target.replace(/\/v1$/, "") + (req.url ?? ""), {
        method: req.method,
        headers: { "content-type": "application/json" },
        body: req.method === "POST" ? JSON.stringify(j) : undefined,
      });
      res.writeHead(up.status, { "content-type": "application/json" });
      res.end(await up.text());
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1`,
    close: () => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

const req: SampleRequest = {
  prompt: [tok.bosId, ...tok.encode("def add(a, b):")],
  n: 2,
  params: { maxTokens: 6, temperature: 1, seed: 17 },
};

test("token ids in and out with batcoder serve: exactly the policy's own samples and log-probs", async () => {
  const { policy, server, url } = await serveOpenAI();
  try {
    const s = new OpenAISampler(new OpenAIClient({ baseUrl: url }), tok, () => assert.fail("no fallback expected"));
    const got = await s.sample([req]);
    assert.equal(s.mode, "tokens");
    assert.deepEqual(got, await policy.sample([req]));
    // prompt_logprobs: the prompt tokens' own log-probs, as computeLogprobs gives them
    const r = (await (
      await fetch(`${url}/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", prompt: req.prompt, max_tokens: 1, prompt_logprobs: 0 }),
      })
    ).json()) as { choices: { prompt_logprobs: (Record<string, { logprob: number }> | null)[] }[] };
    const pl = r.choices[0]!.prompt_logprobs;
    assert.equal(pl[0], null);
    const want = (
      await policy.computeLogprobs([
        {
          modelInput: req.prompt.slice(0, -1),
          lossInputs: { targetTokens: req.prompt.slice(1), weights: req.prompt.slice(1).map(() => 1) },
        },
      ])
    )[0]!;
    assert.deepEqual(
      pl.slice(1).map((e, i) => e![String(req.prompt[i + 1])]!.logprob),
      want,
    );
    const bad = await fetch(`${url}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", prompt: "x", prompt_logprobs: 3 }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /prompt_logprobs' supports only 0/);
  } finally {
    await server.close();
  }
});

test("a server without token ids: a loud text fallback (refused or ignored), no sampler log-probs", async () => {
  const { server, url } = await serveOpenAI();
  try {
    for (const how of ["refuse", "textOnly"] as const) {
      const p = await proxy(url, how);
      try {
        const lines: string[] = [];
        const s = new OpenAISampler(new OpenAIClient({ baseUrl: p.url, retries: 0 }), tok, (l) => lines.push(l));
        const got = await s.sample([req]);
        assert.equal(s.mode, "text", how);
        assert.equal(lines.length, 1, `${how}: warned once`);
        assert.match(lines[0]!, /WARNING: sampler .* falling back to TEXT mode .*truncated IS off/);
        assert.equal(got[0]!.length, 2);
        for (const q of got[0]!) {
          assert.ok(
            q.logprobs.every((x) => Number.isNaN(x)),
            "no sampler log-probs in text mode",
          );
          assert.equal(tok.decode(q.tokens.filter((t) => t !== tok.eosId)), q.text, "text re-tokenised locally");
        }
        await s.sample([req]);
        assert.equal(lines.length, 1, "the warning is said once");
      } finally {
        await p.close();
      }
    }
  } finally {
    await server.close();
  }
});

test("samplerMismatch: |Δ logprob|, ratio percentiles, truncated IS weights", () => {
  const m = samplerMismatch([[-1, -2, -3]], [[-1, -2 - Math.log(4), -3]], 2);
  assert.deepEqual(m.weights, [[1, 2, 1]]);
  assert.ok(Math.abs(m.metrics["mismatch/mean_abs_dlogp"]! - Math.log(4) / 3) < 1e-12);
  assert.equal(m.metrics["mismatch/ratio_p50"], 1);
  assert.ok(Math.abs(m.metrics["mismatch/ratio_max"]! - 4) < 1e-12);
  assert.ok(Math.abs(m.metrics["mismatch/tis_truncated_frac"]! - 1 / 3) < 1e-12);
  const none = samplerMismatch([[-1]], [[NaN]], 2);
  assert.equal(none.weights, null);
  assert.equal(none.metrics["mismatch/unavailable"], 1);
});

test("trainRL with rollouts from batcoder serve: the growing mismatch is logged and corrected (TIS)", async () => {
  const items: CodeItem[] = Array.from({ length: 4 }, (_, i) => ({
    id: `f${i}`,
    lang: "python",
    code: `def f${i}(x):\n    return x - ${i}\n`,
  }));
  const cfg = parseConfig({
    max_steps: 3,
    rollout_batch_size: 2,
    num_docs_per_code: 2,
    num_codes_per_doc: 2,
    max_doc_tokens: 5,
    max_rebuild_tokens: 5,
    learning_rate: 0.05,
    kl_coef: 0,
    save_steps: 3,
    eval_at_start: false,
    eval_at_end: false,
    tis_cap: 1.5,
  });
  const { server, url } = await serveOpenAI(9); // the sampler keeps the initial weights
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-sampler-url-"));
  try {
    const policy = make(9);
    const sampler = new OpenAISampler(new OpenAIClient({ baseUrl: url }), tok, () =>
      assert.fail("no fallback expected"),
    );
    await trainRL({
      config: cfg,
      policy,
      reward: lowercaseToyReward,
      train: items,
      runDir: dir,
      rolloutSampler: sampler,
    });
    const m = readJsonl<Record<string, number>>(path.join(dir, "metrics.jsonl"));
    assert.equal(m.length, 3);
    assert.ok(
      m[0]!["mismatch/mean_abs_dlogp"]! < 1e-4,
      `same weights at step 1: |Δ| = ${m[0]!["mismatch/mean_abs_dlogp"]}`,
    );
    assert.ok(
      m[2]!["mismatch/mean_abs_dlogp"]! > 10 * m[0]!["mismatch/mean_abs_dlogp"]!,
      "the trainer moved away from the (stale) sampler",
    );
    for (const x of m) {
      for (const k of ["mismatch/ratio_p05", "mismatch/ratio_p50", "mismatch/ratio_p95", "mismatch/tis_truncated_frac"])
        assert.ok(Number.isFinite(x[k]), k);
      assert.equal(x["mismatch/unavailable"], 0);
      assert.ok(Number.isFinite(x.loss));
    }
    // the correction is applied: without it (tis_cap 0) the same run ends elsewhere
    const plain = make(9),
      dir2 = fs.mkdtempSync(path.join(os.tmpdir(), "bc-sampler-url-"));
    await trainRL({
      config: { ...cfg, tis_cap: 0 },
      policy: plain,
      reward: lowercaseToyReward,
      train: items,
      runDir: dir2,
      rolloutSampler: sampler,
    });
    fs.rmSync(dir2, { recursive: true, force: true });
    const w = (p: ReturnType<typeof make>) => Array.from(p.llama.weights.get("model.norm.weight")!.data);
    assert.notDeepEqual(w(plain), w(policy), "truncated IS changed the updates");
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
