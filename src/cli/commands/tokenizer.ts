/** `batcoder tokenizer`: train, inspect and try the byte-level BPE tokenizer. */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { BpeTokenizer, loadTokenizer } from "../../engine/tokenizer.js";
import { pickWeights } from "../../orchestration/models.js";

export const help = `batcoder tokenizer <train|encode|decode|info> [options]

  batcoder tokenizer train --corpus PATH --out FILE [--vocab-size N] [--min-frequency N]
      Trains a byte-level BPE (special tokens of src/engine/special.ts at ids 0..N-1) on a corpus: a built corpus
      dir, a .jsonl file (records with code/doc or text), a .txt/.md file, or a folder of them (train split only).
      Writes a Hugging Face tokenizer.json to FILE and the resolved options to FILE.config.json.
        --vocab-size N      total vocabulary size (specials + 256 bytes + merges)   [4096]
        --min-frequency N   stop merging when the best pair is rarer than this       [2]

  batcoder tokenizer encode --tokenizer FILE|CHECKPOINT [--no-special] [--file F | TEXT]
      Prints the token ids as JSON. Special-token strings in the text are recognised unless --no-special.

  batcoder tokenizer decode --tokenizer FILE|CHECKPOINT ID...
      Prints the decoded text (invalid UTF-8 shows as U+FFFD).

  batcoder tokenizer info --tokenizer FILE|CHECKPOINT
      Prints the vocabulary size, special tokens and merges count as JSON.`;

const TrainSchema = z.object({
  corpus: z.string().min(1),
  out: z.string().min(1),
  vocabSize: z.number().int().min(268).max(1_000_000).default(4096),
  minFrequency: z.number().int().min(1).default(2),
});

function intOpt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError(`${flag} expects an integer, got '${v}'`);
  return n;
}

function openTokenizer(p: string | undefined): BpeTokenizer {
  if (!p) throw new UserError("--tokenizer is required");
  if (!fs.existsSync(p)) throw new UserError(`tokenizer ${p} does not exist`);
  // a directory without its own tokenizer.json: a run / checkpoints folder / checkpoint (the one run layout)
  const file =
    fs.statSync(p).isDirectory() && !fs.existsSync(path.join(p, "tokenizer.json")) ? pickWeights(p).weights : p;
  try {
    return loadTokenizer(file);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: {
        corpus: { type: "string" },
        out: { type: "string" },
        "vocab-size": { type: "string" },
        "min-frequency": { type: "string" },
        tokenizer: { type: "string" },
        file: { type: "string" },
        "no-special": { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`batcoder tokenizer: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  switch (sub) {
    case "train": {
      const parsed = TrainSchema.safeParse({
        corpus: values.corpus,
        out: values.out,
        vocabSize: intOpt(values["vocab-size"], "--vocab-size"),
        minFrequency: intOpt(values["min-frequency"], "--min-frequency"),
      });
      if (!parsed.success) {
        throw new UserError(
          `tokenizer train: ${parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ")}`,
        );
      }
      const o = parsed.data;
      // the same corpus reader as `batcoder pretrain` (imported lazily: it pulls in the training engine)
      const { loadPretrainDocs } = await import("../../orchestration/pretrain.js");
      const docs = loadPretrainDocs(o.corpus).train;
      const t0 = Date.now();
      const chars = docs.reduce((a, d) => a + d.length, 0);
      const tok = await BpeTokenizer.train(docs, { vocabSize: o.vocabSize, minFrequency: o.minFrequency });
      const seconds = (Date.now() - t0) / 1000;
      fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
      tok.save(o.out);
      const resolved = { ...o, corpus: path.resolve(o.corpus), out: path.resolve(o.out) };
      fs.writeFileSync(`${o.out}.config.json`, JSON.stringify(resolved, null, 2) + "\n");
      console.log(
        JSON.stringify({
          out: resolved.out,
          vocabSize: tok.vocabSize,
          merges: tok.numMerges,
          documents: docs.length,
          chars,
          seconds,
        }),
      );
      if (tok.vocabSize < o.vocabSize) {
        console.error(
          `note: stopped at ${tok.vocabSize} tokens (no pair occurs ${o.minFrequency}+ times); use more text or a lower --min-frequency`,
        );
      }
      return 0;
    }
    case "encode": {
      const tok = openTokenizer(values.tokenizer);
      let text: string;
      if (values.file !== undefined) {
        if (positionals.length) throw new UserError("give either --file or TEXT, not both");
        if (!fs.existsSync(values.file)) throw new UserError(`file ${values.file} does not exist`);
        text = fs.readFileSync(values.file, "utf8");
      } else {
        if (positionals.length !== 1) throw new UserError("encode expects one TEXT argument (or --file F)");
        text = positionals[0]!;
      }
      console.log(JSON.stringify(tok.encode(text, { allowSpecial: !values["no-special"] })));
      return 0;
    }
    case "decode": {
      const tok = openTokenizer(values.tokenizer);
      const ids = positionals.flatMap((p) => p.split(/[\s,[\]]+/).filter(Boolean));
      const nums = ids.map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 0) throw new UserError(`not a token id: '${s}'`);
        return n;
      });
      process.stdout.write(tok.decode(nums) + "\n");
      return 0;
    }
    case "info": {
      const tok = openTokenizer(values.tokenizer);
      console.log(
        JSON.stringify(
          {
            vocabSize: tok.vocabSize,
            merges: tok.numMerges,
            specials: tok.specials,
            bosId: tok.bosId,
            eosId: tok.eosId,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    default:
      console.error(`batcoder tokenizer: expected a subcommand (train, encode, decode, info)\n\n${help}`);
      return 2;
  }
}
