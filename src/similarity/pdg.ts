/**
 * Program dependence graphs from syntax trees (after CSSG, arXiv 2601.04085).
 *
 * One graph per function: a root node, then one node per semantic operation, labelled by category and detail
 * (operation type, identifier class, constant type, call target, return, branch, loop, ...). Edges:
 *  - control dependence: from the innermost enclosing branch / loop / lambda (or the function root) to every
 *    node created under it;
 *  - data dependence: operand -> operation (expression data flow, with the operand's role: left/right,
 *    arg0, recv, cond, ...) and definition -> use (def-use through variables, with a structured
 *    reaching-definitions pass: branches merge, loops add loop-carried definitions);
 *  - call edges from a call to the root of a function defined in the same code;
 *  - a program root joins several functions.
 * Local variable and parameter names never appear in labels (renaming-invariant), statements are not chained
 * in source order (independent reordering leaves the graph unchanged).
 *
 * The graph is normalised so that semantics-preserving structural rewrites give the same graph (see
 * visitBranch, visitLoop, visitForEach, visitComprehension, tryLowerMapFilter, tryInline and the copy
 * elimination in visitAssign): one canonical loop, conditionals with negations folded into swapped arms and
 * oriented comparisons, early returns and result variables alike, small local helpers inlined.
 *
 * The node-type tables are generic over tree-sitter grammars (most grammars share node-type names), with
 * per-language cases for the languages listed in PDG_LANGUAGES; other languages fall back to CodeBLEU in
 * similarity() (the builder still runs for them in CodeBLEU's data-flow part, best effort).
 */
import { LANGUAGES, type LangId, type LanguageSpec, type SyntaxNode } from "../lang/index.js";

export const PDG_LANGUAGES: readonly LangId[] = [
  "python",
  "javascript",
  "typescript",
  "java",
  "go",
  "ruby",
  "lua",
  "c",
  "cpp",
  "rust",
];

/** Compatibility class of a node: nodes are matched only within one class. */
export type NodeClass =
  | "root"
  | "func"
  | "param"
  | "assign"
  | "call"
  | "return"
  | "branch"
  | "loop"
  | "op"
  | "const"
  | "free"
  | "member"
  | "index"
  | "collection"
  | "lambda"
  | "jump"
  | "raise"
  | "try";

export interface PdgNode {
  cls: NodeClass;
  /** Detail within the class (operator, constant kind, callee name...). */
  label: string;
}
export type EdgeKind = "ctl" | "data" | "call" | "root";
export interface PdgEdge {
  from: number;
  to: number;
  kind: EdgeKind;
  role: string;
}
export interface Pdg {
  nodes: PdgNode[];
  edges: PdgEdge[];
  /** Names of the functions joined under the program root. */
  functions: string[];
  /** CodeBLEU-style data-flow items: [variable, relation, parents[]] in source order, unnormalised. */
  dataflow: Array<[string, "comesFrom" | "computedFrom", string[]]>;
}

// ---- node-type tables ---------------------------------------------------------------------------------

const BRANCH = new Set([
  "if_statement",
  "if_expression",
  "conditional_expression",
  "ternary_expression",
  "switch_statement",
  "switch_expression",
  "match_expression",
  "match_statement",
  "expression_switch_statement",
  "type_switch_statement",
  "select_statement",
  "elif_clause",
  "else_if_clause",
  "if",
  "unless",
  "if_modifier",
  "unless_modifier",
  "conditional",
  "case",
  "case_statement",
  "if_let_expression",
  "when_expression",
  "guard_statement",
  "elseif_statement",
  "case_clause",
  "when",
  "switch_case",
  "match_arm",
  "expression_case",
  "default_case",
  "switch_block_statement_group",
  "switch_rule",
  "case_block",
  "communication_case",
  "type_case",
  "switch_default",
  "elsif",
]);
const LOOP = new Set([
  "for_statement",
  "for_in_statement",
  "for_of_statement",
  "while_statement",
  "do_statement",
  "enhanced_for_statement",
  "for_expression",
  "while_expression",
  "loop_expression",
  "while",
  "until",
  "for",
  "for_range_loop",
  "repeat_statement",
  "foreach_statement",
  "while_modifier",
  "until_modifier",
  "do_while_statement",
  "for_numeric_statement",
  "for_generic_statement",
]);
const CALL = new Set([
  "call",
  "call_expression",
  "method_invocation",
  "function_call",
  "macro_invocation",
  "new_expression",
  "object_creation_expression",
  "method_call",
  "invocation_expression",
  "function_call_expression",
  "member_call_expression",
  "scoped_call_expression",
]);
const ASSIGN = new Set([
  "assignment",
  "augmented_assignment",
  "assignment_expression",
  "augmented_assignment_expression",
  "compound_assignment_expr",
  "operator_assignment",
  "assignment_statement",
  "short_var_declaration",
  "variable_declarator",
  "init_declarator",
  "let_declaration",
  "named_expression",
  "var_spec",
  "const_spec",
  "update_expression",
  "inc_statement",
  "dec_statement",
  "variable_declaration",
  "local_variable_declaration",
  "lexical_declaration",
  "declaration",
  "var_declaration",
  "const_declaration",
]);
const RETURN = new Set([
  "return_statement",
  "return_expression",
  "return",
  "yield",
  "yield_expression",
  "yield_statement",
]);
const JUMP = new Set([
  "break_statement",
  "continue_statement",
  "break_expression",
  "continue_expression",
  "break",
  "next",
  "redo",
  "retry",
  "goto_statement",
  "pass_statement",
  "fallthrough_statement",
]);
const RAISE = new Set(["raise_statement", "throw_statement", "throw_expression", "panic"]);
const TRY = new Set([
  "try_statement",
  "try_expression",
  "begin",
  "with_statement",
  "defer_statement",
  "catch_clause",
  "except_clause",
  "rescue",
  "ensure",
  "finally_clause",
]);
const BINOP = new Set([
  "binary_operator",
  "binary_expression",
  "comparison_operator",
  "boolean_operator",
  "binary",
  "range",
  "infix_expression",
  "range_expression",
]);
const UNOP = new Set([
  "unary_operator",
  "unary_expression",
  "not_operator",
  "unary",
  "pointer_expression",
  "reference_expression",
  "negation",
  "prefix_expression",
  "postfix_expression",
  "await",
  "await_expression",
  "spread_element",
  "list_splat",
  "dictionary_splat",
  "splat_argument",
  "try_operator",
]);
const MEMBER = new Set([
  "attribute",
  "member_expression",
  "selector_expression",
  "field_expression",
  "field_access",
  "dot_index_expression",
  "method_index_expression",
  "scoped_identifier",
  "qualified_identifier",
  "member_access_expression",
  "navigation_expression",
  "scope_resolution",
]);
const INDEX = new Set([
  "subscript",
  "subscript_expression",
  "index_expression",
  "array_access",
  "bracket_index_expression",
  "element_reference",
  "slice_expression",
  "element_access_expression",
]);
const COLLECTION = new Set([
  "list",
  "tuple",
  "dictionary",
  "set",
  "list_comprehension",
  "dictionary_comprehension",
  "set_comprehension",
  "generator_expression",
  "array",
  "object",
  "array_initializer",
  "composite_literal",
  "hash",
  "table_constructor",
  "initializer_list",
  "array_expression",
  "tuple_expression",
  "struct_expression",
  "array_creation_expression",
  "literal_value",
  "array_literal",
  "dictionary_literal",
  "pair",
]);
const LAMBDA = new Set([
  "lambda",
  "arrow_function",
  "function_expression",
  "function",
  "func_literal",
  "closure_expression",
  "lambda_expression",
  "do_block",
  "function_definition",
  "function_declaration",
  "anonymous_function",
  "generator_function",
  "local_function",
  "method",
  "function_item",
]);
/** If-like branches: normalised to the label "if" (negations folded). */
const IF_LIKE =
  /^(if_statement|if|unless|if_expression|elif_clause|elsif|if_modifier|unless_modifier|conditional_expression|ternary_expression|conditional|else_if_clause|elseif_statement)$/;
