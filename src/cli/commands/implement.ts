/** `batcoder implement DOC_FILE|- --lang L --model REF [-n N] [--signature S] [--test FILE]` — code from documentation. */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { decodeSource } from "../../orchestration/document.js";
import { implementFromDoc } from "../../orchestration/roundtrip.js";
import { MODEL_HELP, MODEL_OPTIONS, directionsFrom, intFlag, langFlag, numFlag } from "./model-options.js";

export const help = `batcoder implement DOC_FILE|- --lang L --model REF [options]

Writes code from documentation (a file, or - for stdin) with the model's doc→code direction: the
documentation alone is the prompt (as in BatCoder's RL), optionally followed by a signature.

Options:
  --lang L              language of the code (required)
  --signature S         the function's head (e.g. "def mean(xs):"), given as the start of the answer
  -n, --n N             samples (default 1; greedy when 1, else --temperature)
  --temperature T       sampling temperature (default 0 for one sample, 0.8 for several)
  --max-tokens N        code length limit (default 512)
  --test FILE           run every sample with these tests in the sandbox and rank the samples by the tests
                        they pass (Python: each top-level assert and each def test_* is one test; other
                        languages: the file passes or fails as one)
  --unsafe-no-sandbox   run --test programs without isolation (only if the sandbox cannot work here)
  --json                print the samples (and test results) as JSON
${MODEL_HELP}
  -h, --help            this help`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        lang: { type: "string" },
        signature: { type: "string" },
        n: { type: "string", short: "n", default: "1" },
        temperature: { type: "string" },
        "max-tokens": { type: "string" },
        test: { type: "string" },
        "unsafe-no-sandbox": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UserError(`implement: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UserError("implement: give exactly one DOC_FILE (or - for stdin)");
  const lang = langFlag(values.lang);
  if (!lang) throw new UserError("implement: --lang is required (the language to write)");
  const src = positionals[0]!;
  let buf: Buffer;
  try {
    buf = src === "-" ? fs.readFileSync(0) : fs.readFileSync(src);
  } catch (e) {
    throw new UserError(`implement: cannot read ${src}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const dec = decodeSource(buf);
  if ("reason" in dec) throw new UserError(`implement: ${src}: ${dec.reason}; the documentation must be UTF-8 text`);
  if (!dec.text.trim()) throw new UserError(`implement: ${src} is empty: there is no documentation to implement`);
  let tests: string | null = null;
  if (values.test) {
    const t = fs.existsSync(values.test) ? decodeSource(fs.readFileSync(values.test)) : { reason: "no such file" };
    if ("reason" in t) throw new UserError(`implement: --test ${values.test}: ${t.reason}`);
    tests = t.text;
  }
  const n = intFlag(values.n, "-n", 1)!;
  const directions = await directionsFrom(values, "implement");
  try {
    const samples = await implementFromDoc({
      directions,
      doc: dec.text,
      lang,
      signature: values.signature ?? null,
      n,
      tests,
      unsafeNoSandbox: values["unsafe-no-sandbox"],
      temperature: numFlag(values.temperature, "--temperature", 0, 5),
      maxTokens: intFlag(values["max-tokens"], "--max-tokens", 1),
      seed: intFlag(values.seed, "--seed") ?? 0,
    });
    if (values.json) console.log(JSON.stringify({ model: directions.name, lang, samples }, null, 2));
    else {
      for (const s of samples) {
        const head =
          s.total !== undefined
            ? `sample ${s.index + 1}: ${s.passed}/${s.total} tests passed`
            : `sample ${s.index + 1}`;
        console.log(samples.length > 1 || s.total !== undefined ? `# ---- ${head} ----\n${s.code}\n` : s.code);
        for (const r of s.results ?? [])
          if (r.status !== "passed") console.error(`sample ${s.index + 1}, ${r.name}: ${r.result}`);
      }
    }
    return 0;
  } finally {
    await directions.close();
  }
}
