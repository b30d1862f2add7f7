/** `batcoder eval`: HumanEval / MBPP / MultiPL-E with sandboxed execution and pass@k. */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { parseBaseDtype } from "../../backends/model-ref.js";
import { ProgressBar } from "../../core/progress.js";
import { BENCHMARK_HELP, loadBenchmark, type Problem } from "../../eval/benchmarks.js";
import { DEFAULT_GT_CACHE, setEvalPlusCacheDir } from "../../eval/evalplus.js";
import { loadProblemsFile } from "../../eval/problems-file.js";
import {
  evaluateBenchmark,
  formatSummaryTable,
  readSamplesFile,
  scoreSamples,
  type EvalSummary,
} from "../../eval/evaluate.js";
import { isUrl, openModel } from "../../orchestration/models.js";
import { requireSandbox } from "../../sandbox/sandbox.js";

export const help = `batcoder eval (--benchmark NAME | --problems FILE) (--model URL|CHECKPOINT | --samples FILE) [options]

Generates completions, runs each one with the benchmark's tests in a bubblewrap sandbox, and reports pass@k.
Writes DIR/config.json (resolved options), DIR/samples.jsonl (task_id, completion, raw), DIR/results.jsonl
(+ passed, result, status) and DIR/summary.json; prints a summary table. Progress goes to stderr.

  --benchmark NAME      ${BENCHMARK_HELP}
                        humaneval+ / mbpp+ (EvalPlus): base and plus inputs, expected outputs from the
                        canonical solution; reports pass@k on the base tests and on base + extra tests
  --problems FILE       a custom benchmark: human-eval-format JSONL (task_id, prompt, entry_point, test;
                        canonical_solution optional), judged as HumanEval
  --model URL|REF       an OpenAI-compatible endpoint (http://host:8000/v1: vLLM, llama.cpp, Ollama,
                        batcoder serve), an embedded-model checkpoint / run directory, a Hugging Face
                        model folder, a hub id ORG/NAME (from the HF cache) or a .gguf file
  --adapter DIR         apply a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, e.g.
                        runs/NAME/adapter from train --model) to the --model loaded here (not to a URL)
  --allow-download      let a hub id missing from the HF cache be downloaded into it
  --base-dtype T        with a local model: storage of its weight matrices, computed in f32: auto (16-bit
                        matrices of the source stay 16-bit, the rest f32), bf16, f16 (f32 rounded) or f32 [auto]
  --model-name NAME     model id sent to the endpoint (default: the first of GET /v1/models)
  --samples FILE        score an existing human-eval style samples file (task_id, completion) instead
  --format F            completion (base models: prompt continued, cut at stop sequences) or
                        instruct (chat models: the task as a user message through the model's own chat
                        template, code block extracted; an HF folder / hub id / .gguf without a chat
                        template is refused)                                                [completion]
  --n N                 samples per task                                                    [1]
  --temperature X       sampling temperature (0 = greedy)                                   [0]
  --top-p X             nucleus sampling                                                    [1]
  --max-tokens N        tokens per completion                                               [512]
  --seed N              sampling seed
  --k LIST              pass@k values, e.g. 1,10 (those above n are dropped)                [1,10]
  --limit N             only the first N tasks
  --tasks ID,ID         only these task ids (e.g. HumanEval/0,HumanEval/53)
  --out DIR             output directory                      [runs/eval-<benchmark>-<time>]
  --cache DIR           generation cache (resume an interrupted run)                  [DIR/cache]
  --concurrency N       programs executed in parallel                                       [2]
  --requests N          HTTP requests in flight                                             [4]
  --timeout SEC         wall-clock limit per program       [10; 30 for Go, C++, Java, Rust, Scala]
                        (EvalPlus benchmarks use their own per-input limits instead)
  --unsafe-no-sandbox   run generated code WITHOUT isolation (only if the machine cannot sandbox)
  --quiet               no progress output`;

const ConfigSchema = z.object({
  benchmark: z.string().min(1).optional(),
  problems: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  adapter: z.string().min(1).optional(),
  modelName: z.string().min(1).optional(),
  samples: z.string().min(1).optional(),
  format: z.enum(["completion", "instruct"]),
  n: z.number().int().min(1).max(10_000),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1).optional(),
  maxTokens: z.number().int().min(1).max(1_000_000),
  seed: z.number().int().optional(),
  k: z.array(z.number().int().min(1)).min(1),
  limit: z.number().int().min(1).optional(),
  tasks: z.array(z.string().min(1)).optional(),
  out: z.string().min(1),
  cache: z.string().min(1),
  concurrency: z.number().int().min(1).max(64),
  requests: z.number().int().min(1).max(256),
  timeoutSeconds: z.number().positive().max(3600).optional(),
  unsafeNoSandbox: z.boolean(),
});
export type EvalConfig = z.infer<typeof ConfigSchema>;

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UserError(`${flag} expects a number, got '${v}'`);
  return n;
}

