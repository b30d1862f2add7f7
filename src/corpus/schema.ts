/**
 * The corpus record format (one JSON object per line in DIR/<split>/shard-NNNNN.jsonl.gz) and the build
 * configuration, both as zod schemas.
 */
import { z } from "zod";

export const SPLITS = ["train", "validation", "test"] as const;
export type Split = (typeof SPLITS)[number];

export const CorpusRecordSchema = z
  .object({
    /** Stable id: 16 hex chars of sha256(repo, path, start line, name). */
    id: z.string().regex(/^[0-9a-f]{16}$/),
    lang: z.string().min(1),
    repo: z.string(),
    path: z.string(),
    /** Function/method name. */
    name: z.string(),
    /** Enclosing class/module/receiver type, or null for free functions. */
    class_name: z.string().nullable(),
    /** "function", "method", … as reported by the language layer. */
    kind: z.string(),
    signature: z.string(),
    /** Source of the function with comments and docstrings removed, dedented. */
    code: z.string().min(1),
    /** The function's own documentation (docstring / doc comment), or null. Never part of `code`. */
    doc: z.string().nullable(),
    start_line: z.number().int().positive(),
    end_line: z.number().int().positive(),
    n_lines: z.number().int().positive(),
    /** Code tokens (lexer tokens: identifiers, keywords, literals, operators) of `code`. */
    n_tokens: z.number().int().nonnegative(),
    hashes: z.object({
      /** 13 hex chars: hash of the normalised token stream (exact-duplicate key). */
      exact: z.string().regex(/^[0-9a-f]{13}$/),
      /** sha256 of `code`, first 16 hex chars. */
      code_sha256: z.string().regex(/^[0-9a-f]{16}$/),
      /** The split key hash (file or repository level). */
      split_key: z.string().regex(/^[0-9a-f]{16}$/),
    }),
    split: z.enum(SPLITS),
    license: z.string().nullable(),
  })
  .strict();
export type CorpusRecord = z.infer<typeof CorpusRecordSchema>;

export const InputSpecSchema = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      /** Repository name recorded in each record (default: the input's base name). */
      repo: z.string().min(1).optional(),
      /** License id recorded in each record (e.g. "PSF-2.0"). */
      license: z.string().min(1).optional(),
      /** Path globs (relative to the input) to skip, in .gitignore syntax. */
      exclude: z.array(z.string()).optional(),
    })
    .strict(),
]);
export type InputSpec = z.infer<typeof InputSpecSchema>;

const Ratio = z.number().min(0).max(1);

export const CorpusConfigSchema = z
  .object({
    inputs: z.array(InputSpecSchema).min(1, "at least one --input is required"),
    out: z.string().min(1),
    /** Languages to keep (language-layer ids); null = every language the layer supports. */
    langs: z.array(z.string().min(1)).nullable().default(null),
    maxFileBytes: z.number().int().positive().default(1_000_000),
    maxLineLength: z.number().int().positive().default(1000),
    minLines: z.number().int().positive().default(3),
    maxLines: z.number().int().positive().default(200),
    minTokens: z.number().int().nonnegative().default(12),
    maxTokens: z.number().int().positive().default(2000),
    excludeTests: z.boolean().default(true),
    dropTrivial: z.boolean().default(true),
    maxTrivialTokens: z.number().int().nonnegative().default(6),
    /** Keep only functions that have documentation. */
    requireDoc: z.boolean().default(false),
    dedup: z
      .object({
        exact: z.boolean().default(true),
        near: z.boolean().default(true),
        threshold: z.number().gt(0).max(1).default(0.85),
        numPerm: z.number().int().positive().default(128),
        bands: z.number().int().positive().default(16),
        shingle: z.number().int().positive().default(5),
      })
      .strict()
      .refine((d) => d.numPerm % d.bands === 0, { message: "dedup.numPerm must be a multiple of dedup.bands" })
      .default({ exact: true, near: true, threshold: 0.85, numPerm: 128, bands: 16, shingle: 5 }),
    decontam: z
      .object({
        enabled: z.boolean().default(true),
        /** Directory with humaneval/, mbpp/, multipl-e/ (default: the repository's data/benchmarks). */
        benchmarksDir: z.string().nullable().default(null),
        codeN: z.number().int().min(4).default(13),
        docN: z.number().int().min(4).default(13),
        renamedCoverage: z.number().gt(0).max(1).default(0.5),
        minRenamedNgrams: z.number().int().positive().default(4),
        minShortTokens: z.number().int().positive().default(8),
        minShortWords: z.number().int().positive().default(6),
      })
      .strict()
      .default({
        enabled: true,
        benchmarksDir: null,
        codeN: 13,
        docN: 13,
        renamedCoverage: 0.5,
        minRenamedNgrams: 4,
        minShortTokens: 8,
        minShortWords: 6,
      }),
    split: z
      .object({
        train: Ratio.default(0.9),
        validation: Ratio.default(0.05),
        test: Ratio.default(0.05),
        /** "file": functions of one file stay together; "repo": whole repositories stay together. */
        key: z.enum(["file", "repo"]).default("file"),
        seed: z.string().default("batcoder-corpus-v1"),
      })
      .strict()
      .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, { message: "split ratios must sum to 1" })
      .default({ train: 0.9, validation: 0.05, test: 0.05, key: "file", seed: "batcoder-corpus-v1" }),
    /** Records per output shard. */
    shardRecords: z.number().int().positive().default(50_000),
    gzipLevel: z.number().int().min(1).max(9).default(9),
  })
  .strict();
export type CorpusConfig = z.infer<typeof CorpusConfigSchema>;
export type CorpusConfigInput = z.input<typeof CorpusConfigSchema>;
