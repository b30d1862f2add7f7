import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";

const bin = "bin/batcoder.js";
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("batcoder tokenizer train / encode / decode / info", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tok-cli-"));
  try {
    const corpus = path.join(root, "corpus.jsonl");
    const recs = [];
    for (let i = 0; i < 40; i++) {
      recs.push(
        JSON.stringify({ code: `def add_${i}(a, b):\n    return a + b * ${i}\n`, doc: `Adds a to b times ${i}.` }),
      );
    }
    fs.writeFileSync(corpus, recs.join("\n") + "\n");
    const out = path.join(root, "tok", "tokenizer.json");
    const t = cli("tokenizer", "train", "--corpus", corpus, "--out", out, "--vocab-size", "400");
    assert.equal(t.status, 0, t.stderr);
    const summary = JSON.parse(t.stdout);
    assert.equal(summary.out, out);
    assert.ok(summary.merges > 20);
    const cfg = JSON.parse(fs.readFileSync(`${out}.config.json`, "utf8"));
    assert.equal(cfg.vocabSize, 400);
    const tok = BpeTokenizer.load(out);
    const text = "def add_3(a, b):<|eos|>";
    const e = cli("tokenizer", "encode", "--tokenizer", out, text);
    assert.equal(e.status, 0, e.stderr);
    const ids = JSON.parse(e.stdout) as number[];
    assert.deepEqual(ids, tok.encode(text));
    assert.equal(ids[ids.length - 1], tok.eosId);
    const ns = cli("tokenizer", "encode", "--no-special", "--tokenizer", out, text);
    assert.ok(!(JSON.parse(ns.stdout) as number[]).includes(tok.eosId));
    const d = cli("tokenizer", "decode", "--tokenizer", out, ...ids.map(String));
    assert.equal(d.stdout, text + "\n");
    const info = JSON.parse(cli("tokenizer", "info", "--tokenizer", out).stdout);
    assert.equal(info.vocabSize, tok.vocabSize);
    assert.equal(info.specials[2], "<|eos|>");
    const bad = cli("tokenizer", "encode", "--tokenizer", path.join(root, "missing.json"), "x");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /does not exist/);
    const badId = cli("tokenizer", "decode", "--tokenizer", out, "abc");
    assert.equal(badId.status, 1);
    assert.match(badId.stderr, /not a token id/);
    assert.equal(cli("tokenizer").status, 2);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
