import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { parseConfig } from "../../src/rl/config.js";
import type { CodeItem } from "../../src/rl/data.js";
import { loadEvalItems, loadSftPairs, loadTrainItems } from "../../src/orchestration/items.js";
import { readJsonl } from "../../src/core/jsonl.js";
import { writeCorpus } from "./corpus-fixture.js";

const tok = new ByteTokenizer();

test("corpus → RL items carry no documentation; eval items are held-out with canonical human docs", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-corp-"));
  writeCorpus(dir, { train: 12, validation: 3, test: 9 }, ["python", "go"]);
  const cfg = parseConfig({ corpus: dir, min_code_tokens: 4, max_code_tokens: 400 });
  const train = loadTrainItems(cfg, tok);
  assert.equal(train.length, 24);
  assert.ok(
    train.every((t) => !("doc" in t)),
    "RL training items must not carry documentation",
  );
  const ev = await loadEvalItems(cfg, tok, 100);
  // "RL never sees code–doc pairs" is a type: held-out items (with documentation) are not RL items
  // @ts-expect-error — a HeldOutItem carries `doc`, which CodeItem forbids (the build fails if this ever compiles)
  const notForRl: CodeItem[] = ev;
  assert.ok(notForRl.length > 0);
  assert.equal(ev.length, 12); // 2/3 of the 9 test functions per language are documented
  const trainIds = new Set(train.map((t) => t.id));
  assert.ok(ev.every((e) => !trainIds.has(e.id) && e.doc && /^Scale every value/.test(e.doc)));
  assert.ok(
    ev.every((e) => !/Args:/.test(e.doc)),
    "Google-style sections are canonicalised",
  );
  assert.deepEqual(
    (await loadEvalItems(cfg, tok, 5)).map((e) => e.id),
    ev.slice(0, 5).map((e) => e.id),
  ); // deterministic subset
  const pairs = await loadSftPairs(dir, ["go"], 100);
  assert.equal(pairs.length, 8);
  assert.ok(pairs.every((p) => p.lang === "go"));
  // token bounds that exclude everything: a clear error naming the bounds
  assert.throws(
    () => loadTrainItems(parseConfig({ corpus: dir, min_code_tokens: 4, max_code_tokens: 5 }), tok),
    /no usable training functions.*longer than max_code_tokens=5/,
  );
  assert.throws(
    () => loadTrainItems(parseConfig({ corpus: dir, languages: ["ruby"] }), tok),
    /no usable training functions.*for languages ruby/,
  );
});

