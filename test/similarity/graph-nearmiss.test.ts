/**
 * The graph metric on near misses, on functions written for this test (none of them is in the near-miss
 * benchmark or was looked at while choosing the semantic-edit factor): for every structural rewrite kind
 * (loop <-> comprehension, negated `if` with swapped arms, early return <-> single exit, while <-> for, inlined
 * helper), the rewrite scores above every one-token break of the same function (flipped comparison,
 * off-by-one, wrong operator, swapped arguments, wrong constant), in Python, Ruby and JavaScript.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage, type LangId } from "../../src/lang/index.js";
import { similarity, graphEditSimilarity, buildPdg } from "../../src/similarity/index.js";
import { parseCode } from "../../src/lang/index.js";
import { SEMANTIC_EDIT_FACTOR } from "../../src/similarity/ged.js";

before(async () => {
  for (const l of ["python", "ruby", "javascript"] as const) await loadLanguage(l);
});

interface Case {
  lang: LangId;
  name: string;
  base: string;
  rewrites: Array<[string, string]>;
  /** [kind, searched text, replacement] applied once to `base` */
  breaks: Array<[string, string, string]>;
}

const CASES: Case[] = [
  {
    lang: "python",
    name: "powers_minus_one",
    base: "def powers_minus_one(xs, k):\n    out = []\n    for x in xs:\n        if x > 0:\n            out.append(pow(x, k) - 1)\n    return out\n",
    rewrites: [
      ["loop-to-comprehension", "def powers_minus_one(xs, k):\n    return [pow(x, k) - 1 for x in xs if x > 0]\n"],
      [
        "for-to-while",
        "def powers_minus_one(xs, k):\n    out = []\n    j = 0\n    while j < len(xs):\n        x = xs[j]\n        if x > 0:\n            out.append(pow(x, k) - 1)\n        j += 1\n    return out\n",
      ],
      [
        "negated-if",
        "def powers_minus_one(xs, k):\n    out = []\n    for x in xs:\n        if not (x > 0):\n            continue\n        out.append(pow(x, k) - 1)\n    return out\n",
      ],
    ],
    breaks: [
      ["flip-comparison", "x > 0", "x < 0"],
      ["off-by-one", "- 1", "- 2"],
      ["wrong-operator", "pow(x, k) - 1", "pow(x, k) + 1"],
      ["swapped-arguments", "pow(x, k)", "pow(k, x)"],
      ["wrong-constant", "x > 0", "x > 7"],
    ],
  },
  {
    lang: "python",
    name: "first_over",
    base: "def first_over(vals, limit):\n    for i in range(len(vals)):\n        if vals[i] > limit:\n            return i\n    return -1\n",
    rewrites: [
      [
        "single-exit",
        "def first_over(vals, limit):\n    found = -1\n    for i in range(len(vals)):\n        if vals[i] > limit:\n            found = i\n            break\n    return found\n",
      ],
      [
        "negated-if",
        "def first_over(vals, limit):\n    for i in range(len(vals)):\n        if vals[i] <= limit:\n            continue\n        return i\n    return -1\n",
      ],
    ],
    breaks: [
      ["flip-comparison", "vals[i] > limit", "vals[i] >= limit"],
      ["off-by-one", "return -1", "return -2"],
      ["wrong-constant", "return -1", "return 0"],
    ],
  },
  {
    lang: "python",
    name: "weighted_total",
    base: "def cost(q, p):\n    return q * p - 3\n\n\ndef weighted_total(items):\n    t = 0\n    for it in items:\n        t += cost(it[0], it[1])\n    return t\n",
    rewrites: [
      [
        "inlined-helper",
        "def weighted_total(items):\n    t = 0\n    for it in items:\n        t += it[0] * it[1] - 3\n    return t\n",
      ],
    ],
    breaks: [
      ["off-by-one", "- 3", "- 4"],
      ["wrong-operator", "t += cost", "t -= cost"],
      ["wrong-constant", "t = 0", "t = 5"],
      ["index off-by-one", "it[1])", "it[2])"],
    ],
  },
  {
    lang: "ruby",
    name: "shifted_odds",
    base: "def shifted_odds(list, d)\n  res = []\n  list.each do |v|\n    if v % 2 == 1\n      res << v + d\n    end\n  end\n  res\nend\n",
    rewrites: [
      ["select-map", "def shifted_odds(list, d)\n  list.select { |v| v % 2 == 1 }.map { |v| v + d }\nend\n"],
      [
        "each-to-while",
        "def shifted_odds(list, d)\n  res = []\n  k = 0\n  while k < list.length\n    v = list[k]\n    if v % 2 == 1\n      res << v + d\n    end\n    k += 1\n  end\n  res\nend\n",
      ],
      [
        "negated-if",
        "def shifted_odds(list, d)\n  res = []\n  list.each do |v|\n    next unless v % 2 == 1\n    res << v + d\n  end\n  res\nend\n",
      ],
    ],
    breaks: [
      ["flip-comparison", "v % 2 == 1", "v % 2 != 1"],
      ["off-by-one", "v % 2 == 1", "v % 2 == 2"],
      ["wrong-operator", "v + d", "v - d"],
      ["swapped-operands", "v + d", "d - v"],
      ["wrong-constant", "v % 2", "v % 5"],
    ],
  },
  {
    lang: "ruby",
    name: "bucket",
    base: 'def bucket(t, cold)\n  if t < cold\n    return "cold"\n  end\n  "warm"\nend\n',
    rewrites: [
      ["single-exit", 'def bucket(t, cold)\n  if t < cold\n    r = "cold"\n  else\n    r = "warm"\n  end\n  r\nend\n'],
      ["negated-if", 'def bucket(t, cold)\n  unless t < cold\n    return "warm"\n  end\n  "cold"\nend\n'],
    ],
    breaks: [
      ["flip-comparison", "t < cold", "t <= cold"],
      ["wrong-constant", '"warm"', '"hot"'],
    ],
  },
  {
    lang: "javascript",
    name: "halvedAbove",
    base: "function halvedAbove(arr, min) {\n  const out = [];\n  for (const a of arr) {\n    if (a > min) {\n      out.push(Math.floor(a / 2));\n    }\n  }\n  return out;\n}\n",
    rewrites: [
      [
        "filter-map",
        "function halvedAbove(arr, min) {\n  return arr.filter((a) => a > min).map((a) => Math.floor(a / 2));\n}\n",
      ],
      [
        "for-of-to-while",
        "function halvedAbove(arr, min) {\n  const out = [];\n  let n = 0;\n  while (n < arr.length) {\n    const a = arr[n];\n    if (a > min) {\n      out.push(Math.floor(a / 2));\n    }\n    n++;\n  }\n  return out;\n}\n",
      ],
      [
        "negated-if",
        "function halvedAbove(arr, min) {\n  const out = [];\n  for (const a of arr) {\n    if (!(a > min)) {\n      continue;\n    }\n    out.push(Math.floor(a / 2));\n  }\n  return out;\n}\n",
      ],
    ],
    breaks: [
      ["flip-comparison", "a > min", "a < min"],
      ["off-by-one", "a / 2", "a / 3"],
      ["wrong-operator", "a / 2", "a * 2"],
      ["swapped-operands", "a > min", "min > a"],
    ],
  },
  {
    lang: "javascript",
    name: "lastEven",
    base: "function lastEven(nums) {\n  for (let i = nums.length - 1; i >= 0; i--) {\n    if (nums[i] % 2 === 0) {\n      return nums[i];\n    }\n  }\n  return null;\n}\n",
    rewrites: [
      [
        "single-exit",
        "function lastEven(nums) {\n  let hit = null;\n  for (let i = nums.length - 1; i >= 0; i--) {\n    if (nums[i] % 2 === 0) {\n      hit = nums[i];\n      break;\n    }\n  }\n  return hit;\n}\n",
      ],
      [
        "for-to-while",
        "function lastEven(nums) {\n  let i = nums.length - 1;\n  while (i >= 0) {\n    if (nums[i] % 2 === 0) {\n      return nums[i];\n    }\n    i--;\n  }\n  return null;\n}\n",
      ],
    ],
    breaks: [
      ["flip-comparison", "nums[i] % 2 === 0", "nums[i] % 2 !== 0"],
      ["off-by-one", "nums.length - 1", "nums.length - 2"],
      ["wrong-operator", "nums.length - 1", "nums.length + 1"],
      ["wrong-constant", "return null", "return 0"],
    ],
  },
];

