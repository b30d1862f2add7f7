import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { appendJsonl, readJsonl, readJsonlStrict, truncateJsonlByStep, writeFileAtomic } from "../../src/core/jsonl.js";
import { UserError } from "../../src/core/errors.js";
import { ProgressBar, fmtDuration } from "../../src/core/progress.js";
import { Rng, hashSeed } from "../../src/core/rng.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-core-"));

test("jsonl: run logs skip a torn line, truncate by step, atomic writes leave no temp files", () => {
  const d = tmp();
  const f = path.join(d, "metrics.jsonl");
  for (let s = 1; s <= 4; s++) appendJsonl(f, { step: s, x: s * 2 });
  fs.appendFileSync(f, '{"step": 5, "x"'); // a kill mid-append
  assert.deepEqual(
    readJsonl<{ step: number }>(f).map((r) => r.step),
    [1, 2, 3, 4],
  );
  truncateJsonlByStep(f, 2);
  assert.deepEqual(
    readJsonl<{ step: number }>(f).map((r) => r.step),
    [1, 2],
  );
  assert.deepEqual(readJsonl(path.join(d, "missing.jsonl")), []);
  writeFileAtomic(path.join(d, "sub", "a.json"), "{}");
  assert.deepEqual(fs.readdirSync(path.join(d, "sub")), ["a.json"]);
});

test("jsonl: data files are strict (file and line named), .gz is read transparently", () => {
  const d = tmp();
  const good = path.join(d, "a.jsonl.gz");
  fs.writeFileSync(good, zlib.gzipSync('{"code": "x"}\n\n{"code": "y"}\n'));
  assert.deepEqual(
    readJsonlStrict(good).map((r) => r.code),
    ["x", "y"],
  );
  const bad = path.join(d, "b.jsonl");
  fs.writeFileSync(bad, '{"code": "x"}\nnot json\n');
  assert.throws(
    () => readJsonlStrict(bad),
    (e: unknown) => e instanceof UserError && /b\.jsonl:2: not valid JSON/.test(e.message),
  );
  fs.writeFileSync(bad, "[1, 2]\n");
  assert.throws(() => readJsonlStrict(bad), /b\.jsonl:1: a record must be a JSON object/);
  fs.writeFileSync(path.join(d, "c.jsonl.gz"), "plain text");
  assert.throws(() => readJsonlStrict(path.join(d, "c.jsonl.gz")), /not a valid gzip file/);
});

test("progress: a bar with done/total and an ETA; no total shows the caller's figures", () => {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (lines.push(s), true)) as typeof process.stderr.write;
  try {
    const bar = new ProgressBar("sft", 10, true, { tty: false, intervalMs: 0, startAt: 2 });
    const t0 = Date.now();
    while (Date.now() - t0 < 20); // some elapsed time so the ETA is non-zero
    bar.update(6, "loss 1.5");
    bar.done();
    const free = new ProgressBar("corpus", null, true, { tty: false, intervalMs: 0 });
    free.update(100, "3 files");
  } finally {
    process.stderr.write = write;
  }
  assert.match(lines[0]!, /^sft \[#+-+\] 6\/10 \d+s eta \d+s loss 1\.5\n$/);
  assert.match(lines[1]!, /^sft \[#{24}\] 10\/10 /);
  assert.match(lines[2]!, /^corpus: 3 files {2}\d+s\n$/);
  assert.equal(fmtDuration(75), "1m15s");
  assert.equal(fmtDuration(3725), "1h02m");
});

test("rng: seeded shuffles are permutations and reproducible; hashSeed separates its inputs", () => {
  const a = new Rng(hashSeed(1, 2)).shuffle([...Array(50).keys()]);
  const b = new Rng(hashSeed(1, 2)).shuffle([...Array(50).keys()]);
  assert.deepEqual(a, b);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [...Array(50).keys()],
  );
  assert.notDeepEqual(a, [...Array(50).keys()]);
  assert.notEqual(hashSeed(1, 2), hashSeed(2, 1));
});
