/**
 * One BatCoder RL step at Qwen2.5-0.5B's shapes: wall time per phase and peak RSS, frozen base in bf16 vs f32.
 *
 * A random-weight Qwen2ForCausalLM with Qwen2.5-0.5B's exact config (bench/engine/qwen-shape.ts; saved as a BF16 HF
 * folder with the real Qwen tokenizer and chat template), loaded the way `batcoder train --model DIR` loads it
 * (backends/model-ref loadPolicyForRef with --base-dtype, a LoRA adapter on q/k/v/o/gate/up/down, the model's chat
 * template), then ONE step of the real RL loop (orchestration/rl-run runRL -> rl/trainer trainRL: code->doc sampling
 * with the batched sampler, doc checks, doc->code rebuilds, the real reward backend with sandboxed behaviour runs,
 * advantages, the KL reference, forward/backward and AdamW), config configs/own-model-0.5b.json with max_steps 1 and
 * evaluation off (its max_code_tokens, 160, still picks the functions; --code-tokens caps the rebuilds). Each base dtype runs in its own child process, so its peak RSS (getrusage maxRSS, /proc VmHWM) is
 * its own. Random weights never emit EOS: every doc is --doc-tokens long and every rebuild --code-tokens long.
 *
 *   npx tsc -p . && node dist/bench/engine/rl-step-0.5b.js [--dtypes bf16,f32] [--threads 2] [--functions 8]
 *     [--docs 4] [--rebuilds 2] [--doc-tokens 64] [--code-tokens 128] [--rank 16] [--dir /tmp/bc-qwen0.5b-bf16]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { engineInfo, setThreads } from "../../src/engine/kernels.js";
import { writeQwenFolder } from "./qwen-shape.js";

interface Job {
  dir: string;
  dtype: "bf16" | "f32";
  threads: number;
  functions: number;
  docs: number;
  rebuilds: number;
  docTokens: number;
  codeTokens: number;
  rank: number;
}

const hwm = (): number => {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};
const mb = (bytes: number) => bytes / 2 ** 20;

async function worker(j: Job): Promise<void> {
  setThreads(j.threads);
  const { loadPolicyForRef, samplerChatFor } = await import("../../src/backends/model-ref.js");
  const { LoraAdapter } = await import("../../src/engine/lora.js");
  const { parseConfig } = await import("../../src/rl/config.js");
  const { runRL } = await import("../../src/orchestration/rl-run.js");
  const { readJsonl } = await import("../../src/core/jsonl.js");
  const log = (s: string) => process.stderr.write(`[${j.dtype}] ${s}\n`);
  const t0 = performance.now();
  const { policy, loaded } = await loadPolicyForRef(j.dir, { baseDtype: j.dtype, seed: 1, log });
  policy.llama.lora = LoraAdapter.init(loaded.config, { rank: j.rank, alpha: 2 * j.rank }, 1);
  const chat = samplerChatFor(loaded, policy.tokenizer)?.template ?? null;
  if (!chat) throw new Error("the bench folder has no chat template");
  const loadS = (performance.now() - t0) / 1000;
  const afterLoad = { rssMB: mb(process.memoryUsage().rss), hwmMB: hwm() };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bc-rlstep-"));
  const own = JSON.parse(fs.readFileSync("configs/own-model-0.5b.json", "utf8")) as Record<string, unknown>;
  const cfg = parseConfig({
    ...own,
    output_dir: out,
    run_name: `rlstep-${j.dtype}`,
    max_steps: 1,
    rollout_batch_size: j.functions,
    num_docs_per_code: j.docs,
    num_codes_per_doc: j.rebuilds,
    max_doc_tokens: j.docTokens,
    // the corpus functions are filtered by the config's max_code_tokens (160); rebuilds are generated up to codeTokens
    max_rebuild_tokens: j.codeTokens,
    eval_at_start: false,
    eval_at_end: false,
    eval_benchmarks: [],
    eval_steps: 0,
    eval_benchmark: null,
    save_steps: 0,
    // random weights write docs the format check rejects, and rejected docs get no rebuilds: rebuild every doc
    // (the full step's work, as a trained model whose docs pass would do)
    reject_invalid_docs: false,
  });
  const t1 = performance.now();
  const res = await runRL({ cfg, policy, resume: false, progress: false, log, chat });
  const runS = (performance.now() - t1) / 1000;
  const m = readJsonl<Record<string, number>>(path.join(res.runDir, "metrics.jsonl"))[0]!;
  const ru = process.resourceUsage();
  console.log(
    JSON.stringify({
      dtype: j.dtype,
      weightsMB: mb(policy.llama.weightBytes()),
      baseDtypes: policy.llama.baseDtypes(),
      trainable: policy.llama.lora!.nParams(),
      loadS,
      afterLoad,
      runS,
      stepS: m["time/step_s"],
      samplingS: m["time/sampling_s"],
      rewardS: m["time/reward_s"],
      updateS: m["time/update_s"],
      generated: m["tokens/generated"],
      trained: m["tokens/trained"],
      maxRssMB: ru.maxRSS / 1024,
      hwmMB: hwm(),
      engine: engineInfo(),
    }),
  );
  fs.rmSync(out, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: "string" },
      dtypes: { type: "string", default: "bf16,f32" },
      threads: { type: "string", default: "2" },
      functions: { type: "string", default: "8" },
      docs: { type: "string", default: "4" },
      rebuilds: { type: "string", default: "2" },
      "doc-tokens": { type: "string", default: "64" },
      "code-tokens": { type: "string", default: "128" },
      rank: { type: "string", default: "16" },
      dir: { type: "string", default: path.join(os.tmpdir(), "bc-qwen0.5b-bf16") },
    },
  });
  if (values.worker) return worker(JSON.parse(values.worker) as Job);
  const threads = Number(values.threads);
  console.log(`writing / reusing the random-weight Qwen2.5-0.5B-shaped BF16 folder ${values.dir}`);
  const config = writeQwenFolder(values.dir);
  console.log(
    `model: ${config.architectures[0]} hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ` +
      `${config.num_attention_heads}/${config.num_key_value_heads} heads, intermediate ${config.intermediate_size}, vocab ${config.vocab_size}`,
  );
  const env = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    BATCODER_THREADS: String(threads),
  };
  console.log(
    `threads: engine setThreads(${threads}), OPENBLAS_NUM_THREADS=${threads}, OMP_NUM_THREADS=${threads}; ` +
      `${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
  );
  const step = `${values.functions} functions x ${values.docs} docs x ${values.rebuilds} rebuilds per doc`;
  console.log(`one RL step: ${step}; docs ${values["doc-tokens"]} tokens, rebuilds ${values["code-tokens"]} tokens`);
  const self = fileURLToPath(import.meta.url);
  const rows: Record<string, unknown>[] = [];
  for (const dtype of values.dtypes.split(",")) {
    const job: Job = {
      dir: values.dir,
      dtype: dtype as Job["dtype"],
      threads,
      functions: Number(values.functions),
      docs: Number(values.docs),
      rebuilds: Number(values.rebuilds),
      docTokens: Number(values["doc-tokens"]),
      codeTokens: Number(values["code-tokens"]),
      rank: Number(values.rank),
    };
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [self, "--worker", JSON.stringify(job)], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.status !== 0 || !line.startsWith("{")) {
      console.log(`${dtype}: worker failed (status ${r.status}, signal ${r.signal}): ${r.stdout.slice(-2000)}`);
      continue;
    }
    const row = JSON.parse(line) as Record<string, unknown>;
    row.processWallS = (Date.now() - t0) / 1000;
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const f = (x: unknown, d = 1) => (typeof x === "number" ? x.toFixed(d) : String(x));
  console.log(
    "\n| base | weights MB | load s | RSS after load MB | step s | sampling s | reward s | update s | generated tok | trained tok | run wall s | peak RSS MB (maxRSS / VmHWM) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const a = r.afterLoad as { rssMB: number };
    console.log(
      `| ${r.dtype} | ${f(r.weightsMB, 0)} | ${f(r.loadS)} | ${f(a.rssMB, 0)} | ${f(r.stepS)} | ${f(r.samplingS)} | ${f(r.rewardS)} | ${f(r.updateS)} | ${f(r.generated, 0)} | ${f(r.trained, 0)} | ${f(r.runS)} | ${f(r.maxRssMB, 0)} / ${f(r.hwmMB, 0)} |`,
    );
  }
}

await main();
