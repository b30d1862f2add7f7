import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage, type LangId } from "../../src/lang/index.js";
import { similarity } from "../../src/similarity/index.js";

before(async () => {
  for (const l of ["python", "ruby", "javascript"] as const) await loadLanguage(l);
});

const dfg = (a: string, b: string, lang: LangId): number => similarity("dfg", a, b, lang).score;

const PY_LOOP = `def evens_sq(xs):
    out = []
    for x in xs:
        if x % 2 == 0:
            out.append(x * x)
    return out
`;

test("graph normalisation: equivalent control flow gives the same graph (Python)", () => {
  const same: Array<[string, string]> = [
    ["comprehension", "def evens_sq(xs):\n    return [x * x for x in xs if x % 2 == 0]\n"],
    [
      "index while",
      "def evens_sq(xs):\n    out = []\n    i = 0\n    while i < len(xs):\n        x = xs[i]\n        if x % 2 == 0:\n            out.append(x * x)\n        i += 1\n    return out\n",
    ],
    [
      "negated condition, continue",
      "def evens_sq(xs):\n    out = []\n    for x in xs:\n        if not x % 2 == 0:\n            continue\n        out.append(x * x)\n    return out\n",
    ],
  ];
  for (const [name, v] of same) assert.equal(dfg(PY_LOOP, v, "python"), 1, name);
  const clamp =
    "def clamp(v, lo, hi):\n    if v < lo:\n        return lo\n    if v > hi:\n        return hi\n    return v\n";
  const viaResult =
    "def clamp(v, lo, hi):\n    if v < lo:\n        r = lo\n    elif v > hi:\n        r = hi\n    else:\n        r = v\n    return r\n";
  const negated =
    "def clamp(v, lo, hi):\n    if not (v < lo):\n        if v > hi:\n            return hi\n        return v\n    else:\n        return lo\n";
  assert.equal(dfg(clamp, viaResult, "python"), 1, "result variable + elif == early returns");
  assert.equal(dfg(clamp, negated, "python"), 1, "negated condition with swapped arms");
  const helper =
    "def scale(x, k):\n    return x * k + 1\n\n\ndef total(vs, k):\n    t = 0\n    for v in vs:\n        t += scale(v, k)\n    return t\n";
  const inlined = "def total(vs, k):\n    t = 0\n    for v in vs:\n        t += v * k + 1\n    return t\n";
  const summed = "def total(vs, k):\n    return sum(v * k + 1 for v in vs)\n";
  assert.equal(dfg(helper, inlined, "python"), 1, "inlined helper");
  assert.equal(dfg(inlined, summed, "python"), 1, "sum over a generator == accumulating loop");
});

test("graph normalisation: for-of == index loop, filter/map == loop (JavaScript); each == while, elsif == returns (Ruby)", () => {
  const js =
    "function f(xs) {\n  const out = [];\n  for (const x of xs) {\n    if (x % 2 === 0) {\n      out.push(x * x);\n    }\n  }\n  return out;\n}\n";
  assert.equal(
    dfg(js, "function f(xs) {\n  return xs.filter((x) => x % 2 === 0).map((x) => x * x);\n}\n", "javascript"),
    1,
  );
  assert.equal(
    dfg(
      js,
      "function f(xs) {\n  const out = [];\n  let i = 0;\n  while (i < xs.length) {\n    const x = xs[i];\n    if (x % 2 === 0) {\n      out.push(x * x);\n    }\n    i++;\n  }\n  return out;\n}\n",
      "javascript",
    ),
    1,
  );
  const rb =
    "def f(xs)\n  out = []\n  xs.each do |x|\n    if x % 2 == 0\n      out << x * x\n    end\n  end\n  out\nend\n";
  const rbWhile =
    "def f(xs)\n  out = []\n  i = 0\n  while i < xs.length\n    x = xs[i]\n    if x % 2 == 0\n      out << x * x\n    end\n    i += 1\n  end\n  out\nend\n";
  assert.equal(dfg(rb, rbWhile, "ruby"), 1);
  const sign =
    'def s(n)\n  if n < 0\n    l = "neg"\n  elsif n == 0\n    l = "zero"\n  else\n    l = "pos"\n  end\n  l\nend\n';
  const signEarly =
    'def s(n)\n  if n < 0\n    return "neg"\n  end\n  if n == 0\n    return "zero"\n  end\n  "pos"\nend\n';
  assert.equal(dfg(sign, signEarly, "ruby"), 1);
});

test("one-token semantic breaks score below the structural rewrites", () => {
  const rewrite = dfg(PY_LOOP, "def evens_sq(xs):\n    return [x * x for x in xs if x % 2 == 0]\n", "python");
  const breaks = [
    PY_LOOP.replace("x % 2 == 0", "x % 2 != 0"),
    PY_LOOP.replace("x % 2 == 0", "x % 3 == 0"),
    PY_LOOP.replace("x * x", "x + x"),
  ];
  for (const b of breaks) {
    const s = dfg(PY_LOOP, b, "python");
    assert.ok(s < rewrite && s < 0.99, `${b}: ${s} vs rewrite ${rewrite}`);
  }
  // flipping a comparison that guards a reassignment is seen (it swaps what the branch controls)
  const rm =
    "def m(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n";
  assert.ok(dfg(rm, rm.replace("x > best", "x <= best"), "python") < 0.99);
  const js = "function c(v, lo) {\n  if (v < lo) {\n    return lo;\n  }\n  return v;\n}\n";
  assert.ok(dfg(js, js.replace("v < lo", "v >= lo"), "javascript") < 0.99);
});
