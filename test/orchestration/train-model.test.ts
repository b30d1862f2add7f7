// `batcoder train --model HF_FOLDER --lora-rank R --limit 2` end to end on a tiny random-weight Qwen2 model the test
// writes (its tokenizer.json is a batcoder BPE trained on the corpus; a chat template in tokenizer_config.json): no
// warm start, RL with a LoRA adapter, held-out round-trip evaluation and pass@1 on the default benchmarks of an own
// model (HumanEval, MBPP, MultiPL-E rb/go/lua; instruct format through the model's chat template; sandboxed; --limit
// caps them at 2 tasks each) before and after, per-task results files, the before/after table, the adapter saved in
// the PEFT layout with trained (non-zero) B, and the base folder untouched. Bad benchmark settings fail before RL.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { ModelConfigSchema } from "../../src/engine/config.js";
import { saveHfFolder } from "../../src/engine/hf.js";
import { loadAdapter } from "../../src/engine/lora.js";
import { BpeTokenizer } from "../../src/engine/tokenizer.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";
import { writeCorpus } from "../rl/corpus-fixture.js";
import { readJsonl } from "../../src/core/jsonl.js";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import { loadCheckpointSampler } from "../../src/orchestration/models.js";

const CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";

/** A tiny random-weight Qwen2 HF folder whose tokenizer is trained on the test corpus (with or without a chat template). */
async function writeModel(dir: string, hfDir: string, opts: { chat: boolean; dtype?: "F32" | "BF16" }) {
  const text = fs.readFileSync(
    path.join(dir, "corpus", "train", fs.readdirSync(path.join(dir, "corpus", "train"))[0]!),
    "utf8",
  );
  const tok = await BpeTokenizer.train([text], { vocabSize: 300 });
  const config = ModelConfigSchema.parse({
    ...ARCH_CONFIGS.qwen2!,
    vocab_size: tok.vocabSize,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    max_position_embeddings: 512,
  });
  const model = randomModel(config, 3);
  saveHfFolder(hfDir, config, model.weights, {
    dtype: opts.dtype ?? "F32",
    extraFiles: {
      "tokenizer.json": JSON.stringify(tok.toHuggingFaceJSON()),
      // an instruct model's chat template: both directions and the benchmarks are asked through it
      "tokenizer_config.json": JSON.stringify({
        bos_token: "<|bos|>",
        eos_token: "<|eos|>",
        ...(opts.chat ? { chat_template: CHAT_TEMPLATE } : {}),
      }),
    },
  });
  return config;
}

const OWN_BENCHMARKS = ["humaneval", "mbpp", "multipl-e:rb", "multipl-e:go", "multipl-e:lua"];

