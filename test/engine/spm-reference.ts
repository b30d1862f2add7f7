/**
 * SentencePiece-style tokenizer.json files made by transformers / tokenizers in the Python reference venv
 * (test/engine/spm_reference.py), with the Rust `tokenizers` ids and decodes of the documents the tests check.
 * Shared by spm-tokenizer.test.ts and gguf-spm.test.ts; built once per process.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runPython } from "../helpers/python.js";
import { EDGE_CASES, collectDocs, repoRoot, type Doc } from "./tokenizer-docs.js";

export const SPM_VARIANTS = ["llama", "llama_legacy", "spbpe_unk", "spbpe_fuse"] as const;
export type SpmVariant = (typeof SPM_VARIANTS)[number];

/** Texts the SentencePiece paths need besides the corpus: "▁" in the text, byte fallback, specials, unk. */
export const SPM_EDGE_CASES: readonly string[] = [
  ...EDGE_CASES,
  "▁ already ▁▁ metaspace▁chars",
  "  two leading spaces",
  "\tleading tab",
  "<s>[INST] hi [/INST] answer</s><s> again",
  "text with <unk> and <0x41> literally, and </s",
  "emoji 😀🎉 CJK 漢字かな 한국 math ∀x∈ℝ: x²≥0 arrows ⇒ ←",
  "ﬁ ligature, Ｆｕｌｌｗｉｄｔｈ, ① circled, Å angstrom", // NFKC changes these
  "tab\there\r\nwindows\u000bvertical",
  "x".repeat(120) + " y".repeat(40),
];

export interface SpmReference {
  docs: Doc[];
  variants: Record<SpmVariant, { dir: string; ids: number[][]; decoded: string[]; decodedAll: string[] }>;
  /** Removes the temporary folder. */
  dispose(): void;
}

let cached: SpmReference | null = null;

/**
 * Builds the reference tokenizers (vocabulary `vocab`) on a sample of the corpus's train split and runs them on
 * every `sample`-th document (collectDocs) plus SPM_EDGE_CASES.
 */
export function spmReference(sample: number, vocab = 3000): SpmReference {
  if (cached) return cached;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-spm-"));
  const docs = collectDocs(sample).concat(SPM_EDGE_CASES.map((text, i) => ({ source: `spm-edge/${i}`, text })));
  const train = collectDocs(7)
    .filter((d) => d.source.startsWith("corpus/train/"))
    .map((d) => d.text);
  runPython({ script: path.join(repoRoot, "test/engine/spm_reference.py") }, [], {
    input: JSON.stringify({ out, train, docs: docs.map((d) => d.text), vocab, alphabet: 160 }),
    timeoutMs: 600_000,
  });
  const parsed = JSON.parse(fs.readFileSync(path.join(out, "reference.json"), "utf8")) as {
    variants: Record<SpmVariant, { dir: string; ids: number[][]; decoded: string[]; decoded_all: string[] }>;
  };
  const variants = {} as SpmReference["variants"];
  for (const v of SPM_VARIANTS) {
    const p = parsed.variants[v];
    variants[v] = { dir: p.dir, ids: p.ids, decoded: p.decoded, decodedAll: p.decoded_all };
  }
  cached = {
    docs,
    variants,
    dispose: () => {
      fs.rmSync(out, { recursive: true, force: true });
      cached = null;
    },
  };
  return cached;
}

/**
 * The decoder of the Llama-2 / Mistral v0.1 tokenizer.json files: "▁" back to spaces, byte fallback, fuse, and one
 * leading space stripped (which is why a word-start token decoded alone loses its space).
 */
export const LLAMA_SPM_DECODER = {
  type: "Sequence",
  decoders: [
    { type: "Replace", pattern: { String: "▁" }, content: " " },
    { type: "ByteFallback" },
    { type: "Fuse" },
    { type: "Strip", content: " ", start: 1, stop: 0 },
  ],
};

/** The ids the Rust `tokenizers` crate (Python reference venv) gives each of `texts` under a tokenizer.json object. */
export function rustTokenizerIds(json: unknown, texts: readonly string[]): number[][] {
  const code = [
    "import json, sys",
    "from tokenizers import Tokenizer",
    "d = json.load(sys.stdin)",
    "tok = Tokenizer.from_str(json.dumps(d['json']))",
    "print(json.dumps([tok.encode(t).ids for t in d['texts']]))",
  ].join("\n");
  return JSON.parse(runPython({ code }, [], { input: JSON.stringify({ json, texts }) }).stdout) as number[][];
}

/** Removes the reference's temporary folder if it was built. */
export function disposeSpmReference(): void {
  cached?.dispose();
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}
