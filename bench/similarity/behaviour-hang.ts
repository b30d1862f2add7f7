/**
 * Reproduces slow behaviour batches: self-compares a range of corpus functions in chunks (as
 * `batcoder corpus exec-slice` does), prints the wall time and the sandboxed processes of each chunk, and for
 * every chunk slower than `--slow` seconds times its functions one by one to name the culprits.
 *
 *   node dist/bench/similarity/behaviour-hang.js [--lang ruby] [--split train] [--from 1280] [--to 1536]
 *     [--chunk 16] [--slow 10] [--workers 2]
 */
import { readCorpusSync, DEFAULT_CORPUS_DIR, type Split } from "../../src/corpus/index.js";
import { BehaviourRunner } from "../../src/behaviour/index.js";
import { BehaviourRewardSchema } from "../../src/rl/reward.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const lang = arg("lang", "ruby");
const split = arg("split", "train") as Split;
const from = Number(arg("from", "1280"));
const to = Number(arg("to", "1536"));
const chunk = Number(arg("chunk", "16"));
const slow = Number(arg("slow", "10"));
const workers = Number(arg("workers", "2"));
const recs = readCorpusSync(arg("corpus", DEFAULT_CORPUS_DIR), { split, lang }).slice(from, to);
const d = BehaviourRewardSchema.parse({});
const opts = { seed: d.seed, nInputs: d.inputs, callMs: d.call_ms, workers };
const job = (i: number) => ({ lang, original: recs[i]!.code, rebuilt: recs[i]!.code, entryPoint: recs[i]!.name });
console.log(`${lang} ${split} [${from}, ${to}): ${recs.length} functions, chunks of ${chunk}, callMs ${d.call_ms}`);
let total = 0;
let executable = 0;
for (let s = 0; s < recs.length; s += chunk) {
  const idx = Array.from({ length: Math.min(chunk, recs.length - s) }, (_, k) => s + k);
  const runner = new BehaviourRunner(opts);
  const t0 = performance.now();
  const res = await runner.compare(idx.map(job));
  const sec = (performance.now() - t0) / 1000;
  total += sec;
  executable += res.filter((r) => r.executable).length;
  console.log(`chunk ${from + s}-${from + s + idx.length - 1}: ${sec.toFixed(1)} s, ${runner.processes} processes`);
  if (sec < slow) continue;
  for (const i of idx) {
    const one = new BehaviourRunner(opts);
    const t1 = performance.now();
    const [r] = await one.compare([job(i)]);
    const s1 = (performance.now() - t1) / 1000;
    if (s1 >= 2)
      console.log(
        `  #${from + i} ${recs[i]!.name} (${recs[i]!.path}): ${s1.toFixed(1)} s, ${one.processes} processes,` +
          ` executable ${r!.executable}, ${(r!.reason ?? "").slice(0, 100)}`,
      );
  }
}
console.log(`total ${total.toFixed(1)} s for ${recs.length} functions, ${executable} executable`);
