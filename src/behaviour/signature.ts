/**
 * Static analysis of the original function for input generation: its parameters (names, type hints,
 * defaults), the literals it uses, and how each parameter is used (compared with a number, indexed, called
 * `.lower()` on, iterated, ...). Everything comes from the tree-sitter syntax tree of `src/lang`.
 */
import { LANGUAGES, parseCode, type LangId, type SyntaxNode } from "../lang/index.js";

/** A value type the generator can produce (JSON-representable; tuple/set are tagged for Python). */
export type Ty =
  | { k: "int"; min?: number }
  | { k: "float" }
  | { k: "bool" }
  | { k: "str"; char?: boolean }
  | { k: "none" }
  | { k: "list"; el: Ty; len?: number }
  | { k: "tuple"; els: Ty[] | null; el?: Ty }
  | { k: "set"; el: Ty }
  | { k: "dict"; key: Ty; val: Ty };

export type Kind = "int" | "float" | "bool" | "str" | "list" | "dict";

export interface ParamInfo {
  name: string;
  /** A type fixed by a hint, a default or (Go) the declaration; null when it must be guessed. */
  declared: Ty | null;
  /** Source text of the default value, if any. */
  defaultText: string | null;
  /** Votes for each kind from usage and the name (higher is stronger). */
  votes: Partial<Record<Kind, number>>;
  /** Element kind votes when the parameter is a collection. */
  elVotes: Partial<Record<Kind, number>>;
}

export interface FunctionInfo {
  lang: LangId;
  entry: string;
  params: ParamInfo[];
  /** Takes a variable number of positional arguments (not generated). */
  variadic: boolean;
  /** Defined inside a class / with a receiver (needs an instance). */
  method: boolean;
  ints: number[];
  floats: number[];
  strs: string[];
  /** Why inputs cannot be generated (unsupported parameter type), or null. */
  unsupported: string | null;
  /** Go: the declared type text of each parameter and the number of results. */
  go?: { paramTypes: string[]; results: number };
}

const INT_NAMES =
  /^(n|m|k|i|j|x|y|a|b|num|number|count|cnt|size|length|len|width|height|idx|index|start|stop|end|step|limit|depth|level|times|base|year|age|lo|hi|low|high|total|amount|offset|pos|position|digits|bits|num_\w+|n_\w+|\w+_count|\w+_num|max\w*|min\w*|\w+_index|\w+_size|\w+_len)$/i;
const FLOAT_NAMES =
  /^(rate|ratio|alpha|beta|prob|weight|temperature|temp|factor|scale|threshold|eps|epsilon|tol|tolerance|celsius|fahrenheit|price|balance|percent\w*)$/i;
const STR_NAMES =
  /^(s|st|str|string|text|txt|name|word|line|prefix|suffix|sep|separator|delim|delimiter|char|ch|c|title|message|msg|pattern|sub|substr|substring|token|sentence|phrase|label|key|\w+_str|\w+_name|\w+_text)$/i;
const BOOL_NAMES = /^(flag|reverse|strict|verbose|ignore_case|enabled|(is|has|should|allow|use)_\w+)$/i;
const LIST_NAMES =
  /^(xs|ys|zs|items|lst|list|arr|array|nums|numbers|values|vals|data|seq|sequence|elements|elems|l|ints|scores|words|names|lines|strings|tokens|parts|points|pairs|matrix|grid|rows|stack|queue|\w+_list|\w+s)$/i;
const DICT_NAMES =
  /^(d|dct|dict|mapping|map|counts|counter|table|config|options|opts|freq|index_map|lookup|\w+_map|\w+_dict|\w+_by_\w+)$/i;
const STR_LIST_NAMES = /^(words|names|lines|strings|tokens|parts|labels|keys|\w+_names|\w+_words)$/i;

