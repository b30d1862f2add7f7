/**
 * Writing documentation in every language's convention (src/lang/docwrite.ts): on the 20 fixture files, each
 * undocumented function gets documentation, the file still parses (no new syntax errors), the language's
 * extractor reads the new documentation back as that function's doc, existing docs are byte-identical, and a
 * second pass finds nothing left to document. Plus: CRLF files stay CRLF, tags per convention, escaping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  LANG_IDS,
  LANGUAGES,
  applyDocs,
  detectLanguage,
  docTargets,
  extractFunctions,
  loadLanguage,
  parseCode,
  renderDoc,
} from "../../src/lang/index.js";

const FIX = path.resolve("test/fixtures/lang");
const DOC =
  "Combine the inputs into one value.\n\nParameters:\n  a: the first input\n  b: the second input\n\nReturns:\n  the combined value";

test("every fixture language: documented in its convention, still parses, read back as documentation, idempotent", async () => {
  const seen = new Set<string>();
  for (const f of fs.readdirSync(FIX).filter((n) => n !== "README.md")) {
    const lang = detectLanguage(f)!;
    assert.ok(lang, f);
    seen.add(lang);
    await loadLanguage(lang);
    const src = fs.readFileSync(path.join(FIX, f), "utf8");
    const targets = docTargets(lang, src);
    const todo = targets.filter((t) => !t.documented && !t.skip);
    const before = extractFunctions(lang, src).functions.filter((fn) => fn.doc);
    const res = applyDocs(
      lang,
      src,
      todo.map((target) => ({ target, doc: DOC })),
    );
    assert.ok(res.ok, `${f}: ${res.errorsAfter} syntax errors after, ${res.errorsBefore} before\n${res.text}`);
    assert.equal(parseCode(lang, res.text).errors.length <= parseCode(lang, src).errors.length, true);
    const after = extractFunctions(lang, res.text).functions;
    for (const t of todo) {
      const fn = after.find((x) => x.name === t.fn.name && x.nested === t.fn.nested);
      assert.ok(fn?.doc, `${f}: ${t.fn.name} has no documentation after writing it:\n${res.text}`);
      assert.match(fn.doc, /Combine the inputs into one value/, `${f}: ${t.fn.name}`);
    }
    for (const b of before)
      assert.equal(after.find((x) => x.name === b.name)?.doc, b.doc, `${f}: existing doc of ${b.name} changed`);
    const again = docTargets(lang, res.text).filter(
      (t) => !t.documented && !t.skip && todo.some((x) => x.fn.name === t.fn.name),
    );
    assert.deepEqual(
      again.map((t) => t.fn.name),
      [],
      `${f}: still undocumented after writing`,
    );
  }
  assert.equal(seen.size, 20);
  for (const l of LANG_IDS)
    assert.ok(LANGUAGES[l].docConvention, `${l} has a documentation convention in the registry`);
});

test("conventions: Python docstring inside the body, Go name-first, JSDoc/YARD/LDoc tags, YARD only where the file uses it", async () => {
  for (const l of ["python", "go", "ruby", "lua", "javascript"] as const) await loadLanguage(l);
  const py = "def f(a, b):\n    return a + b\n";
  const [t] = docTargets("python", py);
  const out = applyDocs("python", py, [{ target: t!, doc: DOC }]).text;
  assert.ok(
    out.startsWith(
      'def f(a, b):\n    """Combine the inputs into one value.\n\n    Parameters:\n      a: the first input\n',
    ),
    out,
  );
  assert.equal(
    renderDoc("go", "Compute the total.", { name: "Total", indent: "", eol: "\n" }),
    "// Total computes the total.\n",
  );
  const js = renderDoc("javascript", DOC, { name: "f", indent: "  ", eol: "\n" });
  assert.match(js, /^ {2}\/\*\*\n {3}\* Combine/);
  assert.match(
    js,
    /\* @param a the first input\n {3}\* @param b the second input\n {3}\* @returns the combined value\n {3}\*\/\n$/,
  );
  const yardFile = "# @param x [Integer] y\ndef g(x)\nend\n";
  assert.match(
    renderDoc("ruby", DOC, { name: "f", indent: "", eol: "\n", fileText: yardFile }),
    /# @param a the first input\n# @param b the second input\n# @return the combined value\n$/,
  );
  assert.match(
    renderDoc("ruby", DOC, { name: "f", indent: "", eol: "\n", fileText: "def g(x)\nend\n" }),
    /# Parameters:\n# {3}a: the first input/,
  );
  assert.match(
    renderDoc("lua", DOC, { name: "f", indent: "", eol: "\n" }),
    /^--- Combine the inputs into one value\.\n--\n-- @param a the first input\n/,
  );
  // closing markers inside the text cannot end the comment or the string early
  assert.doesNotMatch(
    renderDoc("javascript", "Ends with */ here.", { name: "f", indent: "", eol: "\n" }).slice(3, -4),
    /\*\//,
  );
  const tricky = applyDocs("python", py, [{ target: t!, doc: 'Quote """ and a backslash \\n here.' }]);
  assert.ok(tricky.ok, tricky.text);
});

test("CRLF files stay CRLF; tabs are kept; a one-line Python body is skipped", async () => {
  await loadLanguage("go");
  await loadLanguage("python");
  const go = "package p\r\n\r\nfunc Add(a, b int) int {\r\n\treturn a + b\r\n}\r\n";
  const [t] = docTargets("go", go);
  const out = applyDocs("go", go, [{ target: t!, doc: "Sum the numbers.\n\nReturns:\n  the sum" }]).text;
  assert.equal(out.replace(/\r\n/g, "").includes("\n"), false, JSON.stringify(out));
  assert.ok(
    out.includes("// Add sums the numbers.\r\n//\r\n// Returns:\r\n//   the sum\r\nfunc Add"),
    JSON.stringify(out),
  );
  const nested = "class A:\n\tdef m(self):\n\t\treturn 1\n\ndef one(x): return x\n";
  const ts = docTargets("python", nested);
  assert.equal(ts.find((x) => x.fn.name === "m")!.indent, "\t\t");
  assert.match(ts.find((x) => x.fn.name === "one")!.skip ?? "", /definition line/);
});
