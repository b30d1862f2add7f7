import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { buildCorpus, assignSplit, resolveCorpusConfig, type CorpusStats } from "../../src/corpus/pipeline.js";
import { FILE_DROP_REASONS, FUNCTION_DROP_REASONS } from "../../src/corpus/filters.js";
import { readCorpus, readCorpusSync, verifyCorpus } from "../../src/corpus/reader.js";
import { SPLITS, type CorpusRecord } from "../../src/corpus/schema.js";
import { UserError } from "../../src/core/errors.js";
import { benchmarkIndex, makeGitRepo, makeJsonl, makeTree, readJsonlFile, repoRoot, tmpDir } from "./helpers.js";

let root: string;
let tree: string;
let jsonl: string;
let gitRepo: string;
let out: string;
let stats: CorpusStats;
let records: CorpusRecord[];

const baseConfig = () => ({
  inputs: [tree, jsonl, gitRepo],
  langs: ["python", "ruby", "go"],
  maxFileBytes: 50_000,
  maxLines: 60,
  maxTokens: 400,
  split: { train: 0.6, validation: 0.2, test: 0.2 },
});

before(async () => {
  root = tmpDir("corpus-pipe");
  tree = makeTree(root);
  jsonl = makeJsonl(root);
  gitRepo = makeGitRepo(root);
  out = path.join(root, "out");
  stats = await buildCorpus({ ...baseConfig(), out }, { benchmarkIndex: benchmarkIndex(), progress: false });
  records = SPLITS.flatMap((split) => readCorpusSync(out, { split }));
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

test("every file and function drop reason triggers on the fixtures", async () => {
  for (const r of FILE_DROP_REASONS) {
    if (r === "extract-error") continue; // safety net for language-layer exceptions; nothing here throws
    assert.ok(
      (stats.files.dropped[r] ?? 0) > 0,
      `file drop reason '${r}' never triggered: ${JSON.stringify(stats.files.dropped)}`,
    );
  }
  for (const r of FUNCTION_DROP_REASONS) {
    if (r === "no-doc") continue; // needs requireDoc, checked below
    assert.ok(
      (stats.functions.dropped[r] ?? 0) > 0,
      `function drop reason '${r}' never triggered: ${JSON.stringify(stats.functions.dropped)}`,
    );
  }
  const out2 = path.join(root, "out-require-doc");
  const s2 = await buildCorpus(
    { ...baseConfig(), out: out2, requireDoc: true },
    { benchmarkIndex: benchmarkIndex(), progress: false },
  );
  assert.ok((s2.functions.dropped["no-doc"] ?? 0) > 0);
  assert.equal(s2.functions.kept, s2.functions.kept_with_doc);
  assert.ok(readCorpusSync(out2, { split: "train" }).every((r) => r.doc !== null));
});

test("the specific fixture functions are dropped for the expected reasons", () => {
  const names = new Set(records.map((r) => r.name));
  for (const gone of [
    "ignored_by_gitignore", // .gitignore'd directory
    "ignored_tmp", // .gitignore'd glob
    "vendored_fn",
    "test_area",
    "helperForTests", // *_test.go
    "caf", // invalid UTF-8 file
    "minified_neighbour",
    "big",
    "helper", // nested
    "double", // one line
    "tiny", // too few tokens
    "many_lines",
    "many_tokens",
    "Len", // one-line getter
    "TestLooksLikeATest",
    "test_helper_in_library",
    "license_text",
    "broken_function", // parse error
    "spread_and_mean", // near duplicate of mean_and_spread
    "lookupTable", // generated file
    "deleted_later", // tracked but deleted: read error
    "untracked_function", // not tracked by git
  ])
    assert.ok(!names.has(gone), `${gone} should have been dropped`);
  for (const kept of [
    "kept_by_negation", // !keep.tmp.py
    "shebang_detected", // extension-less file with #!/usr/bin/env python3
    "polygon_area",
    "centroid",
    "rotate",
    "outer",
    "describe",
    "mean_and_spread",
    "median",
    "histogram",
    "add",
    "remove",
    "Write",
    "Truncate",
    "count_words", // JSONL
    "greet", // JSONL, language from the extension
    "tracked_function", // git
  ])
    assert.ok(names.has(kept), `${kept} should have been kept (kept: ${[...names].sort().join(", ")})`);
  assert.equal(records.filter((r) => r.name === "polygon_area").length, 1, "exact duplicates collapse to one record");
  // the invalid-UTF-8 file and the bad JSONL lines are reported with their location
  const dropped = readJsonlFile(path.join(out, "dropped-files.jsonl"));
  assert.ok(dropped.some((d) => d.reason === "invalid-utf8" && String(d.path).endsWith("latin1.py")));
  assert.ok(dropped.some((d) => d.reason === "invalid-utf8" && /records\.jsonl\.gz:6$/.test(String(d.origin))));
  assert.ok(
    dropped.some(
      (d) =>
        d.reason === "bad-input-record" &&
        /records\.jsonl\.gz:3$/.test(String(d.origin)) &&
        /invalid JSON/.test(String(d.detail)),
    ),
  );
  assert.ok(dropped.some((d) => d.reason === "read-error" && String(d.path) === "src/deleted.py"));
  assert.equal(stats.files.dropped["bad-input-record"], 3);
});

test("records: schema, code without comments/docs, documentation kept separately, context", () => {
  assert.equal(records.length, stats.functions.kept);
  const centroid = records.find((r) => r.name === "centroid")!;
  assert.equal(centroid.doc, "Return the arithmetic mean of the vertices of a polygon.");
  assert.ok(!centroid.code.includes('"""') && !centroid.code.includes("arithmetic mean"), centroid.code);
  assert.match(centroid.code, /^def centroid\(points\):/);
  const rotate = records.find((r) => r.name === "rotate")!;
  assert.ok(!rotate.code.includes("#"), "comments are stripped from code");
  assert.equal(rotate.doc, null);
  const describe = records.find((r) => r.name === "describe")!;
  assert.equal(describe.class_name, "Shape");
  assert.equal(describe.kind, "method");
  assert.match(describe.code, /^def describe\(self, verbose=False\):\n {4}text = /, "methods are dedented");
  const write = records.find((r) => r.name === "Write")!;
  assert.equal(write.lang, "go");
  assert.match(write.doc!, /^Write appends p to the buffer/);
  assert.ok(!write.code.includes("//"));
  const add = records.find((r) => r.name === "add" && r.lang === "ruby")!;
  assert.equal(add.class_name, "Inventory");
  assert.match(add.doc!, /Adds \+count\+ units/);
  const words = records.find((r) => r.name === "count_words")!;
  assert.equal(words.repo, "jsonl-repo");
  assert.equal(words.path, "lib/words.py");
  const tracked = records.find((r) => r.name === "tracked_function")!;
  assert.equal(tracked.repo, "gitrepo");
  assert.equal(tracked.path, "src/tracked.py");
  for (const r of records) {
    assert.ok(r.n_lines <= 60 && r.n_tokens <= 400);
    assert.equal(r.n_lines, r.code.split("\n").length);
    assert.ok(r.start_line <= r.end_line);
  }
});

test("output layout: shards per split, manifest with sha256, resolved config, stats, contamination report", () => {
  for (const f of ["config.json", "stats.json", "manifest.json", "contamination.jsonl", "dropped-files.jsonl"])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(cfg.dedup.threshold, 0.85);
  assert.equal(cfg.decontam.codeN, 13);
  assert.deepEqual(cfg.langs, ["python", "ruby", "go"]);
  assert.deepEqual(verifyCorpus(out), []);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
  for (const s of manifest.shards) assert.match(s.path, /^(train|validation|test)\/shard-\d{5}\.jsonl\.gz$/);
  const onDisk = JSON.parse(fs.readFileSync(path.join(out, "stats.json"), "utf8"));
  assert.equal(onDisk.functions.kept, records.length);
  assert.equal(onDisk.splits.train.total + onDisk.splits.validation.total + onDisk.splits.test.total, records.length);
  assert.ok(onDisk.throughput.mb_per_s >= 0 && onDisk.throughput.peak_rss_mb > 0);
});

test("decontamination removes planted benchmark solutions and reports each with its task", () => {
  const report = readJsonlFile(path.join(out, "contamination.jsonl"));
  const byName = new Map(
    report.map((r) => [r.name as string, r.matches as { benchmark: string; task_id: string; kind: string }[]]),
  );
  const expect = (name: string, benchmark: string, task: string, kind: string): void => {
    const m = byName.get(name);
    assert.ok(m, `${name} not reported as contaminated`);
    assert.ok(
      m.some((x) => x.benchmark === benchmark && x.task_id === task && x.kind === kind),
      `${name}: ${JSON.stringify(m)}`,
    );
  };
  expect("any_pair_within", "humaneval", "HumanEval/0", "code-renamed");
  expect("count_palindromes", "humaneval", "HumanEval/107", "code-renamed");
  expect("kth", "mbpp", "101", "code-ngram");
  expect("documented_like_a_benchmark", "mbpp", "600", "doc-ngram");
  expect("close_pair?", "multipl-e/humaneval-rb", "HumanEval_0_has_close_elements", "doc-ngram");
  assert.equal(report.length, stats.contamination.records);
  assert.equal(stats.functions.dropped.contaminated, report.length);
  const kept = new Set(records.map((r) => r.name));
  for (const n of byName.keys()) assert.ok(!kept.has(n));
});

test("rebuilds are byte-identical (also with worker threads); splits are stable and never split a file", async () => {
  const out2 = path.join(root, "out-again");
  await buildCorpus({ ...baseConfig(), out: out2 }, { progress: false, workers: 2 });
  const m1 = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
  const m2 = JSON.parse(fs.readFileSync(path.join(out2, "manifest.json"), "utf8"));
  assert.deepEqual(m2, m1);
  for (const f of ["contamination.jsonl", "config.json"])
    assert.equal(fs.readFileSync(path.join(out2, f), "utf8"), fs.readFileSync(path.join(out, f), "utf8"), f);
  // one split per file
  const fileSplit = new Map<string, string>();
  for (const r of records) {
    const k = `${r.repo}/${r.path}`;
    const s = fileSplit.get(k);
    assert.ok(s === undefined || s === r.split, `${k} straddles splits`);
    fileSplit.set(k, r.split);
  }
  // adding another input does not move existing files between splits
  const extra = path.join(root, "extra");
  fs.mkdirSync(extra);
  fs.writeFileSync(
    path.join(extra, "more.py"),
    "def more_things(a):\n    b = a + 1\n    c = b * b\n    return c - a\n",
  );
  const out3 = path.join(root, "out-extra");
  await buildCorpus(
    { ...baseConfig(), inputs: [extra, ...baseConfig().inputs], out: out3 },
    { benchmarkIndex: benchmarkIndex(), progress: false },
  );
  const again = SPLITS.flatMap((split) => readCorpusSync(out3, { split }));
  for (const r of again) if (r.repo !== "extra") assert.equal(r.split, fileSplit.get(`${r.repo}/${r.path}`), r.name);
  assert.ok(new Set(records.map((r) => r.split)).size >= 2, "fixture spans at least two splits");
});

test("a single file is an input too (repo = its directory's name)", async () => {
  const out4 = path.join(root, "out-single");
  const file = path.join(tree, "pkg/stats.py");
  const st = await buildCorpus({ inputs: [file], out: out4 }, { benchmarkIndex: benchmarkIndex(), progress: false });
  const recs = SPLITS.flatMap((split) => readCorpusSync(out4, { split }));
  assert.equal(st.files.seen, 1);
  assert.deepEqual(recs.map((r) => r.name).sort(), ["histogram", "mean_and_spread", "median"]);
  assert.ok(recs.every((r) => r.repo === "pkg" && r.path === "stats.py"));
});

test("assignSplit follows the configured ratios and the key mode", () => {
  const cfg = resolveCorpusConfig({ inputs: ["x"], out: "y", split: { train: 0.8, validation: 0.1, test: 0.1 } }).split;
  const counts = { train: 0, validation: 0, test: 0 };
  for (let i = 0; i < 20000; i++) counts[assignSplit(`repo\u0000file${i}.py`, cfg)]++;
  assert.ok(Math.abs(counts.train / 20000 - 0.8) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs(counts.test / 20000 - 0.1) < 0.015, JSON.stringify(counts));
  const other = { ...cfg, seed: "another-seed" };
  let moved = 0;
  for (let i = 0; i < 1000; i++) if (assignSplit(`k${i}`, cfg) !== assignSplit(`k${i}`, other)) moved++;
  assert.ok(moved > 100, "the seed changes the assignment");
  assert.throws(
    () => resolveCorpusConfig({ inputs: ["x"], out: "y", split: { train: 0.5, validation: 0.1, test: 0.1 } }),
    /sum to 1/,
  );
});

test("readCorpus streams one split filtered by language; readCorpusSync agrees", async () => {
  const train: CorpusRecord[] = [];
  for await (const r of readCorpus(out, { split: "train", lang: "python" })) train.push(r);
  const sync = readCorpusSync(out, { split: "train", lang: "python" });
  assert.deepEqual(train, sync);
  assert.ok(train.length > 0 && train.every((r) => r.lang === "python" && r.split === "train"));
  assert.deepEqual(readCorpusSync(out, { split: "train", lang: "py" }), sync, "language aliases are accepted");
  const limited = readCorpusSync(out, { split: "train", limit: 2 });
  assert.equal(limited.length, 2);
});

test("malformed corpora give clear errors naming the file and line", async () => {
  const bad = path.join(root, "bad-corpus");
  const shardDir = path.join(bad, "train");
  fs.mkdirSync(shardDir, { recursive: true });
  const good = JSON.stringify(records[0]);
  const shard = path.join(shardDir, "shard-00000.jsonl.gz");
  const writeShard = (lines: (string | Buffer)[]): void =>
    fs.writeFileSync(
      shard,
      zlib.gzipSync(Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from("\n")])))),
    );
  const expectError = async (re: RegExp): Promise<void> => {
    assert.throws(
      () => readCorpusSync(bad, { split: "train" }),
      (e: unknown) => e instanceof UserError && re.test((e as Error).message),
    );
    await assert.rejects(
      async () => {
        for await (const _ of readCorpus(bad, { split: "train" })) void _;
      },
      (e: unknown) => e instanceof UserError && re.test((e as Error).message),
    );
  };
  writeShard([good, "{oops"]);
  await expectError(/shard-00000\.jsonl\.gz:2: invalid JSON/);
  const { code: _c, ...noCode } = records[0]!;
  void _c;
  writeShard([good, good, JSON.stringify(noCode)]);
  await expectError(/shard-00000\.jsonl\.gz:3: bad corpus record — code/);
  writeShard([Buffer.concat([Buffer.from('{"id": "caf'), Buffer.from([0xe9, 0x22, 0x7d])])]);
  await expectError(/shard-00000\.jsonl\.gz:1: line is not valid UTF-8/);
  assert.throws(() => readCorpusSync(path.join(root, "nope"), { split: "train" }), /corpus directory not found/);
  assert.throws(() => readCorpusSync(out, { split: "dev" as "train" }), /unknown split 'dev'/);
});