const LIST_METHODS = new Set([
  "append",
  "extend",
  "pop",
  "insert",
  "sort",
  "reverse",
  "remove",
  "copy",
  "push",
  "shift",
  "unshift",
  "splice",
  "each",
  "map",
  "select",
  "reject",
  "filter",
  "reduce",
  "forEach",
  "includes",
  "indexOf",
  "slice",
  "each_with_index",
  "sum",
  "max",
  "min",
  "sort_by",
  "uniq",
  "flatten",
  "first",
  "last",
  "concat",
  "some",
  "every",
  "find",
  "inject",
  "each_slice",
  "zip",
  "take",
  "drop",
  "compact",
  "sorted",
  "any?",
  "all?",
  "empty?",
  "include?",
  "count",
]);
const STR_METHODS = new Set([
  "lower",
  "upper",
  "strip",
  "lstrip",
  "rstrip",
  "split",
  "startswith",
  "endswith",
  "replace",
  "find",
  "isdigit",
  "isalpha",
  "isalnum",
  "isspace",
  "isupper",
  "islower",
  "title",
  "capitalize",
  "encode",
  "format",
  "zfill",
  "downcase",
  "upcase",
  "chars",
  "gsub",
  "sub",
  "start_with?",
  "end_with?",
  "reverse",
  "each_char",
  "swapcase",
  "toLowerCase",
  "toUpperCase",
  "trim",
  "charAt",
  "charCodeAt",
  "substring",
  "substr",
  "startsWith",
  "endsWith",
  "padStart",
  "padEnd",
  "repeat",
  "byte",
  "gmatch",
  "match",
  "len",
  "rep",
  "lines",
  "ord",
  "to_i",
  "to_sym",
]);
const DICT_METHODS = new Set([
  "items",
  "keys",
  "values",
  "get",
  "setdefault",
  "update",
  "each_pair",
  "key?",
  "has_key?",
  "fetch",
  "each_key",
  "each_value",
  "hasOwnProperty",
  "merge",
  "transform_values",
]);

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
export { fnv1a };