/** A negated comparison and its positive form (the branch's arms swap). */
const NEGATED_CMP: Record<string, string> = {
  ">=": "<",
  ">": "<=",
  "!=": "==",
  "!==": "===",
  "not in": "in",
  "is not": "is",
  "~=": "==",
};
const CONST_NAMES = new Set([
  "true",
  "false",
  "none",
  "null",
  "nil",
  "undefined",
  "null_literal",
  "boolean_literal",
  "nullptr",
  "iota",
  "self",
  "this",
]);
const FIELDS_SKIP = new Set([
  "type",
  "return_type",
  "result",
  "type_parameters",
  "type_arguments",
  "decorator",
  "annotation",
  "modifiers",
  "label",
]);
const NOT_VARS = new Set([
  "type_identifier",
  "property_identifier",
  "field_identifier",
  "namespace_identifier",
  "package_identifier",
  "shorthand_property_identifier_pattern",
]);
const PUNCT = /^[\s(),;:{}\[\].]*$/;

function isTypeNode(t: string): boolean {
  return (
    /(^|_)types?($|_)|^primitive_type$|type_annotation|type_arguments|type_parameters|^generic_type$|_type_specifier$|^sized_type/.test(
      t,
    ) && !/expression|switch|conversion|case/.test(t)
  );
}

function constKind(n: SyntaxNode, spec: LanguageSpec): string | null {
  const t = n.type;
  if (spec.stringNodeTypes.includes(t) || /string|char|rune|heredoc|symbol|regex/.test(t)) {
    if (
      /func|composite|array|map|object|list|table|struct|tuple|dictionary|hash|closure|interpolation/.test(t) &&
      !/string/.test(t)
    )
      return null;
    const v = n.text.length <= 24 ? n.text : `#${n.text.length}`;
    return `str:${v}`;
  }
  if (
    /^(integer|float|number|int_literal|float_literal|integer_literal|decimal_integer_literal|decimal_floating_point_literal|hex_integer_literal|number_literal|imaginary_literal|numeric_literal|real_literal|octal_integer_literal|binary_integer_literal|rational|complex)$/.test(
      t,
    )
  )
    return `num:${n.text.length <= 16 ? n.text : "#"}`;
  if (CONST_NAMES.has(t)) return `kw:${n.text}`;
  return null;
}

// ---- builder ------------------------------------------------------------------------------------------

type Env = Map<string, Set<number>>;

function cloneEnv(e: Env): Env {
  const m: Env = new Map();
  for (const [k, v] of e) m.set(k, new Set(v));
  return m;
}
function mergeInto(dst: Env, src: Env): void {
  for (const [k, v] of src) {
    const d = dst.get(k);
    if (d) for (const x of v) d.add(x);
    else dst.set(k, new Set(v));
  }
}

interface LoopUse {
  name: string;
  consumer: number;
  role: string;
}

class Builder {
  nodes: PdgNode[] = [];
  edges: PdgEdge[] = [];
  dataflow: Pdg["dataflow"] = [];
  readonly vars: Set<string>;
  private loopUses: LoopUse[][] = [];
  private freeNodes = new Map<string, number>();
  /** Function name -> root node, for call edges. */
  funcRoots = new Map<string, number>();
  /** Comparison nodes whose operator label is overridden (negation folded into a branch). */
  private opOverride = new Map<SyntaxNode, string>();
  /** Statements left out of the graph (a `continue` made redundant by return-flow normalisation). */
  private skip = new Set<SyntaxNode>();
  /** Ruby: expressions in value position at the end of a method, which it returns. */
  private implicitReturns = new Set<SyntaxNode>();
  /** Small local helpers (a body that is one returned expression), inlined at their call sites. */
  helpers = new Map<string, { params: string[]; expr: SyntaxNode }>();
  inlined = new Set<string>();
  private inlineDepth = 0;
  /** >0 while visiting arms that end with a duplicated return (see visitBranch). */
  tailDepth = 0;
  /** Loop / block bodies: a trailing `continue` there is a no-op. */
  private loopBodies = new Set<SyntaxNode>();
  pendingCalls: Array<{ node: number; name: string }> = [];

  constructor(readonly spec: LanguageSpec) {
    this.vars = new Set(spec.identifierNodeTypes.filter((t) => !NOT_VARS.has(t)));
    if (spec.id === "php") this.vars.add("variable_name");
    if (spec.id === "ruby") this.vars.delete("constant");
  }

  node(cls: NodeClass, label: string, ctl: number | null, role = ""): number {
    const id = this.nodes.length;
    this.nodes.push({ cls, label });
    if (ctl !== null) this.edges.push({ from: ctl, to: id, kind: "ctl", role });
    return id;
  }
  data(from: Iterable<number>, to: number, role: string): void {
    for (const f of from) if (f !== to) this.edges.push({ from: f, to, kind: "data", role });
  }

  /** Reads of a variable: reaching definitions, or a shared free-name node. */
  use(name: string, env: Env): number[] {
    const defs = env.get(name);
    if (defs && defs.size) {
      this.dataflow.push([name, "comesFrom", [name]]);
      return [...defs];
    }
    let f = this.freeNodes.get(name);
    if (f === undefined) {
      f = this.node("free", name, null);
      this.freeNodes.set(name, f);
    }
    return [f];
  }

  isVar(n: SyntaxNode): boolean {
    return this.vars.has(n.type);
  }

  /** Names bound by an assignment target / pattern. */
  targetNames(t: SyntaxNode, out: string[] = []): string[] {
    if (this.isVar(t)) {
      out.push(t.text);
      return out;
    }
    if (MEMBER.has(t.type) || INDEX.has(t.type) || isTypeNode(t.type)) return out;
    for (const c of t.children) {
      if (c.field && FIELDS_SKIP.has(c.field)) continue;
      if (c.field === "value" || c.field === "default_value" || c.field === "right") continue;
      this.targetNames(c, out);
    }
    return out;
  }

  /** Identifiers read inside an expression (for CodeBLEU computedFrom items). */
  readNames(n: SyntaxNode, out: string[] = []): string[] {
    if (this.isVar(n)) {
      out.push(n.text);
      return out;
    }
    for (const c of n.children) {
      if (
        c.field === "property" ||
        c.field === "attribute" ||
        c.field === "field" ||
        (c.field === "name" && MEMBER.has(n.type))
      )
        continue;
      if (c.field && FIELDS_SKIP.has(c.field)) continue;
      this.readNames(c, out);
    }
    return out;
  }

  define(names: string[], node: number, env: Env): void {
    for (const nm of names) env.set(nm, new Set([node]));
  }
  defineSources(names: string[], sources: number[], env: Env): void {
    for (const nm of names) env.set(nm, new Set(sources));
  }

  recordLoopUse(name: string, consumer: number, role: string): void {
    const top = this.loopUses[this.loopUses.length - 1];
    if (top) top.push({ name, consumer, role });
  }

  /** Visits a list of children (statements or operands); returns the union of their value sources. */
  seq(children: SyntaxNode[], env: Env, ctl: number | null): number[] {
    const out: number[] = [];
    for (const c of children) for (const s of this.visit(c, env, ctl)) out.push(s);
    return out;
  }

  operandChildren(n: SyntaxNode): SyntaxNode[] {
    return n.children.filter((c) => c.named && !(c.field && FIELDS_SKIP.has(c.field)) && !this.isComment(c));
  }
  isComment(n: SyntaxNode): boolean {
    return this.spec.commentNodeTypes.includes(n.type);
  }

  operatorText(n: SyntaxNode): string {
    const f = n.childByField("operator");
    if (f) return f.text;
    const ops = n.children.filter((c) => !c.named && !PUNCT.test(c.type)).map((c) => c.text);
    return ops.join(" ") || n.type;
  }

  /** Operand visit that records role-labelled data edges into `consumer`. */
  feed(child: SyntaxNode, env: Env, ctl: number | null, consumer: number, role: string): void {
    if (this.isVar(child)) {
      const src = this.use(child.text, env);
      this.data(src, consumer, role);
      this.recordLoopUse(child.text, consumer, role);
      return;
    }
    this.data(this.visit(child, env, ctl), consumer, role);
  }

