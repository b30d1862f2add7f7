#!/usr/bin/env node
/**
 * `batcoder` command dispatcher. Each subcommand lives in src/cli/commands/<name>.ts
 * and exports `run(argv: string[]): Promise<number>` (the exit code) and `help: string`.
 * Commands are imported lazily so `batcoder --help` stays instant.
 */
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

export interface CommandModule {
  run(argv: string[]): Promise<number>;
  help: string;
}

export const COMMANDS: Record<string, string> = {
  train: "Run the BatCoder method: warm start (pretrain + SFT, cached) then back-translation RL",
  pretrain: "Causal-LM pretraining of the embedded model on a corpus",
  sft: "Supervised warm start on naturally occurring code/doc pairs, both directions",
  rl: "Back-translation RL from an existing checkpoint",
  recipe: "A scale-out recipe: cost estimate, Tinker / SkyRL commands, --dry-run on a tiny local model",
  eval: "Evaluate a model on HumanEval / MBPP / MultiPL-E with sandboxed execution",
  serve: "Serve a checkpoint over the OpenAI-compatible HTTP API",
  export: "Export a checkpoint (e.g. --format gguf)",
  corpus: "Build clean, deduplicated, decontaminated function corpora (corpus build ...)",
  similarity: "Score the similarity of two code files with BLEU / CodeBLEU / graph / exact",
  "doc-check": "Validate a documentation text (and check it for code leakage)",
  report: "Render a run directory as a self-contained HTML report",
  tokenizer: "Train or inspect the byte-level BPE tokenizer",
  document: "Write documentation for undocumented functions with a model (diff, --write, --check)",
  implement: "Write code from documentation with a model (n samples, ranked by --test in the sandbox)",
  roundtrip: "Round-trip evaluation on your code: document, rebuild, score every function (table + HTML)",
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  return `batcoder <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun \`batcoder <command> --help\` for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log(usage());
    return cmd ? 0 : 1;
  }
  if (!(cmd in COMMANDS)) {
    console.error(`batcoder: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, "commands", `${cmd}.js`);
  if (!fs.existsSync(file)) {
    console.error(`batcoder: command '${cmd}' is not available in this build`);
    return 2;
  }
  const mod = (await import(pathToFileURL(file).href)) as CommandModule;
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(mod.help);
    return 0;
  }
  return mod.run(rest);
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = err as Error & { userFacing?: boolean };
      if (e && e.userFacing) console.error(`batcoder: ${e.message}`);
      else console.error(e?.stack ?? String(err));
      process.exitCode = 1;
    },
  );
}
