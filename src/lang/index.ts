/**
 * Public API of the language layer. See README.md in this folder.
 */
export {
  LANGUAGES,
  LANG_IDS,
  detectLanguage,
  isLangId,
  resolveLangId,
  type LangId,
  type LanguageSpec,
  type DocStyle,
  type DocConvention,
} from "./languages.js";
export {
  loadLanguage,
  loadAllLanguages,
  isLanguageLoaded,
  parseCode,
  rejectReason,
  grammarPath,
  SyntaxNode,
  LineIndex,
  DEFAULT_MAX_PARSE_CHARS,
  type ParseIssue,
  type ParseResult,
  type ParseOptions,
} from "./parser.js";
export {
  stripComments,
  stripCommentsParsed,
  normalizeWhitespace,
  dedent,
  codeTokens,
  codeTokensParsed,
  indexComments,
  type StripResult,
  type CommentIndex,
} from "./text.js";
export {
  extractFunctions,
  extractFunctionsParsed,
  stripCommentMarkers,
  type ExtractedFunction,
  type ExtractResult,
} from "./extract.js";
export {
  docTargets,
  renderDoc,
  applyDocs,
  detectEol,
  type DocTarget,
  type DocEdit,
  type ApplyResult,
  type RenderContext,
} from "./docwrite.js";
