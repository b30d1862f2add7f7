/** Input generation: types from hints, defaults, usage and names; literals; determinism; type-preserving mutation. */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage } from "../../src/lang/index.js";
import {
  analyseFunction,
  generateInputs,
  mutateValue,
  pythonHint,
  goType,
  type FunctionInfo,
  type Json,
} from "../../src/behaviour/index.js";
import { Generator } from "../../src/behaviour/inputs.js";
import { Rng } from "../../src/core/rng.js";

function info(lang: "python" | "ruby" | "javascript", src: string, entry?: string): FunctionInfo {
  const r = analyseFunction(lang, src, entry);
  assert.ok(!("error" in r), JSON.stringify(r));
  return r as FunctionInfo;
}

const kind = (v: Json): string =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "list"
      : typeof v === "object"
        ? (((v as Record<string, Json>).__bc__ as string) ?? "dict")
        : Number.isInteger(v)
          ? "int"
          : typeof v;

describe("behaviour: input generation", () => {
  before(async () => {
    for (const l of ["python", "ruby", "javascript"] as const) await loadLanguage(l);
  });

  it("parses Python type hints and Go types", () => {
    assert.deepEqual(pythonHint("list[int]"), { k: "list", el: { k: "int" } });
    assert.deepEqual(pythonHint("Optional[str]"), { k: "str" });
    assert.deepEqual(pythonHint("dict[str, list[float]]"), {
      k: "dict",
      key: { k: "str" },
      val: { k: "list", el: { k: "float" } },
    });
    assert.deepEqual(pythonHint("int | None"), { k: "int" });
    assert.deepEqual(pythonHint("Tuple[int, str]"), { k: "tuple", els: [{ k: "int" }, { k: "str" }] });
    assert.equal(pythonHint("SomeClass"), null);
    assert.deepEqual(goType("[]string"), { k: "list", el: { k: "str" } });
    assert.deepEqual(goType("map[string]int"), { k: "dict", key: { k: "str" }, val: { k: "int" } });
    assert.equal(goType("*Node"), null);
  });

  it("takes types from hints and defaults, and from usage and names when there are none", () => {
    const py = info(
      "python",
      `def f(n: int, names: list[str], scale=1.5, flag=True, text="x", xs=None, d=None):
    if d.get("k") and xs.append(1) and text.lower():
        return n
`,
    );
    const byName = Object.fromEntries(py.params.map((p) => [p.name, p]));
    assert.deepEqual(byName.n!.declared, { k: "int" });
    assert.deepEqual(byName.names!.declared, { k: "list", el: { k: "str" } });
    assert.deepEqual(byName.scale!.declared, { k: "float" });
    assert.deepEqual(byName.flag!.declared, { k: "bool" });
    assert.deepEqual(byName.text!.declared, { k: "str" });
    assert.equal(byName.xs!.declared, null);
    assert.ok((byName.xs!.votes.list ?? 0) > 0, "xs.append → list");
    assert.ok((byName.d!.votes.dict ?? 0) > 0, "d.get → dict");
    const js = info("javascript", "function g(count, s) { return s.toLowerCase().length > count && count < 7; }");
    assert.ok((js.params[0]!.votes.int ?? 0) > (js.params[0]!.votes.str ?? 0));
    assert.ok((js.params[1]!.votes.str ?? 0) > 0);
    assert.ok(
      js.ints.includes(7) && js.ints.includes(6) && js.ints.includes(8),
      "comparison boundary values are collected",
    );
    const rb = info("ruby", "def h(xs, k = 3)\n  xs.each { |x| k += x }\n  k\nend\n");
    assert.deepEqual(
      rb.params.map((p) => p.name),
      ["xs", "k"],
    );
    assert.deepEqual(rb.params[1]!.declared, { k: "int" });
  });

  it("generates typed, bounded, distinct candidates, deterministically for a seed", () => {
    const src = "def f(n: int, xs: list[int], s: str, d: dict[str, int], t: tuple[int, int]):\n    return n\n";
    const fi = info("python", src);
    const a = generateInputs(fi, src, { seed: 5, count: 40 });
    const b = generateInputs(fi, src, { seed: 5, count: 40 });
    const c = generateInputs(fi, src, { seed: 6, count: 40 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(a.length, 40);
    assert.equal(new Set(a.map((x) => JSON.stringify(x))).size, 40);
    for (const args of a) {
      assert.deepEqual(args.map(kind), ["int", "list", "string", "dict", "tuple"]);
      assert.ok((args[1] as Json[]).length <= 10 && (args[2] as string).length <= 24);
      assert.ok((args[1] as Json[]).every((x) => Number.isInteger(x)));
    }
    assert.deepEqual(a[0], [0, [], "", {}, { __bc__: "tuple", v: [0, 0] }], "the first candidate is the edge case");
  });

  it("mutations preserve the type of every value", () => {
    const rng = new Rng(1);
    const g = new Generator(rng, info("python", "def f(x):\n    return x\n"));
    const seeds: Json[] = [3, -1.5, "abc", "", [1, 2, 3], [], { a: 1, b: [2] }, true, { __bc__: "set", v: [1, 2] }];
    for (const s of seeds) {
      for (let i = 0; i < 30; i++) {
        const m = mutateValue(s, rng, g);
        assert.equal(
          kind(m) === "int" && kind(s) === "number" ? "number" : kind(m),
          kind(s),
          `${JSON.stringify(s)} → ${JSON.stringify(m)}`,
        );
      }
    }
  });
});