test("bad configuration and inputs are user errors, not crashes", async () => {
  await assert.rejects(
    buildCorpus({ inputs: [path.join(root, "missing")], out: path.join(root, "o1") }),
    (e: unknown) => e instanceof UserError && /input not found/.test((e as Error).message),
  );
  await assert.rejects(
    buildCorpus({ inputs: [tree], out: path.join(root, "o2"), langs: ["klingon"] }),
    /unknown language 'klingon'/,
  );
  await assert.rejects(
    buildCorpus({ inputs: [tree], out: path.join(root, "o3"), dedup: { threshold: 2 } } as never),
    /dedup.threshold/,
  );
  await assert.rejects(buildCorpus({ inputs: [tree], out: tree }), /not empty and does not hold a corpus/);
  await assert.rejects(
    buildCorpus({
      inputs: [tree],
      out: path.join(root, "o4"),
      decontam: { benchmarksDir: path.join(root, "no-benchmarks") },
    }),
    /decontamination: benchmark directory not found/,
  );
});

test("the CLI builds a corpus, prints the summary and rejects bad arguments", () => {
  const cliOut = path.join(root, "cli-out");
  const bin = path.join(repoRoot, "bin/batcoder.js");
  const r = spawnSync(
    process.execPath,
    [bin, "corpus", "build", "--out", cliOut, "--lang", "py", "--quiet", "--input", gitRepo, jsonl],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /functions: \d+ extracted, 2 kept/, "two inputs after one --input");
  assert.match(r.stdout, /contamination: 0 functions removed/);
  assert.match(r.stdout, /throughput: .* MB\/s/);
  const v = spawnSync(process.execPath, [bin, "corpus", "verify", cliOut], { encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  const bad = spawnSync(process.execPath, [bin, "corpus", "build", "--input", gitRepo], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--out DIR is required/);
  const badLang = spawnSync(
    process.execPath,
    [bin, "corpus", "build", "--input", gitRepo, "--out", path.join(root, "cli2"), "--lang", "cobol"],
    { encoding: "utf8" },
  );
  assert.equal(badLang.status, 1);
  assert.match(badLang.stderr, /unknown language 'cobol'/);
  const badOpt = spawnSync(process.execPath, [bin, "corpus", "build", "--frobnicate"], { encoding: "utf8" });
  assert.equal(badOpt.status, 1);
  assert.match(badOpt.stderr, /Unknown option '--frobnicate'/);
  assert.doesNotMatch(badOpt.stderr, /\n\s+at /, "no stack trace for user errors");
});
