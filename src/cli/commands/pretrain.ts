/** `batcoder pretrain`: causal-LM pretraining of the embedded model on a code/documentation corpus. */
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { pretrain, type PretrainOptions } from "../../orchestration/pretrain.js";
import { engineInfo, setThreads } from "../../engine/kernels.js";

export const help = `batcoder pretrain --corpus FILE|DIR --out DIR [options]

Causal-LM pretraining of the embedded LLaMA model. Progress (tokens/s, loss, validation loss, ETA) goes to
stderr; DIR is a run directory: checkpoints (atomic) go to DIR/checkpoints/step-NNNNNNNN, the resolved options
to DIR/pretrain-config.json.

  --corpus FILE|DIR     built corpus dir (records with code/doc/lang), .jsonl, .txt, or a folder of them
  --out DIR             run directory
  --config NAME|FILE    model preset (tiny, small, base, medium, large) or a config.json   [tiny]
  --tokenizer FILE      tokenizer.json to use (default: train a BPE tokenizer on the corpus)
  --vocab-size N        vocabulary size of the trained tokenizer                             [4096]
  --steps N             optimizer steps                                                      [200]
  --seq-len N           tokens per training window                                           [256]
  --batch-tokens N      tokens per optimizer step                                            [8192]
  --lr X                peak learning rate (warmup + cosine decay)                           [1e-3]
  --warmup N            warmup steps                                     [min(100, steps/10)]
  --weight-decay X      AdamW decoupled weight decay (not on norms)                          [0.1]
  --eval-every N        validation loss every N steps                                        [50]
  --save-every N        checkpoint every N steps                                             [100]
  --seed N              seed for init and data order                                         [0]
  --threads N           CPU threads for the kernels                              [all cores]
  --resume              continue the run in --out from its latest checkpoint
  --quiet               no progress output`;

function num(v: string | undefined, flag: string, int = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)))
    throw new UserError(`${flag} expects ${int ? "an integer" : "a number"}, got '${v}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        corpus: { type: "string" },
        out: { type: "string" },
        config: { type: "string" },
        tokenizer: { type: "string" },
        "vocab-size": { type: "string" },
        steps: { type: "string" },
        "seq-len": { type: "string" },
        "batch-tokens": { type: "string" },
        lr: { type: "string" },
        warmup: { type: "string" },
        "weight-decay": { type: "string" },
        "eval-every": { type: "string" },
        "save-every": { type: "string" },
        seed: { type: "string" },
        threads: { type: "string" },
        resume: { type: "boolean" },
        quiet: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`batcoder pretrain: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  try {
    if (!values.corpus) throw new UserError("--corpus is required");
    if (!values.out) throw new UserError("--out is required");
    const threads = num(values.threads, "--threads");
    if (threads !== undefined) {
      if (threads < 1) throw new UserError("--threads must be >= 1");
      setThreads(threads);
    }
    const opts: PretrainOptions = {
      corpus: values.corpus,
      out: values.out,
      resume: !!values.resume,
      progress: !values.quiet,
    };
    const set = <K extends keyof PretrainOptions>(k: K, v: PretrainOptions[K] | undefined) => {
      if (v !== undefined) opts[k] = v;
    };
    set("config", values.config);
    set("tokenizer", values.tokenizer);
    set("vocabSize", num(values["vocab-size"], "--vocab-size"));
    set("steps", num(values.steps, "--steps"));
    set("seqLen", num(values["seq-len"], "--seq-len"));
    set("batchTokens", num(values["batch-tokens"], "--batch-tokens"));
    set("lr", num(values.lr, "--lr", false));
    set("warmupSteps", num(values.warmup, "--warmup"));
    set("weightDecay", num(values["weight-decay"], "--weight-decay", false));
    set("evalEvery", num(values["eval-every"], "--eval-every"));
    set("saveEvery", num(values["save-every"], "--save-every"));
    set("seed", num(values.seed, "--seed"));
    const info = engineInfo();
    if (!values.quiet) {
      process.stderr.write(
        `pretrain: kernels ${info.kernels}${info.blasCore ? ` (OpenBLAS core ${info.blasCore}, coretype ${info.coretype.value ?? "default"} via ${info.coretype.source}, ${info.threads} threads)` : ""}\n`,
      );
    }
    const r = await pretrain(opts);
    console.log(
      JSON.stringify({
        checkpoint: r.checkpoint,
        steps: r.steps,
        trainLoss: r.trainLoss,
        valLoss: r.valLoss,
        tokensPerSecond: Math.round(r.tokensPerSecond),
      }),
    );
    return 0;
  } catch (e) {
    if (e instanceof UserError || (e as { userFacing?: boolean }).userFacing) {
      console.error(`batcoder pretrain: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
