/**
 * Generates the labelled near-miss benchmark (data/nearmiss/<lang>.jsonl) from the hand-written reference
 * functions in nearmiss/refs-*.ts:
 *   label 1 — the hand-written semantics-preserving rewrites, plus a consistent renaming of locals/parameters;
 *   label 0 — one-token semantic breaks made on the syntax tree: flipped comparison, off-by-one integer,
 *             wrong operator, swapped call arguments, wrong constant (first and last site of each kind).
 * Every label is CHECKED by execution in the sandbox, on the reference's hand-picked inputs plus 160 generated
 * candidates (seed 9001, a different seed from the one the benchmark scores with), counting only inputs on
 * which the original returns normally: a rewrite must agree on all of them, a break must disagree on at
 * least one. Pairs whose label execution contradicts are dropped and listed. Deterministic.
 *
 *   node dist/bench/similarity/nearmiss-gen.js [--out data/nearmiss]
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadLanguage, parseCode, type LangId, type SyntaxNode } from "../../src/lang/index.js";
import { BehaviourRunner, type BehaviourJob } from "../../src/behaviour/index.js";
import { Generator, mutateValue, type Json } from "../../src/behaviour/inputs.js";
import { fnv1a } from "../../src/behaviour/signature.js";
import { Rng } from "../../src/core/rng.js";
import { PYTHON_REFS } from "./nearmiss/refs-python.js";
import { RUBY_REFS } from "./nearmiss/refs-ruby.js";
import { JAVASCRIPT_REFS } from "./nearmiss/refs-javascript.js";
import type { NearMissPair, NearMissRef } from "./nearmiss/types.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const NEARMISS_LANGS = ["python", "ruby", "javascript"] as const;
type NLang = (typeof NEARMISS_LANGS)[number];
const REFS: Record<NLang, NearMissRef[]> = { python: PYTHON_REFS, ruby: RUBY_REFS, javascript: JAVASCRIPT_REFS };

function leaves(root: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const n of root.descendants()) if (n.children.length === 0 && n.end > n.start) out.push(n);
  return out;
}

function splice(src: string, n: { start: number; end: number }, text: string): string {
  return src.slice(0, n.start) + text + src.slice(n.end);
}

const FLIP: Record<string, string> = {
  "<": "<=",
  "<=": "<",
  ">": ">=",
  ">=": ">",
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
  "//": "*",
  and: "or",
  or: "and",
  "&&": "||",
  "||": "&&",
  "+=": "-=",
  "-=": "+=",
};
const INT_TYPES = new Set(["integer", "number"]);
const STR_CONTENT = new Set(["string_content", "string_fragment"]);
const ARG_LISTS = new Set(["argument_list", "arguments"]);
const CMP_PARENTS = /comparison_operator|binary|binary_expression|binary_operator/;

/** One-token semantic breaks of `code`: [kind, variant]. */
export function breaks(lang: LangId, code: string): [string, string][] {
  const root = parseCode(lang, code).tree.rootNode;
  const ls = leaves(root);
  const sites: Record<string, [number, string][]> = {
    "flip-comparison": [],
    "off-by-one": [],
    "wrong-operator": [],
    "wrong-constant": [],
    "swapped-arguments": [],
  };
  for (const n of ls) {
    const t = n.text;
    const par = n.parent;
    if (!n.named && FLIP[t] && par && CMP_PARENTS.test(par.type))
      sites["flip-comparison"]!.push([n.start, splice(code, n, FLIP[t]!)]);
    if (
      !n.named &&
      WRONG_OP[t] &&
      par &&
      /binary|boolean_operator|augmented_assignment|operator_assignment|assignment_expression/.test(par.type)
    ) {
      sites["wrong-operator"]!.push([n.start, splice(code, n, WRONG_OP[t]!)]);
    }
    if (INT_TYPES.has(n.type) && /^\d+$/.test(t)) {
      const v = Number(t);
      sites["off-by-one"]!.push([n.start, splice(code, n, String(v + 1))]);
      sites["wrong-constant"]!.push([n.start, splice(code, n, String(v === 0 ? 1 : v * 10))]);
    }
    if (STR_CONTENT.has(n.type) && t.length > 0)
      sites["wrong-constant"]!.push([n.start, splice(code, n, t.slice(0, -1))]);
  }
  for (const n of root.descendants()) {
    if (!ARG_LISTS.has(n.type)) continue;
    const args = n.namedChildren.filter((c) => c.type !== "comment");
    if (args.length < 2) continue;
    const [a, b] = [args[0]!, args[1]!];
    if (a.text === b.text) continue;
    const v = code.slice(0, a.start) + b.text + code.slice(a.end, b.start) + a.text + code.slice(b.end);
    sites["swapped-arguments"]!.push([n.start, v]);
  }
  const out: [string, string][] = [];
  for (const [kind, list] of Object.entries(sites)) {
    list.sort((x, y) => x[0] - y[0]);
    const picks = list.length > 1 ? [list[0]!, list[list.length - 1]!] : list;
    for (const [, v] of picks) if (v !== code && !out.some((o) => o[1] === v)) out.push([kind, v]);
  }
  return out;
}

const DEF_PARENTS =
  /^(parameters|method_parameters|formal_parameters|block_parameters|lambda_parameters|default_parameter|typed_parameter|typed_default_parameter|optional_parameter|assignment_pattern)$/;

