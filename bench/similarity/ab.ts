/**
 * Same-process A/B throughput of this build against another built checkout (e.g. `git worktree add /tmp/base
 * <commit>` + `npx tsc -p .` there): graph metric and CodeBLEU pairs per CPU-second, alternating rounds of the
 * two builds and reporting medians, so machine load hits both sides alike; and detectLeak calls per CPU-second.
 *
 *   node dist/bench/similarity/ab.js --base /tmp/base [--rounds 7]
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPythonFunctions } from "./quality.js";
import { rename } from "./rewrites.js";
import { readCorpusSync } from "../../src/corpus/index.js";

type Sim = (metric: string, a: string, b: string, lang: string) => { score: number };
type Leak = (doc: string, code: string, lang: string) => unknown;
interface Build {
  name: string;
  similarity: Sim;
  detectLeak: Leak;
  canonicalizeDoc: (raw: string, fn?: { name?: string }) => string | null;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const arg = (k: string): string | undefined =>
  process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : undefined;
const baseDir = arg("--base");
if (!baseDir) throw new Error("--base DIR (a built checkout to compare with) is required");
const rounds = Number(arg("--rounds") ?? 7);

async function load(name: string, dir: string): Promise<Build> {
  const lang = (await import(path.join(dir, "dist/src/lang/index.js"))) as {
    loadLanguage: (l: string) => Promise<void>;
  };
  for (const l of ["python", "ruby", "go"]) await lang.loadLanguage(l);
  const sim = (await import(path.join(dir, "dist/src/similarity/index.js"))) as Omit<Build, "name">;
  return { name, similarity: sim.similarity, detectLeak: sim.detectLeak, canonicalizeDoc: sim.canonicalizeDoc };
}
const builds = [await load("base", path.resolve(baseDir)), await load("new", ROOT)];
const fns = loadPythonFunctions().filter((f) => {
  const n = f.code.split("\n").length;
  return n >= 15 && n <= 45;
});
const pairs = fns.map((f) => [f.code, rename(f.code) ?? f.code] as const);
const docs = readCorpusSync(path.join(ROOT, "data/corpus/default"), { split: "validation", withDoc: true });
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let ctr = 0;
function rate(b: Build, what: string): number {
  const c0 = cpu();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 700) {
    if (what.startsWith("leak")) {
      for (const r of docs.slice(0, 200)) {
        const d = b.canonicalizeDoc(r.doc!, { name: r.name });
        if (!d) continue;
        const k = what === "leak, 8 per code" ? 8 : 1;
        for (let j = 0; j < k; j++)
          b.detectLeak(
            `${d}${j ? ` x${j}` : ""}`,
            what === "leak, distinct" ? `${r.code}\n` + " ".repeat(ctr++ % 97) : r.code,
            r.lang,
          );
        n += k;
      }
      continue;
    }
    const [metric, mode] = what.split(" ");
    for (const [r, c] of pairs) {
      if (mode === "grouped") {
        for (let k = 0; k < 8; k++) b.similarity(metric!, r, `${c}\n${"#".repeat(k + 1)}`, "python");
        n += 8;
      } else {
        b.similarity(metric!, `${r}\n# ${ctr++}`, c, "python");
        n++;
      }
    }
  }
  return n / (cpu() - c0);
}
const WHAT = [
  "dfg distinct",
  "dfg grouped",
  "codebleu distinct",
  "codebleu grouped",
  "leak, distinct",
  "leak, 8 per code",
];
const res = new Map<string, number[]>();
for (let r = 0; r < rounds; r++)
  for (const b of builds)
    for (const w of WHAT) {
      const k = `${w}\u0000${b.name}`;
      res.set(k, [...(res.get(k) ?? []), rate(b, w)]);
    }
const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`rounds: ${rounds}; per CPU-second, medians\n\n| what | base | new | new/base |\n|---|---|---|---|`);
for (const w of WHAT) {
  const b = med(res.get(`${w}\u0000base`)!);
  const n = med(res.get(`${w}\u0000new`)!);
  console.log(`| ${w} | ${b.toFixed(0)} | ${n.toFixed(0)} | ${(n / b).toFixed(2)} |`);
}