test("batcoder train end to end on a tiny corpus and model: warm start cached, RL, eval, report, resume", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-train-"));
  writeCorpus(path.join(dir, "corpus"), { train: 30, validation: 4, test: 8 });
  const args = [
    path.resolve("bin/batcoder.js"),
    "train",
    "--corpus",
    "corpus",
    "--run-name",
    "t",
    "--quiet",
    "--steps",
    "2",
    "--set",
    "rollout_batch_size=2",
    "--set",
    "num_docs_per_code=2",
    "--set",
    "num_codes_per_doc=2",
    "--set",
    "max_doc_tokens=64",
    "--set",
    "max_rebuild_tokens=8",
    "--set",
    "eval_size=6",
    "--set",
    "save_steps=1",
    "--set",
    "reject_invalid_docs=false",
    "--set",
    "eval_benchmarks=humaneval",
    "--set",
    "eval_benchmark_limit=2",
    "--set",
    "eval_benchmark_max_tokens=8",
    "--set",
    'warmstart.model={"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":2,"max_position_embeddings":256}',
    "--set",
    "warmstart.vocab_size=300",
    "--set",
    "warmstart.pretrain_steps=2",
    "--set",
    "warmstart.pretrain_seq_len=64",
    "--set",
    "warmstart.pretrain_batch_tokens=256",
    "--set",
    "warmstart.sft_steps=2",
    "--set",
    "warmstart.sft_batch_tokens=512",
  ];
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /round-trip similarity \(code→doc→code, static\)\s+\d\.\d{3} \[/);
  assert.match(r.stdout, /round trips behaviourally equivalent \(share\)\s+\d\.\d{3} \[/);
  assert.match(r.stdout, /report: runs\/t\/report.html/);
  const run = path.join(dir, "runs", "t");
  for (const f of [
    "config.resolved.json",
    "metrics.jsonl",
    "samples.jsonl",
    "evals.jsonl",
    "summary.json",
    "report.html",
    "warmstart.json",
  ])
    assert.ok(fs.existsSync(path.join(run, f)), f);
  assert.deepEqual(
    readJsonl(path.join(run, "metrics.jsonl")).map((m) => m.step),
    [1, 2],
  );
  const evals = readJsonl<Record<string, unknown>>(path.join(run, "evals.jsonl"));
  assert.deepEqual(
    evals.map((m) => m.step),
    [0, 2],
  );
  // optional pass@1 through the eval harness (sandboxed execution) at the first and last evaluation; the embedded
  // model has no chat template, so "auto" is the completion format
  for (const e of evals) {
    const [b, ...more] = e.benchmarks as Array<{ name: string; format: string; tasks: number; pass_at_1: number }>;
    assert.equal(more.length, 0);
    assert.equal(b!.name, "humaneval");
    assert.equal(b!.format, "completion");
    assert.equal(b!.tasks, 2);
    assert.ok(b!.pass_at_1 >= 0 && b!.pass_at_1 <= 1);
  }
  assert.match(fs.readFileSync(path.join(run, "report.html"), "utf8"), /humaneval pass@1 \(2 tasks, completion\)/);
  assert.match(r.stdout, /  humaneval \(n=2 tasks\)\s+\d\.\d{3} \[/);
  const ws = JSON.parse(fs.readFileSync(path.join(run, "warmstart.json"), "utf8"));
  assert.equal(ws.sft.steps, 2);
  // the warm start's pretraining text excludes the test split
  const cacheDir = path.join(dir, ".cache", "warmstart");
  const preDirs = () => fs.readdirSync(cacheDir).filter((d) => d.startsWith("pretrain-"));
  assert.equal(preDirs().length, 1, "pretraining is cached on its own");
  const preRoot = path.join(cacheDir, preDirs()[0]!);
  const pre = fs.readFileSync(path.join(preRoot, "pretrain-data.jsonl"), "utf8");
  assert.ok(!pre.includes("scale_test_"), "test-split functions leaked into pretraining");
  assert.ok(pre.includes("scale_train_"));

  // second invocation: the warm start comes from the cache; --resume extends the run to 3 steps
  const r2 = spawnSync(
    process.execPath,
    [...args.slice(0, 2), "--resume", "--run-name", "t", "--quiet", "--steps", "3", "--no-report"],
    { cwd: dir, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r2.status, 0, r2.stderr + r2.stdout);
  assert.deepEqual(
    readJsonl(path.join(run, "metrics.jsonl")).map((m) => m.step),
    [1, 2, 3],
  );
  assert.equal(fs.readdirSync(cacheDir).length, 2, "one pretraining + one warm start");

  // an SFT-only change makes a new warm start on the SAME pretraining (its log and weights untouched)
  const preLog = fs.readFileSync(path.join(preRoot, "pretrain", "pretrain-log.jsonl"));
  const r2b = spawnSync(
    process.execPath,
    [
      ...args.map((a) => (a === "warmstart.sft_steps=2" ? "warmstart.sft_steps=3" : a)),
      "--steps",
      "1",
      "--run-name",
      "t2",
      "--no-report",
    ],
    { cwd: dir, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r2b.status, 0, r2b.stderr + r2b.stdout);
  assert.equal(preDirs().length, 1, "no second pretraining");
  assert.equal(fs.readdirSync(cacheDir).length, 3);
  assert.deepEqual(fs.readFileSync(path.join(preRoot, "pretrain", "pretrain-log.jsonl")), preLog);
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, "..", "t2", "warmstart.json"), "utf8")).sft.steps, 3);

  // `batcoder sft --from CKPT --out DIR`: SFT only, from an existing checkpoint; `rl --from` then trains from it
  const r3 = spawnSync(
    process.execPath,
    [
      args[0]!,
      "sft",
      "--from",
      ws.checkpoint,
      "--out",
      "sft-out",
      "--corpus",
      "corpus",
      "--sft-steps",
      "2",
      "--quiet",
      "--set",
      "max_doc_tokens=64",
    ],
    { cwd: dir, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r3.status, 0, r3.stderr);
  assert.equal(r3.stdout.trim(), path.join(dir, "sft-out", "policy"));
  const sftInfo = JSON.parse(fs.readFileSync(path.join(dir, "sft-out", "warmstart.json"), "utf8"));
  assert.equal(sftInfo.sft.losses.length, 2);
  const r4 = spawnSync(
    process.execPath,
    [
      args[0]!,
      "rl",
      "--from",
      "sft-out/policy",
      "--corpus",
      "corpus",
      "--run-name",
      "from-sft",
      "--steps",
      "1",
      "--quiet",
      "--no-report",
      "--set",
      "rollout_batch_size=2",
      "--set",
      "num_docs_per_code=2",
      "--set",
      "num_codes_per_doc=1",
      "--set",
      "max_doc_tokens=16",
      "--set",
      "max_rebuild_tokens=8",
      "--set",
      "eval_size=4",
    ],
    { cwd: dir, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r4.status, 0, r4.stderr);
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(dir, "runs", "from-sft", "config.resolved.json"), "utf8")).init_from,
    "sft-out/policy",
  );
});

