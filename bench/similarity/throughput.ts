/**
 * Throughput of the similarity metrics and the reward, and parse speed per language.
 *
 *   node dist/bench/similarity/throughput.js [--seconds S]
 *
 * Pairs are (function, renamed function) for Python functions of 15-45 lines from HumanEval + sanitized
 * MBPP. "distinct" cycles over more references than the reference cache holds (every pair parses both
 * sides); "grouped" scores 8 candidates per reference in a row, as a GRPO group does.
 * One core: in-process. All cores: the RewardPool with one worker per core, on the same jobs, in the same run.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { detectLanguage, loadAllLanguages, parseCode, type LangId } from "../../src/lang/index.js";
import { similarity, RewardPool, scoreInProcess, type Metric, type RewardJob } from "../../src/similarity/index.js";
import { loadPythonFunctions } from "./quality.js";
import { rename } from "./rewrites.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const secArg = process.argv.indexOf("--seconds");
const SECONDS = secArg > 0 ? Number(process.argv[secArg + 1]) : Number(process.env.BENCH_SECONDS ?? 2);

/**
 * Items per CPU-second of this process (user + system time of all its threads): on a shared, loaded machine
 * wall time mostly measures waiting for a core, CPU time measures the work.
 */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
function rate(fn: () => number): number {
  fn(); // warm up
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) n += fn();
  return n / Math.max(1e-9, cpuSeconds() - c0);
}

await loadAllLanguages();
const fns = loadPythonFunctions().filter((f) => {
  const n = f.code.trim().split("\n").length;
  return n >= 15 && n <= 45;
});
const pairs = fns.map((f) => [f.code, rename(f.code) ?? f.code] as const);
const avgLines = fns.reduce((a, f) => a + f.code.trim().split("\n").length, 0) / fns.length;
console.log(
  `pairs: ${pairs.length} Python functions of 15-45 lines (mean ${avgLines.toFixed(1)} lines); cores: ${os.availableParallelism()}`,
);

{
  // floor: parsing one side of a pair (parse + JS tree), the cost every metric pays at least once
  let i = 0;
  const parses = rate(() => {
    parseCode("python", pairs[i++ % pairs.length]![1]);
    return 1;
  });
  console.log(`parse only (one side): ${parses.toFixed(0)} per CPU-s`);
}
console.log("\n| metric | pairs per CPU-s, distinct refs | pairs per CPU-s, 8 per ref |");
console.log("|---|---|---|");
for (const m of ["bleu", "codebleu", "dfg", "exact"] as Metric[]) {
  let i = 0;
  const distinct = rate(() => {
    for (let k = 0; k < 10; k++) {
      const [a, b] = pairs[i++ % pairs.length]!;
      // perturb the reference so the prepared-reference cache never hits
      similarity(m, a + `\n# ${i}\n`, b, "python");
    }
    return 10;
  });
  let j = 0;
  const grouped = rate(() => {
    const [a, b] = pairs[j++ % pairs.length]!;
    for (let k = 0; k < 8; k++) similarity(m, a, b + `\n# ${k}\n`, "python");
    return 8;
  });
  console.log(`| ${m} | ${distinct.toFixed(0)} | ${grouped.toFixed(0)} |`);
}

// reward: in-process vs pool, same jobs. Wall-clock jobs/s (what training sees) and jobs per CPU-second.
const doc = "Do the computation described by the task.\n\nReturns:\n  the result";
console.log(
  "\n| reward metric | jobs | in-process jobs/s (wall) | in-process jobs/CPU-s | pool jobs/s (wall) | pool jobs/CPU-s | pool/in-process (wall) |",
);
console.log("|---|---|---|---|---|---|---|");
for (const metric of ["codebleu", "dfg"] as Metric[]) {
  const jobs: RewardJob[] = [];
  for (let r = 0; r < 8; r++)
    for (const [a, b] of pairs) jobs.push({ code: a + `\n# ${r}\n`, doc, rebuilt: b, lang: "python", cfg: { metric } });
  await scoreInProcess(jobs); // warm
  let c0 = cpuSeconds();
  const t0 = performance.now();
  await scoreInProcess(jobs);
  const oneWall = jobs.length / ((performance.now() - t0) / 1000);
  const oneCpu = jobs.length / (cpuSeconds() - c0);
  const pool = new RewardPool();
  await pool.score(jobs); // start workers, load grammars, warm the JIT (the main thread is warm already)
  c0 = cpuSeconds();
  const t1 = performance.now();
  await pool.score(jobs);
  const allWall = jobs.length / ((performance.now() - t1) / 1000);
  const allCpu = jobs.length / (cpuSeconds() - c0);
  await pool.close();
  console.log(
    `| ${metric} | ${jobs.length} | ${oneWall.toFixed(0)} | ${oneCpu.toFixed(0)} | ${allWall.toFixed(0)} (x${pool.size} workers) | ${allCpu.toFixed(0)} | x${(allWall / oneWall).toFixed(2)} |`,
  );
}

// parse speed per language: the registry's sample files repeated to ~256 KB
const FIX = path.join(ROOT, "test/fixtures/lang");
const files = fs.readdirSync(FIX);
console.log("\n| language | parse MB per CPU-s (parse + JS tree) |");
console.log("|---|---|");
const ext: Record<string, LangId> = {};
for (const f of files) {
  const src = fs.readFileSync(path.join(FIX, f), "utf8");
  const lang = detectLanguage(f, src.split("\n")[0]);
  if (!lang) continue; // README.md and other non-source files beside the samples
  ext[lang] = lang;
  const body = lang === "php" ? src.replace(/^<\?php\n/, "") : src;
  let big = lang === "php" ? "<?php\n" : "";
  while (big.length < 256 * 1024)
    big += body.replace(/\badd\b/g, `add${big.length}`).replace(/\bGreeter\b/g, `Greeter${big.length}`) + "\n";
  const mbps = rate(() => {
    parseCode(lang, big);
    return big.length / 1e6;
  });
  console.log(`| ${lang} | ${mbps.toFixed(2)} |`);
}
