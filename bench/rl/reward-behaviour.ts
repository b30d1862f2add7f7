/**
 * RL step-time cost of the behaviour reward: the reward backend's score() on one step's worth of reconstruction
 * jobs (B functions × G docs × K rebuilds), behaviour off (static metric only) vs on (static on worker threads +
 * behaviour in sandboxed batches, concurrently), the SAME jobs, in ONE process. Functions: the corpus's TRAIN
 * split (python, ruby, go; never test), each step new functions (the runner's probe cache misses, as in RL's
 * first epoch). Rebuilds: the original, a one-token break (first integer literal + 1, or first comparison
 * flipped), and a truncated copy, cycled.
 *
 *   node dist/bench/rl/reward-behaviour.js [--steps 3] [--B 8] [--G 4] [--K 2] [--langs python,ruby,go] [--metric dfg]
 */
import { parseArgs } from "node:util";
import { readSplit } from "../../src/orchestration/items.js";
import { parseConfig } from "../../src/rl/config.js";
import { createRewardBackend } from "../../src/rl/reward.js";
import type { RewardJob } from "../../src/similarity/index.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "3" },
    B: { type: "string", default: "8" },
    G: { type: "string", default: "4" },
    K: { type: "string", default: "2" },
    langs: { type: "string", default: "python,ruby,go" },
    metric: { type: "string", default: "dfg" },
  },
});
const steps = Number(values.steps),
  B = Number(values.B),
  G = Number(values.G),
  K = Number(values.K);
const langs = values.langs!.split(",");
const recs = readSplit("data/corpus/default", "train", langs).filter(
  (r) => r.kind !== "method" && r.n_lines >= 3 && r.n_lines <= 20,
);
// interleave languages, deterministic
const byLang = langs.map((l) => recs.filter((r) => r.lang === l));
const pool: typeof recs = [];
for (let i = 0; pool.length < steps * B && i < 10_000; i++)
  for (const xs of byLang) if (xs[i * 7]) pool.push(xs[i * 7]!);

function variants(code: string): string[] {
  const brk = /\b(\d+)\b/.test(code)
    ? code.replace(/\b(\d+)\b/, (_, d: string) => String(Number(d) + 1))
    : code.replace(/==|<=|>=|<|>/, (m) => ({ "==": "!=", "<=": ">", ">=": "<", "<": ">=", ">": "<=" })[m]!);
  const lines = code.split("\n");
  return [code, brk, lines.slice(0, Math.max(2, Math.ceil(lines.length / 2))).join("\n")];
}

const batches: RewardJob<string>[][] = [];
for (let s = 0; s < steps; s++) {
  const jobs: RewardJob<string>[] = [];
  for (const r of pool.slice(s * B, (s + 1) * B)) {
    const vs = variants(r.code);
    for (let k = 0; k < G * K; k++)
      jobs.push({ code: r.code, doc: "Computes the result.", rebuilt: vs[k % vs.length]!, lang: r.lang });
  }
  batches.push(jobs);
}

const out: Record<string, { ms: number[]; exec: number[]; beh: number[] }> = {};
for (const mode of ["off", "on"] as const) {
  const cfg = parseConfig({ reward_metric: values.metric, reward_options: { behaviour: { enabled: mode === "on" } } });
  const rb = await createRewardBackend(cfg, langs);
  out[mode] = { ms: [], exec: [], beh: [] };
  for (const jobs of batches) {
    for (const j of jobs) j.docCheck = await rb.checkDoc(j.doc, j.code, j.lang);
    const t0 = performance.now();
    const sc = await rb.score(jobs);
    out[mode]!.ms.push(performance.now() - t0);
    out[mode]!.exec.push(sc.filter((s) => s.components.executable === 1).length / sc.length);
    const bs = sc.map((s) => s.components.behaviour).filter((x): x is number => typeof x === "number");
    out[mode]!.beh.push(bs.length ? bs.reduce((a, b) => a + b, 0) / bs.length : NaN);
  }
  await rb.close?.();
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `jobs per step: ${B}×${G}×${K} = ${B * G * K} (${langs.join(", ")}; metric ${values.metric}); steps ${steps}`,
);
for (const m of ["off", "on"]) {
  console.log(
    `behaviour ${m.padEnd(3)}: reward time per step ${mean(out[m]!.ms).toFixed(0)} ms (per step: ${out[m]!.ms.map((x) => x.toFixed(0)).join(", ")}); executable share ${mean(out[m]!.exec).toFixed(3)}; mean behaviour ${mean(out[m]!.beh).toFixed(3)}`,
  );
}
console.log(
  `ratio on/off: ${(mean(out.on!.ms) / mean(out.off!.ms)).toFixed(2)}×; extra per step ${(mean(out.on!.ms) - mean(out.off!.ms)).toFixed(0)} ms`,
);