/** The core progress bar over executed programs (the total is known with the first report). */
function progressBar(quiet: boolean) {
  let bar: ProgressBar | null = null;
  let last = { passed: 0, generated: 0, total: 0 };
  const extra = () =>
    `executed, ${last.passed} passed${last.generated < last.total ? `, generated ${last.generated}/${last.total}` : ""}`;
  return {
    update(p: { done: number; generated: number; total: number; passed: number; phase: string }) {
      last = p;
      bar ??= new ProgressBar("eval", p.total, !quiet);
      bar.update(p.done, extra());
    },
    end() {
      bar?.done(extra());
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        benchmark: { type: "string" },
        problems: { type: "string" },
        model: { type: "string" },
        adapter: { type: "string" },
        "model-name": { type: "string" },
        samples: { type: "string" },
        format: { type: "string" },
        n: { type: "string" },
        temperature: { type: "string" },
        "top-p": { type: "string" },
        "max-tokens": { type: "string" },
        seed: { type: "string" },
        k: { type: "string" },
        limit: { type: "string" },
        tasks: { type: "string" },
        out: { type: "string" },
        cache: { type: "string" },
        concurrency: { type: "string" },
        requests: { type: "string" },
        timeout: { type: "string" },
        "unsafe-no-sandbox": { type: "boolean" },
        quiet: { type: "boolean" },
        "allow-download": { type: "boolean" },
        "base-dtype": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`batcoder eval: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (!values.benchmark && !values.problems) throw new UserError("--benchmark NAME or --problems FILE is required");
  if (values.benchmark && values.problems) throw new UserError("--benchmark and --problems are exclusive");
  if (!values.model && !values.samples)
    throw new UserError("give --model URL|CHECKPOINT to generate, or --samples FILE to score existing samples");
  if (values.model && values.samples) throw new UserError("--model and --samples are exclusive");
  if (values.adapter !== undefined && !values.model)
    throw new UserError("--adapter applies to a --model (the base the adapter was trained on)");
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  const benchName = values.benchmark ?? `custom-${path.basename(values.problems!)}`;
  const out = values.out ?? path.join("runs", `eval-${benchName.replace(/[^A-Za-z0-9_-]+/g, "_")}-${stamp}`);
  const kList = (values.k ?? "1,10")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => num(s, "--k")!);
  const parsed = ConfigSchema.safeParse({
    benchmark: values.benchmark,
    problems: values.problems,
    model: values.model,
    adapter: values.adapter,
    modelName: values["model-name"],
    samples: values.samples,
    format: values.format ?? "completion",
    n: num(values.n, "--n") ?? 1,
    temperature: num(values.temperature, "--temperature") ?? 0,
    topP: num(values["top-p"], "--top-p"),
    maxTokens: num(values["max-tokens"], "--max-tokens") ?? 512,
    seed: num(values.seed, "--seed"),
    k: kList,
    limit: num(values.limit, "--limit"),
    tasks: values.tasks
      ?.split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    out,
    cache: values.cache ?? path.join(out, "cache"),
    concurrency: num(values.concurrency, "--concurrency") ?? 2,
    requests: num(values.requests, "--requests") ?? 4,
    timeoutSeconds: num(values.timeout, "--timeout"),
    unsafeNoSandbox: !!values["unsafe-no-sandbox"],
  });
  if (!parsed.success)
    throw new UserError(
      `invalid options: ${parsed.error.issues.map((i) => `--${String(i.path[0] ?? "")}: ${i.message}`).join("; ")}`,
    );
  const cfg = parsed.data;
  const baseDtype = parseBaseDtype(values["base-dtype"]);
  if (baseDtype !== undefined && (cfg.model === undefined || isUrl(cfg.model)))
    throw new UserError(
      "--base-dtype applies to a local --model (a checkpoint, HF folder, hub id or .gguf), not to a URL",
    );
  // Fail fast: benchmark name (or problems file) and sandbox before any generation.
  const benchmark: string | Problem[] = cfg.problems ? loadProblemsFile(cfg.problems) : cfg.benchmark!;
  if (typeof benchmark === "string") loadBenchmark(benchmark);
  setEvalPlusCacheDir(DEFAULT_GT_CACHE);
  const mode = requireSandbox(cfg.unsafeNoSandbox);
  if (mode === "unsafe" && !values.quiet)
    console.error("batcoder eval: WARNING: --unsafe-no-sandbox: generated programs run directly on this machine");
  fs.mkdirSync(cfg.out, { recursive: true });
  fs.writeFileSync(path.join(cfg.out, "config.json"), JSON.stringify(cfg, null, 2) + "\n");
  const bar = progressBar(!!values.quiet);
  const limits =
    cfg.timeoutSeconds !== undefined
      ? { wallMs: cfg.timeoutSeconds * 1000, cpuSeconds: Math.ceil(cfg.timeoutSeconds) }
      : undefined;
  let summary: EvalSummary;
  if (cfg.samples) {
    const samples = readSamplesFile(cfg.samples);
    ({ summary } = await scoreSamples({
      benchmark,
      samples,
      k: cfg.k,
      outDir: cfg.out,
      concurrency: cfg.concurrency,
      unsafeNoSandbox: cfg.unsafeNoSandbox,
      limits,
      onProgress: (p) => bar.update(p),
    }));
  } else {
    const generator = await openModel(cfg.model!, {
      modelName: cfg.modelName,
      cacheDir: cfg.cache,
      concurrency: cfg.requests,
      allowDownload: values["allow-download"] ?? false,
      ...(baseDtype !== undefined ? { baseDtype } : {}),
      ...(cfg.adapter !== undefined ? { adapter: cfg.adapter } : {}),
      instruct: cfg.format === "instruct",
    });
    try {
      ({ summary } = await evaluateBenchmark({
        benchmark,
        generator,
        format: cfg.format,
        n: cfg.n,
        temperature: cfg.temperature,
        topP: cfg.topP,
        maxTokens: cfg.maxTokens,
        seed: cfg.seed,
        k: cfg.k,
        limit: cfg.limit,
        taskIds: cfg.tasks,
        outDir: cfg.out,
        concurrency: cfg.concurrency,
        unsafeNoSandbox: cfg.unsafeNoSandbox,
        limits,
        onProgress: (p) => bar.update(p),
      }));
    } finally {
      await generator.close?.();
    }
  }
  bar.end();
  console.log(formatSummaryTable(summary));
  console.log(`results: ${path.join(cfg.out, "results.jsonl")}`);
  return 0;
}