  visitFunction(fn: SyntaxNode, env: Env, parentCtl: number | null, cls: NodeClass, label: string): number {
    const root = this.node(cls, label, parentCtl);
    const inner = cloneEnv(env);
    // parameters
    let plist =
      fn.childByField("parameters") ??
      fn.childByField("parameter") ??
      fn.children.find((c) =>
        /parameters|parameter_list|block_parameters|lambda_parameters|formal_parameters/.test(c.type),
      ) ??
      null;
    let decl = fn.childByField("declarator");
    while (!plist && decl && decl.type !== "function_declarator") decl = decl.childByField("declarator");
    if (!plist && decl) plist = decl.childByField("parameters");
    let params: SyntaxNode[] = [];
    if (plist) params = this.isVar(plist) ? [plist] : plist.children.filter((c) => c.named && !this.isComment(c));
    params.forEach((p, i) => {
      const pn = this.node("param", String(i), root, "param");
      const names = this.isVar(p) ? [p.text] : this.targetNames(p);
      const dflt = p.childByField("value") ?? p.childByField("default_value");
      if (dflt) this.feed(dflt, inner, root, pn, "default");
      this.define(names, pn, inner);
    });
    // Go receivers
    const recv = fn.childByField("receiver");
    if (recv) {
      const pn = this.node("param", "recv", root, "param");
      this.define(this.targetNames(recv), pn, inner);
    }
    const body =
      fn.childByField("body") ??
      fn.children.find((c) => /block|body|statement|compound/.test(c.type) && c !== plist) ??
      null;
    if (body && this.spec.id === "ruby" && fn.type === "method") this.markImplicitReturns(body);
    // a statement body's values are not the function's value (returns are); an expression body's is
    if (body && /block|body|statement|compound|^do$/.test(body.type)) this.visit(body, inner, root);
    else if (body) this.data(this.visit(body, inner, root), root, "value");
    else {
      // expression-bodied / pattern-based functions: visit everything that is not name/params/types
      for (const c of fn.children) {
        if (c === plist || c.field === "name" || (c.field && FIELDS_SKIP.has(c.field)) || !c.named || this.isComment(c))
          continue;
        this.visit(c, inner, root);
      }
    }
    return root;
  }

  /**
   * A branch. Normalised so that equivalent control flow gives one graph:
   *  - every if-like node (if, elif, unless, ternary, modifiers) is labelled "if";
   *  - a negated condition (`not c`, `!c`, `unless c`) and a negated comparison (`>=`, `>`, `!=`, `!==`,
   *    `not in`, `is not`) are folded: the condition becomes the positive one and the arms swap roles;
   *  - Python's elif chain is nested like `else: if ...` (as JavaScript's `else if` and Ruby's `elsif` parse);
   *  - `rest`: the statements after an `if` whose arm always exits (return, raise, break, continue) form its
   *    else arm (early return == if/else);
   *  - `tail`: a trailing `return` after an if/else is visited at the end of every arm (tail duplication, so
   *    `if c: r = a else: r = b; return r` equals `if c: return a else: return b`).
   */
  visitBranch(
    n: SyntaxNode,
    env: Env,
    ctl: number | null,
    rest: SyntaxNode[] = [],
    extraAlts: SyntaxNode[] = [],
    tail: SyntaxNode[] = [],
  ): number[] {
    const isIf = IF_LIKE.test(n.type);
    const br = this.node("branch", isIf ? "if" : n.type.replace(/_(statement|expression|clause|modifier)$/, ""), ctl);
    let cond = n.childByField("condition") ?? n.childByField("value") ?? n.childByField("subject");
    let named = n.children.filter((c) => c.named && !this.isComment(c));
    if (!cond && n.type === "conditional_expression" && this.spec.id === "python") cond = named[1] ?? null;
    if (!cond && (n.type === "switch_statement" || n.type === "expression_switch_statement"))
      cond = n.childByField("value") ?? null;
    if (!cond && !/else|default/.test(n.type))
      cond = named.find((c) => !/block|body|clause|consequence|alternative/.test(c.type)) ?? null;
    const condNode = cond;
    let negated = /^unless/.test(n.type);
    if (cond && isIf) {
      const f = this.foldNegation(cond);
      cond = f.node;
      if (f.negated) negated = !negated;
    }
    if (cond) this.feed(cond, env, ctl, br, "cond");
    named = [...named, ...extraAlts];
    // elif chains: the first elif is the else arm, holding the later alternatives
    let elifHead: SyntaxNode | null = null;
    let elifTail: SyntaxNode[] = [];
    const alts = named.filter(
      (c) => c.type === "elif_clause" || (c.type === "else_clause" && this.spec.id === "python"),
    );
    if (alts.length > 1 && alts[0]!.type === "elif_clause") {
      elifHead = alts[0]!;
      elifTail = alts.slice(1);
      named = named.filter((c) => !elifTail.includes(c));
    }
    const base = cloneEnv(env);
    const merged = cloneEnv(env);
    let armIndex = 0;
    let hasElse = false;
    const swap = (role: string): string =>
      !negated || !isIf ? role : role === "else" ? "arm" : role === "arm" ? "else" : role;
    for (const c of named) {
      if (c === condNode || c === cond || (c.field && FIELDS_SKIP.has(c.field))) continue;
      const armEnv = cloneEnv(base);
      const isElse = c.field === "alternative" || /else|elif/.test(c.type);
      if (isElse) hasElse = true;
      const role = swap(isElse ? "else" : `arm${armIndex++ === 0 ? "" : armIndex}`);
      if (tail.length || rest.length) this.tailDepth++;
      if (c === elifHead)
        this.visitArmWith(armEnv, br, role, () => this.visitBranch(c, armEnv, br, [], elifTail, tail));
      else this.visitArmWith(armEnv, br, role, () => this.visitArmBody(c, armEnv, br, tail));
      if (tail.length || rest.length) this.tailDepth--;
      mergeInto(merged, armEnv);
    }
    if (rest.length || (tail.length && isIf && !hasElse)) {
      const armEnv = cloneEnv(base);
      this.visitArmWith(armEnv, br, swap("else"), () => this.seqBlock([...rest, ...tail], armEnv, br));
      mergeInto(merged, armEnv);
    }
    env.clear();
    for (const [k, v] of merged) env.set(k, v);
    return [br];
  }

  /** An arm's statements, then the duplicated tail (into a nested if of the arm when there is one). */
  visitArmBody(c: SyntaxNode, env: Env, br: number, tail: SyntaxNode[]): number[] {
    if (!tail.length) return this.visit(c, env, br);
    const core = this.singleStatement(c);
    if (core && IF_LIKE.test(core.type) && BRANCH.has(core.type) && core.childByField("alternative"))
      return this.visitBranch(core, env, br, [], [], tail);
    const out = this.visit(c, env, br);
    this.seqBlock(tail, env, br);
    return out;
  }

  /** The one statement a wrapper (else clause, block) holds, or null. */
  singleStatement(c: SyntaxNode): SyntaxNode | null {
    let cur = c;
    for (let k = 0; k < 4; k++) {
      const kids = cur.children.filter((x) => x.named && !this.isComment(x));
      if (BRANCH.has(cur.type) && cur.type !== "else_clause" && cur.type !== "else") return cur;
      if (kids.length !== 1) return null;
      cur = kids[0]!;
    }
    return BRANCH.has(cur.type) ? cur : null;
  }

  /** Strips negations and orients a negated comparison; says whether the condition was negated overall. */
  foldNegation(c: SyntaxNode): { node: SyntaxNode; negated: boolean } {
    let cur = c;
    let negated = false;
    for (let k = 0; k < 8; k++) {
      const kids = cur.children.filter((x) => x.named && !this.isComment(x));
      if ((cur.type === "parenthesized_expression" || cur.type === "parenthesized_statements") && kids.length === 1) {
        cur = kids[0]!;
        continue;
      }
      if (
        cur.type === "not_operator" ||
        ((cur.type === "unary_expression" || cur.type === "unary") && /^(!|not)$/.test(this.operatorText(cur)))
      ) {
        const arg = cur.childByField("argument") ?? cur.childByField("operand") ?? kids[0];
        if (!arg) break;
        cur = arg;
        negated = !negated;
        continue;
      }
      break;
    }
    if (BINOP.has(cur.type)) {
      const neg = NEGATED_CMP[this.operatorText(cur)];
      if (neg) {
        this.opOverride.set(cur, neg);
        negated = !negated;
      }
    }
    return { node: cur, negated };
  }

