/** Public API of the behavioural-similarity layer. See README.md in this folder. */
export {
  BehaviourRunner,
  compareBehaviour,
  behaviourLang,
  probeFromRuns,
  BEHAVIOUR_DEFAULTS,
  type BehaviourJob,
  type BehaviourResult,
  type BehaviourOptions,
} from "./compare.js";
export { BEHAVIOUR_LANGS, type BehaviourLang } from "./runners/index.js";
export { analyseFunction, pythonHint, goType, type FunctionInfo, type ParamInfo, type Ty } from "./signature.js";
export { generateInputs, mutateValue, type Json, type InputOptions } from "./inputs.js";