test("fitDoc keeps whole blocks within the documentation budget and stays valid", async () => {
  const { fitDoc } = await import("../../src/orchestration/items.js");
  const doc = "Compute the mean.\n\nValues above the limit are ignored.\n\nParameters:\n  values: the numbers";
  assert.equal(fitDoc(doc, tok, 1000), doc);
  assert.equal(fitDoc(doc, tok, 60), "Compute the mean.\n\nValues above the limit are ignored.");
  assert.equal(fitDoc(doc, tok, 20), "Compute the mean.");
  assert.equal(fitDoc(doc, tok, 5), null);
  assert.equal(fitDoc("no capital and no period", tok, 100), null);
});

test("kill -9 during RL, then --resume: same final weights as an uninterrupted run, no step logged twice", async () => {
  const { loadEmbeddedPolicy } = await import("../../src/backends/embedded.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-kill-"));
  writeCorpus(path.join(dir, "corpus"), { train: 30, validation: 4, test: 8 });
  const common = [
    path.resolve("bin/batcoder.js"),
    "train",
    "--corpus",
    "corpus",
    "--quiet",
    "--no-report",
    "--steps",
    "6",
    "--set",
    "rollout_batch_size=2",
    "--set",
    "num_docs_per_code=2",
    "--set",
    "num_codes_per_doc=2",
    "--set",
    "max_doc_tokens=64",
    "--set",
    "max_rebuild_tokens=48",
    "--set",
    "save_steps=1",
    "--set",
    "reject_invalid_docs=false",
    "--set",
    "eval_at_start=false",
    "--set",
    "eval_at_end=false",
    "--set",
    'warmstart.model={"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":2,"max_position_embeddings":256}',
    "--set",
    "warmstart.vocab_size=300",
    "--set",
    "warmstart.pretrain_steps=2",
    "--set",
    "warmstart.pretrain_seq_len=64",
    "--set",
    "warmstart.pretrain_batch_tokens=256",
    "--set",
    "warmstart.sft_steps=2",
    "--set",
    "warmstart.sft_batch_tokens=512",
  ];
  const a = spawnSync(process.execPath, [...common, "--run-name", "a"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(a.status, 0, a.stderr);

  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [...common, "--run-name", "b"], { cwd: dir, stdio: "ignore" });
  const metrics = path.join(dir, "runs", "b", "metrics.jsonl");
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    if (fs.existsSync(metrics) && readJsonl(metrics).length >= 3) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  const before = readJsonl(metrics).length;
  assert.ok(before >= 3 && before < 6, `killed after ${before} steps`);
  const b = spawnSync(
    process.execPath,
    [common[0]!, "train", "--resume", "--run-name", "b", "--quiet", "--no-report"],
    { cwd: dir, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(
    readJsonl(metrics).map((m) => m.step),
    [1, 2, 3, 4, 5, 6],
  );
  const wa = loadEmbeddedPolicy(path.join(dir, "runs", "a", "checkpoints", "step-00000006", "policy")).llama.weights;
  const wb = loadEmbeddedPolicy(path.join(dir, "runs", "b", "checkpoints", "step-00000006", "policy")).llama.weights;
  for (const [name, t] of wa) assert.deepEqual(wb.get(name)!.data, t.data, name);
});