  /** Statements of a block in order, with return-flow normalisation (see visitBranch). */
  seqBlock(kids: SyntaxNode[], env: Env, ctl: number | null, loopBody = false): number[] {
    const out: number[] = [];
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i]!;
      if (this.skip.has(c) || this.isComment(c)) continue;
      const later = kids.slice(i + 1).filter((x) => x.named && !this.isComment(x));
      if (later.length && IF_LIKE.test(c.type) && BRANCH.has(c.type) && !c.childByField("alternative")) {
        const exit = this.armExit(c);
        if (exit) {
          if (loopBody && /^(continue|next)/.test(exit.type)) this.skip.add(exit);
          for (const x of this.visitBranch(c, env, ctl, later)) out.push(x);
          return out;
        }
      }
      if (
        later.length === 1 &&
        (RETURN.has(later[0]!.type) || this.implicitReturns.has(later[0]!)) &&
        IF_LIKE.test(c.type) &&
        BRANCH.has(c.type) &&
        c.childByField("alternative") &&
        !this.armExit(c)
      ) {
        for (const x of this.visitBranch(c, env, ctl, [], [], later)) out.push(x);
        return out;
      }
      for (const x of this.visit(c, env, ctl)) out.push(x);
    }
    return out;
  }

  /** The exiting statement (return, raise, break, continue) that ends the if's first arm, or null. */
  armExit(c: SyntaxNode): SyntaxNode | null {
    let cur: SyntaxNode | null = c.childByField("consequence") ?? c.childByField("body") ?? null;
    for (let k = 0; cur && k < 6; k++) {
      if (
        RETURN.has(cur.type) ||
        RAISE.has(cur.type) ||
        /^(break|continue|next)(_statement|_expression)?$/.test(cur.type)
      )
        return cur;
      const kids: SyntaxNode[] = cur.children.filter((x) => x.named && !this.isComment(x));
      cur = kids.length ? kids[kids.length - 1]! : null;
    }
    return null;
  }

  /** Visits an arm through `fn`, then labels the control edges of nodes created directly under it. */
  visitArmWith(env: Env, br: number, role: string, fn: () => number[]): number[] {
    void env;
    const before = this.nodes.length;
    const out = fn();
    for (let i = this.edges.length - 1; i >= 0; i--) {
      const e = this.edges[i]!;
      if (e.to < before) break;
      if (e.kind === "ctl" && e.from === br && e.role === "") e.role = role;
    }
    return out;
  }

  /** Visits a branch arm with its own control role. */
  visitArm(c: SyntaxNode, env: Env, br: number, role: string): number[] {
    const before = this.nodes.length;
    const out = this.visit(c, env, br);
    // re-label the control edges of nodes created directly under this arm
    for (let i = this.edges.length - 1; i >= 0; i--) {
      const e = this.edges[i]!;
      if (e.to < before) break;
      if (e.kind === "ctl" && e.from === br && e.role === "") e.role = role;
    }
    return out;
  }

  /**
   * A loop. Normalised: every loop (for, while, do, until, for-in/of, comprehension) is one "loop" node; a
   * header update (`i++` of a C-style for) is visited after the body, as a while loop's last statement would
   * be; Python's `for i in range(a, b, s)` is lowered to the counting form (`i = a; while i < b: ...; i += s`).
   */
  visitLoop(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    // for-each over a sequence: the counting loop it stands for
    const feLeft = n.childByField("left");
    const feRight = n.childByField("right");
    const feBody = n.childByField("body");
    if (
      feLeft &&
      feRight &&
      feBody &&
      ((this.spec.id === "python" && n.type === "for_statement" && !this.isRangeCall(feRight, env)) ||
        (n.type === "for_in_statement" && n.childByField("operator")?.text === "of"))
    ) {
      return this.visitForEach(
        feRight,
        this.targetNames(feLeft),
        (e, loop) => void this.visit(feBody, e, loop),
        env,
        ctl,
        feBody,
      );
    }
    const loop = this.node("loop", /^do_/.test(n.type) ? "do" : "loop", ctl);
    const body =
      n.childByField("body") ??
      n.children.find((c) => /block|body|^do$|statement_block|compound_statement/.test(c.type)) ??
      null;
    if (body) this.loopBodies.add(body);
    this.loopUses.push([]);
    const edgeStart = this.edges.length;
    const bodyEnvStart = cloneEnv(env);
    const updates: SyntaxNode[] = [];
    let counting: { name: string; step: SyntaxNode | null } | null = null;
    // Python: for i in range(...)
    const left = n.type === "for_statement" ? n.childByField("left") : null;
    const right = n.type === "for_statement" ? n.childByField("right") : null;
    if (this.spec.id === "python" && left && right && this.isVar(left) && this.isRangeCall(right, env)) {
      const args = (right.childByField("arguments")?.children ?? []).filter((c) => c.named && !this.isComment(c));
      if (
        args.length >= 1 &&
        args.length <= 3 &&
        args.every((a) => a.type !== "keyword_argument" && a.type !== "list_splat")
      ) {
        const start = args.length >= 2 ? this.visit(args[0]!, bodyEnvStart, ctl) : [this.node("const", "num:0", ctl)];
        this.defineSources([left.text], start, bodyEnvStart);
        const cmp = this.node("op", "<", loop);
        this.data(this.use(left.text, bodyEnvStart), cmp, "l");
        this.recordLoopUse(left.text, cmp, "l");
        this.feed(args.length >= 2 ? args[1]! : args[0]!, bodyEnvStart, loop, cmp, "r");
        this.data([cmp], loop, "cond");
        counting = { name: left.text, step: args[2] ?? null };
      }
    }
    // header: initializer/condition/update/iterable/pattern
    for (const c of counting ? [] : n.children) {
      if (!c.named || c === body || this.isComment(c) || (c.field && FIELDS_SKIP.has(c.field))) continue;
      const f = c.field ?? "";
      if (f === "increment" || f === "update") {
        updates.push(c);
        continue;
      }
      if (
        f === "left" ||
        f === "pattern" ||
        f === "declarator" ||
        (f === "name" && n.type !== "for_numeric_clause") ||
        c.type === "block_parameters"
      ) {
        this.define(this.targetNames(c), loop, bodyEnvStart);
        continue;
      }
      if (
        c.type === "for_in_clause" ||
        c.type === "range_clause" ||
        c.type === "for_generic_clause" ||
        c.type === "for_numeric_clause" ||
        c.type === "in" ||
        c.type === "for_clause"
      ) {
        for (const cc of c.children) {
          if (!cc.named || this.isComment(cc)) continue;
          const ff = cc.field ?? "";
          if (ff === "left" || ff === "name" || cc.type === "variable_list" || cc.type === "name_list")
            this.define(this.targetNames(cc), loop, bodyEnvStart);
          else if (ff === "initializer") this.visit(cc, bodyEnvStart, ctl);
          else if (ff === "update" || ff === "increment") updates.push(cc);
          else
            this.feed(
              cc,
              bodyEnvStart,
              loop,
              loop,
              !ff || /^(right|value|iter|collection)$/.test(ff) ? "iter" : ff === "condition" ? "cond" : ff,
            );
        }
        continue;
      }
      if (f === "initializer" || (c.type === "variable_declaration" && f === "")) {
        this.visit(c, bodyEnvStart, ctl);
        continue;
      }
      this.feed(
        c,
        bodyEnvStart,
        loop,
        loop,
        !f || f === "condition" ? "cond" : /^(right|value|iter|collection)$/.test(f) ? "iter" : f,
      );
    }
    if (body) this.visit(body, bodyEnvStart, loop);
    for (const u of updates) this.visit(u, bodyEnvStart, loop);
    if (counting) {
      const a = this.node("assign", "+=", loop);
      this.data(this.use(counting.name, bodyEnvStart), a, "old");
      this.recordLoopUse(counting.name, a, "old");
      if (counting.step) this.feed(counting.step, bodyEnvStart, loop, a, "val");
      else this.data([this.node("const", "num:1", loop)], a, "val");
      this.define([counting.name], a, bodyEnvStart);
    }
    const uses = this.loopUses.pop()!;
    // loop-carried definitions: defs live at the end of the body reach uses inside the loop
    this.loopCarried(uses, bodyEnvStart, edgeStart);
    const outerTop = this.loopUses[this.loopUses.length - 1];
    if (outerTop) outerTop.push(...uses);
    mergeInto(env, bodyEnvStart);
    return [loop];
  }

  /** Ruby returns the value of a method's last expression (through if/unless/case arms): mark those. */
  markImplicitReturns(block: SyntaxNode): void {
    const kids = block.children.filter((c) => c.named && !this.isComment(c));
    const last = kids[kids.length - 1];
    if (!last || RETURN.has(last.type) || RAISE.has(last.type) || ASSIGN.has(last.type) || LOOP.has(last.type)) return;
    if (BRANCH.has(last.type) || last.type === "else" || last.type === "then" || last.type === "elsif") {
      for (const c of last.children)
        if (
          c.named &&
          (c.field === "consequence" || c.field === "alternative" || /^(then|else|elsif|when)$/.test(c.type))
        )
          this.markImplicitReturns(c);
      if (last.type === "else" || last.type === "then") this.markImplicitReturns(last);
      return;
    }
    if (CALL.has(last.type) && /^(raise|puts|print|p)$/.test(last.childByField("method")?.text ?? "")) return;
    this.implicitReturns.add(last);
  }

  tryInline(
    n: SyntaxNode,
    callee: SyntaxNode | null,
    recv: SyntaxNode | null,
    env: Env,
    ctl: number | null,
  ): number[] | null {
    const fnNode = callee ?? (this.spec.id === "ruby" && !recv ? n.childByField("method") : null);
    if (!fnNode || !this.isVar(fnNode) || env.get(fnNode.text)?.size || this.inlineDepth >= 3) return null;
    const h = this.helpers.get(fnNode.text);
    if (!h) return null;
    const argList = n.childByField("arguments");
    const args = (argList?.children ?? []).filter((c) => c.named && !this.isComment(c));
    if (args.length !== h.params.length || args.some((a) => /keyword|splat|pair|block_argument/.test(a.type)))
      return null;
    const inner: Env = new Map();
    args.forEach((a, i) => inner.set(h.params[i]!, new Set(this.visit(a, env, ctl))));
    this.inlineDepth++;
    try {
      this.inlined.add(fnNode.text);
      return this.visit(h.expr, inner, ctl);
    } finally {
      this.inlineDepth--;
    }
  }

  /** Registers `fn` as an inlinable helper when its body is one returned expression and it does not recurse. */
  registerHelper(fn: SyntaxNode, name: string): void {
    if (!name) return;
    const body = fn.childByField("body");
    if (!body) return;
    const stmts = body.children.filter(
      (c) =>
        c.named && !this.isComment(c) && !(c.type === "expression_statement" && c.namedChildren[0]?.type === "string"),
    );
    if (stmts.length !== 1) return;
    let expr: SyntaxNode | null = stmts[0]!;
    if (RETURN.has(expr.type)) expr = expr.namedChildren.find((c) => !this.isComment(c)) ?? null;
    else if (this.spec.id !== "ruby") return;
    if (expr?.type === "argument_list" && expr.namedChildren.length === 1) expr = expr.namedChildren[0]!;
    if (!expr || [...expr.descendants()].some((d) => this.isVar(d) && d.text === name)) return;
    const plist = fn.childByField("parameters");
    const params = (plist?.children ?? []).filter((c) => c.named && !this.isComment(c));
    if (!params.every((p) => this.isVar(p))) return;
    this.helpers.set(name, { params: params.map((p) => p.text), expr });
  }

  /** Loop-carried definitions: defs live at the end of the body reach the uses inside the loop. */
  loopCarried(uses: LoopUse[], endEnv: Env, edgeStart: number): void {
    if (!uses.length) return;
    const had = new Map<number, Set<number>>();
    for (let k = edgeStart; k < this.edges.length; k++) {
      const e = this.edges[k]!;
      if (e.kind !== "data") continue;
      const h = had.get(e.to);
      if (h) h.add(e.from);
      else had.set(e.to, new Set([e.from]));
    }
    for (const u of uses) {
      const defs = endEnv.get(u.name);
      if (!defs) continue;
      let h = had.get(u.consumer);
      if (!h) had.set(u.consumer, (h = new Set()));
      for (const d of defs) {
        if (h.has(d) || d === u.consumer) continue;
        h.add(d);
        this.edges.push({ from: d, to: u.consumer, kind: "data", role: u.role });
      }
    }
  }

  isRangeCall(n: SyntaxNode, env: Env): boolean {
    return n.type === "call" && n.childByField("function")?.text === "range" && !env.has("range");
  }

  /**
   * `for x in xs: body` (Python for, JavaScript for-of, Ruby `xs.each do |x|`) as the counting loop it stands
   * for: `i = 0; while i < len(xs): x = xs[i]; body; i += 1` (length and index in the language's idiom), so a
   * for-each loop and the equivalent index loop give one graph.
   */
  visitForEach(
    iter: SyntaxNode,
    names: string[],
    body: (env: Env, loop: number) => void,
    env: Env,
    ctl: number | null,
    bodyNode: SyntaxNode | null,
  ): number[] {
    const src = this.visit(iter, env, ctl);
    const c0 = this.node("const", "num:0", ctl);
    const loop = this.node("loop", "loop", ctl);
    if (bodyNode) this.loopBodies.add(bodyNode);
    const cmp = this.node("op", "<", loop);
    let len: number;
    if (this.spec.id === "python") {
      len = this.node("call", "len", loop);
      this.data(src, len, "arg0");
    } else if (this.spec.id === "ruby") {
      len = this.node("call", ".length", loop);
      this.data(src, len, "recv");
    } else {
      len = this.node("member", "length", loop);
      this.data(src, len, "obj");
    }
    this.data([len], cmp, "r");
    this.data([cmp], loop, "cond");
    const idx = this.node("index", "[]", loop);
    this.data(src, idx, "obj");
    const upd = this.node("assign", "+=", loop);
    const one = this.node("const", "num:1", loop);
    this.data([one], upd, "val");
    for (const consumer of [cmp, idx]) this.data([c0, upd], consumer, consumer === cmp ? "l" : "i1");
    this.data([c0], upd, "old");
    const inner = cloneEnv(env);
    this.defineSources(names, [idx], inner);
    this.loopUses.push([]);
    const edgeStart = this.edges.length;
    const bodyEnvStart = inner;
    body(bodyEnvStart, loop);
    const uses = this.loopUses.pop()!;
    this.loopCarried(uses, bodyEnvStart, edgeStart);
    const outerTop = this.loopUses[this.loopUses.length - 1];
    if (outerTop) outerTop.push(...uses);
    for (const nm of names) bodyEnvStart.delete(nm);
    mergeInto(env, bodyEnvStart);
    return [loop];
  }

  /**
   * A list / set comprehension or generator, lowered to the loop it abbreviates: an empty collection, a loop
   * per `for` clause, a branch per `if` clause, and an append of the element under the innermost of them, so
   * `[f(x) for x in xs if p(x)]` gives the graph of `out = []; for x in xs: if p(x): out.append(f(x))`.
   */
  visitComprehension(n: SyntaxNode, env: Env, ctl: number | null, mode: "collect" | "sum" = "collect"): number[] {
    const acc =
      mode === "sum"
        ? this.node("const", "num:0", ctl)
        : this.node("collection", n.type === "set_comprehension" ? "set" : "list", ctl);
    const result = [acc];
    const inner = cloneEnv(env);
    const clauses = n.children.filter((c) => c.type === "for_in_clause" || c.type === "if_clause");
    const element =
      n.childByField("body") ??
      this.operandChildren(n).find((c) => c.type !== "for_in_clause" && c.type !== "if_clause") ??
      null;
    const emit = (k: number, cur: number | null): void => {
      if (k === clauses.length) {
        if (mode === "sum") {
          const a = this.node("assign", "+=", cur);
          if (element) this.feed(element, inner, cur, a, "val");
          this.data([acc], a, "old");
          result.push(a);
          return;
        }
        const call = this.node("call", ".append", cur);
        this.data([acc], call, "recv");
        if (element) this.feed(element, inner, cur, call, "arg0");
        return;
      }
      const c = clauses[k]!;
      if (c.type === "for_in_clause") {
        const r = c.childByField("right");
        const l = c.childByField("left");
        if (r && l && !this.isRangeCall(r, inner)) {
          this.visitForEach(
            r,
            this.targetNames(l),
            (e, loop) => {
              for (const [k2, v] of e) inner.set(k2, v);
              emit(k + 1, loop);
            },
            inner,
            cur,
            null,
          );
          return;
        }
        const loop = this.node("loop", "loop", cur);
        if (r) this.feed(r, inner, cur, loop, "iter");
        if (l) this.define(this.targetNames(l), loop, inner);
        emit(k + 1, loop);
        return;
      }
      const br = this.node("branch", "if", cur);
      const cond0 = c.namedChildren.find((x) => !this.isComment(x));
      let negated = false;
      if (cond0) {
        const f = this.foldNegation(cond0);
        negated = f.negated;
        this.feed(f.node, inner, cur, br, "cond");
      }
      this.visitArmWith(inner, br, negated ? "else" : "arm", () => {
        emit(k + 1, br);
        return [];
      });
    };
    emit(0, ctl);
    return result;
  }

  /** One `.map(x => e)` / `.filter(...)` / Ruby `.map { |x| e }` / `.select { ... }` stage, or null. */
  mapStage(c: SyntaxNode): { kind: "map" | "filter"; recv: SyntaxNode; param: string; body: SyntaxNode } | null {
    if (!CALL.has(c.type)) return null;
    let method: string | undefined;
    let recv: SyntaxNode | null = null;
    let params: string[] = [];
    let body: SyntaxNode | null = null;
    if (this.spec.id === "ruby") {
      method = c.childByField("method")?.text;
      recv = c.childByField("receiver");
      const blk = c.childByField("block");
      if (!blk || c.childByField("arguments")) return null;
      const bp = blk.childByField("parameters");
      params = bp ? this.targetNames(bp) : [];
      const bb = blk.childByField("body");
      const stmts = bb ? bb.children.filter((x) => x.named && !this.isComment(x)) : [];
      body = stmts.length === 1 ? stmts[0]! : null;
    } else {
      const fn = c.childByField("function");
      if (!fn || !MEMBER.has(fn.type)) return null;
      method = (fn.childByField("property") ?? fn.childByField("name"))?.text;
      recv = fn.childByField("object");
      const args = (c.childByField("arguments")?.children ?? []).filter((x) => x.named && !this.isComment(x));
      const lam = args.length === 1 ? args[0]! : null;
      if (!lam || lam.type !== "arrow_function") return null;
      const p1 = lam.childByField("parameter");
      const pl = lam.childByField("parameters");
      params = p1 ? [p1.text] : pl ? pl.children.filter((x) => x.named && this.isVar(x)).map((x) => x.text) : [];
      body = lam.childByField("body");
      if (body && /block/.test(body.type)) {
        const st = body.children.filter((x) => x.named && !this.isComment(x));
        body = st.length === 1 && RETURN.has(st[0]!.type) ? (st[0]!.namedChildren[0] ?? null) : null;
      }
    }
    const kind = /^(map|collect)$/.test(method ?? "")
      ? "map"
      : /^(filter|select)$/.test(method ?? "")
        ? "filter"
        : null;
    if (!kind || !recv || !body || params.length !== 1) return null;
    return { kind, recv, param: params[0]!, body };
  }

  /**
   * `xs.filter(p).map(f)` (and Ruby's select / map blocks) as the loop it abbreviates: one loop over xs,
   * a branch on p, an append of f(x), like the comprehension lowering.
   */
  tryLowerMapFilter(n: SyntaxNode, env: Env, ctl: number | null): number[] | null {
    if (this.spec.id !== "javascript" && this.spec.id !== "typescript" && this.spec.id !== "ruby") return null;
    const outer = this.mapStage(n);
    if (!outer) return null;
    let map: typeof outer | null = null;
    let filter: typeof outer | null = null;
    let source: SyntaxNode;
    if (outer.kind === "map") {
      map = outer;
      const inner = this.mapStage(outer.recv);
      if (inner?.kind === "filter") {
        filter = inner;
        source = inner.recv;
      } else source = outer.recv;
    } else {
      filter = outer;
      source = outer.recv;
    }
    const acc = this.node("collection", "list", ctl);
    const el = "\u0000el";
    this.visitForEach(
      source,
      [el],
      (e, loop) => {
        const elem = e.get(el) ?? new Set<number>();
        const put = (cur: number): void => {
          const call = this.node("call", ".append", cur);
          this.data([acc], call, "recv");
          if (map) {
            const me = cloneEnv(e);
            me.set(map.param, new Set(elem));
            this.feed(map.body, me, cur, call, "arg0");
          } else this.data(elem, call, "arg0");
        };
        if (filter) {
          const br = this.node("branch", "if", loop);
          const fe = cloneEnv(e);
          fe.set(filter.param, new Set(elem));
          const f = this.foldNegation(filter.body);
          this.feed(f.node, fe, loop, br, "cond");
          this.visitArmWith(fe, br, f.negated ? "else" : "arm", () => {
            put(br);
            return [];
          });
        } else put(loop);
      },
      env,
      ctl,
      null,
    );
    return [acc];
  }

  visitAssign(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const t = n.type;
    // declarations that wrap declarators: visit the declarators
    if (
      [
        "variable_declaration",
        "local_variable_declaration",
        "lexical_declaration",
        "declaration",
        "var_declaration",
        "const_declaration",
      ].includes(t)
    ) {
      const decls = n.children.filter((c) =>
        [
          "variable_declarator",
          "init_declarator",
          "var_spec",
          "const_spec",
          "assignment_statement",
          "assignment",
        ].includes(c.type),
      );
      if (decls.length) return this.seq(decls, env, ctl);
      // declaration without initialiser (int x;): define the names
      const names = n.children
        .filter((c) => c.field === "declarator" || c.field === "name" || this.isVar(c))
        .flatMap((c) => this.targetNames(c));
      if (names.length) {
        const a = this.node("assign", "decl", ctl);
        this.define(names, a, env);
        return [a];
      }
      return this.seq(
        n.children.filter((c) => c.named),
        env,
        ctl,
      );
    }
    if (t === "update_expression" || t === "inc_statement" || t === "dec_statement") {
      const target = n.namedChildren[0];
      const op = n.children.find((c) => !c.named)?.text ?? "++";
      // i++ is i += 1
      const a = this.node("assign", op === "--" ? "-=" : "+=", ctl);
      this.data([this.node("const", "num:1", ctl)], a, "val");
      if (target) {
        if (this.isVar(target)) {
          this.data(this.use(target.text, env), a, "old");
          this.recordLoopUse(target.text, a, "old");
          this.dataflow.push([target.text, "computedFrom", [target.text]]);
          this.define([target.text], a, env);
        } else this.feed(target, env, ctl, a, "store");
      }
      return [a];
    }
    let left =
      n.childByField("left") ?? n.childByField("name") ?? n.childByField("pattern") ?? n.childByField("declarator");
    let right = n.childByField("right") ?? n.childByField("value");
    if (!left && t === "assignment_statement") {
      left = n.childOfType("variable_list", "expression_list");
      right = n.children.filter((c) => c.type === "expression_list" && c !== left)[0] ?? null;
    }
    if (!left)
      return this.seq(
        n.children.filter((c) => c.named),
        env,
        ctl,
      );
    const opText =
      n.childByField("operator")?.text ?? n.children.find((c) => !c.named && /=/.test(c.type))?.text ?? "=";
    const augmented = opText !== "=" && opText !== ":=" && /=$/.test(opText) && !/^(==|!=|<=|>=)$/.test(opText);
    // a declaration without a value (`let x;`) binds nothing yet
    if (!right && (t === "variable_declarator" || t === "init_declarator") && this.isVar(left)) return [];
    // copy elimination: `x = e` binds x to e's value (no node), so temporaries, result variables and inlined
    // expressions give the same graph; stores into structures and augmented assignments stay nodes
    if (
      !augmented &&
      right &&
      (this.isVar(left) ||
        left.type === "pattern_list" ||
        left.type === "tuple_pattern" ||
        left.type === "expression_list")
    ) {
      const names = this.targetNames(left);
      if (
        names.length &&
        names.length === (this.isVar(left) ? 1 : left.namedChildren.length) &&
        t !== "named_expression"
      ) {
        const readsRight = this.readNames(right);
        const before = this.nodes.length;
        let srcs = this.visit(right, env, ctl);
        // a copy of an existing value under a branch keeps a node, or the branch would lose what it controls
        // (`if x > best: best = x`); not when a duplicated return right after it makes that explicit
        if (
          srcs.length &&
          srcs.some((x) => x < before) &&
          ctl !== null &&
          this.nodes[ctl]!.cls === "branch" &&
          this.tailDepth === 0
        ) {
          const a = this.node("assign", "=", ctl);
          this.data(srcs, a, "val");
          srcs = [a];
        }
        if (srcs.length) {
          for (const nm of names) {
            this.dataflow.push([nm, "computedFrom", readsRight]);
          }
          this.defineSources(names, srcs, env);
          return srcs;
        }
      }
    }
    const a = this.node(
      "assign",
      augmented
        ? opText
        : t === "variable_declarator" ||
            t === "init_declarator" ||
            t === "let_declaration" ||
            t === "short_var_declaration" ||
            t === "var_spec"
          ? "decl"
          : "=",
      ctl,
    );
    const readsRight = right ? this.readNames(right) : [];
    if (right) this.feed(right, env, ctl, a, "val");
    let names = this.targetNames(left);
    const store = !this.isVar(left) && names.length === 0;
    if (store || MEMBER.has(left.type) || INDEX.has(left.type)) {
      // store into a structure: its object/index are reads
      for (const c of left.children)
        if (c.named && c.field !== "property" && c.field !== "attribute" && c.field !== "field")
          this.feed(c, env, ctl, a, "store");
      this.nodes[a] = { cls: "assign", label: `${this.nodes[a]!.label}:store` };
      names = [];
    }
    if (augmented)
      for (const nm of names) {
        this.data(this.use(nm, env), a, "old");
        this.recordLoopUse(nm, a, "old");
      }
    for (const nm of names) this.dataflow.push([nm, "computedFrom", augmented ? [nm, ...readsRight] : readsRight]);
    this.define(names, a, env);
    return [a];
  }

  visitCall(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    let callee =
      n.childByField("function") ??
      n.childByField("name") ??
      n.childByField("macro") ??
      n.childByField("constructor") ??
      n.childByField("type");
    const recvNode = n.childByField("receiver") ?? n.childByField("object");
    const methodNode = n.childByField("method") ?? (recvNode ? n.childByField("name") : null);
    if (methodNode && recvNode) callee = null;
    const low = this.tryLowerMapFilter(n, env, ctl);
    if (low) return low;
    // Python sum(<comprehension>): the accumulating loop
    if (this.spec.id === "python" && callee?.type === "identifier" && callee.text === "sum" && !env.get("sum")?.size) {
      const a = n.childByField("arguments");
      const only =
        a && /comprehension|generator/.test(a.type) ? a : a?.namedChildren.length === 1 ? a.namedChildren[0]! : null;
      if (only && (only.type === "list_comprehension" || only.type === "generator_expression"))
        return this.visitComprehension(only, env, ctl, "sum");
    }
    // a call of a small local helper: its expression, with the parameters bound to the arguments
    const inl = this.tryInline(n, callee, recvNode, env, ctl);
    if (inl) return inl;
    // Ruby `xs.each do |x| ... end` is a for-each loop
    if (this.spec.id === "ruby" && methodNode?.text === "each" && recvNode && !n.childByField("arguments")) {
      const blk =
        n.childByField("block") ?? n.children.find((x) => x.type === "do_block" || x.type === "block") ?? null;
      const bp = blk?.childByField("parameters");
      const bb = blk?.childByField("body");
      const names = bp ? this.targetNames(bp) : [];
      if (names.length === 1 && bb)
        return this.visitForEach(recvNode, names, (e, loop) => void this.visit(bb, e, loop), env, ctl, bb);
    }
    let label = "?";
    const c = this.node("call", "?", ctl);
    if (methodNode) {
      label = `.${methodNode.text}`;
      if (recvNode) this.feed(recvNode, env, ctl, c, "recv");
    } else if (callee) {
      if (this.isVar(callee)) {
        const defs = env.get(callee.text);
        if (defs && defs.size) {
          label = "local";
          this.data(defs, c, "fn");
        } else {
          label = callee.text;
          this.pendingCalls.push({ node: c, name: callee.text });
        }
      } else if (MEMBER.has(callee.type)) {
        const prop =
          callee.childByField("property") ??
          callee.childByField("attribute") ??
          callee.childByField("field") ??
          callee.childByField("method") ??
          callee.childByField("name");
        const obj =
          callee.childByField("object") ??
          callee.childByField("operand") ??
          callee.childByField("value") ??
          callee.childByField("argument") ??
          callee.childByField("table") ??
          callee.childByField("path") ??
          callee.childByField("scope");
        label = `.${prop?.text ?? callee.text}`;
        if (callee.type === "scoped_identifier" || callee.type === "qualified_identifier") label = callee.text;
        else if (obj) this.feed(obj, env, ctl, c, "recv");
      } else {
        label = "expr";
        this.feed(callee, env, ctl, c, "fn");
      }
    }
    if (label === ".push") label = ".append";
    if (n.type === "new_expression" || n.type === "object_creation_expression") label = `new:${callee?.text ?? ""}`;
    if (n.type === "macro_invocation") label = `${label}!`;
    this.nodes[c] = { cls: "call", label };
    const args =
      n.childByField("arguments") ??
      n.children.find((x) => x.type === "argument_list" || x.type === "arguments" || x.type === "token_tree") ??
      null;
    let i = 0;
    if (args && (COLLECTION.has(args.type) || LAMBDA.has(args.type))) {
      // Python `f(x for x in xs)`: the generator is the one argument
      this.feed(args, env, ctl, c, "arg0");
    } else if (args) {
      for (const a of args.children) {
        if (!a.named || this.isComment(a)) continue;
        if (a.type === "keyword_argument" || (a.type === "pair" && args.type === "argument_list")) {
          const k = a.childByField("name") ?? a.childByField("key");
          const v = a.childByField("value");
          if (v) this.feed(v, env, ctl, c, `kw:${k?.text ?? ""}`);
          continue;
        }
        this.feed(a, env, ctl, c, `arg${i++}`);
      }
    }
    const block =
      n.childByField("block") ??
      n.children.find((x) => x.type === "do_block" || (x.type === "block" && this.spec.id === "ruby")) ??
      null;

    if (block) {
      const l = this.visitFunction(block, env, ctl, "lambda", "block");
      this.data([l], c, "block");
    }
    return [c];
  }

  visit(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const t = n.type;
    if (!n.named) return [];
    if (this.implicitReturns.has(n)) {
      this.implicitReturns.delete(n);
      const r = this.node("return", "return", ctl);
      this.feed(n, env, ctl, r, "v0");
      this.implicitReturns.add(n);
      return [r];
    }
    if (this.isComment(n) || isTypeNode(t)) return [];
    if (this.isVar(n)) {
      return this.use(n.text, env);
    }
    const k = constKind(n, this.spec);
    if (k) return [this.node("const", k, ctl)];
    if (BRANCH.has(t)) return this.visitBranch(n, env, ctl);
    if (LOOP.has(t)) return this.visitLoop(n, env, ctl);
    if (ASSIGN.has(t)) return this.visitAssign(n, env, ctl);
    if (CALL.has(t)) return this.visitCall(n, env, ctl);
    if (t === "pass_statement" || t === "empty_statement") return [];
    if (RETURN.has(t) || JUMP.has(t) || RAISE.has(t)) {
      const cls: NodeClass = RETURN.has(t) ? "return" : JUMP.has(t) ? "jump" : "raise";
      const r = this.node(
        cls,
        cls === "jump" ? t.replace(/_(statement|expression)$/, "") : /yield/.test(t) ? "yield" : cls,
        ctl,
      );
      let i = 0;
      for (const c of this.operandChildren(n)) this.feed(c, env, ctl, r, `v${i++}`);
      return [r];
    }
    if (TRY.has(t)) {
      const r = this.node("try", t.replace(/_(statement|clause|expression)$/, ""), ctl);
      this.seq(this.operandChildren(n), env, r);
      return [r];
    }
    if (BINOP.has(t)) {
      let label = this.opOverride.get(n) ?? this.operatorText(n);
      // comparisons are oriented: a > b is b < a, a >= b is b <= a
      const flip = label === ">" || label === ">=";
      if (flip) label = label === ">" ? "<" : "<=";
      const o = this.node("op", label, ctl);
      const ops = this.operandChildren(n);
      for (let i = 0; i < ops.length; i++)
        this.feed(ops[i]!, env, ctl, o, ops.length === 2 ? ((i === 0) !== flip ? "l" : "r") : `o${i}`);
      return [o];
    }
    if (UNOP.has(t)) {
      // a negative number literal is one constant (`-1` and `0` differ by a label, as `1` and `0` do)
      const ops = this.operandChildren(n);
      const lit = ops.length === 1 && this.operatorText(n) === "-" ? constKind(ops[0]!, this.spec) : null;
      if (lit?.startsWith("num:") && lit !== "num:#") return [this.node("const", `num:-${lit.slice(4)}`, ctl)];
      const o = this.node("op", `u${this.operatorText(n)}`, ctl);
      for (const c of this.operandChildren(n)) this.feed(c, env, ctl, o, "u");
      return [o];
    }
    if (MEMBER.has(t)) {
      if (t === "scoped_identifier" || t === "qualified_identifier" || t === "scope_resolution")
        return this.use(n.text, env);
      const prop =
        n.childByField("property") ??
        n.childByField("attribute") ??
        n.childByField("field") ??
        n.childByField("method") ??
        n.childByField("name");
      const m = this.node("member", prop?.text ?? "?", ctl);
      for (const c of this.operandChildren(n)) if (c !== prop) this.feed(c, env, ctl, m, "obj");
      return [m];
    }
    if (INDEX.has(t)) {
      const m = this.node("index", t === "slice_expression" ? "slice" : "[]", ctl);
      const ops = this.operandChildren(n);
      for (let i = 0; i < ops.length; i++) this.feed(ops[i]!, env, ctl, m, i === 0 ? "obj" : `i${i}`);
      return [m];
    }
    if (LAMBDA.has(t) || (t === "block" && this.spec.id === "ruby")) {
      const named =
        (this.spec.id === "python" && t === "function_definition") ||
        t === "function_declaration" ||
        t === "function_item" ||
        t === "method" ||
        t === "local_function";
      const l = this.visitFunction(n, env, ctl, "lambda", named ? "def" : "lambda");
      const nm = n.childByField("name");
      if (named && nm && this.isVar(nm)) this.define([nm.text], l, env);
      return [l];
    }
    if (t === "list_comprehension" || t === "set_comprehension" || t === "generator_expression")
      return this.visitComprehension(n, env, ctl);
    if (COLLECTION.has(t)) {
      const kind = t.replace(/_(expression|literal|constructor|initializer)$/, "");
      const col = this.node(
        "collection",
        kind === "array" ? "list" : kind === "dictionary" || kind === "hash" || kind === "object" ? "dict" : kind,
        ctl,
      );
      const inner = /comprehension|generator/.test(t) ? cloneEnv(env) : env;
      // comprehension clauses define their loop variables first
      for (const c of n.children) {
        if (c.type === "for_in_clause") {
          const r = c.childByField("right");
          if (r) this.feed(r, inner, ctl, col, "iter");
          const l = c.childByField("left");
          if (l) this.define(this.targetNames(l), col, inner);
        }
      }
      let i = 0;
      for (const c of this.operandChildren(n)) {
        if (c.type === "for_in_clause") continue;
        if (c.type === "if_clause") {
          this.feed(c, inner, ctl, col, "filter");
          continue;
        }
        this.feed(c, inner, ctl, col, t === "pair" ? (i++ === 0 ? "k" : "v") : "e");
      }
      return [col];
    }
    // transparent: blocks, statements, parentheses, argument wrappers, ...
    const kids = n.children.filter((c) => c.named && !(c.field && FIELDS_SKIP.has(c.field)));
    return this.seqBlock(kids, env, ctl, this.loopBodies.has(n));
  }
}

