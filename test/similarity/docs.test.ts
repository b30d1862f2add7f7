import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage } from "../../src/lang/index.js";
import { canonicalizeDoc, validateDoc, DOC_FORMAT_SPEC } from "../../src/similarity/docformat.js";
import { detectLeak } from "../../src/similarity/leak.js";

before(async () => {
  await loadLanguage("python");
  await loadLanguage("go");
  await loadLanguage("javascript");
});

test("the spec's own example is valid; common breakages are named", () => {
  const example = DOC_FORMAT_SPEC.split("Example:\n")[1]!;
  assert.deepEqual(validateDoc(example), { valid: true, violations: [] });
  const bad = (t: string, re: RegExp) => {
    const r = validateDoc(t);
    assert.equal(r.valid, false, t);
    assert.ok(
      r.violations.some((v) => re.test(v)),
      `${JSON.stringify(t)}: ${r.violations.join(" | ")}`,
    );
  };
  bad("", /empty/);
  bad("adds numbers", /period/);
  bad("Add two numbers.\nMore text on line two.", /line 2 must be blank/);
  bad("Add two numbers.\n\nParameters:\na: first", /indented by two spaces/);
  bad("Add two numbers.\n\nReturns:\n  the sum\n\nParameters:\n  a: first", /out of order/);
  bad("Add two numbers.\n\nParameters:\n  a: x\n\nParameters:\n  b: y", /twice/);
  bad("Add two numbers.\n\nArgs:\n  a: first", /unknown section 'Args:'/);
  bad("Add two numbers.\n\n@param a first", /@tag/);
  bad("Add two numbers.\n\n```\nreturn a + b\n```", /code fence/);
  bad("Add two numbers using `sum`.", /backticks/);
  bad("Add two numbers.\n\nParameters:", /empty/);
  bad("Parameters:\n  a: x", /summary line is missing/);
  bad("X".repeat(200) + ".", /too long/);
  bad("Add two numbers.\n" + "\nmore".repeat(50), /too long/);
  const p = validateDoc("Add two numbers.\n\nParameters:\n  a: first\n  zz: nothing", { params: ["a", "b"] });
  assert.ok(p.violations.some((v) => /'zz'/.test(v)));
});

test("canonicalizeDoc: Google, NumPy, reST, JSDoc, Go, Ruby/YARD, Rust styles become valid plain text", () => {
  const cases: Array<[string, string, RegExp[]]> = [
    [
      "google",
      "Fetch rows.\n\n    Rows are read lazily.\n\n    Args:\n        table (Table): An open table.\n        keys (list[str]): Keys to fetch,\n            one per row.\n\n    Returns:\n        dict: Rows by key.\n\n    Raises:\n        IOError: On failure.\n    ",
      [
        /^Fetch rows\.\n\nRows are read lazily\.\n\nParameters:\n {2}table: An open table\.\n {2}keys: Keys to fetch, one per row\.\n\nReturns:\n {2}Rows by key\.\n\nRaises:\n {2}IOError: On failure\.$/,
      ],
    ],
    [
      "numpy",
      "Compute the mean.\n\n    Parameters\n    ----------\n    a : array_like\n        Input values.\n\n    Returns\n    -------\n    m : ndarray\n        The mean.\n\n    Examples\n    --------\n    >>> mean([1, 2])\n    1.5\n",
      [
        /Parameters:\n {2}a: Input values\./,
        /Returns:\n {2}The mean\./,
        /Examples:\n {2}>>> mean\(\[1, 2\]\)\n {2}1\.5/,
      ],
    ],
    [
      "rest",
      "Send a message.\n\n:param str sender: who sends\n:type sender: str\n:returns: the id\n:raises ValueError: if too long\n",
      [/Parameters:\n {2}sender: who sends\n\nReturns:\n {2}the id\n\nRaises:\n {2}ValueError: if too long/],
    ],
    [
      "jsdoc",
      "/**\n * Add two numbers, see {@link Math}.\n * @param {number} a - first\n * @param {number} b second\n * @returns {number} the `sum`\n */",
      [/^Add two numbers, see Math\.\n\nParameters:\n {2}a: first\n {2}b: second\n\nReturns:\n {2}the sum$/],
    ],
    ["go", "// Add adds two numbers.\n// It returns the sum.", [/^Add adds two numbers\.\n\nIt returns the sum\.$/]],
    [
      "yard",
      "# Greets a person by **name**.\n# @param name [String] who to greet\n# @return [String] the greeting",
      [/^Greets a person by name\.\n\nParameters:\n {2}name: who to greet\n\nReturns:\n {2}the greeting$/],
    ],
    [
      "rust",
      "/// Parses a header line.\n///\n/// # Arguments\n///\n/// * `line` - the raw line\n///\n/// # Panics\n///\n/// Panics when empty.",
      [/Parameters:\n {2}line: the raw line\n\nNotes:\n {2}Panics when empty\./],
    ],
    ["plain lower-case, no period", "return the largest element", [/^Return the largest element\.$/]],
  ];
  for (const [name, raw, res] of cases) {
    const out = canonicalizeDoc(raw);
    assert.ok(out, `${name}: null`);
    for (const re of res) assert.match(out, re, `${name}:\n${out}`);
    assert.deepEqual(validateDoc(out).violations, [], `${name}:\n${out}`);
  }
});

