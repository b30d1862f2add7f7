/**
 * Programmatic rewrites of Python code on its syntax tree, for the metric-quality benchmark.
 * Semantics-preserving: rename (locals and parameters, consistently), reorder (two adjacent independent
 * statements), reformat (indentation width, spacing, blank lines, a comment). Semantics-breaking: flip a
 * comparison, delete a statement, swap two call arguments (or the operands of a non-commutative operator).
 * Each returns null when the code offers no place for that rewrite.
 */
import { parseCode, type LangId, type SyntaxNode } from "../../src/lang/index.js";

type Edit = [number, number, string];

function applyEdits(src: string, edits: Edit[]): string {
  const e = edits.slice().sort((a, b) => b[0] - a[0]);
  let out = src;
  for (const [s, t, r] of e) out = out.slice(0, s) + r + out.slice(t);
  return out;
}

function all(root: SyntaxNode): SyntaxNode[] {
  return [...root.descendants()];
}

/** Names bound in the code: parameters, assignment / for / with / comprehension targets. */
function boundNames(root: SyntaxNode): Set<string> {
  const out = new Set<string>();
  const collect = (n: SyntaxNode | null): void => {
    if (!n) return;
    if (n.type === "identifier") out.add(n.text);
    else if (
      [
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "tuple",
        "list",
        "list_splat_pattern",
        "parenthesized_expression",
      ].includes(n.type)
    )
      n.namedChildren.forEach(collect);
  };
  for (const n of all(root)) {
    if (n.type === "parameters" || n.type === "lambda_parameters") {
      for (const p of n.namedChildren) {
        if (p.type === "identifier") out.add(p.text);
        else {
          const nm = p.childByField("name") ?? p.namedChildren.find((c) => c.type === "identifier");
          if (nm?.type === "identifier") out.add(nm.text);
        }
      }
    }
    if (n.type === "assignment" || n.type === "augmented_assignment") collect(n.childByField("left"));
    if (n.type === "for_statement" || n.type === "for_in_clause") collect(n.childByField("left"));
    if (n.type === "named_expression") collect(n.childByField("name"));
  }
  return out;
}

export function rename(src: string): string | null {
  const pr = parseCode("python", src);
  if (pr.hasErrors) return null;
  const root = pr.tree.rootNode;
  const names = [...boundNames(root)].filter((n) => n !== "self" && n !== "_");
  if (!names.length) return null;
  const map = new Map(names.map((n, i) => [n, `v${i}_`]));
  const edits: Edit[] = [];
  for (const n of all(root)) {
    if (n.type !== "identifier" || !map.has(n.text)) continue;
    const p = n.parent;
    if (p?.type === "attribute" && n.field === "attribute") continue;
    if (p?.type === "keyword_argument" && n.field === "name") continue;
    if ((p?.type === "function_definition" || p?.type === "class_definition") && n.field === "name") continue;
    edits.push([n.start, n.end, map.get(n.text)!]);
  }
  return edits.length ? applyEdits(src, edits) : null;
}

function reads(n: SyntaxNode): Set<string> {
  const s = new Set<string>();
  for (const d of n.descendants()) if (d.type === "identifier") s.add(d.text);
  return s;
}

export function reorder(src: string): string | null {
  const pr = parseCode("python", src);
  if (pr.hasErrors) return null;
  const SIMPLE = new Set(["expression_statement"]);
  for (const blk of all(pr.tree.rootNode)) {
    if (blk.type !== "block" && blk.type !== "module") continue;
    const st = blk.namedChildren.filter((c) => c.type !== "comment");
    for (let i = 0; i + 1 < st.length; i++) {
      const a = st[i]!;
      const b = st[i + 1]!;
      if (!SIMPLE.has(a.type) || !SIMPLE.has(b.type)) continue;
      const aa = a.namedChildren[0];
      const bb = b.namedChildren[0];
      if (aa?.type !== "assignment" || bb?.type !== "assignment") continue;
      if (a.startRow === b.startRow) continue;
      const wa = reads(aa.childByField("left")!);
      const wb = reads(bb.childByField("left")!);
      const ra = reads(a);
      const rb = reads(b);
      // independent: neither writes what the other reads or writes; no calls (side effects)
      if ([...wa].some((x) => rb.has(x)) || [...wb].some((x) => ra.has(x))) continue;
      if ([...a.descendants(), ...b.descendants()].some((d) => d.type === "call")) continue;
      return applyEdits(src, [
        [a.start, a.end, b.text],
        [b.start, b.end, a.text],
      ]);
    }
  }
  return null;
}

export function reformat(src: string): string | null {
  const pr = parseCode("python", src);
  if (pr.hasErrors) return null;
  // re-indent 4 -> 2 spaces (consistent), add spaces after commas, a blank line and a comment after the def line
  const lines = src.split("\n").map((l) => {
    const m = /^( *)(.*)$/.exec(l)!;
    const ind = m[1]!.length;
    return " ".repeat(Math.floor(ind / 2) + (ind % 2)) + m[2]!;
  });
  let out = lines.join("\n");
  const defLine = out.split("\n").findIndex((l) => /^\s*def .*:\s*$/.test(l));
  if (defLine >= 0) {
    const ls = out.split("\n");
    const ind = /^\s*/.exec(ls[defLine + 1] ?? "")![0];
    ls.splice(defLine + 1, 0, `${ind}# reformatted`, "");
    out = ls.join("\n");
  }
  const re = parseCode("python", out);
  return re.hasErrors ? null : out;
}

