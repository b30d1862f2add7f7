/**
 * Benchmark loading: HumanEval, MBPP (full with the standard splits, and sanitized), MultiPL-E
 * (HumanEval and MBPP translations). Every problem knows its completion prompt, its instruction (for chat
 * models), its stop sequences and how to assemble the judged program from a completion.
 *
 * Judged program (what runs in the sandbox), by benchmark:
 * - humaneval:      prompt + completion + "\n" + test + "\n" + `check(<entry_point>)`   (human-eval's own rule)
 * - mbpp*:          completion + "\n" + test_setup_code/test_imports + "\n" + the test asserts
 *                   (the prompt is a docstring holding the task text and the asserts; it is NOT part of the
 *                   judged program, and completions are cut at "\nassert" so echoed asserts never run)
 * - multipl-e:*:    prompt + completion + "\n" + tests                                    (MultiPL-E's rule)
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../core/errors.js";
import { parseJsonl, readTextMaybeGz } from "../core/jsonl.js";
import { LANGUAGE_NAMES, type ExecResult, type Language } from "../sandbox/executors.js";
import type { Sandbox, SandboxLimits } from "../sandbox/sandbox.js";
import { loadHumanEvalPlus, loadMbppPlus, type PhaseVerdict } from "./evalplus.js";

/** A sample as a judge sees it: the completion, or (EvalPlus samples files) a whole `solution` program. */
export interface JudgeSample {
  completion: string;
  solution?: string;
}
/** A judge's verdict; EvalPlus benchmarks add the base and plus phase verdicts. */
export type JudgeResult = ExecResult & { base?: PhaseVerdict; plus?: PhaseVerdict };

export interface Problem {
  /** task_id in results files: "HumanEval/0", "Mbpp/11", or MultiPL-E's name ("HumanEval_0_has_close_elements"). */
  taskId: string;
  benchmark: string;
  language: Language;
  /** The text a base model continues (completion format). */
  prompt: string;
  /** The task for a chat model (instruct format), without any wrapping. */
  instruction: string;
  /** Completion is cut at the first of these. */
  stop: string[];
  /** Function name being tested, when known. */
  entryPoint?: string;
  /** A known-correct completion (in the completion format) when the dataset has one. */
  canonical?: string;
  /** The test code appended to the program (for display; assemble() is the authority). */
  tests: string;
  /** prompt + completion + tests, per the benchmark's rule. */
  assemble(completion: string): string;
  /**
   * When set, runs a sample instead of `executeProgram(language, assemble(completion))` — EvalPlus's
   * differential testing (src/eval/evalplus.ts).
   */
  judge?: (sandbox: Sandbox, sample: JudgeSample, opts: { limits?: Partial<SandboxLimits> }) => Promise<JudgeResult>;
}

export const MBPP_SPLITS = {
  prompt: [1, 10],
  test: [11, 510],
  validation: [511, 600],
  train: [601, 974],
  all: [1, 974],
} as const;
export type MbppSplit = keyof typeof MBPP_SPLITS;

/** MultiPL-E languages this harness can execute (the data has more). */
export const MULTIPLE_LANGS: readonly Language[] = [
  "py",
  "rb",
  "go",
  "lua",
  "js",
  "ts",
  "php",
  "sh",
  "cpp",
  "java",
  "rs",
  "pl",
  "r",
  "rkt",
  "ml",
  "scala",
];

export const HUMANEVAL_STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];
export const MBPP_STOP = ["\nassert", '\n"""', "\nprint(", "\nif __name__", "\n```"];

/** Locates data/benchmarks (walks up from this file; BATCODER_DATA_DIR overrides). */
export function benchmarkDataDir(): string {
  if (process.env.BATCODER_BENCHMARK_DIR) return process.env.BATCODER_BENCHMARK_DIR;
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = path.join(d, "data", "benchmarks");
    if (fs.existsSync(path.join(c, "humaneval"))) return c;
    d = path.dirname(d);
  }
  throw new UserError(
    "benchmark data not found (expected data/benchmarks/ in the repository; set BATCODER_BENCHMARK_DIR)",
  );
}

function readMaybeGz(file: string): string {
  const candidates = [file, file + ".gz"];
  for (const f of candidates) {
    if (fs.existsSync(f)) {
      return readTextMaybeGz(f);
    }
  }
  throw new UserError(`benchmark file missing: ${file}(.gz)`);
}

