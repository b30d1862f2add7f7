// pretrain(): loss goes down on a small corpus, checkpoints are written, and --resume continues bit-for-bit.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { pretrain, loadPretrainDocs } from "../../src/orchestration/pretrain.js";
import { loadEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";

function corpus(dir: string): string {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const a = ["x", "y", "n", "val"][i % 4]!;
    lines.push(
      JSON.stringify({
        lang: "python",
        code: `def f${i}(${a}):\n    return ${a} * ${i}\n`,
        doc: `Multiply ${a} by ${i}.`,
      }),
    );
  }
  const f = path.join(dir, "c.jsonl");
  fs.writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

const small = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
};

test("pretrain lowers the loss, writes checkpoints, and resume is bit-for-bit", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-pretrain-"));
  try {
    const c = corpus(dir);
    const tokFile = path.join(dir, "tok.json");
    new ByteTokenizer().save(tokFile);
    const cfgFile = path.join(dir, "config.json");
    fs.writeFileSync(cfgFile, JSON.stringify(small));
    const base = {
      corpus: c,
      config: cfgFile,
      tokenizer: tokFile,
      steps: 30,
      seqLen: 48,
      batchTokens: 192,
      lr: 3e-3,
      evalEvery: 10,
      saveEvery: 15,
      keep: 3,
      progress: false,
      seed: 1,
    };
    const a = await pretrain({ ...base, out: path.join(dir, "a") });
    const log = fs
      .readFileSync(path.join(dir, "a", "pretrain-log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(log.length, 30);
    assert.ok(log[29].loss < log[0].loss - 1, `loss ${log[0].loss} -> ${log[29].loss}`);
    assert.ok(Number.isFinite(a.valLoss));
    assert.ok(
      fs.existsSync(path.join(dir, "a", "checkpoints", "step-00000015")) &&
        fs.existsSync(path.join(dir, "a", "checkpoints", "step-00000030")),
    );
    // a second fresh run into the same dir is refused
    await assert.rejects(pretrain({ ...base, out: path.join(dir, "a") }), /already holds checkpoints/);
    // resume from step 15 reproduces step 30 exactly
    fs.cpSync(path.join(dir, "a"), path.join(dir, "b"), { recursive: true });
    fs.rmSync(path.join(dir, "b", "checkpoints", "step-00000030"), { recursive: true });
    const b = await pretrain({ ...base, out: path.join(dir, "b"), resume: true });
    assert.equal(b.trainLoss, a.trainLoss);
    const pa = loadEmbeddedPolicy(a.checkpoint),
      pb = loadEmbeddedPolicy(b.checkpoint);
    for (const [n, t] of pa.llama.weights) assert.deepEqual(pb.llama.weights.get(n)!.data, t.data, n);
    // a changed option is refused on resume
    await assert.rejects(pretrain({ ...base, lr: 1e-2, out: path.join(dir, "b"), resume: true }), /options differ/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("corpus loading: txt/jsonl/dir layouts and clear errors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-pretrain-docs-"));
  try {
    fs.mkdirSync(path.join(dir, "train"));
    fs.mkdirSync(path.join(dir, "validation"));
    fs.writeFileSync(
      path.join(dir, "train", "shard-00000.jsonl"),
      JSON.stringify({ code: "a = 1", doc: "Set a.", lang: "python" }) + "\n",
    );
    fs.writeFileSync(
      path.join(dir, "validation", "shard-00000.jsonl"),
      JSON.stringify({ code: "b = 2", doc: null, lang: "python" }) + "\n",
    );
    // a built corpus's reports and license files are not training text; its test split never is
    fs.writeFileSync(path.join(dir, "dropped-files.jsonl"), JSON.stringify({ path: "x.py", reason: "binary" }) + "\n");
    fs.writeFileSync(
      path.join(dir, "contamination.jsonl"),
      JSON.stringify({ id: "f", benchmark: "HumanEval/0" }) + "\n",
    );
    fs.mkdirSync(path.join(dir, "licenses"));
    fs.writeFileSync(path.join(dir, "licenses", "PSF.txt"), "PYTHON SOFTWARE FOUNDATION LICENSE");
    fs.mkdirSync(path.join(dir, "test"));
    fs.writeFileSync(
      path.join(dir, "test", "shard-00000.jsonl"),
      JSON.stringify({ code: "held = 0", doc: null, lang: "python" }) + "\n",
    );
    const d = loadPretrainDocs(dir);
    assert.deepEqual(d, { train: ["Set a.\na = 1"], validation: ["b = 2"] });
    fs.writeFileSync(path.join(dir, "bad.jsonl"), "{not json\n");
    assert.throws(() => loadPretrainDocs(path.join(dir, "bad.jsonl")), /bad.jsonl:1: not valid JSON/);
    fs.writeFileSync(path.join(dir, "nofield.jsonl"), JSON.stringify({ foo: 1 }) + "\n");
    assert.throws(() => loadPretrainDocs(path.join(dir, "nofield.jsonl")), /neither a "code" nor a "text"/);
    assert.throws(() => loadPretrainDocs(path.join(dir, "missing")), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("batcoder pretrain CLI: usage errors exit non-zero with a message", () => {
  const r = spawnSync(process.execPath, ["bin/batcoder.js", "pretrain", "--out", "/tmp/x-never"], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--corpus is required/);
  const r2 = spawnSync(
    process.execPath,
    ["bin/batcoder.js", "pretrain", "--corpus", "a", "--out", "b", "--steps", "abc"],
    { encoding: "utf8" },
  );
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /--steps expects an integer/);
  const r3 = spawnSync(process.execPath, ["bin/batcoder.js", "pretrain", "--bogus"], { encoding: "utf8" });
  assert.equal(r3.status, 2);
});
