/** Public API of the similarity / reward layer. See README.md in this folder. */
export {
  similarity,
  similarityAll,
  prepareCode,
  METRICS,
  DEFAULT_MAX_SIMILARITY_CHARS,
  type Metric,
  type SimilarityResult,
  type SimilarityOptions,
  type PreparedCode,
} from "./metrics.js";
export { sentenceBleu, type BleuComponents } from "./bleu.js";
export { textBleu, rougeL, textTokens } from "./text.js";
export { codeBleu, DEFAULT_CODEBLEU_WEIGHTS, type CodeBleuWeights } from "./codebleu.js";
export { buildPdg, PDG_LANGUAGES, type Pdg, type PdgNode, type PdgEdge, type NodeClass } from "./pdg.js";
export { graphEditSimilarity, hungarian, type GedOptions, type GedResult } from "./ged.js";
export {
  DOC_FORMAT_SPEC,
  DOC_SECTIONS,
  validateDoc,
  canonicalizeDoc,
  type DocValidation,
  type ValidateOptions,
  type CanonicalizeFn,
} from "./docformat.js";
export {
  detectLeak,
  leakVerdict,
  docCodeOverlap,
  lexTokens,
  gappedChains,
  identifierRarity,
  type LeakOptions,
  type LeakResult,
  type LeakSignals,
  type DocCodeOverlap,
} from "./leak.js";
export { leakingDoc, LEAK_KINDS, type LeakKind } from "./leakgen.js";
export {
  reward,
  checkDoc,
  rejectedDocReward,
  RewardConfigSchema,
  resolveRewardConfig,
  type DocCheck,
  type RewardConfig,
  type RewardConfigInput,
  type RewardBreakdown,
} from "./reward.js";
export {
  RewardPool,
  scoreInProcess,
  isRewardError,
  type RewardJob,
  type RewardJobResult,
  type RewardPoolOptions,
} from "./pool.js";
