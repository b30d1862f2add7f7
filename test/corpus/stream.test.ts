/**
 * Streaming with bounded memory. Default: an 8 MB synthetic input of source files only (≈ 15 s of one core;
 * the whole pipeline is CPU-bound at ≈ 0.6 MB/s of dense small functions). Larger runs, reported in
 * bench/corpus/RESULTS.md:
 *   BATCODER_CORPUS_STREAM_MB=100 node scripts/run-tests.mjs corpus/stream                  (100 MB of code)
 *   BATCODER_CORPUS_STREAM_MB=1000 BATCODER_CORPUS_STREAM_CODE=0.25 node scripts/run-tests.mjs corpus/stream
 *     (1 GB crawl-like input: 25 % of records are source files, ≈ 6 % of the bytes; the rest data, prose, vendored code, lockfiles and
 *      minified bundles that the pipeline reads and skips)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { repoRoot, tmpDir } from "./helpers.js";
import { writeSynthJsonl } from "./synth.js";

const MB = Number(process.env.BATCODER_CORPUS_STREAM_MB ?? 8);
const CODE = Number(process.env.BATCODER_CORPUS_STREAM_CODE ?? 1);

test(`a ${MB} MB synthetic input streams through the pipeline with bounded memory`, {
  timeout: Math.max(300_000, MB * 4000),
}, async () => {
  const root = tmpDir("corpus-stream");
  try {
    const input = path.join(root, "synthetic.jsonl");
    const written = await writeSynthJsonl(input, MB * 1e6, 42, CODE);
    const out = path.join(root, "out");
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, "bin/batcoder.js"),
        "corpus",
        "build",
        "--input",
        input,
        "--out",
        out,
        "--quiet",
        "--workers",
        "0",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.stdout.resume();
    const [code] = (await once(child, "close")) as [number];
    assert.equal(code, 0, stderr);
    const stats = JSON.parse(fs.readFileSync(path.join(out, "stats.json"), "utf8"));
    const t = stats.throughput;
    assert.ok(stats.bytes_read > written * 0.9, "the whole input was read");
    assert.ok(stats.bytes_analyzed > 0.5 * MB * 1e6 * (CODE < 1 ? 0.02 : 1), `analysed ${stats.bytes_analyzed} bytes`);
    assert.ok(stats.functions.kept > (1000 * stats.bytes_analyzed) / 1e6, `kept ${stats.functions.kept}`);
    // report the numbers (visible with the spec reporter) for bench/corpus/RESULTS.md
    console.log(
      `stream ${MB} MB (code fraction ${CODE}): ${JSON.stringify({ bytes_read: stats.bytes_read, bytes_analyzed: stats.bytes_analyzed, files: stats.files.seen, extracted: stats.functions.extracted, kept: stats.functions.kept, ...stats.throughput, memory_samples: undefined })}`,
    );
    console.log(`memory samples [MB read, RSS MB, dedup MB]: ${JSON.stringify(stats.throughput.memory_samples)}`);
    assert.ok(stats.duplicates.exact > 0, "repeated functions are removed");
    // Memory: everything but the dedup state is flat. Its size is proportional to the kept functions only.
    const flat = t.peak_rss_mb - t.dedup_state_mb;
    assert.ok(flat < 450, `peak RSS ${t.peak_rss_mb} MB minus dedup state ${t.dedup_state_mb} MB = ${flat} MB`);
    assert.ok(
      t.dedup_state_mb * 1e6 < stats.functions.kept * 1200,
      `dedup state ${t.dedup_state_mb} MB for ${stats.functions.kept} functions`,
    );
    // RSS excluding the dedup state in the second half of the run stays near the first half's level
    const samples: [number, number, number][] = t.memory_samples;
    if (samples.length >= 6) {
      const half = Math.floor(samples.length / 2);
      const first = Math.max(...samples.slice(1, half).map((s) => s[1] - s[2]));
      const second = Math.max(...samples.slice(half).map((s) => s[1] - s[2]));
      assert.ok(second < first + 64, `RSS minus dedup state grew from ${first} MB to ${second} MB`);
    }
    const records = stats.splits.train.total + stats.splits.validation.total + stats.splits.test.total;
    assert.equal(records, stats.functions.kept);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
