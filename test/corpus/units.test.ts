import { test } from "node:test";
import assert from "node:assert/strict";
import { lex, abstractTokens, words } from "../../src/corpus/lexer.js";
import { HashSet52, MinHasher, NearDupIndex, estimateJaccard, jaccard, shingles } from "../../src/corpus/dedup.js";
import { isIgnored, parseGitignore } from "../../src/corpus/gitignore.js";
import { ngramHashes, hashSeq52 } from "../../src/corpus/hash.js";
import {
  contentDropReason,
  isBinary,
  isTrivialBody,
  pathDropReason,
  isTestFunctionName,
} from "../../src/corpus/filters.js";

test("lexer drops comments and docstrings, keeps literals, normalises quotes", () => {
  const py = lex("python", 'def f(a):\n    """Doc."""\n    # note\n    s = \'x\' + "y"  # tail\n    return a ** 2\n');
  assert.deepEqual(py.tokens, ["def", "f", "(", "a", ")", ":", "s", "=", '"x"', "+", '"y"', "return", "a", "**", "2"]);
  const go = lex("go", "// c\nfunc F(x int) int { /* b */ return x << 1 }\n");
  assert.deepEqual(go.tokens, ["func", "F", "(", "x", "int", ")", "int", "{", "return", "x", "<<", "1", "}"]);
  const rb = lex("ruby", "=begin\nblock\n=end\ndef ok?(x) # c\n  @v = x\nend\n");
  assert.deepEqual(rb.tokens, ["def", "ok?", "(", "x", ")", "@v", "=", "x", "end"]);
  // never throws, even on unterminated strings and comments
  assert.ok(lex("python", 'x = """never closed').tokens.length >= 2);
  assert.ok(lex("go", "/* never closed").tokens.length === 0);
});

test("abstracted tokens are invariant under renaming but keep builtins and attributes", () => {
  const a = abstractTokens(lex("python", "def total(xs):\n    return sum(x.value for x in xs)\n"));
  const b = abstractTokens(lex("python", "def acc(items):\n  return sum( i.value  for i in items )"));
  assert.deepEqual(a, b);
  assert.ok(a.includes("sum") && a.includes("value"));
  assert.deepEqual(words("Return the N-th value, or None."), ["return", "the", "n", "th", "value", "or", "none"]);
});