/** Consistent renaming of parameters and local variables (label 1). */
export function renameLocals(lang: LangId, code: string, entry: string): string | null {
  const root = parseCode(lang, code).tree.rootNode;
  const names = new Set<string>();
  for (const n of root.descendants()) {
    if (n.type !== "identifier" || !n.parent) continue;
    const p = n.parent;
    const isDef =
      (DEF_PARENTS.test(p.type) && (n.field === null || n.field === "name" || n.field === "left")) ||
      (/assignment|variable_declarator|operator_assignment/.test(p.type) &&
        (n.field === "left" || n.field === "name")) ||
      /^(pattern_list|tuple_pattern|left_assignment_list)$/.test(p.type) ||
      (/^(for_statement|for_in_clause|for_in_statement)$/.test(p.type) && n.field === "left");
    if (isDef && n.text !== entry) names.add(n.text);
  }
  if (names.size === 0) return null;
  const map = new Map([...names].sort().map((nm, i) => [nm, `q${i}_${nm.length}`]));
  const edits: SyntaxNode[] = [];
  for (const n of root.descendants()) {
    if (n.type !== "identifier" || !map.has(n.text)) continue;
    if (n.field === "attribute" || n.field === "method" || n.field === "property") continue;
    if (n.parent?.type === "keyword_argument" && n.field === "name") continue;
    edits.push(n);
  }
  let out = code;
  for (const n of edits.sort((a, b) => b.start - a.start)) out = splice(out, n, map.get(n.text)!);
  return out;
}

/**
 * The inputs a label is checked on: the reference's hand-picked inputs and 160 type-preserving mutations of
 * them (EvalPlus-style; the hand inputs fix the intended types), deterministic.
 */
export function checkInputs(ref: NearMissRef): Json[][] {
  const rng = new Rng(9001 ^ fnv1a(ref.id));
  const info = {
    lang: "python" as const,
    entry: ref.entry,
    params: [],
    variadic: false,
    method: false,
    ints: [],
    floats: [],
    strs: [],
    unsupported: null,
  };
  const g = new Generator(rng, info);
  const out = (ref.inputs as Json[][]).slice();
  const seen = new Set(out.map((x) => JSON.stringify(x)));
  for (let tries = 0; out.length < 160 + ref.inputs.length && tries < 5000; tries++) {
    const args = out[rng.int(out.length)]!.slice();
    const j = rng.int(args.length);
    args[j] = mutateValue(args[j]!, rng, g);
    const k = JSON.stringify(args);
    if (seen.has(k) || k.length > 2000) continue;
    seen.add(k);
    out.push(args);
  }
  return out;
}

async function main(): Promise<void> {
  const outDir = path.resolve(
    ROOT,
    process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1]! : "data/nearmiss",
  );
  fs.mkdirSync(outDir, { recursive: true });
  // Checking: many inputs, a seed different from the benchmark's, only inputs on which the original returns.
  const checker = new BehaviourRunner({
    seed: 9001,
    nCandidates: 160,
    nInputs: 160,
    maxErrorShare: 0,
    callMs: 1000,
    sideMs: 20_000,
  });
  for (const lang of NEARMISS_LANGS) {
    await loadLanguage(lang);
    const candidates: Omit<NearMissPair, "check">[] = [];
    for (const ref of REFS[lang]) {
      const push = (kind: string, label: 0 | 1, variant: string) =>
        candidates.push({
          id: `${ref.id}/${kind}/${candidates.filter((c) => c.ref === ref.id && c.kind === kind).length}`,
          lang,
          ref: ref.id,
          entry: ref.entry,
          kind,
          label,
          original: ref.code,
          variant,
        });
      for (const [k, v] of Object.entries(ref.rewrites)) push(`rewrite:${k}`, 1, v);
      const rn = renameLocals(lang, ref.code, ref.entry);
      if (rn) push("rewrite:rename", 1, rn);
      for (const [k, v] of breaks(lang, ref.code)) push(`break:${k}`, 0, v);
    }
    const jobs: BehaviourJob[] = candidates.map((c) => ({
      lang,
      original: c.original,
      rebuilt: c.variant,
      entryPoint: c.entry,
      inputs: checkInputs(REFS[lang].find((r) => r.id === c.ref)!),
      inputsOnly: true,
    }));
    const res = await checker.compare(jobs);
    const kept: NearMissPair[] = [];
    let dropped = 0;
    candidates.forEach((c, i) => {
      const r = res[i]!;
      if (r.score === null) throw new Error(`${c.id}: the reference is not executable: ${r.reason}`);
      const disagree = r.nInputs - r.agree;
      const ok = c.label === 1 ? disagree === 0 : disagree > 0;
      if (!ok) {
        dropped++;
        console.log(
          `drop ${c.id} (label ${c.label}, ${disagree}/${r.nInputs} disagree${r.reason ? `; ${r.reason}` : ""}${r.mismatch ? `; e.g. ${JSON.stringify(r.mismatch)}` : ""})`,
        );
        return;
      }
      kept.push({ ...c, check: { inputs: r.nInputs, disagree } });
    });
    const file = path.join(outDir, `${lang}.jsonl`);
    fs.writeFileSync(file, kept.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const pos = kept.filter((p) => p.label === 1).length;
    console.log(
      `${lang}: ${kept.length} pairs (${pos} rewrites, ${kept.length - pos} breaks), ${dropped} dropped by the execution check -> ${path.relative(ROOT, file)}`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) await main();
