/**
 * Behavioural comparisons per second (wall clock, sandboxed), Python by default:
 *  - "groups": GRPO-style, G rebuilds per original (the original is probed once per group, then cached);
 *  - "distinct": every comparison has its own original (probe + rebuild each time: the cold case).
 * Jobs are the near-miss pairs (data/nearmiss), with a comment appended to make originals distinct.
 *
 * The machine is shared, so besides the wall-clock rate it prints comparisons per CPU-second: this process's CPU
 * plus the CPU the sandboxed runner processes report (interpreter start-up included; bubblewrap set-up not).
 *
 *   node dist/bench/similarity/behaviour-throughput.js [--lang python] [--n 480] [--group 8] [--batch 64] [--workers W]
 */
import fs from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { BehaviourRunner, type BehaviourJob } from "../../src/behaviour/index.js";
import { loadNearMiss } from "./nearmiss.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const lang = arg("lang", "python");
  const n = Number(arg("n", "480"));
  const group = Number(arg("group", "8"));
  const batchSize = Number(arg("batch", "128"));
  const workers = Number(arg("workers", String(2 * os.cpus().length)));
  const pairs = loadNearMiss(lang);
  const comment = lang === "javascript" ? "//" : "#";
  const refs = [...new Map(pairs.map((p) => [p.ref, p])).values()];
  const variantsOf = (ref: string) => pairs.filter((p) => p.ref === ref);
  const mkGroups = (): BehaviourJob[] => {
    const jobs: BehaviourJob[] = [];
    for (let g = 0; jobs.length < n; g++) {
      const ref = refs[g % refs.length]!;
      const original = `${ref.original}${comment} copy ${g}\n`;
      const vs = variantsOf(ref.ref);
      for (let k = 0; k < group && jobs.length < n; k++)
        jobs.push({ lang, original, rebuilt: vs[k % vs.length]!.variant, entryPoint: ref.entry });
    }
    return jobs;
  };
  const mkDistinct = (): BehaviourJob[] =>
    Array.from({ length: n }, (_, i) => {
      const p = pairs[i % pairs.length]!;
      return { lang, original: `${p.original}${comment} distinct ${i}\n`, rebuilt: p.variant, entryPoint: p.entry };
    });
  console.log(
    `behaviour throughput: lang=${lang} comparisons=${n} batchSize=${batchSize} (sides per process) workers=${workers} cpus=${os.cpus().length} load=${os.loadavg()[0]!.toFixed(1)}`,
  );
  for (const [name, jobs] of [
    ["groups of " + group, mkGroups()],
    ["distinct originals", mkDistinct()],
  ] as const) {
    const runner = new BehaviourRunner({ batchSize, workers, seed: 0 });
    const cpu0 = process.cpuUsage();

    const t0 = performance.now();
    const res = await runner.compare(jobs);
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const hostCpu = (cpu.user + cpu.system) / 1e6;

    const scored = res.filter((r) => r.score !== null).length;
    console.log(
      `${name.padEnd(20)} ${(n / s).toFixed(1)} comparisons/s  (${s.toFixed(2)} s wall, ${runner.processes} sandboxed processes, ` +
        `${scored}/${n} scored); CPU: host ${hostCpu.toFixed(2)} s + runners ${runner.runnerCpuSeconds.toFixed(2)} s = ` +
        `${(n / (hostCpu + runner.runnerCpuSeconds)).toFixed(1)} comparisons per CPU-second`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) await main();
