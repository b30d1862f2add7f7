// The generated TinyStories-style slice: deterministic, three languages, natural documentation, parseable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateTinyFunctions } from "../../src/corpus/tinyfuncs.js";
import { extractFunctions, loadLanguage } from "../../src/lang/index.js";

test("generateTinyFunctions: deterministic for a seed, varied, every file parses to one documented function", async () => {
  const a = generateTinyFunctions({ seed: 3, perLang: 30 });
  assert.deepEqual(a, generateTinyFunctions({ seed: 3, perLang: 30 }));
  assert.notDeepEqual(a, generateTinyFunctions({ seed: 4, perLang: 30 }));
  assert.equal(a.length, 90);
  for (const lang of ["python", "ruby", "go"] as const) {
    await loadLanguage(lang);
    const files = a.filter((f) => f.lang === lang);
    assert.equal(files.length, 30);
    assert.ok(new Set(files.map((f) => f.path)).size === 30, "distinct file names");
    for (const f of files) {
      const fns = extractFunctions(lang, f.content).functions;
      assert.equal(fns.length, 1, `${f.path}: ${f.content}`);
      assert.ok(fns[0]!.doc && fns[0]!.doc.length > 10, `${f.path} has documentation`);
    }
  }
});