test("rolling n-gram hashes equal hashing each window", () => {
  const ids = Uint32Array.from({ length: 40 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0);
  const hs = ngramHashes(ids, 13);
  assert.equal(hs.length, 28);
  for (let i = 0; i < hs.length; i++) assert.equal(hs[i], ngramHashes(ids.slice(i, i + 13), 13)[0]);
  assert.equal(new Set(hs).size, hs.length);
  assert.notEqual(hashSeq52([1, 2, 3]), hashSeq52([3, 2, 1]));
});

test("MinHash estimates Jaccard similarity", () => {
  const mh = new MinHasher(256, 7);
  const base = Array.from({ length: 300 }, (_, i) => `t${i}`);
  for (const keep of [300, 240, 150]) {
    const other = base.slice(0, keep).concat(Array.from({ length: 300 - keep }, (_, i) => `u${i}`));
    const sa = shingles(base, 1);
    const sb = shingles(other, 1);
    const truth = jaccard(sa, sb);
    const est = estimateJaccard(mh.signature(sa), mh.signature(sb));
    assert.ok(Math.abs(est - truth) < 0.08, `keep ${keep}: est ${est} vs ${truth}`);
  }
});

test("near-duplicates collapse to the first; distinct functions survive", () => {
  const idx = new NearDupIndex({ threshold: 0.85, numPerm: 128, bands: 16, shingle: 5 });
  const fn = (k: number, c: number): string[] =>
    lex(
      "python",
      `def f${k}(xs, limit=${c}):\n` +
        Array.from({ length: 30 }, (_, i) => `    y${i} = xs[${i}] * ${i + k} + limit`).join("\n"),
    ).tokens;
  assert.equal(idx.check(fn(1, 10)).dupOf, -1);
  assert.equal(idx.check(fn(1, 11)).dupOf, 0, "one constant changed: near duplicate");
  let distinct = 0;
  for (let k = 2; k < 40; k++) if (idx.check(fn(k * 1000, 10)).dupOf === -1) distinct++;
  assert.equal(distinct, 38, "functions with different constants throughout stay distinct");
  assert.ok(idx.candidateProbability(0.9) > 0.99 && idx.candidateProbability(0.5) < 0.1);
  const set = new HashSet52(4);
  for (let i = 0; i < 5000; i++) assert.equal(set.add(i * 2 ** 30 + 7), true);
  assert.equal(set.add(7), false);
  assert.equal(set.size, 5000);
});

test(".gitignore rules: globs, anchoring, directories, negation, nesting", () => {
  const rules = [
    ...parseGitignore("# c\n*.log\n/build/\ndocs/**/*.tmp\n!keep.log\nnode_modules\n", ""),
    ...parseGitignore("*.py\n!main.py\n", "sub"),
  ];
  assert.equal(isIgnored(rules, "a.log", false), true);
  assert.equal(isIgnored(rules, "deep/x/a.log", false), true);
  assert.equal(isIgnored(rules, "keep.log", false), false);
  assert.equal(isIgnored(rules, "build", true), true);
  assert.equal(isIgnored(rules, "src/build", true), false, "anchored to the root");
  assert.equal(isIgnored(rules, "build", false), false, "dir-only rule");
  assert.equal(isIgnored(rules, "docs/a/b/c.tmp", false), true);
  assert.equal(isIgnored(rules, "docs/c.tmp", false), true);
  assert.equal(isIgnored(rules, "x/node_modules", true), true);
  assert.equal(isIgnored(rules, "sub/a.py", false), true);
  assert.equal(isIgnored(rules, "sub/main.py", false), false);
  assert.equal(isIgnored(rules, "other/a.py", false), false);
});

test("file and function filters", () => {
  assert.equal(pathDropReason("a/vendor/x.go", true), "vendored");
  assert.equal(pathDropReason("Cargo.lock", true), "lockfile");
  assert.equal(pathDropReason("Lib/test/test_os.py", true), "test-file");
  assert.equal(pathDropReason("idlelib/idle_test/x.py", true), "test-file");
  assert.equal(pathDropReason("strings/strings_test.go", true), "test-file");
  assert.equal(pathDropReason("strings/strings_test.go", false), null);
  assert.equal(pathDropReason("json/decoder.py", true), null);
  assert.equal(isBinary(Buffer.from("abc\x00def")), true);
  assert.equal(isBinary(Buffer.from("plain text\n")), false);
  assert.equal(contentDropReason("// Code generated by stringer; DO NOT EDIT.\npackage x\n", 1000), "generated");
  assert.equal(contentDropReason("x = 1\n" + "y".repeat(2000) + "\n", 1000), "minified");
  assert.equal(contentDropReason("def f():\n    return 1\n", 1000), null);
  assert.equal(isTrivialBody("python", "def f(self):\n    pass", "def f(self):"), true);
  assert.equal(isTrivialBody("python", "def x(self):\n    return self._x", "def x(self):"), true);
  assert.equal(isTrivialBody("go", "func (b *B) Len() int {\n\treturn b.n\n}", "func (b *B) Len() int"), true);
  assert.equal(isTrivialBody("python", "def f(a):\n    b = a * 2\n    return b + 1", "def f(a):"), false);
  assert.equal(isTestFunctionName("test_parse"), true);
  assert.equal(isTestFunctionName("TestParse"), true);
  assert.equal(isTestFunctionName("testament"), false);
  assert.equal(isTestFunctionName("BenchmarkSort"), true);
  assert.equal(isTestFunctionName("parse_test_data"), false);
});
