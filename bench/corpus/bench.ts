/**
 * Corpus pipeline throughput: builds a corpus from a large real tree (default: the full Python standard
 * library, /usr/lib/python3.11) with 0 and N analysis workers, each in its own process, and prints MB/s,
 * functions/s and peak RSS. Optionally also a synthetic JSONL input of --synth-mb MB.
 *
 *   node dist/bench/corpus/bench.js [--input DIR] [--workers 0,2] [--synth-mb 100]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { writeSynthJsonl } from "../../test/corpus/synth.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    input: { type: "string", default: "/usr/lib/python3.11" },
    workers: { type: "string", default: "0,2" },
    "synth-mb": { type: "string" },
  },
});

interface Row {
  input: string;
  workers: number;
  mb: number;
  seconds: number;
  mbps: number;
  cpu: number;
  mbpcpu: number;
  fps: number;
  extracted: number;
  kept: number;
  rss: number;
  dedup: number;
}

function run(input: string, workers: number): Row {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-bench-corpus-"));
  try {
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, "bin/batcoder.js"),
        "corpus",
        "build",
        "--input",
        input,
        "--out",
        path.join(out, "c"),
        "--workers",
        String(workers),
        "--quiet",
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
    const s = JSON.parse(fs.readFileSync(path.join(out, "c/stats.json"), "utf8"));
    const t = s.throughput;
    return {
      input,
      workers,
      mb: s.bytes_read / 1e6,
      seconds: t.seconds,
      mbps: t.mb_per_s,
      cpu: t.cpu_seconds,
      mbpcpu: t.mb_per_cpu_s,
      fps: t.functions_per_s,
      extracted: s.functions.extracted,
      kept: s.functions.kept,
      rss: t.peak_rss_mb,
      dedup: t.dedup_state_mb,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
const workerCounts = values.workers!.split(",").map(Number);
for (const w of workerCounts) rows.push(run(values.input!, w));
if (values["synth-mb"]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-bench-synth-"));
  try {
    const file = path.join(dir, "synthetic.jsonl");
    await writeSynthJsonl(file, Number(values["synth-mb"]) * 1e6, 42);
    for (const w of workerCounts) rows.push(run(file, w));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  `cpus: ${os.availableParallelism()}  load average: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
console.log(
  "input | workers | MB read | seconds | MB/s | CPU s | MB per CPU s | functions/s | extracted | kept | peak RSS MB | dedup state MB",
);
for (const r of rows)
  console.log(
    `${r.input} | ${r.workers} | ${r.mb.toFixed(1)} | ${r.seconds.toFixed(1)} | ${r.mbps.toFixed(2)} | ${r.cpu.toFixed(1)} | ${r.mbpcpu.toFixed(2)} | ${r.fps.toFixed(0)} | ${r.extracted} | ${r.kept} | ${r.rss} | ${r.dedup}`,
  );
const base = rows.find((r) => r.workers === 0 && r.input === values.input);
for (const r of rows)
  if (base && r !== base && r.input === base.input)
    console.log(`speed-up with ${r.workers} workers: ${(r.mbps / base.mbps).toFixed(2)}x`);
