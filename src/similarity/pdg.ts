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
 * The node-type tables are generic over tree-sitter grammars (most grammars share node-type names), with
 * per-language cases for the languages listed in PDG_LANGUAGES; other languages fall back to CodeBLEU in
 * similarity() (the builder still runs for them in CodeBLEU's data-flow part, best effort).
 */
import { LANGUAGES, type LangId, type LanguageSpec, type SyntaxNode } from "../lang/index.js";

export const PDG_LANGUAGES: readonly LangId[] = ["python", "javascript", "typescript", "java", "go", "ruby", "lua", "c", "cpp", "rust"];

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
  "if_statement", "if_expression", "conditional_expression", "ternary_expression", "switch_statement",
  "switch_expression", "match_expression", "match_statement", "expression_switch_statement",
  "type_switch_statement", "select_statement", "elif_clause", "else_if_clause", "if", "unless", "if_modifier",
  "unless_modifier", "conditional", "case", "case_statement", "if_let_expression", "when_expression",
  "guard_statement", "elseif_statement", "case_clause", "when", "switch_case",
  "match_arm", "expression_case", "default_case", "switch_block_statement_group", "switch_rule", "case_block",
  "communication_case", "type_case", "switch_default",
]);
const LOOP = new Set([
  "for_statement", "for_in_statement", "for_of_statement", "while_statement", "do_statement",
  "enhanced_for_statement", "for_expression", "while_expression", "loop_expression", "while", "until",
  "for", "for_range_loop", "repeat_statement", "foreach_statement", "while_modifier", "until_modifier",
  "do_while_statement", "for_numeric_statement", "for_generic_statement",
]);
const CALL = new Set([
  "call", "call_expression", "method_invocation", "function_call", "macro_invocation", "new_expression",
  "object_creation_expression", "method_call", "invocation_expression", "function_call_expression",
  "member_call_expression", "scoped_call_expression",
]);
const ASSIGN = new Set([
  "assignment", "augmented_assignment", "assignment_expression", "augmented_assignment_expression",
  "compound_assignment_expr", "operator_assignment", "assignment_statement", "short_var_declaration",
  "variable_declarator", "init_declarator", "let_declaration", "named_expression", "var_spec", "const_spec",
  "update_expression", "inc_statement", "dec_statement", "variable_declaration", "local_variable_declaration",
  "lexical_declaration", "declaration", "var_declaration", "const_declaration",
]);
const RETURN = new Set(["return_statement", "return_expression", "return", "yield", "yield_expression", "yield_statement"]);
const JUMP = new Set([
  "break_statement", "continue_statement", "break_expression", "continue_expression", "break", "next",
  "redo", "retry", "goto_statement", "pass_statement", "fallthrough_statement",
]);
const RAISE = new Set(["raise_statement", "throw_statement", "throw_expression", "panic"]);
const TRY = new Set(["try_statement", "try_expression", "begin", "with_statement", "defer_statement", "catch_clause", "except_clause", "rescue", "ensure", "finally_clause"]);
const BINOP = new Set([
  "binary_operator", "binary_expression", "comparison_operator", "boolean_operator", "binary", "range",
  "infix_expression", "range_expression",
]);
const UNOP = new Set([
  "unary_operator", "unary_expression", "not_operator", "unary", "pointer_expression", "reference_expression",
  "negation", "prefix_expression", "postfix_expression", "await", "await_expression", "spread_element",
  "list_splat", "dictionary_splat", "splat_argument", "try_operator",
]);
const MEMBER = new Set([
  "attribute", "member_expression", "selector_expression", "field_expression", "field_access",
  "dot_index_expression", "method_index_expression", "scoped_identifier", "qualified_identifier",
  "member_access_expression", "navigation_expression", "scope_resolution",
]);
const INDEX = new Set([
  "subscript", "subscript_expression", "index_expression", "array_access", "bracket_index_expression",
  "element_reference", "slice_expression", "element_access_expression",
]);
const COLLECTION = new Set([
  "list", "tuple", "dictionary", "set", "list_comprehension", "dictionary_comprehension", "set_comprehension",
  "generator_expression", "array", "object", "array_initializer", "composite_literal", "hash",
  "table_constructor", "initializer_list", "array_expression", "tuple_expression", "struct_expression",
  "array_creation_expression", "literal_value", "array_literal", "dictionary_literal", "pair",
]);
const LAMBDA = new Set([
  "lambda", "arrow_function", "function_expression", "function", "func_literal", "closure_expression",
  "lambda_expression", "do_block", "function_definition", "function_declaration",
  "anonymous_function", "generator_function", "local_function", "method", "function_item",
]);
const CONST_NAMES = new Set(["true", "false", "none", "null", "nil", "undefined", "null_literal", "boolean_literal", "nullptr", "iota", "self", "this"]);
const FIELDS_SKIP = new Set(["type", "return_type", "result", "type_parameters", "type_arguments", "decorator", "annotation", "modifiers", "label"]);
const NOT_VARS = new Set(["type_identifier", "property_identifier", "field_identifier", "namespace_identifier", "package_identifier", "shorthand_property_identifier_pattern"]);
const PUNCT = /^[\s(),;:{}\[\].]*$/;

