import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { readGguf } from "../../src/engine/gguf.js";
import { stepDirName } from "../../src/core/runs.js";
import { saveCheckpoint, expectedWeightShapes, type Tensor32 } from "../../src/engine/checkpoint.js";
import { ModelConfigSchema, MODEL_PRESETS } from "../../src/engine/config.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";

const bin = "bin/batcoder.js";
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("batcoder export CHECKPOINT --format gguf writes a loadable GGUF; run dirs resolve to the latest checkpoint", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "export-cli-"));
  try {
    const tok = new ByteTokenizer();
    const config = ModelConfigSchema.parse({
      ...MODEL_PRESETS.tiny,
      vocab_size: tok.vocabSize,
      bos_token_id: tok.bosId,
      eos_token_id: tok.eosId,
    });
    const weights = new Map<string, Tensor32>();
    for (const [name, shape] of expectedWeightShapes(config)) {
      weights.set(name, {
        shape,
        data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)),
      });
    }
    for (const step of [10, 20])
      saveCheckpoint(path.join(root, stepDirName(step)), { config, weights, tokenizer: tok, step });
    const out = path.join(root, "m.gguf");
    const r = cli("export", root, "--format", "gguf", "--dtype", "f16", "--out", out, "--name", "tiny-test");
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.checkpoint, path.join(root, "step-00000020"));
    assert.equal(summary.bytes, fs.statSync(out).size);
    const g = readGguf(out);
    assert.equal(g.metadata.get("general.name")!.value, "tiny-test");
    assert.equal(g.metadata.get("general.file_type")!.value, 1);
    assert.equal(g.tensors.size, 2 + 2 * 9);

    const bad = cli("export", root, "--format", "onnx", "--out", out);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /format/);
    const badDtype = cli("export", root, "--format", "gguf", "--dtype", "q4", "--out", out);
    assert.equal(badDtype.status, 1);
    assert.match(badDtype.stderr, /dtype/);
    const missing = cli("export", path.join(root, "nope"), "--format", "gguf", "--out", out);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
    const empty = fs.mkdtempSync(path.join(root, "empty-"));
    const none = cli("export", empty, "--format", "gguf", "--out", out);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /holds no checkpoint/);
    assert.equal(cli("export", "--format", "gguf").status, 2);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
