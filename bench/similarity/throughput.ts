/**
 * Throughput of the similarity metrics and the reward, and parse speed per language.
 *
 *   node dist/bench/similarity/throughput.js [--seconds S]
 *
 * Pairs are (function, renamed function) for Python functions of 20-40 lines from HumanEval + sanitized
 * MBPP. "distinct" cycles over more references than the reference cache holds (every pair parses both
 * sides); "grouped" scores 8 candidates per reference in a row, as a GRPO group does.
 * One core: in-process. All cores: the RewardPool with one worker per core, on the same jobs, in the same run.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LANG_IDS, loadAllLanguages, parseCode, type LangId } from "../../src/lang/index.js";
import { similarity, RewardPool, scoreInProcess, type Metric, type RewardJob } from "../../src/similarity/index.js";
import { loadPythonFunctions } from "./quality.js";
import { rename } from "./rewrites.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const secArg = process.argv.indexOf("--seconds");
const SECONDS = secArg > 0 ? Number(process.argv[secArg + 1]) : 2;

function rate(fn: () => number): number {
  // warm up, then run for SECONDS
  fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) n += fn();
  return n / ((performance.now() - t0) / 1000);
}

await loadAllLanguages();
const fns = loadPythonFunctions().filter((f) => {
  const n = f.code.trim().split("\n").length;
  return n >= 20 && n <= 40;
});
const pairs = fns.map((f) => [f.code, rename(f.code) ?? f.code] as const);
const avgLines = fns.reduce((a, f) => a + f.code.trim().split("\n").length, 0) / fns.length;
console.log(`pairs: ${pairs.length} Python functions of 20-40 lines (mean ${avgLines.toFixed(1)} lines); cores: ${os.availableParallelism()}`);

console.log("\n| metric | pairs/s one core, distinct refs | pairs/s one core, 8 per ref |");
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

// reward: in-process vs pool, same jobs
const doc = "Do the computation described by the task.\n\nReturns:\n  the result";
for (const metric of ["codebleu", "dfg"] as Metric[]) {
  const jobs: RewardJob[] = [];
  for (let r = 0; r < 4; r++) for (const [a, b] of pairs) jobs.push({ code: a + `\n# ${r}\n`, doc, rebuilt: b, lang: "python", cfg: { metric } });
  const t0 = performance.now();
  await scoreInProcess(jobs);
  const one = jobs.length / ((performance.now() - t0) / 1000);
  const pool = new RewardPool();
  await pool.score(jobs.slice(0, 64)); // start workers, load grammars
  const t1 = performance.now();
  await pool.score(jobs);
  const all = jobs.length / ((performance.now() - t1) / 1000);
  await pool.close();
  console.log(`reward (${metric}, ${jobs.length} jobs): in-process ${one.toFixed(0)} jobs/s, RewardPool x${pool.size} ${all.toFixed(0)} jobs/s (x${(all / one).toFixed(2)})`);
}

// parse speed per language: the registry's sample files repeated to ~256 KB
const FIX = path.join(ROOT, "test/fixtures/lang");
const files = fs.readdirSync(FIX);
console.log("\n| language | parse MB/s (parse + JS tree) |");
console.log("|---|---|");
const ext: Record<string, LangId> = {};
for (const f of files) {
  const src = fs.readFileSync(path.join(FIX, f), "utf8");
  const l = LANG_IDS.find((id) => f.endsWith(id === "python" ? ".py" : "")) ?? null;
  void l;
  const { detectLanguage } = await import("../../src/lang/index.js");
  const lang = detectLanguage(f, src.split("\n")[0])!;
  ext[lang] = lang;
  const body = lang === "php" ? src.replace(/^<\?php\n/, "") : src;
  let big = lang === "php" ? "<?php\n" : "";
  while (big.length < 256 * 1024) big += body.replace(/\badd\b/g, `add${big.length}`).replace(/\bGreeter\b/g, `Greeter${big.length}`) + "\n";
  const mbps = rate(() => {
    parseCode(lang, big);
    return big.length / 1e6;
  });
  console.log(`| ${lang} | ${mbps.toFixed(2)} |`);
}
