/**
 * The language registry: for each supported language, how to recognise its files, its keywords, comment and
 * documentation syntax, and which syntax-tree node types are functions and classes. The syntax trees come from
 * tree-sitter grammars shipped as WASM files inside node_modules (loaded offline, see parser.ts).
 */

export type LangId =
  | "python"
  | "javascript"
  | "typescript"
  | "java"
  | "go"
  | "rust"
  | "c"
  | "cpp"
  | "ruby"
  | "lua"
  | "julia"
  | "ocaml"
  | "haskell"
  | "elixir"
  | "r"
  | "bash"
  | "php"
  | "scala"
  | "kotlin"
  | "swift";

/**
 * Where a language keeps the documentation of a function:
 * - "docstring": a string literal as the first statement of the body (Python).
 * - "string-before": a string literal just before the definition (Julia).
 * - "attribute-before": a `@doc` attribute just before the definition (Elixir).
 * - "comment-before": the comment block just before the definition (every other language; JSDoc, `///`,
 *   `-- |`, `#'`, `(** *)` and plain `#`/`//` comments are all recognised by their markers).
 */
export type DocStyle = "docstring" | "string-before" | "attribute-before" | "comment-before";

/**
 * How new documentation is written (src/lang/docwrite.ts renders it): inside the body as a docstring, or in a
 * block before the definition made of an optional `open` line, body lines each starting with `prefix` (the
 * first with `firstPrefix` when set) and an optional `close` line. `tags` says how the format's sections
 * (Parameters / Returns / Raises, src/similarity/docformat.ts) are written: as they are ("plain"), or as
 * JSDoc (`@param name text`, `@returns`), Javadoc/Doxygen/PHPDoc/KDoc/Scaladoc (`@param`, `@return`, `@throws`),
 * YARD (`@param`, `@return`, `@raise`), LDoc (`@param`, `@return`, `@raise`), roxygen (`@param`, `@return`), or
 * Swift markup (`- Parameter name:`, `- Returns:`, `- Throws:`). `tagsOnlyIfFileUses`: a regular expression
 * (multiline) the file must match for the tags to be used (Ruby: YARD only where the file already uses it);
 * otherwise the sections stay plain. `startsWithName`: the first sentence starts with the function's name (Go).
 */
export interface DocConvention {
  placement: "docstring" | "before";
  open?: string;
  close?: string;
  prefix: string;
  firstPrefix?: string;
  tags: "plain" | "jsdoc" | "javadoc" | "yard" | "ldoc" | "roxygen" | "swift";
  tagsOnlyIfFileUses?: string;
  startsWithName?: boolean;
}

export interface LanguageSpec {
  id: LangId;
  /** Human-readable name. */
  name: string;
  /** File extensions including the dot, lower-case (".py"). */
  extensions: string[];
  /** Exact file names (e.g. "Rakefile"). */
  filenames?: string[];
  /** Interpreter names recognised in a `#!` line ("python3" matches "python"). */
  shebangs?: string[];
  /** Reserved words (used for CodeBLEU's keyword-weighted n-gram match). */
  keywords: string[];
  lineComment?: string[];
  blockComment?: [string, string][];
  docStyle: DocStyle;
  /** How `batcoder document` writes new documentation in this language's own convention (src/lang/docwrite.ts). */
  docConvention: DocConvention;
  /** Markers that open a documentation comment (e.g. "/**", "///", "-- |", "#'", "(**"). */
  docCommentMarkers?: string[];
  /** Node types that define a function or method (more may be recognised structurally, see extract.ts). */
  functionNodeTypes: string[];
  /** Node types that define a class-like scope whose functions are methods. */
  classNodeTypes: string[];
  /** Node types that are comments. */
  commentNodeTypes: string[];
  /** Node types that are string literals (atomic for tokenisation; docstrings are found among them). */
  stringNodeTypes: string[];
  /** Node types of identifiers. */
  identifierNodeTypes: string[];
  /** WASM grammar: package-relative path inside node_modules. */
  wasm: string;
  /** Identifier of the language as written in fenced code blocks / special tokens. */
  aliases?: string[];
}

const CW = "@cursorless/tree-sitter-wasms/out/";

