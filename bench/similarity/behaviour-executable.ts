/**
 * Share of the bundled corpus (data/corpus/default) that the behaviour metric can run alone, per language,
 * with the reasons for the rest. Each sampled function is compared with itself (a self-comparison must score 1
 * whenever the function is executable, which is checked too).
 *
 *   node dist/bench/similarity/behaviour-executable.js [--per-lang 300] [--langs python,ruby,go] [--split validation]
 */
import fs from "node:fs";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { readCorpusSync, DEFAULT_CORPUS_DIR, type CorpusRecord } from "../../src/corpus/index.js";
import { BehaviourRunner, BEHAVIOUR_LANGS } from "../../src/behaviour/index.js";
import { reasonCategory as category } from "../../src/orchestration/exec-slice.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const perLang = Number(arg("per-lang", "300"));
  const langs = arg("langs", "python,ruby,go").split(",");
  const split = arg("split", "validation") as "train" | "validation" | "test";
  const runner = new BehaviourRunner({ seed: 0 });
  console.log(
    `behaviour executability on ${DEFAULT_CORPUS_DIR} (${split} split, up to ${perLang} functions per language, sampled by hash of id)\n`,
  );
  console.log("| language | sampled | executable | share | functions (not methods) executable | self-score 1 |");
  console.log("|---|---|---|---|---|---|");
  const reasonsByLang: [string, Map<string, number>][] = [];
  for (const lang of langs) {
    const all = readCorpusSync(DEFAULT_CORPUS_DIR, { split, lang });
    const sample: CorpusRecord[] = all
      .map((r) => [crypto.createHash("sha1").update(r.id).digest("hex"), r] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .slice(0, perLang)
      .map(([, r]) => r);
    if (!(BEHAVIOUR_LANGS as readonly string[]).includes(lang)) {
      console.log(`| ${lang} | ${sample.length} | 0 | 0% (no ${lang} runner) | – | – |`);
      continue;
    }
    const t0 = performance.now();
    const res = await runner.compare(
      sample.map((r) => ({ lang, original: r.code, rebuilt: r.code, entryPoint: r.name })),
    );
    const s = (performance.now() - t0) / 1000;
    const exec = res.filter((r) => r.executable);
    const fnIdx = sample.map((r, i) => (r.kind === "function" ? i : -1)).filter((i) => i >= 0);
    const fnExec = fnIdx.filter((i) => res[i]!.executable).length;
    const selfOne = exec.filter((r) => r.score === 1).length;
    const reasons = new Map<string, number>();
    for (const r of res)
      if (!r.executable) {
        const c = category(r.reason ?? "?");
        reasons.set(c, (reasons.get(c) ?? 0) + 1);
      }
    reasonsByLang.push([lang, reasons]);
    console.log(
      `| ${lang} | ${sample.length} | ${exec.length} | ${((100 * exec.length) / Math.max(1, sample.length)).toFixed(1)}% | ` +
        `${fnExec}/${fnIdx.length} | ${selfOne}/${exec.length} | (${s.toFixed(1)} s)`,
    );
  }
  for (const [lang, reasons] of reasonsByLang) {
    console.log(`\n${lang}: why not executable`);
    for (const [k, n] of [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12))
      console.log(`  ${String(n).padStart(4)}  ${k}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) await main();