test("canonicalizeDoc: HumanEval-style prose with colons, 'For example:' and comparisons stays valid", () => {
  const raw = `Return True if a < b and b > c for every triple.

    It must be implemented like this:
    For example:
    >>> check([1, 2, 3])
    True
    `;
  const out = canonicalizeDoc(raw);
  assert.ok(out);
  assert.deepEqual(validateDoc(out).violations, [], out);
  assert.match(
    out,
    /^Return True if a < b and b > c for every triple\.\n\nIt must be implemented like this:\n\nExamples:\n {2}>>> check\(\[1, 2, 3\]\)\n {2}True$/,
  );
  // <b>bold</b> markup is removed, prose comparisons are not markup
  assert.equal(canonicalizeDoc("Compute <b>fast</b> sums."), "Compute fast sums.");
  assert.deepEqual(validateDoc("Return x when a<b and c>d.").violations, []);
});

test("canonicalizeDoc: placeholders and empty docs give null; self and unknown params are dropped; signature lines removed", () => {
  for (const raw of ["", "   ", "# TODO", '"""FIXME"""', "/** @param a x */", "Constructor."])
    assert.equal(canonicalizeDoc(raw), null, raw);
  const out = canonicalizeDoc("Do the thing.\n\nArgs:\n    self: me\n    x: thing\n    ghost: not a param\n", {
    params: ["self", "x"],
  });
  assert.equal(out, "Do the thing.\n\nParameters:\n  x: thing");
  assert.equal(canonicalizeDoc("    add(a, b)\n\nAdd two numbers.", { name: "add" }), "Add two numbers.");
  // operator method names (Ruby `+`, `<=>`, `[]`) are not regular expressions
  for (const name of ["+", "<=>", "[]", "a.b*"])
    assert.equal(canonicalizeDoc("# Combine two paths.", { name }), "Combine two paths.");
});

const CODE = `def moving_average(values, window):
    if window <= 0:
        raise ValueError("window must be positive")
    out = []
    acc = 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        if i >= window - 1:
            out.append(acc / window)
    return out
`;

test("leak detector: pasted code, a fenced body and line-by-line copies are caught", () => {
  const pasted = `Compute a moving average.\n\n${CODE}`;
  const a = detectLeak(pasted, CODE, "python");
  assert.equal(a.leaked, true);
  assert.ok(a.fraction > 0.9, String(a.fraction));
  const fenced =
    "Moving average.\n\n```python\n    for i, v in enumerate(values):\n        acc += v\n        if i >= window:\n            acc -= values[i - window]\n```\n";
  const b = detectLeak(fenced, CODE, "python");
  assert.equal(b.leaked, true);
  assert.ok(b.codeBlocks >= 1 && b.reasons.length > 0);
  const lines =
    "Steps: for i, v in enumerate(values): then acc += v then acc -= values[i - window] then out.append(acc / window) and return out";
  const c = detectLeak(lines, CODE, "python");
  assert.equal(c.leaked, true, JSON.stringify(c));
  assert.ok(c.fraction >= 0.25);
});

test("leak detector: code pasted with renamed variables is caught by the identifier-abstracted runs", () => {
  const renamed = `Compute a moving average.

Implementation:
if w <= 0: raise ValueError("bad")
res = []
s = 0.0
for k, x in enumerate(xs):
    s += x
    if k >= w:
        s -= xs[k - w]
    if k >= w - 1:
        res.append(s / w)
return res`;
  const r = detectLeak(renamed, CODE, "python");
  assert.equal(r.leaked, true, JSON.stringify(r));
  assert.ok(r.shapeFraction > 0.5 && r.tokenFraction < r.shapeFraction, JSON.stringify(r));
  assert.ok(r.reasons.some((x) => /names or literals changed/.test(x)));
});

test("leak detector: honest prose passes, with a small fraction", () => {
  const honest = `Compute the moving average of a sequence.

Each output element is the mean of the last window values; the first window - 1 positions produce no output.

Parameters:
  values: the input numbers
  window: how many values each average covers

Returns:
  a list with one average per full window

Raises:
  ValueError: when window is not positive

Examples:
  moving_average([1, 2, 3, 4], 2) -> [1.5, 2.5, 3.5]`;
  const r = detectLeak(honest, CODE, "python");
  assert.equal(r.leaked, false, JSON.stringify(r));
  assert.ok(r.fraction < 0.1, String(r.fraction));
  // copying the code's comments is not a code leak
  const withComment = "def f(a):\n    # add one to the value and return it quickly please\n    return a + 1\n";
  assert.equal(detectLeak("Add one to the value and return it quickly please.", withComment, "python").leaked, false);
  assert.equal(detectLeak("", CODE, "python").leaked, false);
  // naming the function and its parameters (a signature line, as Julia and Python docs do) is not a leak
  const sig = detectLeak("moving_average(values, window)\n\nCompute a moving average of values.", CODE, "python");
  assert.equal(sig.leaked, false);
  assert.equal(sig.fraction, 0);
  const short = "def add(a, b):\n    return a + b\n";
  assert.equal(detectLeak("add(a, b)\n\nAdd two numbers.", short, "python").leaked, false);
  assert.equal(detectLeak("Add two numbers.\n\nIt does: return a + b", short, "python").leaked, true);
  assert.equal(detectLeak("Some doc.", "", "python").fraction, 0);
});

test("leak detector works for other languages (Go, JavaScript)", () => {
  const go =
    "func Sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n";
  assert.equal(detectLeak("Sum returns the total of xs.", go, "go").leaked, false);
  assert.equal(detectLeak("Sum: total := 0; for _, x := range xs { total += x }; return total", go, "go").leaked, true);
  const js =
    "function pick(o, keys) {\n  const out = {};\n  for (const k of keys) if (k in o) out[k] = o[k];\n  return out;\n}\n";
  assert.equal(detectLeak("Return a copy of o with only the given keys.", js, "javascript").leaked, false);
  assert.equal(detectLeak("Loop: for (const k of keys) if (k in o) out[k] = o[k];", js, "javascript").leaked, true);
});
