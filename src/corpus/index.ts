/** Public API of the corpus pipeline. See README.md in this folder. */
import path from "node:path";
import { fileURLToPath } from "node:url";

export {
  buildCorpus,
  formatSummary,
  resolveCorpusConfig,
  assignSplit,
  type CorpusStats,
  type BuildOptions,
} from "./pipeline.js";
export {
  readCorpus,
  readCorpusSync,
  verifyCorpus,
  readManifest,
  CORPUS_FORMAT,
  type ReadOptions,
  type CorpusManifest,
} from "./reader.js";
export {
  CorpusRecordSchema,
  CorpusConfigSchema,
  SPLITS,
  type CorpusRecord,
  type CorpusConfig,
  type CorpusConfigInput,
  type Split,
} from "./schema.js";
export {
  BenchmarkIndex,
  loadBenchmarkUnits,
  defaultBenchmarksDir,
  type ContaminationMatch,
  type BenchmarkUnit,
} from "./decontam.js";
export { NearDupIndex, MinHasher, HashSet52 } from "./dedup.js";
export { lex, abstractTokens, words } from "./lexer.js";
export { FILE_DROP_REASONS, FUNCTION_DROP_REASONS } from "./filters.js";

/** The bundled default corpus (data/corpus/default), resolved from this module's location. */
export const DEFAULT_CORPUS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../data/corpus/default",
);
export { generateTinyFunctions, TINY_LANGS, type TinyFile, type TinyLang } from "./tinyfuncs.js";
export {
  writeCorpusSubset,
  subsetSources,
  type SubsetOptions,
  type SubsetStats,
  type SubsetVerdict,
} from "./subset.js";