const FLIP: Record<string, string> = {
  "<": ">=",
  ">": "<=",
  "<=": ">",
  ">=": "<",
  "==": "!=",
  "!=": "==",
  in: "not in",
  is: "is not",
};

export function flipComparison(src: string): string | null {
  const pr = parseCode("python", src);
  for (const n of all(pr.tree.rootNode)) {
    if (n.type !== "comparison_operator") continue;
    const op = n.children.find((c) => !c.named && FLIP[c.text] !== undefined);
    if (op) return applyEdits(src, [[op.start, op.end, FLIP[op.text]!]]);
  }
  return null;
}

export function deleteStatement(src: string): string | null {
  const pr = parseCode("python", src);
  for (const blk of all(pr.tree.rootNode)) {
    if (blk.type !== "block") continue;
    const st = blk.namedChildren.filter((c) => c.type !== "comment");
    if (st.length < 2) continue;
    const victim =
      st.find((c) => c.type === "expression_statement" && c.namedChildren[0]?.type !== "string") ??
      st.find((c) => ["if_statement", "for_statement", "while_statement"].includes(c.type) && c !== st[st.length - 1]);
    if (!victim) continue;
    const ls = src.lastIndexOf("\n", victim.start - 1) + 1;
    let le = src.indexOf("\n", victim.end);
    if (le < 0) le = src.length;
    return src.slice(0, ls) + src.slice(le + 1);
  }
  return null;
}

export function swapArguments(src: string): string | null {
  const pr = parseCode("python", src);
  for (const n of all(pr.tree.rootNode)) {
    if (n.type === "call") {
      const args =
        n
          .childByField("arguments")
          ?.namedChildren.filter((c) => c.type !== "keyword_argument" && c.type !== "comment") ?? [];
      if (args.length >= 2 && args[0]!.text !== args[1]!.text)
        return applyEdits(src, [
          [args[0]!.start, args[0]!.end, args[1]!.text],
          [args[1]!.start, args[1]!.end, args[0]!.text],
        ]);
    }
  }
  for (const n of all(pr.tree.rootNode)) {
    if (n.type === "binary_operator") {
      const op = n.childByField("operator")?.text;
      const l = n.childByField("left");
      const r = n.childByField("right");
      if (l && r && op && ["-", "/", "//", "%", "**"].includes(op) && l.text !== r.text)
        return applyEdits(src, [
          [l.start, l.end, r.text],
          [r.start, r.end, l.text],
        ]);
    }
  }
  return null;
}

// ---- one-token semantic breaks for any tree-sitter language (near-miss benchmark) ---------------------------

const NEGATE: Record<string, string> = {
  "<": ">=",
  ">": "<=",
  "<=": ">",
  ">=": "<",
  "==": "!=",
  "!=": "==",
  "===": "!==",
  "!==": "===",
};
const WRONG_OP: Record<string, string> = {
  "+": "-",
  "-": "+",
  "*": "+",
  "/": "*",
  "%": "*",
  "//": "*",
  "+=": "-=",
  "-=": "+=",
  "*=": "+=",
};
const BINARY_PARENTS =
  /^(binary_operator|binary_expression|binary|comparison_operator|augmented_assignment|augmented_assignment_expression|operator_assignment)$/;

function leaves(root: SyntaxNode): SyntaxNode[] {
  return all(root).filter((n) => n.children.length === 0);
}

/**
 * Semantics-breaking one-token edits of `src` (the first place each applies, in source order): flip (a comparison
 * replaced by its negation), off-by-one (an integer literal n -> n + 1), wrong-op (an arithmetic operator of a
 * binary expression or augmented assignment replaced: + -> -, - -> +, * -> +, / -> *, % -> *).
 */
export function breakEdits(src: string, lang: LangId): Array<[kind: string, code: string]> {
  const pr = parseCode(lang, src);
  const ls = leaves(pr.tree.rootNode);
  const out: Array<[string, string]> = [];
  const cmp = ls.find((n) => NEGATE[n.text] !== undefined && n.parent && BINARY_PARENTS.test(n.parent.type));
  if (cmp) out.push(["flip", applyEdits(src, [[cmp.start, cmp.end, NEGATE[cmp.text]!]])]);
  const num = ls.find((n) => /^\d+$/.test(n.text) && /integer|number/.test(n.type));
  if (num) out.push(["off-by-one", applyEdits(src, [[num.start, num.end, String(Number(num.text) + 1)]])]);
  const op = ls.find((n) => WRONG_OP[n.text] !== undefined && n.parent && BINARY_PARENTS.test(n.parent.type));
  if (op) out.push(["wrong-op", applyEdits(src, [[op.start, op.end, WRONG_OP[op.text]!]])]);
  return out;
}