const C_KEYWORDS = [
  "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
  "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
  "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
  "true", "false", "NULL",
];
const CPP_EXTRA = [
  "alignas", "alignof", "and", "asm", "catch", "class", "constexpr", "const_cast", "decltype", "delete",
  "dynamic_cast", "explicit", "export", "friend", "mutable", "namespace", "new", "noexcept", "nullptr",
  "operator", "or", "not", "private", "protected", "public", "reinterpret_cast", "static_assert",
  "static_cast", "template", "this", "throw", "try", "typeid", "typename", "using", "virtual", "override",
  "final", "auto", "co_await", "co_return", "co_yield",
];
const JS_KEYWORDS = [
  "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete",
  "do", "else", "export", "extends", "false", "finally", "for", "function", "if", "import", "in",
  "instanceof", "let", "new", "null", "of", "return", "static", "super", "switch", "this", "throw", "true",
  "try", "typeof", "undefined", "var", "void", "while", "with", "yield", "get", "set",
];
const TS_EXTRA = [
  "abstract", "any", "as", "boolean", "declare", "enum", "implements", "interface", "keyof", "module",
  "namespace", "never", "number", "object", "private", "protected", "public", "readonly", "string",
  "symbol", "type", "unknown", "is", "infer", "satisfies",
];
const C_COMMENTS = { lineComment: ["//"], blockComment: [["/*", "*/"]] as [string, string][] };