const dfg = (a: string, b: string, lang: LangId) => similarity("dfg", a, b, lang);

for (const c of CASES) {
  test(`graph metric (${c.lang} ${c.name}): every structural rewrite scores above every one-token break`, () => {
    const rw = c.rewrites.map(([k, v]) => [k, dfg(c.base, v, c.lang).score] as const);
    const br = c.breaks.map(([k, from, to]) => {
      assert.ok(c.base.includes(from), `${c.name} ${k}: "${from}" not in the base`);
      const v = c.base.replace(from, to);
      const r = dfg(c.base, v, c.lang);
      // a one-token break is a point mutation of one operation in an intact graph
      assert.ok((r.components.semanticEdits as number) >= 1, `${c.name} ${k}: no semantic edit seen`);
      return [k, r.score] as const;
    });
    for (const [rk, rs] of rw)
      for (const [bk, bs] of br)
        assert.ok(rs > bs, `${c.lang} ${c.name}: ${rk} ${rs.toFixed(3)} <= ${bk} ${bs.toFixed(3)}`);
  });
}

test("semantic edits: a renamed copy has none; one flipped operator is one edit whatever the function's size", () => {
  const small = "def f(a, b):\n    return a - b\n";
  const big =
    "def f(a, b):\n    s = 0\n    for i in range(a):\n        s += i * i\n        if s > 100:\n            s = s // 2\n    return s - b\n";
  for (const code of [small, big]) {
    const renamed = code.replace(/\bs\b/g, "acc").replace(/\bb\b/g, "bb");
    const same = dfg(code, renamed, "python");
    assert.equal(same.score, 1);
    assert.equal(same.components.semanticEdits, 0);
    const broken = dfg(
      code,
      code.replace("return a - b", "return a + b").replace("return s - b", "return s + b"),
      "python",
    );
    assert.equal(broken.components.semanticEdits, 1);
    // the drop does not shrink with the size of the graph: structural x SEMANTIC_EDIT_FACTOR
    const expected = SEMANTIC_EDIT_FACTOR * (broken.components.structural as number);
    assert.ok(Math.abs(broken.score - expected) < 1e-12);
    assert.ok(broken.score < 0.5 * same.score);
  }
  // swapped operands of a non-commutative operator: the same edges with other roles
  const sw = dfg("def f(a, b):\n    return a * 3 - b\n", "def f(a, b):\n    return b - a * 3\n", "python");
  assert.equal(sw.components.semanticEdits, 1);
  assert.equal(dfg(small, "def f(a, b):\n    return b - a\n", "python").components.semanticEdits, 1);
  // the factor is an option; 1 gives the plain edit-distance similarity
  const g1 = buildPdg("python", parseCode("python", small).tree.rootNode);
  const g2 = buildPdg("python", parseCode("python", "def f(a, b):\n    return a + b\n").tree.rootNode);
  const plain = graphEditSimilarity(g1, g2, { semanticEditFactor: 1 });
  assert.equal(plain.similarity, plain.structural);
  assert.ok(plain.structural > 0.8 && plain.semanticEdits === 1);
});