/** Parses a Python type hint (`list[int]`, `Optional[str]`, `dict[str, int]`, `int | None`, ...). */
export function pythonHint(text: string): Ty | null {
  const s = text
    .replace(/\s+/g, "")
    .replace(/\btyping\./g, "")
    .replace(/^["']|["']$/g, "");
  let pos = 0;
  const parse = (): Ty | null => {
    const m = /^[A-Za-z_][\w.]*/.exec(s.slice(pos));
    if (!m) return null;
    pos += m[0].length;
    const name = m[0];
    const args: (Ty | null)[] = [];
    let ellipsis = false;
    if (s[pos] === "[") {
      pos++;
      while (pos < s.length && s[pos] !== "]") {
        if (s.startsWith("...", pos)) {
          ellipsis = true;
          pos += 3;
        } else if (s[pos] === "[") {
          // Callable[[...], ...]: skip the bracket
          let depth = 0;
          do {
            if (s[pos] === "[") depth++;
            if (s[pos] === "]") depth--;
            pos++;
          } while (depth > 0 && pos < s.length);
          args.push(null);
        } else args.push(parse());
        if (s[pos] === ",") pos++;
        else if (s[pos] !== "]") break;
      }
      pos++;
    }
    let t: Ty | null;
    const a0 = args[0] ?? { k: "int" as const };
    switch (name) {
      case "int":
        t = { k: "int" };
        break;
      case "float":
      case "complex":
        t = { k: "float" };
        break;
      case "str":
        t = { k: "str" };
        break;
      case "bool":
        t = { k: "bool" };
        break;
      case "None":
        t = { k: "none" };
        break;
      case "list":
      case "List":
      case "Sequence":
      case "Iterable":
      case "Collection":
      case "MutableSequence":
      case "Iterator":
        t = { k: "list", el: args[0] ?? { k: "int" } };
        break;
      case "tuple":
      case "Tuple":
        t =
          ellipsis || args.length === 0
            ? { k: "tuple", els: null, el: a0 }
            : { k: "tuple", els: args.map((x) => x ?? { k: "int" }) };
        break;
      case "set":
      case "Set":
      case "frozenset":
      case "FrozenSet":
      case "AbstractSet":
        t = { k: "set", el: a0 };
        break;
      case "dict":
      case "Dict":
      case "Mapping":
      case "MutableMapping":
      case "defaultdict":
      case "OrderedDict":
      case "Counter":
        t = { k: "dict", key: args[0] ?? { k: "str" }, val: args[1] ?? { k: "int" } };
        break;
      case "Optional":
        t = args[0] ?? null;
        break;
      case "Union":
        t = args.find((x) => x && x.k !== "none") ?? null;
        break;
      default:
        t = null;
    }
    if (s[pos] === "|") {
      pos++;
      const other = parse();
      if (!t || t.k === "none") t = other;
    }
    return t;
  };
  try {
    return parse();
  } catch {
    return null;
  }
}

/** Parses a Go type; null with a reason when the generator cannot make values of it. */
export function goType(text: string): Ty | null {
  const s = text.replace(/\s+/g, "");
  if (/^(int|int8|int16|int32|int64)$/.test(s)) return { k: "int" };
  if (/^(uint|uint8|uint16|uint32|uint64|uintptr|byte)$/.test(s)) return { k: "int", min: 0 };
  if (s === "rune") return { k: "int", min: 32 };
  if (/^float(32|64)$/.test(s)) return { k: "float" };
  if (s === "string") return { k: "str" };
  if (s === "bool") return { k: "bool" };
  if (s.startsWith("[]")) {
    const el = goType(s.slice(2));
    return el ? { k: "list", el } : null;
  }
  const m = /^map\[(\w+)\](.+)$/.exec(s);
  if (m) {
    const key = goType(m[1]!);
    const val = goType(m[2]!);
    return key && val && (key.k === "str" || key.k === "int") ? { k: "dict", key, val } : null;
  }
  return null;
}

function literalValue(lang: LangId, n: SyntaxNode): Ty | null {
  const t = n.type;
  if (/^(integer|int_literal)$/.test(t)) return { k: "int" };
  if (/^(float|float_literal)$/.test(t)) return { k: "float" };
  if (t === "number") return /[.eE]/.test(n.text) && !/^0x/i.test(n.text) ? { k: "float" } : { k: "int" };
  if (/^(string|interpreted_string_literal|raw_string_literal|template_string|rune_literal)$/.test(t))
    return { k: "str" };
  if (/^(true|false)$/.test(t)) return { k: "bool" };
  if (t === "list" || t === "array") return { k: "list", el: { k: "int" } };
  if (t === "dictionary" || t === "hash" || t === "object") return { k: "dict", key: { k: "str" }, val: { k: "int" } };
  if (t === "tuple") return { k: "tuple", els: null, el: { k: "int" } };
  if (t === "none" || t === "nil" || t === "null") return { k: "none" };
  void lang;
  return null;
}

function stringContent(n: SyntaxNode): string | null {
  const raw = n.text;
  const m = /^(?:[rbuf]{0,2})("""|'''|"|'|`)([\s\S]*)\1$/i.exec(raw);
  if (!m) return null;
  const body = m[2]!;
  if (body.length > 40 || /[{}\\#$]/.test(body)) return null;
  return body;
}

/** The node that defines `entry` (top-level first), with its parameter list node. */
function findDefinition(
  lang: LangId,
  root: SyntaxNode,
  entry: string | undefined,
): { def: SyntaxNode; name: string; params: SyntaxNode | null; method: boolean } | null {
  const spec = LANGUAGES[lang];
  const fnTypes = new Set([...spec.functionNodeTypes, "function_declaration", "method_declaration"]);
  const classTypes = new Set(spec.classNodeTypes);
  const found: { def: SyntaxNode; name: string; params: SyntaxNode | null; method: boolean; depth: number }[] = [];
  const stack: [SyntaxNode, number, boolean][] = [[root, 0, false]];
  while (stack.length) {
    const [n, depth, inClass] = stack.pop()!;
    let name: string | null = null;
    let params: SyntaxNode | null = null;
    let isFn = false;
    if (fnTypes.has(n.type)) {
      const nm = n.childByField("name");
      name = nm ? nm.text : null;
      params = n.childByField("parameters");
      isFn = true;
    } else if (n.type === "variable_declarator" || n.type === "assignment_expression") {
      const v = n.childByField("value") ?? n.childByField("right");
      if (v && /^(arrow_function|function|function_expression)$/.test(v.type)) {
        const nm = n.childByField("name") ?? n.childByField("left");
        name = nm ? nm.text : null;
        params = v.childByField("parameters") ?? v.childByField("parameter");
        isFn = true;
      }
    }
    if (isFn && name !== null) {
      const short = name.replace(/^.*[.:]/, "");
      const method = inClass || n.type === "method_declaration" || n.type === "singleton_method" || /[.:]/.test(name);
      if (entry === undefined || name === entry || short === entry)
        found.push({ def: n, name: entry ?? short, params, method, depth });
    }
    const childClass = inClass || classTypes.has(n.type);
    for (let i = n.children.length - 1; i >= 0; i--)
      stack.push([n.children[i]!, isFn ? depth + 1 : depth, isFn ? false : childClass]);
  }
  if (found.length === 0) return null;
  found.sort((a, b) => a.depth - b.depth || a.def.start - b.def.start);
  const f = found[0]!;
  return { def: f.def, name: f.name, params: f.params, method: f.method };
}

function vote(p: ParamInfo, k: Kind, w: number): void {
  p.votes[k] = (p.votes[k] ?? 0) + w;
}

function nameVotes(p: ParamInfo): void {
  const n = p.name.replace(/^[$@&*]+/, "");
  if (BOOL_NAMES.test(n)) vote(p, "bool", 4);
  else if (FLOAT_NAMES.test(n)) vote(p, "float", 4);
  else if (DICT_NAMES.test(n)) vote(p, "dict", 4);
  else if (INT_NAMES.test(n)) vote(p, "int", 4);
  else if (STR_NAMES.test(n)) vote(p, "str", 4);
  else if (LIST_NAMES.test(n)) vote(p, "list", 3);
  if (STR_LIST_NAMES.test(n)) p.elVotes.str = (p.elVotes.str ?? 0) + 4;
}

function kindOf(t: Ty): Kind | null {
  if (t.k === "tuple" || t.k === "set") return "list";
  if (t.k === "none") return null;
  return t.k;
}

/** Parameters, literals and usage of the function `entry` (or the first top-level function). */
export function analyseFunction(lang: LangId, source: string, entry?: string): FunctionInfo | { error: string } {
  const pr = parseCode(lang, source);
  const found = findDefinition(lang, pr.tree.rootNode, entry);
  if (!found) return { error: entry ? `no function named ${entry}` : "no function definition found" };
  const params: ParamInfo[] = [];
  let variadic = false;
  let unsupported: string | null = null;
  const goParamTypes: string[] = [];
  const mk = (name: string, declared: Ty | null, defaultText: string | null): ParamInfo => ({
    name,
    declared,
    defaultText,
    votes: {},
    elVotes: {},
  });
  for (const c of found.params?.namedChildren ?? (found.params?.type === "identifier" ? [found.params] : [])) {
    const t = c.type;
    if (t === "identifier") params.push(mk(c.text, null, null));
    else if (t === "typed_parameter") {
      const nm = c.namedChildren.find((x) => x.type === "identifier");
      const ty = c.childByField("type");
      if (nm) params.push(mk(nm.text, ty ? pythonHint(ty.text) : null, null));
      else variadic = true; // *args: T
    } else if (
      t === "default_parameter" ||
      t === "typed_default_parameter" ||
      t === "optional_parameter" ||
      t === "assignment_pattern"
    ) {
      const nm = c.childByField("name") ?? c.childByField("left");
      const val = c.childByField("value") ?? c.childByField("right");
      const ty = c.childByField("type");
      let declared = ty ? pythonHint(ty.text) : null;
      if (!declared && val) declared = literalValue(lang, val);
      if (declared?.k === "none") declared = null;
      if (nm) params.push(mk(nm.text, declared, val ? val.text : null));
    } else if (t === "parameter_declaration") {
      const ty = c.childByField("type");
      const decl = ty ? goType(ty.text) : null;
      if (!decl && ty) unsupported = `parameter type ${ty.text} is not supported`;
      for (const nm of c.childrenByField("name")) {
        params.push(mk(nm.text, decl, null));
        goParamTypes.push(ty ? ty.text : "");
      }
    } else if (/splat|rest_pattern|vararg|variadic/.test(t)) {
      if (!/dictionary_splat|hash_splat/.test(t)) variadic = true;
    } else if (
      t === "keyword_separator" ||
      t === "positional_separator" ||
      t === "block_parameter" ||
      t === "keyword_parameter" ||
      t === "comment"
    ) {
      // not positional
    } else if (t === "object_pattern" || t === "array_pattern" || t === "destructured_parameter") {
      unsupported = "destructuring parameters are not supported";
    }
  }
  const method = found.method || (lang === "python" && params.length > 0 && /^(self|cls)$/.test(params[0]!.name));
  const byName = new Map(params.map((p) => [p.name, p]));
  const ints = new Set<number>();
  const floats = new Set<number>();
  const strs = new Set<string>();
  const body = found.def;
  for (const n of body.descendants()) {
    const lit = n.children.length === 0 || /string|template/.test(n.type) ? literalValue(lang, n) : null;
    if (lit?.k === "int") {
      const v = Number(n.text.replace(/_/g, ""));
      if (Number.isSafeInteger(v) && Math.abs(v) < 1e6) ints.add(v);
    } else if (lit?.k === "float") {
      const v = Number(n.text);
      if (Number.isFinite(v)) floats.add(v);
    } else if (lit?.k === "str" && strs.size < 12) {
      const s = stringContent(n);
      if (s !== null && !(n.parent?.type === "expression_statement")) strs.add(s);
    }
    if (!/^identifier$/.test(n.type)) continue;
    const p = byName.get(n.text);
    if (!p || !n.parent) continue;
    const par = n.parent;
    // receiver.method / obj.attr
    if (
      /^(attribute|member_expression|call|method_index_expression|dot_index_expression|selector_expression)$/.test(
        par.type,
      )
    ) {
      const objField =
        par.childByField("object") ??
        par.childByField("receiver") ??
        par.childByField("table") ??
        par.childByField("operand");
      if (objField === n) {
        const m =
          (
            par.childByField("attribute") ??
            par.childByField("property") ??
            par.childByField("method") ??
            par.childByField("field")
          )?.text ?? "";
        if (m === "length" || m === "size") {
          vote(p, "list", 2);
          vote(p, "str", 1);
        } else if (STR_METHODS.has(m) && !LIST_METHODS.has(m)) vote(p, "str", 4);
        else if (DICT_METHODS.has(m)) vote(p, "dict", 4);
        else if (LIST_METHODS.has(m)) vote(p, "list", 4);
      }
    }
    if (
      /^(subscript|element_reference|subscript_expression|bracket_index_expression|index_expression|slice_expression)$/.test(
        par.type,
      )
    ) {
      const obj =
        par.childByField("value") ??
        par.childByField("object") ??
        par.childByField("table") ??
        par.childByField("operand") ??
        par.children[0];
      if (obj === n) {
        vote(p, "list", 2);
        const idx =
          par.childByField("subscript") ??
          par.childByField("index") ??
          par.childByField("field") ??
          par.namedChildren[1];
        if (idx && literalValue(lang, idx)?.k === "str") vote(p, "dict", 4);
      } else vote(p, "int", 2);
    }
    // len(x), #x
    if (par.type === "argument_list" && par.parent) {
      const fn = par.parent.childByField("function")?.text;
      if (
        fn === "len" ||
        fn === "sorted" ||
        fn === "sum" ||
        fn === "max" ||
        fn === "min" ||
        fn === "enumerate" ||
        fn === "reversed"
      )
        vote(p, "list", 2);
      if (fn === "range") vote(p, "int", 4);
      if (fn === "abs" || fn === "bin" || fn === "chr") vote(p, "int", 3);
      if (fn === "ord") vote(p, "str", 3);
    }
    if (par.type === "unary_expression" && par.children[0]?.text === "#") vote(p, "list", 2);
    // for v in x
    if (/^(for_statement|for_in_statement|for_in_clause|for)$/.test(par.type)) {
      const right = par.childByField("right") ?? par.childByField("value");
      if (right === n) vote(p, "list", 3);
    }
    // comparisons and arithmetic against literals
    if (/^(comparison_operator|binary_operator|binary|binary_expression|augmented_assignment)$/.test(par.type)) {
      const op =
        (par.childByField("operator") ?? par.childByField("operators"))?.text ??
        par.children.find((c) => !c.named)?.text ??
        "";
      for (const other of par.namedChildren) {
        if (other === n) continue;
        const lit = literalValue(lang, other);
        if (!lit) continue;
        const k = kindOf(lit);
        if (k === "int" || k === "float") {
          if (op === "*" && kindOf(lit) === "int") vote(p, "int", 1);
          else vote(p, k, 3);
          const v = Number(other.text);
          if (Number.isSafeInteger(v) && Math.abs(v) < 1e6) for (const d of [-1, 0, 1]) ints.add(v + d);
        } else if (k === "str" && op !== "%") vote(p, "str", 3);
      }
      if (/^(-|\/\/|\*\*|%|<<|>>|&|\^|\/)$/.test(op)) vote(p, "int", 1);
      if (/^(<|>|<=|>=)$/.test(op)) vote(p, "int", 1);
    }
  }
  for (const p of params) nameVotes(p);
  const out: FunctionInfo = {
    lang,
    entry: found.name,
    params,
    variadic,
    method,
    ints: [...ints].sort((a, b) => a - b),
    floats: [...floats],
    strs: [...strs],
    unsupported,
  };
  if (lang === "go") {
    const res = found.def.childByField("result");
    let results = 0;
    if (res?.type === "parameter_list") {
      for (const d of res.namedChildren)
        if (d.type === "parameter_declaration") results += Math.max(1, d.childrenByField("name").length);
    } else if (res) results = 1;
    if (variadic) out.unsupported = "variadic parameters are not supported";
    out.go = { paramTypes: goParamTypes, results };
  }
  return out;
}