export const LANGUAGES: Record<LangId, LanguageSpec> = {
  python: {
    id: "python",
    name: "Python",
    extensions: [".py", ".pyw", ".pyi"],
    shebangs: ["python", "python2", "python3", "pypy", "pypy3"],
    keywords: [
      "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
      "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
      "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match",
      "case", "self",
    ],
    lineComment: ["#"],
    docStyle: "docstring",
    docConvention: { placement: "docstring", open: '"""', close: '"""', prefix: "", tags: "plain" },
    functionNodeTypes: ["function_definition"],
    classNodeTypes: ["class_definition"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "concatenated_string"],
    identifierNodeTypes: ["identifier"],
    wasm: CW + "tree-sitter-python.wasm",
    aliases: ["py", "python3"],
  },
  javascript: {
    id: "javascript",
    name: "JavaScript",
    extensions: [".js", ".mjs", ".cjs", ".jsx"],
    shebangs: ["node", "nodejs", "deno", "bun"],
    keywords: JS_KEYWORDS,
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "jsdoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: [
      "function_declaration", "function_expression", "function", "arrow_function", "method_definition",
      "generator_function_declaration", "generator_function",
    ],
    classNodeTypes: ["class_declaration", "class"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "template_string", "regex"],
    identifierNodeTypes: ["identifier", "property_identifier", "shorthand_property_identifier", "private_property_identifier"],
    wasm: CW + "tree-sitter-javascript.wasm",
    aliases: ["js", "node", "jsx"],
  },
  typescript: {
    id: "typescript",
    name: "TypeScript",
    extensions: [".ts", ".mts", ".cts", ".tsx"],
    shebangs: ["ts-node", "tsx"],
    keywords: [...JS_KEYWORDS, ...TS_EXTRA],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "jsdoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: [
      "function_declaration", "function_expression", "function", "arrow_function", "method_definition",
      "generator_function_declaration", "generator_function",
    ],
    classNodeTypes: ["class_declaration", "class", "abstract_class_declaration"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "template_string", "regex"],
    identifierNodeTypes: ["identifier", "property_identifier", "shorthand_property_identifier", "private_property_identifier", "type_identifier"],
    wasm: CW + "tree-sitter-typescript.wasm",
    aliases: ["ts"],
  },
  java: {
    id: "java",
    name: "Java",
    extensions: [".java"],
    keywords: [
      "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue",
      "default", "do", "double", "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if",
      "implements", "import", "instanceof", "int", "interface", "long", "native", "new", "package", "private",
      "protected", "public", "return", "short", "static", "strictfp", "super", "switch", "synchronized",
      "this", "throw", "throws", "transient", "try", "void", "volatile", "while", "true", "false", "null",
      "var", "record", "yield",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: ["method_declaration", "constructor_declaration", "lambda_expression"],
    classNodeTypes: ["class_declaration", "interface_declaration", "enum_declaration", "record_declaration"],
    commentNodeTypes: ["line_comment", "block_comment", "comment"],
    stringNodeTypes: ["string_literal", "character_literal", "text_block"],
    identifierNodeTypes: ["identifier", "type_identifier"],
    wasm: CW + "tree-sitter-java.wasm",
  },
  go: {
    id: "go",
    name: "Go",
    extensions: [".go"],
    keywords: [
      "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
      "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
      "switch", "type", "var", "nil", "true", "false", "iota",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "// ", tags: "plain", startsWithName: true },
    functionNodeTypes: ["function_declaration", "method_declaration", "func_literal"],
    classNodeTypes: [],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["interpreted_string_literal", "raw_string_literal", "rune_literal"],
    identifierNodeTypes: ["identifier", "field_identifier", "type_identifier", "package_identifier"],
    wasm: CW + "tree-sitter-go.wasm",
    aliases: ["golang"],
  },
  rust: {
    id: "rust",
    name: "Rust",
    extensions: [".rs"],
    keywords: [
      "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
      "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
      "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "/// ", tags: "plain" },
    docCommentMarkers: ["///", "//!", "/**"],
    functionNodeTypes: ["function_item", "closure_expression"],
    classNodeTypes: ["impl_item", "trait_item"],
    commentNodeTypes: ["line_comment", "block_comment"],
    stringNodeTypes: ["string_literal", "raw_string_literal", "char_literal"],
    identifierNodeTypes: ["identifier", "field_identifier", "type_identifier"],
    wasm: CW + "tree-sitter-rust.wasm",
    aliases: ["rs"],
  },
  c: {
    id: "c",
    name: "C",
    extensions: [".c", ".h"],
    keywords: C_KEYWORDS,
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**", "///"],
    functionNodeTypes: ["function_definition"],
    classNodeTypes: [],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string_literal", "char_literal", "system_lib_string", "concatenated_string"],
    identifierNodeTypes: ["identifier", "field_identifier", "type_identifier"],
    wasm: CW + "tree-sitter-c.wasm",
  },
  cpp: {
    id: "cpp",
    name: "C++",
    extensions: [".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp"],
    keywords: [...C_KEYWORDS, ...CPP_EXTRA],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**", "///", "//!"],
    functionNodeTypes: ["function_definition", "lambda_expression"],
    classNodeTypes: ["class_specifier", "struct_specifier"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string_literal", "char_literal", "raw_string_literal", "system_lib_string", "concatenated_string"],
    identifierNodeTypes: ["identifier", "field_identifier", "type_identifier", "namespace_identifier"],
    wasm: CW + "tree-sitter-cpp.wasm",
    aliases: ["c++", "cxx"],
  },
  ruby: {
    id: "ruby",
    name: "Ruby",
    extensions: [".rb", ".rake", ".gemspec"],
    filenames: ["Rakefile", "Gemfile"],
    shebangs: ["ruby"],
    keywords: [
      "BEGIN", "END", "alias", "and", "begin", "break", "case", "class", "def", "defined?", "do", "else",
      "elsif", "end", "ensure", "false", "for", "if", "in", "module", "next", "nil", "not", "or", "redo",
      "rescue", "retry", "return", "self", "super", "then", "true", "undef", "unless", "until", "when",
      "while", "yield",
    ],
    lineComment: ["#"],
    blockComment: [["=begin", "=end"]],
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "# ", tags: "yard", tagsOnlyIfFileUses: "^\\s*#\\s*@(?:param|return)\\b" },
    functionNodeTypes: ["method", "singleton_method"],
    classNodeTypes: ["class", "module", "singleton_class"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "simple_symbol", "heredoc_body", "regex", "character"],
    identifierNodeTypes: ["identifier", "constant", "instance_variable", "class_variable", "global_variable"],
    wasm: CW + "tree-sitter-ruby.wasm",
    aliases: ["rb"],
  },
  lua: {
    id: "lua",
    name: "Lua",
    extensions: [".lua"],
    shebangs: ["lua", "luajit"],
    keywords: [
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local",
      "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ],
    lineComment: ["--"],
    blockComment: [["--[[", "]]"]],
    docStyle: "comment-before",
    docConvention: { placement: "before", firstPrefix: "--- ", prefix: "-- ", tags: "ldoc" },
    docCommentMarkers: ["---"],
    functionNodeTypes: ["function_declaration", "function_definition"],
    classNodeTypes: [],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string"],
    identifierNodeTypes: ["identifier"],
    wasm: CW + "tree-sitter-lua.wasm",
  },
  julia: {
    id: "julia",
    name: "Julia",
    extensions: [".jl"],
    shebangs: ["julia"],
    keywords: [
      "baremodule", "begin", "break", "catch", "const", "continue", "do", "else", "elseif", "end", "export",
      "false", "finally", "for", "function", "global", "if", "import", "let", "local", "macro", "module",
      "quote", "return", "struct", "true", "try", "using", "while", "where", "mutable", "abstract",
      "primitive", "type", "nothing",
    ],
    lineComment: ["#"],
    blockComment: [["#=", "=#"]],
    docStyle: "string-before",
    docConvention: { placement: "before", open: '"""', close: '"""', prefix: "", tags: "plain" },
    functionNodeTypes: ["function_definition", "short_function_definition"],
    classNodeTypes: ["struct_definition", "module_definition"],
    commentNodeTypes: ["line_comment", "block_comment", "comment"],
    stringNodeTypes: ["string_literal", "character_literal", "prefixed_string_literal", "command_literal"],
    identifierNodeTypes: ["identifier"],
    wasm: "tree-sitter-julia/tree-sitter-julia.wasm",
    aliases: ["jl"],
  },
  ocaml: {
    id: "ocaml",
    name: "OCaml",
    extensions: [".ml"],
    shebangs: ["ocaml"],
    keywords: [
      "and", "as", "assert", "begin", "class", "constraint", "do", "done", "downto", "else", "end",
      "exception", "external", "false", "for", "fun", "function", "functor", "if", "in", "include",
      "inherit", "initializer", "lazy", "let", "match", "method", "module", "mutable", "new", "nonrec",
      "object", "of", "open", "or", "private", "rec", "sig", "struct", "then", "to", "true", "try", "type",
      "val", "virtual", "when", "while", "with", "mod", "land", "lor", "lxor", "lsl", "lsr", "asr",
    ],
    blockComment: [["(*", "*)"]],
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "(**", prefix: "    ", close: "*)", tags: "plain" },
    docCommentMarkers: ["(**"],
    functionNodeTypes: ["let_binding", "method_definition"],
    classNodeTypes: ["class_definition", "module_definition"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "character", "quoted_string"],
    identifierNodeTypes: ["value_name", "value_pattern", "label_name", "field_name"],
    wasm: "tree-sitter-ocaml/tree-sitter-ocaml.wasm",
    aliases: ["ml"],
  },
  haskell: {
    id: "haskell",
    name: "Haskell",
    extensions: [".hs", ".lhs"],
    shebangs: ["runhaskell", "runghc", "stack"],
    keywords: [
      "case", "class", "data", "default", "deriving", "do", "else", "foreign", "if", "import", "in", "infix",
      "infixl", "infixr", "instance", "let", "module", "newtype", "of", "then", "type", "where", "forall",
      "qualified", "as", "hiding",
    ],
    lineComment: ["--"],
    blockComment: [["{-", "-}"]],
    docStyle: "comment-before",
    docConvention: { placement: "before", firstPrefix: "-- | ", prefix: "-- ", tags: "plain" },
    docCommentMarkers: ["-- |", "{- |"],
    functionNodeTypes: ["function", "bind"],
    classNodeTypes: ["class", "instance"],
    commentNodeTypes: ["comment", "haddock", "pragma"],
    stringNodeTypes: ["string", "char"],
    identifierNodeTypes: ["variable", "name", "constructor"],
    wasm: CW + "tree-sitter-haskell.wasm",
    aliases: ["hs"],
  },
  elixir: {
    id: "elixir",
    name: "Elixir",
    extensions: [".ex", ".exs"],
    shebangs: ["elixir"],
    keywords: [
      "after", "and", "catch", "do", "else", "end", "false", "fn", "in", "nil", "not", "or", "rescue", "true",
      "when", "def", "defp", "defmodule", "defmacro", "defmacrop", "defstruct", "defprotocol", "defimpl",
      "case", "cond", "if", "unless", "with", "for", "receive", "try", "raise", "import", "alias", "require",
      "use", "quote", "unquote",
    ],
    lineComment: ["#"],
    docStyle: "attribute-before",
    docConvention: { placement: "before", open: '@doc """', close: '"""', prefix: "", tags: "plain" },
    functionNodeTypes: ["call"],
    classNodeTypes: ["call"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "charlist", "sigil", "atom", "quoted_atom"],
    identifierNodeTypes: ["identifier", "alias"],
    wasm: CW + "tree-sitter-elixir.wasm",
    aliases: ["ex", "exs"],
  },
  r: {
    id: "r",
    name: "R",
    extensions: [".r"],
    shebangs: ["Rscript", "R"],
    keywords: [
      "if", "else", "repeat", "while", "function", "for", "in", "next", "break", "TRUE", "FALSE", "NULL",
      "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "return",
    ],
    lineComment: ["#"],
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "#' ", tags: "roxygen" },
    docCommentMarkers: ["#'"],
    functionNodeTypes: ["function_definition"],
    classNodeTypes: [],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string"],
    identifierNodeTypes: ["identifier"],
    wasm: CW + "tree-sitter-r.wasm",
  },
  bash: {
    id: "bash",
    name: "Bash",
    extensions: [".sh", ".bash"],
    filenames: [".bashrc", ".bash_profile", ".profile"],
    shebangs: ["bash", "sh", "dash", "zsh", "ksh"],
    keywords: [
      "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done",
      "in", "function", "time", "local", "declare", "export", "readonly", "return", "exit", "break",
      "continue", "shift", "echo", "test",
    ],
    lineComment: ["#"],
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "# ", tags: "plain" },
    functionNodeTypes: ["function_definition"],
    classNodeTypes: [],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "raw_string", "ansi_c_string", "heredoc_body"],
    identifierNodeTypes: ["variable_name", "word"],
    wasm: CW + "tree-sitter-bash.wasm",
    aliases: ["sh", "shell", "zsh"],
  },
  php: {
    id: "php",
    name: "PHP",
    extensions: [".php", ".phtml"],
    shebangs: ["php"],
    keywords: [
      "abstract", "and", "array", "as", "break", "callable", "case", "catch", "class", "clone", "const",
      "continue", "declare", "default", "do", "echo", "else", "elseif", "empty", "enddeclare", "endfor",
      "endforeach", "endif", "endswitch", "endwhile", "extends", "final", "finally", "fn", "for", "foreach",
      "function", "global", "goto", "if", "implements", "include", "instanceof", "insteadof", "interface",
      "isset", "list", "match", "namespace", "new", "or", "print", "private", "protected", "public",
      "readonly", "require", "return", "static", "switch", "throw", "trait", "try", "unset", "use", "var",
      "while", "xor", "yield", "true", "false", "null",
    ],
    lineComment: ["//", "#"],
    blockComment: [["/*", "*/"]],
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: ["function_definition", "method_declaration", "anonymous_function", "arrow_function"],
    classNodeTypes: ["class_declaration", "interface_declaration", "trait_declaration"],
    commentNodeTypes: ["comment"],
    stringNodeTypes: ["string", "encapsed_string", "heredoc", "nowdoc"],
    identifierNodeTypes: ["name", "variable_name"],
    wasm: CW + "tree-sitter-php.wasm",
  },
  scala: {
    id: "scala",
    name: "Scala",
    extensions: [".scala", ".sc"],
    shebangs: ["scala"],
    keywords: [
      "abstract", "case", "catch", "class", "def", "do", "else", "extends", "false", "final", "finally", "for",
      "forSome", "if", "implicit", "import", "lazy", "match", "new", "null", "object", "override", "package",
      "private", "protected", "return", "sealed", "super", "this", "throw", "trait", "try", "true", "type",
      "val", "var", "while", "with", "yield", "given", "using", "enum", "then", "extension",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: ["function_definition", "lambda_expression"],
    classNodeTypes: ["class_definition", "object_definition", "trait_definition"],
    commentNodeTypes: ["comment", "block_comment"],
    stringNodeTypes: ["string", "interpolated_string_expression", "character_literal"],
    identifierNodeTypes: ["identifier", "type_identifier"],
    wasm: CW + "tree-sitter-scala.wasm",
  },
  kotlin: {
    id: "kotlin",
    name: "Kotlin",
    extensions: [".kt", ".kts"],
    shebangs: ["kotlin"],
    keywords: [
      "as", "break", "class", "continue", "do", "else", "false", "for", "fun", "if", "in", "interface", "is",
      "null", "object", "package", "return", "super", "this", "throw", "true", "try", "typealias", "typeof",
      "val", "var", "when", "while", "by", "catch", "constructor", "finally", "get", "import", "init", "set",
      "where", "override", "private", "public", "protected", "internal", "open", "data", "companion",
      "suspend", "inline",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", open: "/**", prefix: " * ", close: " */", tags: "javadoc" },
    docCommentMarkers: ["/**"],
    functionNodeTypes: ["function_declaration", "anonymous_function", "lambda_literal"],
    classNodeTypes: ["class_declaration", "object_declaration"],
    commentNodeTypes: ["line_comment", "multiline_comment", "comment"],
    stringNodeTypes: ["string_literal", "character_literal", "line_string_literal", "multi_line_string_literal"],
    identifierNodeTypes: ["simple_identifier", "type_identifier"],
    wasm: CW + "tree-sitter-kotlin.wasm",
    aliases: ["kt"],
  },
  swift: {
    id: "swift",
    name: "Swift",
    extensions: [".swift"],
    shebangs: ["swift"],
    keywords: [
      "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
      "inout", "internal", "let", "open", "operator", "private", "protocol", "public", "static", "struct",
      "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
      "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any",
      "catch", "false", "is", "nil", "rethrows", "super", "self", "Self", "throw", "throws", "true", "try",
    ],
    ...C_COMMENTS,
    docStyle: "comment-before",
    docConvention: { placement: "before", prefix: "/// ", tags: "swift" },
    docCommentMarkers: ["///", "/**"],
    functionNodeTypes: ["function_declaration", "init_declaration", "lambda_literal"],
    classNodeTypes: ["class_declaration", "protocol_declaration"],
    commentNodeTypes: ["comment", "multiline_comment"],
    stringNodeTypes: ["line_string_literal", "multi_line_string_literal", "raw_string_literal"],
    identifierNodeTypes: ["simple_identifier", "type_identifier"],
    wasm: CW + "tree-sitter-swift.wasm",
  },
};

export const LANG_IDS = Object.keys(LANGUAGES) as LangId[];

/** True when `s` names a registered language (by id, not alias). */
export function isLangId(s: string): s is LangId {
  return Object.prototype.hasOwnProperty.call(LANGUAGES, s);
}

/** Resolves a language id or alias ("py", "golang", "c++", "JS") to its LangId, or null. */
export function resolveLangId(name: string): LangId | null {
  const k = name.trim().toLowerCase();
  if (isLangId(k)) return k;
  for (const spec of Object.values(LANGUAGES)) if (spec.aliases?.includes(k)) return spec.id;
  return null;
}

/** Detects the language of a file from its name (extension or exact file name) or its `#!` line. */
export function detectLanguage(filePath: string, firstLine?: string): LangId | null {
  const base = filePath.replace(/\\/g, "/").split("/").pop() ?? "";
  for (const spec of Object.values(LANGUAGES)) if (spec.filenames?.includes(base)) return spec.id;
  const dot = base.lastIndexOf(".");
  if (dot >= 0) {
    const ext = base.slice(dot).toLowerCase();
    for (const spec of Object.values(LANGUAGES)) if (spec.extensions.includes(ext)) return spec.id;
  }
  if (firstLine !== undefined) return detectShebang(firstLine);
  return null;
}

function detectShebang(firstLine: string): LangId | null {
  const m = /^#!\s*(\S+)(?:\s+(.*))?$/.exec(firstLine.trim());
  if (!m) return null;
  let prog = m[1]!.split("/").pop()!;
  if (prog === "env") {
    // `#!/usr/bin/env [-S] [VAR=x] python3 -u`
    const args = (m[2] ?? "").split(/\s+/).filter((a) => a && !a.startsWith("-") && !a.includes("="));
    if (args.length === 0) return null;
    prog = args[0]!.split("/").pop()!;
  }
  const stripVer = prog.replace(/[\d.]+$/, "");
  for (const spec of Object.values(LANGUAGES)) {
    if (spec.shebangs?.includes(prog) || spec.shebangs?.includes(stripVer)) return spec.id;
  }
  return null;
}