function readJsonl(file: string): Record<string, unknown>[] {
  return parseJsonl(readMaybeGz(file), file);
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

export function loadHumanEval(): Problem[] {
  const rows = readJsonl(path.join(benchmarkDataDir(), "humaneval", "HumanEval.jsonl"));
  return rows.map((r) => {
    const prompt = str(r.prompt);
    const test = str(r.test);
    const entry = str(r.entry_point);
    return {
      taskId: str(r.task_id),
      benchmark: "humaneval",
      language: "py" as const,
      prompt,
      instruction: `Complete the following Python function.\n\n\`\`\`python\n${prompt.trimEnd()}\n\`\`\``,
      stop: HUMANEVAL_STOP,
      entryPoint: entry,
      canonical: str(r.canonical_solution),
      tests: test,
      assemble: (c: string) => `${prompt}${c}\n${test}\n\ncheck(${entry})\n`,
    };
  });
}

function mbppPrompt(text: string, asserts: string[]): string {
  return `"""\n${text.trim()}\nYour code should pass these tests:\n${asserts.join("\n")}\n"""\n`;
}

function mbppInstruction(text: string, asserts: string[]): string {
  return `${text.trim()}\nYour code should pass these tests:\n\n${asserts.join("\n")}`;
}

function entryFromAsserts(asserts: string[]): string | undefined {
  const m = /assert\s+(?:not\s+)?(?:\w+\()*?\s*([A-Za-z_]\w*)\s*\(/.exec(asserts[0] ?? "");
  return m?.[1];
}

/**
 * One MBPP-style problem. `testPrelude` (setup code / imports) opens the appended tests; `programPrelude` is put
 * before the completion (the sanitized set's imports, which its reference solutions rely on).
 */
function mbppProblem(
  r: Record<string, unknown>,
  benchmark: "mbpp" | "mbpp-sanitized",
  text: string,
  testPrelude: string,
  programPrelude: string,
): Problem {
  const asserts = (r.test_list as string[]) ?? [];
  const tests = `${testPrelude}\n${asserts.join("\n")}\n`;
  return {
    taskId: `Mbpp/${r.task_id}`,
    benchmark,
    language: "py" as const,
    prompt: mbppPrompt(text, asserts),
    instruction: mbppInstruction(text, asserts),
    stop: MBPP_STOP,
    entryPoint: entryFromAsserts(asserts),
    canonical: str(r.code).replaceAll("\r\n", "\n"),
    tests,
    assemble: (c: string) => `${programPrelude}${c}\n\n${tests}`,
  };
}

export function loadMbpp(split: MbppSplit = "test"): Problem[] {
  const rows = readJsonl(path.join(benchmarkDataDir(), "mbpp", "mbpp.jsonl"));
  const [lo, hi] = MBPP_SPLITS[split];
  return rows
    .filter((r) => typeof r.task_id === "number" && r.task_id >= lo && r.task_id <= hi)
    .map((r) => mbppProblem(r, "mbpp", str(r.text), str(r.test_setup_code), ""));
}

export function loadMbppSanitized(): Problem[] {
  const file = path.join(benchmarkDataDir(), "mbpp", "sanitized-mbpp.json");
  let rows: Record<string, unknown>[];
  try {
    rows = JSON.parse(readMaybeGz(file)) as Record<string, unknown>[];
  } catch (e) {
    if ((e as { userFacing?: boolean }).userFacing) throw e;
    throw new UserError(`${file} is not valid JSON`);
  }
  return rows.map((r) => {
    const imports = ((r.test_imports as string[]) ?? []).join("\n");
    return mbppProblem(r, "mbpp-sanitized", str(r.prompt), imports, `${imports}\n`);
  });
}

export function loadMultiPLE(source: "humaneval" | "mbpp", lang: Language): Problem[] {
  const rows = readJsonl(path.join(benchmarkDataDir(), "multipl-e", `${source}-${lang}.jsonl`));
  const name = LANGUAGE_NAMES[lang];
  const fence = FENCE[lang];
  return rows.map((r) => {
    const prompt = str(r.prompt);
    const tests = str(r.tests);
    const m = /^(?:HumanEval|Mbpp)_\d+_(.+)$/.exec(str(r.name));
    return {
      taskId: str(r.name),
      benchmark: `multipl-e${source === "mbpp" ? "-mbpp" : ""}:${lang}`,
      language: lang,
      prompt,
      instruction: `Complete the following ${name} function. Reply with the whole function, signature included.\n\n\`\`\`${fence}\n${prompt.trimEnd()}\n\`\`\``,
      stop: (r.stop_tokens as string[]) ?? [],
      entryPoint: m?.[1],
      tests,
      assemble: (c: string) => `${prompt}${c}\n${tests}`,
    };
  });
}

/** Code-fence info strings per language (for prompts and for finding the answer block). */
export const FENCE: Record<Language, string> = {
  py: "python",
  rb: "ruby",
  go: "go",
  lua: "lua",
  js: "javascript",
  ts: "typescript",
  php: "php",
  sh: "bash",
  cpp: "cpp",
  java: "java",
  rs: "rust",
  pl: "perl",
  r: "r",
  rkt: "racket",
  ml: "ocaml",
  scala: "scala",
};

export const BENCHMARK_HELP = `humaneval | humaneval+ | mbpp | mbpp+ | mbpp:<split> (prompt|test|validation|train|all; default test = task ids 11-510) | mbpp-sanitized | multipl-e:<lang> | multipl-e-mbpp:<lang>   (lang: ${MULTIPLE_LANGS.join(" ")})`;

/** Resolves a benchmark name such as "humaneval", "mbpp", "mbpp:validation", "multipl-e:rb", "multipl-e-mbpp:go". */
export function loadBenchmark(name: string): Problem[] {
  const n = name.trim().toLowerCase();
  if (n === "humaneval") return loadHumanEval();
  if (n === "humaneval+" || n === "humanevalplus") return loadHumanEvalPlus();
  if (n === "mbpp+" || n === "mbppplus") return loadMbppPlus();
  if (n === "mbpp" || n.startsWith("mbpp:")) {
    const split = (n.split(":")[1] ?? "test") as MbppSplit;
    if (!(split in MBPP_SPLITS))
      throw new UserError(`unknown MBPP split '${split}' (use ${Object.keys(MBPP_SPLITS).join(", ")})`);
    return loadMbpp(split);
  }
  if (n === "mbpp-sanitized") return loadMbppSanitized();
  const m = /^multipl-e(-mbpp|-humaneval)?:([a-z]+)$/.exec(n);
  if (m) {
    const lang = m[2] as Language;
    if (!MULTIPLE_LANGS.includes(lang))
      throw new UserError(
        `MultiPL-E language '${m[2]}' is not supported here (use one of: ${MULTIPLE_LANGS.join(", ")})`,
      );
    return loadMultiPLE(m[1] === "-mbpp" ? "mbpp" : "humaneval", lang);
  }
  throw new UserError(`unknown benchmark '${name}'. Use: ${BENCHMARK_HELP}`);
}