test("semantic edits: a decoy appended to the candidate does not hide a flipped comparison", () => {
  const base =
    "function f(xs, lim) {\n  let n = 0;\n  for (const x of xs) {\n    if (x.v < lim) {\n      n += x.v * 2;\n    }\n  }\n  return n;\n}\n";
  const flipped = base.replace("x.v < lim", "x.v > lim");
  const decoy = "\nfunction g(a) {\n  let z = a * 3;\n  while (z > 0) { z -= 1; }\n  return z < a;\n}\n";
  const alone = dfg(base, flipped, "javascript");
  const padded = dfg(base, flipped + decoy, "javascript");
  // `x.v > lim` is folded into `x.v <= lim` with swapped arms: another operator and swapped arms
  assert.equal(alone.components.semanticEdits, 2);
  assert.equal(padded.components.semanticEdits, 2);
  assert.ok(padded.score < alone.score, `${padded.score} vs ${alone.score}`);
});

test("semantic edits: a dead string statement that changes is not one; an unrelated function gets no bonus", () => {
  const a = 'def f(x):\n    "note one"\n    return x + 1\n';
  const b = 'def f(x):\n    "note two, longer"\n    return x + 1\n';
  assert.equal(dfg(a, b, "python").components.semanticEdits, 0);
  const other =
    "def f(x):\n    out = []\n    for c in str(x):\n        out.append(c.upper())\n    return ''.join(out)\n";
  assert.ok(dfg(a, other, "python").score < 0.5);
});
