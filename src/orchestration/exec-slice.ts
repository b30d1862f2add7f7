/**
 * The executable slice: the records of one or more corpora whose functions the behaviour runner can run alone
 * (src/behaviour: deterministic on two runs, defined without missing globals or imports, not failing on most
 * inputs, not constant). The RL reward's behaviour term applies to every function of such a corpus, and held-out
 * rebuilds can be judged by what they do. Splits are kept (src/corpus/subset.ts), so a function's split never
 * changes. `batcoder corpus exec-slice`, `scripts/build-exec-corpus.sh`.
 */
import { BehaviourRunner, BEHAVIOUR_LANGS } from "../behaviour/index.js";
import { ProgressBar } from "../core/progress.js";
import { writeCorpusSubset, type SubsetStats, type SubsetVerdict } from "../corpus/subset.js";
import type { CorpusRecord } from "../corpus/index.js";
import { BehaviourRewardSchema } from "../rl/reward.js";

export interface ExecSliceOptions {
  /** Corpus directories; `DIR=python,go` keeps only those languages of that corpus. */
  sources: string[];
  out: string;
  /** Languages kept (default: every language the behaviour runner supports). */
  langs?: string[];
  /** Input seed and count of the executability check (default: the RL reward's behaviour settings). */
  seed?: number;
  inputs?: number;
  /** Records per behaviour batch (progress granularity). */
  chunk?: number;
  progress?: boolean;
  log?: (s: string) => void;
}

/** A short category for a not-executable reason (numbers and quoted details dropped), for the report. */
export function reasonCategory(reason: string): string {
  const m = /^(every input raises) \(\d+\/\d+ (\w+)/.exec(reason);
  if (m) return `${m[1]} ${m[2]}`;
  if (/compile error/.test(reason)) return "does not compile alone";
  if (/parameter type/.test(reason)) return "a parameter type the generator cannot make";
  const l = /^original does not load: (\w+)/.exec(reason);
  if (l) return `does not load: ${l[1]}`;
  return reason.replace(/\(.*$/, "").replace(/: .*$/, "").replace(/\d+/g, "N").trim();
}

export async function buildExecSlice(opts: ExecSliceOptions): Promise<SubsetStats> {
  const defaults = BehaviourRewardSchema.parse({});
  const seed = opts.seed ?? defaults.seed;
  const inputs = opts.inputs ?? defaults.inputs;
  const langs = new Set(opts.langs ?? BEHAVIOUR_LANGS);
  const sources = opts.sources.map((s) => {
    const [dir, only] = s.split("=", 2) as [string, string | undefined];
    return { dir, only: only ? new Set(only.split(",").map((l) => l.trim())) : null };
  });
  const onlyFor = new Map(sources.map((s) => [s.dir, s.only]));
  const runner = new BehaviourRunner({ seed, nInputs: inputs, callMs: defaults.call_ms });
  const chunk = opts.chunk ?? 256;
  const select = async (records: CorpusRecord[], ctx: { source: string; split: string }): Promise<SubsetVerdict[]> => {
    const out: SubsetVerdict[] = records.map(() => ({ keep: false, reason: null }));
    const todo: number[] = [];
    const only = onlyFor.get(ctx.source) ?? null;
    records.forEach((r, i) => {
      if (!langs.has(r.lang) || (only && !only.has(r.lang)))
        out[i] = { keep: false, reason: `language ${r.lang} not in the slice` };
      else todo.push(i);
    });
    const bar = new ProgressBar(`exec-slice ${ctx.split} ${ctx.source}`, todo.length, opts.progress ?? false);
    for (let s = 0; s < todo.length; s += chunk) {
      const idx = todo.slice(s, s + chunk);
      // A function compared with itself: executable ⇔ the runner could run it alone (and it then scores 1).
      const res = await runner.compare(
        idx.map((i) => ({
          lang: records[i]!.lang,
          original: records[i]!.code,
          rebuilt: records[i]!.code,
          entryPoint: records[i]!.name,
        })),
      );
      idx.forEach((i, k) => {
        const r = res[k]!;
        if (r.executable && r.score !== 1)
          out[i] = { keep: false, reason: "not deterministic (self-comparison below 1)" };
        else
          out[i] = r.executable
            ? { keep: true, reason: null }
            : { keep: false, reason: reasonCategory(r.reason ?? "") };
      });
      bar.update(Math.min(todo.length, s + chunk));
    }
    bar.done(`${out.filter((v) => v.keep).length}/${records.length} executable`);
    return out;
  };
  return writeCorpusSubset({
    sources: sources.map((s) => s.dir),
    out: opts.out,
    select,
    provenance: {
      selection: "executable alone by the behaviour runner (src/behaviour), self-comparison = 1",
      behaviour: { seed, inputs, call_ms: defaults.call_ms },
      langs: [...langs],
      languages_per_source: Object.fromEntries(sources.map((s) => [s.dir, s.only ? [...s.only] : "all"])),
      rebuild_command: `batcoder corpus exec-slice ${opts.sources.map((s) => `--from ${s}`).join(" ")} --out ${opts.out}`,
    },
  });
}
