/** The generation cache in front of the embedded model: a rerun asks the model only for what is missing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { CachedGenerator, GenerationCache, generationKey } from "../../src/core/generation-cache.js";
import { SamplerGenerator, type GenerationInput, type GenerationParams } from "../../src/core/generator.js";

const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
};

test("CachedGenerator: second run is served from disk; a torn line is ignored; only missing samples are generated", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-cache-"));
  try {
    const policy = createEmbeddedPolicy({ config, tokenizer: new ByteTokenizer(), seed: 2, modelName: "tiny-cache" });
    let calls = 0;
    const inner = new SamplerGenerator(policy);
    const counting = {
      name: inner.name,
      supportsChat: true,
      generate: (i: GenerationInput[], p: GenerationParams) => (calls++, inner.generate(i, p)),
    };
    const inputs: GenerationInput[] = ["def a():", "def b():", { messages: [{ role: "user", content: "hi" }] }];
    const params = { n: 2, maxTokens: 5, temperature: 1, seed: 4 };
    const c1 = new CachedGenerator(counting, dir);
    const g1 = await c1.generate(inputs, params);
    assert.equal(calls, 1);
    assert.equal(c1.stats.generated, 6);
    const c2 = new CachedGenerator(counting, dir);
    assert.deepEqual(await c2.generate(inputs, params), g1);
    assert.equal(calls, 1, "no model call on the rerun");
    assert.equal(c2.stats.cacheHits, 6);
    // different params are different keys
    await c2.generate(inputs.slice(0, 1), { ...params, temperature: 0.5 });
    assert.equal(calls, 2);
    // tear the file: the last line half-written, as after a kill
    const file = GenerationCache.fileFor(dir, "tiny-cache");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.slice(0, text.length - 20));
    const c3 = new CachedGenerator(counting, dir);
    const g3 = await c3.generate(inputs, { ...params, n: 3 });
    assert.equal(c3.stats.cacheHits, 6, "the six first-run samples are reused");
    assert.equal(c3.stats.generated, 3, "one new sample per input");
    g3.forEach((row, i) => assert.deepEqual(row.slice(0, 2), g1[i]));
    assert.notEqual(generationKey("m", "p", params, 0), generationKey("m", "p", params, 1));
    assert.equal(
      generationKey("m", "p", params, 0),
      generationKey("m", "p", { ...params, n: 9 }, 0),
      "n is not part of the key",
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