test("batcoder train --model DIR --lora-rank 4 --limit 2: LoRA RL on the user's model, benchmarks before/after", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-train-model-"));
  try {
    writeCorpus(path.join(dir, "corpus"), { train: 20, validation: 4, test: 8 });
    const hfDir = path.join(dir, "base");
    // BF16 as released checkpoints are: the frozen base stays bf16 (--base-dtype auto)
    const config = await writeModel(dir, hfDir, { chat: true, dtype: "BF16" });
    const hash = () =>
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(hfDir, "model.safetensors")))
        .digest("hex");
    const before = hash();
    const args = [
      path.resolve("bin/batcoder.js"),
      "train",
      "--model",
      hfDir,
      "--lora-rank",
      "4",
      "--corpus",
      "corpus",
      "--run-name",
      "m",
      "--no-report",
      "--limit",
      "2",
      "--set",
      "rollout_batch_size=2",
      "--set",
      "num_docs_per_code=2",
      "--set",
      "num_codes_per_doc=2",
      "--set",
      "max_doc_tokens=16",
      "--set",
      "max_rebuild_tokens=16",
      "--set",
      "eval_size=4",
      "--set",
      "save_steps=1",
      "--set",
      "reject_invalid_docs=false",
      "--set",
      "learning_rate=0.01",
      "--set",
      "eval_benchmark_max_tokens=12",
    ];
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /using weights: HF folder .*Qwen2ForCausalLM.*weight matrices bf16 \(15 matrices\)/);
    assert.match(r.stderr, /LoRA: rank 4, alpha 8/);
    assert.match(r.stderr, /prompts: the model's own chat template/);
    // what the quick mode changed (eval_size was already 4 > 2, steps default 30 → 2, benchmark tasks all → 2)
    assert.match(
      r.stderr,
      /--limit 2 \(quick mode\): benchmark tasks per benchmark all → 2, held-out functions 4 → 2, RL steps 30 → 2/,
    );
    assert.match(
      r.stderr,
      /benchmarks before and after RL: humaneval 2\/164, mbpp 2\/500, multipl-e:rb 2\/\d+, multipl-e:go 2\/\d+, multipl-e:lua 2\/\d+ tasks; pass@1, greedy, instruct format/,
    );
    const run = path.join(dir, "runs", "m");
    const resolved = JSON.parse(fs.readFileSync(path.join(run, "config.resolved.json"), "utf8"));
    assert.deepEqual(resolved.eval_benchmarks, OWN_BENCHMARKS, "the resolved config names the benchmarks it ran");
    assert.equal(resolved.eval_benchmark_limit, 2);
    assert.equal(resolved.max_steps, 2);
    const samples = readJsonl<{ doc2code_prompt: string | null }>(path.join(run, "samples.jsonl"));
    const prompts = samples.map((x) => x.doc2code_prompt).filter((p): p is string => p !== null);
    assert.ok(prompts.length > 0, "some doc→code prompt was logged");
    for (const p of prompts)
      assert.match(
        p,
        /^<\|bos\|>\[user\] Implement the \w+ function this documentation describes\.[\s\S]*\n\[assistant\] ```\w+\n$/,
      );
    assert.match(r.stdout, /round-trip similarity \(code→doc→code[^)]*\)\s+\d\.\d{3} \[/);
    const evals = readJsonl<Record<string, unknown>>(path.join(run, "evals.jsonl"));
    assert.deepEqual(
      evals.map((m) => m.step),
      [0, 2],
      "held-out evaluation before and after",
    );
    type Bench = {
      name: string;
      format: string;
      tasks: number;
      passed: number;
      pass_at_1: number;
      results_file: string;
      per_task: { ids: string[]; passed: number[] };
    };
    for (const e of evals) {
      const bs = e.benchmarks as Bench[];
      assert.deepEqual(
        bs.map((b) => b.name),
        OWN_BENCHMARKS,
      );
      for (const b of bs) {
        assert.equal(b.format, "instruct");
        assert.equal(b.tasks, 2);
        assert.equal(b.per_task.ids.length, 2);
        assert.equal(b.pass_at_1, b.per_task.passed.reduce((x, y) => x + y, 0) / 2);
        assert.ok(b.pass_at_1 >= 0 && b.pass_at_1 <= 1);
        // per-task results: the prompt went through the chat template, the verdict came from the sandbox
        assert.equal(
          b.results_file,
          path.join("eval", "benchmarks", `${b.name.replace(":", "-")}-step-0000000${e.step}.jsonl`),
        );
        const rows = readJsonl<{ task_id: string; prompt: string; status: string; passed: boolean }>(
          path.join(run, b.results_file),
        );
        assert.deepEqual(
          rows.map((x) => x.task_id),
          b.per_task.ids,
        );
        const instruction = new Map(loadBenchmark(b.name).map((p) => [p.taskId, p.instruction]));
        for (const x of rows) {
          // the task's instruction as a user message, rendered by the model's own template with the generation prompt
          assert.equal(x.prompt, `<|bos|>[user] ${instruction.get(x.task_id)}\n[assistant] `);
          assert.equal(typeof x.passed, "boolean");
          assert.ok(x.status.length > 0);
        }
      }
    }
    // the before/after table carries pass@1 of each benchmark with its task count and a paired Δ
    const table = fs.readFileSync(path.join(run, "before_after.txt"), "utf8");
    assert.match(table, /^\s+before RL\s+after RL\s+Δ paired/m);
    // one progress bar per benchmark and evaluation (stderr is not a TTY here: one line per redraw)
    for (const name of OWN_BENCHMARKS)
      for (const step of [0, 2]) assert.ok(r.stderr.includes(`${name}@${step} [########################] 2/2`), name);
    assert.match(table, /benchmarks: pass@1 .*instruct format \(the model's chat template\), sandboxed/);
    for (const name of OWN_BENCHMARKS)
      assert.match(
        table,
        new RegExp(
          `  ${name.replace("+", "\\+")} \\(n=2 tasks\\)\\s+\\d\\.\\d{3} \\[.*\\]\\s+\\d\\.\\d{3} \\[.*\\]\\s+[+-]\\d\\.\\d{3} \\[`,
        ),
        name,
      );
    assert.ok(fs.existsSync(path.join(run, "checkpoints")));
    assert.ok(!fs.existsSync(path.join(dir, ".cache", "warmstart")), "no warm start ran");
    const adapter = loadAdapter(path.join(run, "adapter"), config);
    assert.equal(adapter.config.rank, 4);
    let nonzero = 0;
    for (const m of adapter.modules.values()) for (const x of m.B.data) if (x !== 0) nonzero++;
    assert.ok(nonzero > 0, "RL moved the adapter (B starts at zero)");
    assert.equal(hash(), before, "the base model's weights are untouched");
    // the run kept the base's chat template: its checkpoints chat as the base does (serve / eval --model runs/NAME),
    // on the plain f32 path and on the 16-bit path (which loads the checkpoint as a model reference)
    assert.ok(fs.existsSync(path.join(run, "chat.json")));
    for (const baseDtype of ["auto", "bf16"] as const) {
      const lines: string[] = [];
      const { chat } = await loadCheckpointSampler(run, (l) => lines.push(l), { baseDtype });
      assert.ok(chat, `a chat for the run's checkpoint (${baseDtype})`);
      assert.equal(chat.template.render([{ role: "user", content: "hi" }]), "<|bos|>[user] hi\n[assistant] ");
      assert.ok(
        lines.some((l) => l.includes("the base model's chat template")),
        lines.join("\n"),
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("train --model: an unknown benchmark or the instruct format without a chat template fail before RL", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-train-model-bad-"));
  try {
    writeCorpus(path.join(dir, "corpus"), { train: 20, validation: 4, test: 8 });
    const plain = path.join(dir, "plain");
    await writeModel(dir, plain, { chat: false });
    const train = (model: string, ...sets: string[]) =>
      spawnSync(
        process.execPath,
        [
          path.resolve("bin/batcoder.js"),
          "train",
          "--model",
          model,
          "--corpus",
          "corpus",
          "--run-name",
          "bad",
          "--no-report",
          "--quiet",
          "--limit",
          "1",
          ...sets.flatMap((s) => ["--set", s]),
        ],
        { cwd: dir, encoding: "utf8", timeout: 120_000 },
      );
    const unknown = train(plain, "eval_benchmarks=humaneval,multipl-e:cobol");
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.match(
      unknown.stderr,
      /eval_benchmarks: MultiPL-E language 'cobol' is not supported here \(use one of: py, rb/,
    );
    const typo = train(plain, "eval_benchmarks=humaneval,humanevl");
    assert.equal(typo.status, 1, typo.stderr);
    assert.match(typo.stderr, /eval_benchmarks: unknown benchmark 'humanevl'\. Use: humaneval \| humaneval\+/);
    const instruct = train(plain, "eval_benchmark_format=instruct");
    assert.equal(instruct.status, 1, instruct.stderr);
    assert.match(
      instruct.stderr,
      /eval_benchmark_format=instruct: .*plain has no chat template.*eval_benchmark_format=completion/,
    );
    const old = train(plain, "eval_benchmark=humaneval");
    assert.equal(old.status, 1, old.stderr);
    assert.match(old.stderr, /'eval_benchmark' was removed: .*use eval_benchmarks/);
    // nothing ran: no checkpoints, no evaluations
    assert.ok(!fs.existsSync(path.join(dir, "runs", "bad", "evals.jsonl")));
    assert.ok(!fs.existsSync(path.join(dir, "runs", "bad", "checkpoints")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
