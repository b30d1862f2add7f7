/**
 * The OpenAI-compatible server backed by the REAL embedded model (a tiny random-init LLaMA built here) and the
 * HTTP client talking to it over real HTTP.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { OpenAIServer } from "../../src/backends/openai-server.js";
import { OpenAIClient } from "../../src/backends/openai-client.js";
import { evaluateBenchmark } from "../../src/eval/evaluate.js";
import { SamplerGenerator, renderChatPrompt } from "../../src/core/generator.js";

const tok = new ByteTokenizer();
const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 2048,
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bc-openai-"));

let policy: EmbeddedPolicy;
let server: OpenAIServer;
let base: string;
const batches: { requests: number; sequences: number }[] = [];

async function post(route: string, body: unknown, raw?: string): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${base}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function sseEvents(text: string): any[] {
  const out: any[] = [];
  for (const block of text.split("\n\n")) {
    if (!block.startsWith("data: ")) continue;
    const d = block.slice(6);
    out.push(d === "[DONE]" ? "[DONE]" : JSON.parse(d));
  }
  return out;
}

function expectError(r: { status: number; json: any }, status: number, param?: string | null, code?: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.ok(r.json && r.json.error, "OpenAI error body");
  assert.equal(typeof r.json.error.message, "string");
  assert.ok(r.json.error.message.length > 0);
  assert.ok("type" in r.json.error && "param" in r.json.error && "code" in r.json.error);
  if (param !== undefined) assert.equal(r.json.error.param, param);
  if (code !== undefined) assert.equal(r.json.error.code, code);
}

describe("OpenAI-compatible server + client on the embedded model", () => {
  before(async () => {
    policy = createEmbeddedPolicy({ config, tokenizer: tok, seed: 7, modelName: "tiny-test" });
    server = new OpenAIServer({ sampler: policy, batchWindowMs: 20, onBatch: (b) => batches.push(b) });
    base = await server.listen(0, "127.0.0.1");
  });
  after(async () => {
    await server.close();
  });

  it("GET /v1/models lists the served model", async () => {
    const r = await (await fetch(`${base}/models`)).json();
    assert.equal(r.object, "list");
    assert.equal(r.data[0].id, "tiny-test");
    assert.equal((await fetch(`${base}/models/tiny-test`)).status, 200);
    assert.equal((await fetch(`${base}/models/other`)).status, 404);
  });

  it("completions: seeded sampling equals the sampler's own output; n, max_tokens, usage", async () => {
    const body = { model: "tiny-test", prompt: "def add(a, b):", max_tokens: 12, temperature: 0.9, n: 3, seed: 42 };
    const r = await post("/completions", body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, "text_completion");
    assert.equal(r.json.choices.length, 3);
    const direct = await policy.sample([
      {
        prompt: [tok.bosId, ...tok.encode(body.prompt)],
        n: 3,
        params: { maxTokens: 12, temperature: 0.9, topP: 1, seed: 42 },
      },
    ]);
    assert.deepEqual(
      r.json.choices.map((c: any) => c.text),
      direct[0]!.map((s) => s.text),
    );
    assert.deepEqual(
      r.json.choices.map((c: any) => c.index),
      [0, 1, 2],
    );
    for (const c of r.json.choices) assert.ok(["stop", "length"].includes(c.finish_reason));
    const again = await post("/completions", body);
    assert.deepEqual(
      again.json.choices.map((c: any) => c.text),
      r.json.choices.map((c: any) => c.text),
      "same seed, same text",
    );
    assert.equal(r.json.usage.prompt_tokens, 1 + tok.encode(body.prompt).length);
    assert.ok(r.json.usage.completion_tokens <= 36);
    assert.equal(r.json.usage.total_tokens, r.json.usage.prompt_tokens + r.json.usage.completion_tokens);
  });

  it("completions: a list of prompts gives n choices each; default max_tokens is 16", async () => {
    const r = await post("/completions", { prompt: ["a", "b"], n: 2, seed: 1, temperature: 1 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.choices.map((c: any) => c.index),
      [0, 1, 2, 3],
    );
    assert.ok(r.json.usage.completion_tokens <= 4 * 16);
  });

  it("stop strings cut the text; greedy (temperature 0) is deterministic", async () => {
    const free = await post("/completions", { prompt: "x = ", max_tokens: 40, temperature: 0 });
    const text: string = free.json.choices[0].text;
    assert.ok(text.length >= 4, "the tiny model produced text");
    const stop = text.slice(2, 4);
    const r = await post("/completions", { prompt: "x = ", max_tokens: 40, temperature: 0, stop: [stop] });
    assert.equal(r.json.choices[0].text, text.slice(0, text.indexOf(stop)));
    assert.equal(r.json.choices[0].finish_reason, "stop");
  });

  it("logprobs: one finite non-positive log-prob per returned token; tokens spell the text", async () => {
    const r = await post("/completions", { prompt: "hello", max_tokens: 10, temperature: 1, seed: 3, logprobs: 1 });
    const c = r.json.choices[0];
    const lp = c.logprobs;
    assert.equal(lp.tokens.length, lp.token_logprobs.length);
    assert.equal(lp.tokens.length, lp.text_offset.length);
    for (const x of lp.token_logprobs) assert.ok(Number.isFinite(x) && x <= 0);
    if (!c.text.includes("\uFFFD")) assert.equal(lp.tokens.join(""), c.text);
    const chat = await post("/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 6,
      seed: 3,
      logprobs: true,
      top_logprobs: 1,
    });
    assert.equal(chat.status, 200, chat.text);
    for (const t of chat.json.choices[0].logprobs.content) {
      assert.ok(t.logprob <= 0 && Array.isArray(t.bytes) && t.top_logprobs.length === 1);
    }
  });

  it("streaming: SSE chunks concatenate to the non-streamed text, then [DONE]", async () => {
    const body = { prompt: "for i in", max_tokens: 15, temperature: 1, seed: 9, n: 2 };
    const plain = await post("/completions", body);
    const res = await fetch(`${base}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = sseEvents(await res.text());
    assert.equal(events[events.length - 1], "[DONE]");
    const chunks = events.slice(0, -1);
    const texts = ["", ""];
    for (const e of chunks) for (const ch of e.choices) texts[ch.index] += ch.text;
    assert.deepEqual(
      texts,
      plain.json.choices.map((c: any) => c.text),
    );
    assert.ok(
      chunks.some((e) => e.choices.some((ch: any) => ch.finish_reason)),
      "a final chunk carries finish_reason",
    );
    assert.deepEqual(chunks[chunks.length - 1].usage, plain.json.usage);

    const cbody = {
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "write code" },
      ],
      max_tokens: 10,
      seed: 5,
      temperature: 1,
    };
    const cplain = await post("/chat/completions", cbody);
    assert.equal(cplain.json.object, "chat.completion");
    assert.equal(cplain.json.choices[0].message.role, "assistant");
    const cres = await fetch(`${base}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...cbody, stream: true }),
    });
    const cev = sseEvents(await cres.text());
    assert.equal(cev[cev.length - 1], "[DONE]");
    assert.equal(cev[0].object, "chat.completion.chunk");
    assert.equal(cev[0].choices[0].delta.role, "assistant");
    const ctext = cev
      .slice(0, -1)
      .map((e: any) => e.choices[0]?.delta?.content ?? "")
      .join("");
    assert.equal(ctext, cplain.json.choices[0].message.content);
  });

  it("chat: messages are rendered as the documented plain prompt", async () => {
    const messages = [{ role: "user" as const, content: "Say hi" }];
    const r = await post("/chat/completions", { messages, max_tokens: 8, temperature: 0 });
    const prompt = [tok.bosId, ...tok.encode(renderChatPrompt(messages))];
    assert.equal(renderChatPrompt(messages), "### User:\nSay hi\n\n### Assistant:\n");
    const direct = await policy.sample([
      { prompt, n: 1, params: { maxTokens: 8, temperature: 0, topP: 1, stop: ["\n### "] } },
    ]);
    assert.equal(r.json.choices[0].message.content, direct[0]![0]!.text);
    assert.equal(r.json.usage.prompt_tokens, prompt.length);
  });

  it("concurrent requests are batched into one sampler call", async () => {
    batches.length = 0;
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post("/completions", { prompt: `p${i}`, max_tokens: 4, seed: i })),
    );
    for (const r of rs) assert.equal(r.status, 200);
    assert.ok(batches.length < 6, `6 requests took ${batches.length} sampler calls`);
    assert.ok(batches.some((b) => b.requests > 1));
  });

  it("bad requests get OpenAI-style errors with the right status codes", async () => {
    expectError(await post("/completions", null, "{not json"), 400, null, "invalid_json");
    expectError(await post("/completions", { max_tokens: 3 }), 400, "prompt", "missing_required_parameter");
    expectError(await post("/completions", { prompt: "x", temperature: 5 }), 400, "temperature");
    expectError(await post("/completions", { prompt: "x", n: 0 }), 400, "n");
    expectError(await post("/completions", { prompt: "x", max_tokens: -1 }), 400, "max_tokens");
    expectError(await post("/completions", { prompt: "x", stop: ["a", "b", "c", "d", "e"] }), 400, "stop");
    expectError(
      await post("/completions", { prompt: "x", max_tokens: 5000 }),
      400,
      "max_tokens",
      "context_length_exceeded",
    );
    expectError(await post("/completions", { prompt: "x", model: "gpt-4" }), 404, "model", "model_not_found");
    expectError(await post("/completions", { prompt: [999999] }), 400, "prompt");
    expectError(await post("/chat/completions", { messages: [] }), 400, "messages");
    expectError(
      await post("/chat/completions", { messages: [{ role: "robot", content: "x" }] }),
      400,
      "messages[0].role",
    );
    expectError(
      await post("/chat/completions", { messages: [{ role: "user", content: "x" }], top_logprobs: 2 }),
      400,
      "top_logprobs",
    );
    expectError(await post("/nope", {}), 404);
    const get = await fetch(`${base}/completions`);
    assert.equal(get.status, 405);
    assert.ok((await get.json()).error);
    // the server still works afterwards
    assert.equal((await post("/completions", { prompt: "ok", max_tokens: 2 })).status, 200);
  });

  it("client: completions and chat through HTTP; n samples; on-disk cache resumes without asking again", async () => {
    const cacheDir = tmp();
    try {
      const c1 = new OpenAIClient({ baseUrl: base.replace(/\/v1$/, ""), cacheDir, concurrency: 2 });
      const inputs = ["def f(x):", { messages: [{ role: "user" as const, content: "hi" }] }];
      const params = { n: 3, maxTokens: 6, temperature: 1, seed: 11 };
      const g1 = await c1.generate(inputs, params);
      assert.equal(c1.name, "tiny-test", "model id discovered from /v1/models");
      assert.equal(g1.length, 2);
      assert.equal(g1[0]!.length, 3);
      assert.ok(c1.stats.requests >= 3);
      const c2 = new OpenAIClient({ baseUrl: base, cacheDir });
      const g2 = await c2.generate(inputs, params);
      assert.deepEqual(g2, g1);
      assert.equal(c2.stats.requests, 1, "only GET /models; every generation came from the cache");
      assert.equal(c2.stats.cacheHits, 6);
      // an interrupted run: drop the last cached line (and tear another) -> only the missing ones are asked
      const file = path.join(cacheDir, fs.readdirSync(cacheDir)[0]!);
      const lines = fs.readFileSync(file, "utf8").trim().split("\n");
      fs.writeFileSync(file, lines.slice(0, -2).join("\n") + "\n" + lines[lines.length - 2]!.slice(0, 10));
      const c3 = new OpenAIClient({ baseUrl: base, cacheDir });
      const g3 = await c3.generate(inputs, { ...params, n: 4 });
      assert.equal(c3.stats.cacheHits, 4);
      assert.equal(g3[0]!.length, 4);
      assert.equal(g3[1]!.length, 4);
      let same = 0;
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++) if (JSON.stringify(g3[i]![j]) === JSON.stringify(g1[i]![j])) same++;
      assert.ok(same >= 4, "the generations still in the cache are reused verbatim");
      assert.equal(c3.stats.requests, 3, "GET /models, then one request per input for its missing samples");
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("evaluateBenchmark end to end: HumanEval via the HTTP client and via the Sampler adapter", async () => {
    const out = tmp();
    try {
      const client = new OpenAIClient({ baseUrl: base });
      const { summary, results } = await evaluateBenchmark({
        benchmark: "humaneval",
        generator: client,
        n: 2,
        k: [1, 2],
        limit: 2,
        maxTokens: 8,
        temperature: 0.8,
        seed: 1,
        outDir: out,
      });
      assert.equal(summary.tasks, 2);
      assert.equal(summary.samples, 4);
      assert.deepEqual(Object.keys(summary.passAtK).sort(), ["pass@1", "pass@2"]);
      for (const r of results)
        assert.ok(typeof r.passed === "boolean" && r.result.length > 0 && typeof r.completion === "string");
      assert.equal(fs.readFileSync(path.join(out, "results.jsonl"), "utf8").trim().split("\n").length, 4);
      const gen = new SamplerGenerator(policy);
      const seen: (string[] | undefined)[] = [];
      const recording = {
        name: gen.name,
        supportsChat: true,
        generate: (i: Parameters<typeof gen.generate>[0], p: Parameters<typeof gen.generate>[1]) => (
          seen.push(p.stop), gen.generate(i, p)
        ),
      };
      const r2 = await evaluateBenchmark({
        benchmark: "multipl-e:lua",
        generator: recording,
        format: "instruct",
        n: 1,
        limit: 1,
        maxTokens: 8,
      });
      assert.equal(r2.summary.samples, 1);
      assert.equal(r2.summary.format, "instruct");
      assert.deepEqual(seen, [undefined], "instruct: no benchmark stop sequences");
      await evaluateBenchmark({ benchmark: "multipl-e:lua", generator: recording, n: 1, limit: 2, maxTokens: 4 });
      assert.deepEqual(
        seen[1],
        ["\nlocal", "\nfunction", "\n--", "\n\n"],
        "completion: the problem's stop_tokens reach the model",
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("OpenAI client: retries, backoff, timeouts", () => {
  it("retries 503/429 with backoff and succeeds; does not retry 400", async () => {
    let hits = 0;
    const srv = http.createServer((req, res) => {
      hits++;
      req.resume();
      req.on("end", () => {
        if (req.url?.endsWith("/bad")) return;
        if (hits <= 2) {
          res.writeHead(hits === 1 ? 503 : 429, { "content-type": "application/json" });
          return res.end(JSON.stringify({ error: { message: "busy", type: "server_error", param: null, code: null } }));
        }
        if (hits === 3) {
          res.writeHead(400, { "content-type": "application/json" });
          return res.end(
            JSON.stringify({
              error: { message: "bad max_tokens", type: "invalid_request_error", param: "max_tokens", code: null },
            }),
          );
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ index: 0, text: " ok", finish_reason: "stop" }] }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      const c = new OpenAIClient({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "m", backoffMs: 10, retries: 3 });
      await assert.rejects(c.generate(["x"], { n: 1, maxTokens: 2, temperature: 0 }), /HTTP 400: bad max_tokens/);
      assert.equal(hits, 3, "two retried failures, then the 400 is not retried");
      assert.equal(c.stats.retries, 2);
      const g = await c.generate(["x"], { n: 1, maxTokens: 2, temperature: 0 });
      assert.equal(g[0]![0]!.text, " ok");
    } finally {
      srv.close();
    }
  });

  it("times out a hung server and reports it after the retries", async () => {
    const srv = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      const c = new OpenAIClient({
        baseUrl: `http://127.0.0.1:${port}`,
        model: "m",
        timeoutMs: 150,
        retries: 1,
        backoffMs: 10,
      });
      await assert.rejects(c.generate(["x"], { n: 1, maxTokens: 2, temperature: 0 }), /timed out after 150 ms/);
      assert.equal(c.stats.requests, 2);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });

  it("rejects a non-http URL clearly", () => {
    assert.throws(() => new OpenAIClient({ baseUrl: "ftp://x" }), /http/);
    assert.throws(() => new OpenAIClient({ baseUrl: "not a url" }), /valid URL/);
  });
});