/** The function definitions (outermost) of a tree, for the graph's program root. */
export function topFunctions(lang: LangId, root: SyntaxNode): SyntaxNode[] {
  const spec = LANGUAGES[lang];
  const fnTypes = new Set(
    spec.functionNodeTypes.filter(
      (t) => !/lambda|closure|arrow|literal|anonymous|function_expression|^function$/.test(t),
    ),
  );
  const out: SyntaxNode[] = [];
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (fnTypes.has(n.type)) {
      out.push(n);
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

function functionName(lang: LangId, fn: SyntaxNode): string {
  const n = fn.childByField("name") ?? fn.childByField("declarator");
  if (!n) return "";
  if (lang === "c" || lang === "cpp") {
    let cur: SyntaxNode | null = n;
    for (let i = 0; cur && i < 16 && cur.childByField("declarator"); i++) cur = cur.childByField("declarator");
    return cur?.text ?? "";
  }
  const m = n.childByField("method") ?? n.childByField("field");
  return (m ?? n).text;
}

/**
 * Builds the program dependence graph of `root` (a parsed file or snippet): one subgraph per top-level
 * function under a program root; code outside functions forms one more subgraph.
 */
export function buildPdg(lang: LangId, root: SyntaxNode): Pdg {
  const spec = LANGUAGES[lang];
  const b = new Builder(spec);
  const prog = b.node("root", "program", null);
  const fns = topFunctions(lang, root);
  const env: Env = new Map();
  const names: string[] = [];
  const inFn = new Set(fns);
  // code outside functions (module-level statements, a bare snippet)
  const rest = root.children.filter((c) => ![...c.descendants()].some((d) => inFn.has(d)));
  if (rest.some((c) => c.named && !b.isComment(c))) {
    const top = b.node("func", "toplevel", prog, "fn");
    b.seq(rest, env, top);
  }
  // small helpers are inlined where they are called; a helper nobody called keeps its own subgraph
  const named = fns.map((fn) => [fn, functionName(lang, fn)] as const);
  if (fns.length > 1) {
    for (const [fn, name] of named) {
      // only a function another one calls is a helper
      const calledElsewhere = fns.some(
        (g) => g !== fn && [...g.descendants()].some((d) => d.text === name && b.isVar(d)),
      );
      if (calledElsewhere) b.registerHelper(fn, name);
    }
  }
  const order = [...named.filter(([, n]) => !b.helpers.has(n)), ...named.filter(([, n]) => b.helpers.has(n))];
  for (const [fn, name] of order) {
    if (b.helpers.has(name) && b.inlined.has(name)) continue;
    const r = b.visitFunction(fn, env, prog, "func", "fn");
    if (name) b.funcRoots.set(name, r);
    names.push(name);
  }
  for (const pc of b.pendingCalls) {
    const r = b.funcRoots.get(pc.name);
    if (r !== undefined) {
      b.edges.push({ from: pc.node, to: r, kind: "call", role: "" });
      b.nodes[pc.node] = { cls: "call", label: "self-fn" };
    }
  }
  return { nodes: b.nodes, edges: b.edges, functions: names, dataflow: b.dataflow };
}