function isTypeNode(t: string): boolean {
  return /(^|_)types?($|_)|^primitive_type$|type_annotation|type_arguments|type_parameters|^generic_type$|_type_specifier$|^sized_type/.test(t) && !/expression|switch|conversion|case/.test(t);
}

function constKind(n: SyntaxNode, spec: LanguageSpec): string | null {
  const t = n.type;
  if (spec.stringNodeTypes.includes(t) || /string|char|rune|heredoc|symbol|regex/.test(t)) {
    if (/func|composite|array|map|object|list|table|struct|tuple|dictionary|hash|closure|interpolation/.test(t) && !/string/.test(t)) return null;
    const v = n.text.length <= 24 ? n.text : `#${n.text.length}`;
    return `str:${v}`;
  }
  if (/^(integer|float|number|int_literal|float_literal|integer_literal|decimal_integer_literal|decimal_floating_point_literal|hex_integer_literal|number_literal|imaginary_literal|numeric_literal|real_literal|octal_integer_literal|binary_integer_literal|rational|complex)$/.test(t))
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
      if (c.field === "property" || c.field === "attribute" || c.field === "field" || c.field === "name" && MEMBER.has(n.type)) continue;
      if (c.field && FIELDS_SKIP.has(c.field)) continue;
      this.readNames(c, out);
    }
    return out;
  }

  define(names: string[], node: number, env: Env): void {
    for (const nm of names) env.set(nm, new Set([node]));
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
    let plist = fn.childByField("parameters") ?? fn.childByField("parameter") ?? fn.children.find((c) => /parameters|parameter_list|block_parameters|lambda_parameters|formal_parameters/.test(c.type)) ?? null;
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
    const body = fn.childByField("body") ?? fn.children.find((c) => /block|body|statement|compound/.test(c.type) && c !== plist) ?? null;
    if (body) this.data(this.visit(body, inner, root), root, "value");
    else {
      // expression-bodied / pattern-based functions: visit everything that is not name/params/types
      for (const c of fn.children) {
        if (c === plist || c.field === "name" || (c.field && FIELDS_SKIP.has(c.field)) || !c.named || this.isComment(c)) continue;
        this.visit(c, inner, root);
      }
    }
    return root;
  }

  visitBranch(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const br = this.node("branch", n.type.replace(/_(statement|expression|clause|modifier)$/, ""), ctl);
    let cond = n.childByField("condition") ?? n.childByField("value") ?? n.childByField("subject");
    const named = n.children.filter((c) => c.named && !this.isComment(c));
    if (!cond && n.type === "conditional_expression" && this.spec.id === "python") cond = named[1] ?? null;
    if (!cond && (n.type === "switch_statement" || n.type === "expression_switch_statement")) cond = n.childByField("value") ?? null;
    if (!cond && !/else|default/.test(n.type)) cond = named.find((c) => !/block|body|clause|consequence|alternative/.test(c.type)) ?? null;
    if (cond) this.feed(cond, env, ctl, br, "cond");
    const base = cloneEnv(env);
    const merged = cloneEnv(env);
    const outs: number[] = [];
    let armIndex = 0;
    for (const c of named) {
      if (c === cond || (c.field && FIELDS_SKIP.has(c.field))) continue;
      const armEnv = cloneEnv(base);
      const role = c.field === "alternative" || /else/.test(c.type) ? "else" : `arm${armIndex++ === 0 ? "" : armIndex}`;
      for (const s of this.visitArm(c, armEnv, br, role)) outs.push(s);
      mergeInto(merged, armEnv);
    }
    env.clear();
    for (const [k, v] of merged) env.set(k, v);
    // a branch used as an operand (a conditional expression) is represented by the branch node alone: its arms'
    // value nodes are NOT returned as data sources (the arms hang off the branch by control edges)
    return outs.length ? [br, ...outs.slice(0, 0)] : [br];
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

  visitLoop(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const loop = this.node("loop", /while|until|repeat/.test(n.type) ? "while" : /do_/.test(n.type) ? "do" : "for", ctl);
    const body = n.childByField("body") ?? n.children.find((c) => /block|body|^do$|statement_block|compound_statement/.test(c.type)) ?? null;
    this.loopUses.push([]);
    const bodyEnvStart = cloneEnv(env);
    // header: initializer/condition/update/iterable/pattern
    for (const c of n.children) {
      if (!c.named || c === body || this.isComment(c) || (c.field && FIELDS_SKIP.has(c.field))) continue;
      const f = c.field ?? "";
      if (f === "left" || f === "pattern" || f === "declarator" || (f === "name" && n.type !== "for_numeric_clause") || c.type === "block_parameters") {
        this.define(this.targetNames(c), loop, bodyEnvStart);
        continue;
      }
      if (c.type === "for_in_clause" || c.type === "range_clause" || c.type === "for_generic_clause" || c.type === "for_numeric_clause" || c.type === "in" || c.type === "for_clause") {
        for (const cc of c.children) {
          if (!cc.named || this.isComment(cc)) continue;
          const ff = cc.field ?? "";
          if (ff === "left" || ff === "name" || cc.type === "variable_list" || cc.type === "name_list") this.define(this.targetNames(cc), loop, bodyEnvStart);
          else if (ff === "initializer") this.visit(cc, bodyEnvStart, ctl);
          else this.feed(cc, bodyEnvStart, loop, loop, ff || "iter");
        }
        continue;
      }
      if (f === "initializer" || c.type === "variable_declaration" && f === "") {
        this.visit(c, bodyEnvStart, ctl);
        continue;
      }
      this.feed(c, bodyEnvStart, loop, loop, f || "cond");
    }
    if (body) this.visit(body, bodyEnvStart, loop);
    const uses = this.loopUses.pop()!;
    // loop-carried definitions: defs live at the end of the body reach uses inside the loop
    for (const u of uses) {
      const defs = bodyEnvStart.get(u.name);
      if (!defs) continue;
      const had = new Set(this.edges.filter((e) => e.to === u.consumer && e.kind === "data").map((e) => e.from));
      for (const d of defs) if (!had.has(d) && d !== u.consumer) this.edges.push({ from: d, to: u.consumer, kind: "data", role: u.role });
    }
    const outerTop = this.loopUses[this.loopUses.length - 1];
    if (outerTop) outerTop.push(...uses);
    mergeInto(env, bodyEnvStart);
    return [loop];
  }

  visitAssign(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const t = n.type;
    // declarations that wrap declarators: visit the declarators
    if (["variable_declaration", "local_variable_declaration", "lexical_declaration", "declaration", "var_declaration", "const_declaration"].includes(t)) {
      const decls = n.children.filter((c) => ["variable_declarator", "init_declarator", "var_spec", "const_spec", "assignment_statement", "assignment"].includes(c.type));
      if (decls.length) return this.seq(decls, env, ctl);
      // declaration without initialiser (int x;): define the names
      const names = n.children.filter((c) => c.field === "declarator" || c.field === "name" || this.isVar(c)).flatMap((c) => this.targetNames(c));
      if (names.length) {
        const a = this.node("assign", "decl", ctl);
        this.define(names, a, env);
        return [a];
      }
      return this.seq(n.children.filter((c) => c.named), env, ctl);
    }
    if (t === "update_expression" || t === "inc_statement" || t === "dec_statement") {
      const target = n.namedChildren[0];
      const op = n.children.find((c) => !c.named)?.text ?? "++";
      const a = this.node("assign", op, ctl);
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
    let left = n.childByField("left") ?? n.childByField("name") ?? n.childByField("pattern") ?? n.childByField("declarator");
    let right = n.childByField("right") ?? n.childByField("value");
    if (!left && (t === "assignment_statement")) {
      left = n.childOfType("variable_list", "expression_list");
      right = n.children.filter((c) => c.type === "expression_list" && c !== left)[0] ?? null;
    }
    if (!left) return this.seq(n.children.filter((c) => c.named), env, ctl);
    const opText = n.childByField("operator")?.text ?? (n.children.find((c) => !c.named && /=/.test(c.type))?.text ?? "=");
    const augmented = opText !== "=" && opText !== ":=" && /=$/.test(opText) && !/^(==|!=|<=|>=)$/.test(opText);
    const a = this.node("assign", augmented ? opText : t === "variable_declarator" || t === "init_declarator" || t === "let_declaration" || t === "short_var_declaration" || t === "var_spec" ? "decl" : "=", ctl);
    const readsRight = right ? this.readNames(right) : [];
    if (right) this.feed(right, env, ctl, a, "val");
    let names = this.targetNames(left);
    const store = !this.isVar(left) && names.length === 0;
    if (store || MEMBER.has(left.type) || INDEX.has(left.type)) {
      // store into a structure: its object/index are reads
      for (const c of left.children) if (c.named && c.field !== "property" && c.field !== "attribute" && c.field !== "field") this.feed(c, env, ctl, a, "store");
      this.nodes[a] = { cls: "assign", label: `${this.nodes[a]!.label}:store` };
      names = [];
    }
    if (augmented) for (const nm of names) {
      this.data(this.use(nm, env), a, "old");
      this.recordLoopUse(nm, a, "old");
    }
    for (const nm of names) this.dataflow.push([nm, "computedFrom", augmented ? [nm, ...readsRight] : readsRight]);
    this.define(names, a, env);
    return [a];
  }

  visitCall(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    let callee = n.childByField("function") ?? n.childByField("name") ?? n.childByField("macro") ?? n.childByField("constructor") ?? n.childByField("type");
    const recvNode = n.childByField("receiver") ?? n.childByField("object");
    const methodNode = n.childByField("method") ?? (recvNode ? n.childByField("name") : null);
    if (methodNode && recvNode) callee = null;
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
        const prop = callee.childByField("property") ?? callee.childByField("attribute") ?? callee.childByField("field") ?? callee.childByField("method") ?? callee.childByField("name");
        const obj = callee.childByField("object") ?? callee.childByField("operand") ?? callee.childByField("value") ?? callee.childByField("argument") ?? callee.childByField("table") ?? callee.childByField("path") ?? callee.childByField("scope");
        label = `.${prop?.text ?? callee.text}`;
        if (callee.type === "scoped_identifier" || callee.type === "qualified_identifier") label = callee.text;
        else if (obj) this.feed(obj, env, ctl, c, "recv");
      } else {
        label = "expr";
        this.feed(callee, env, ctl, c, "fn");
      }
    }
    if (n.type === "new_expression" || n.type === "object_creation_expression") label = `new:${callee?.text ?? ""}`;
    if (n.type === "macro_invocation") label = `${label}!`;
    this.nodes[c] = { cls: "call", label };
    const args = n.childByField("arguments") ?? n.children.find((x) => x.type === "argument_list" || x.type === "arguments" || x.type === "token_tree") ?? null;
    let i = 0;
    if (args && (COLLECTION.has(args.type) || LAMBDA.has(args.type))) {
      // Python `f(x for x in xs)`: the generator is the one argument
      this.feed(args, env, ctl, c, "arg0");
    } else if (args) {
      for (const a of args.children) {
        if (!a.named || this.isComment(a)) continue;
        if (a.type === "keyword_argument" || a.type === "pair" && args.type === "argument_list") {
          const k = a.childByField("name") ?? a.childByField("key");
          const v = a.childByField("value");
          if (v) this.feed(v, env, ctl, c, `kw:${k?.text ?? ""}`);
          continue;
        }
        this.feed(a, env, ctl, c, `arg${i++}`);
      }
    }
    const block = n.childByField("block") ?? n.children.find((x) => x.type === "do_block" || x.type === "block" && this.spec.id === "ruby") ?? null;
    if (block) {
      const l = this.visitFunction(block, env, ctl, "lambda", "block");
      this.data([l], c, "block");
    }
    return [c];
  }

  visit(n: SyntaxNode, env: Env, ctl: number | null): number[] {
    const t = n.type;
    if (!n.named) return [];
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
    if (RETURN.has(t) || JUMP.has(t) || RAISE.has(t)) {
      const cls: NodeClass = RETURN.has(t) ? "return" : JUMP.has(t) ? "jump" : "raise";
      const r = this.node(cls, cls === "jump" ? t.replace(/_(statement|expression)$/, "") : /yield/.test(t) ? "yield" : cls, ctl);
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
      const o = this.node("op", this.operatorText(n), ctl);
      const ops = this.operandChildren(n);
      for (let i = 0; i < ops.length; i++) this.feed(ops[i]!, env, ctl, o, ops.length === 2 ? (i === 0 ? "l" : "r") : `o${i}`);
      return [o];
    }
    if (UNOP.has(t)) {
      const o = this.node("op", `u${this.operatorText(n)}`, ctl);
      for (const c of this.operandChildren(n)) this.feed(c, env, ctl, o, "u");
      return [o];
    }
    if (MEMBER.has(t)) {
      if (t === "scoped_identifier" || t === "qualified_identifier" || t === "scope_resolution") return this.use(n.text, env);
      const prop = n.childByField("property") ?? n.childByField("attribute") ?? n.childByField("field") ?? n.childByField("method") ?? n.childByField("name");
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
      const named = (this.spec.id === "python" && t === "function_definition") || t === "function_declaration" || t === "function_item" || t === "method" || t === "local_function";
      const l = this.visitFunction(n, env, ctl, "lambda", named ? "def" : "lambda");
      const nm = n.childByField("name");
      if (named && nm && this.isVar(nm)) this.define([nm.text], l, env);
      return [l];
    }
    if (COLLECTION.has(t)) {
      const col = this.node("collection", t.replace(/_(expression|literal|constructor|initializer)$/, ""), ctl);
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
    const out: number[] = [];
    for (const c of n.children) {
      if (!c.named || (c.field && FIELDS_SKIP.has(c.field))) continue;
      for (const s of this.visit(c, env, ctl)) out.push(s);
    }
    return out;
  }
}

/** The function definitions (outermost) of a tree, for the graph's program root. */
export function topFunctions(lang: LangId, root: SyntaxNode): SyntaxNode[] {
  const spec = LANGUAGES[lang];
  const fnTypes = new Set(spec.functionNodeTypes.filter((t) => !/lambda|closure|arrow|literal|anonymous|function_expression|^function$/.test(t)));
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
  for (const fn of fns) {
    const name = functionName(lang, fn);
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
