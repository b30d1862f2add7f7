import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  LANGUAGES,
  LANG_IDS,
  codeTokens,
  detectLanguage,
  extractFunctions,
  loadAllLanguages,
  normalizeWhitespace,
  parseCode,
  resolveLangId,
  stripComments,
  type LangId,
} from "../../src/lang/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const FIX = path.join(ROOT, "test/fixtures/lang");

const SAMPLES: Record<LangId, string> = {
  python: "sample.py",
  javascript: "sample.js",
  typescript: "sample.ts",
  java: "Sample.java",
  go: "sample.go",
  rust: "sample.rs",
  c: "sample.c",
  cpp: "sample.cpp",
  ruby: "sample.rb",
  lua: "sample.lua",
  julia: "sample.jl",
  ocaml: "sample.ml",
  haskell: "sample.hs",
  elixir: "sample.ex",
  r: "sample.R",
  bash: "sample.sh",
  php: "sample.php",
  scala: "sample.scala",
  kotlin: "sample.kt",
  swift: "sample.swift",
};

before(async () => {
  await loadAllLanguages();
});

test("registry covers the 20 languages, each with keywords, comment node types and a grammar", () => {
  assert.equal(LANG_IDS.length, 20);
  for (const id of LANG_IDS) {
    const s = LANGUAGES[id];
    assert.equal(s.id, id);
    assert.ok(s.extensions.length > 0, id);
    assert.ok(s.keywords.length >= 10, id);
    assert.ok(s.commentNodeTypes.length > 0, id);
    assert.ok(s.functionNodeTypes.length > 0, id);
  }
});

for (const lang of Object.keys(SAMPLES) as LangId[]) {
  test(`parse sample: ${lang}`, () => {
    const file = SAMPLES[lang];
    const src = fs.readFileSync(path.join(FIX, file), "utf8");
    assert.equal(detectLanguage(file, src.split("\n")[0]), lang);
    const pr = parseCode(lang, src);
    assert.equal(pr.hasErrors, false, JSON.stringify(pr.errors));
    assert.ok(pr.tree.rootNode.children.length > 0);
    const toks = codeTokens(lang, src);
    assert.ok(toks.includes("add") || toks.includes("Add"), `${lang} tokens: ${toks.slice(0, 20).join(" ")}`);
    assert.ok(!toks.some((t) => /plain comment/.test(t)), "comments are not code tokens");
    const { functions } = extractFunctions(lang, src);
    const add = functions.find((f) => f.name.toLowerCase() === "add");
    assert.ok(add, `${lang}: found ${functions.map((f) => f.name).join(",")}`);
    assert.match(add.doc ?? "", /Add (two numbers|adds two numbers)/);
    assert.ok(!/plain comment/.test(add.codeStripped), add.codeStripped);
    assert.ok(!/two numbers/.test(add.codeStripped), add.codeStripped);
    assert.match(add.code, /two numbers/);
    if (lang !== "bash") assert.ok(add.params.length === 2, `${lang} params ${JSON.stringify(add.params)}`);
    assert.equal(add.hasErrors, false);
    const greet = functions.find((f) => f.name.toLowerCase() === "greet");
    assert.ok(greet, `${lang}: no greet`);
  });
}

test("function extraction, Python: methods, classes, params, docstring separated from code", () => {
  const src = fs.readFileSync(path.join(FIX, "sample.py"), "utf8");
  const { functions } = extractFunctions("python", src);
  assert.deepEqual(
    functions.map((f) => [f.name, f.kind, f.className]),
    [
      ["add", "function", null],
      ["greet", "method", "Greeter"],
    ],
  );
  const [add, greet] = functions as [(typeof functions)[0], (typeof functions)[0]];
  assert.deepEqual(add.params, ["a", "b"]);
  assert.equal(add.signature, "def add(a, b=2):");
  assert.equal(add.doc, "Add two numbers.\n\nReturns the sum.");
  assert.equal(add.codeStripped, "def add(a, b=2):\n    return a + b");
  assert.equal(add.startLine, 4);
  assert.equal(add.endLine, 10);
  assert.equal(src.slice(add.startByte, add.endByte), add.code);
  assert.deepEqual(greet.params, ["self", "name"]);
  // methods are dedented so they parse on their own
  assert.ok(greet.code.startsWith("def greet"));
  assert.equal(parseCode("python", greet.code).hasErrors, false);
});

test("function extraction, JavaScript/Go/Java/Ruby/Rust: classes and receivers", () => {
  const get = (lang: LangId) =>
    extractFunctions(lang, fs.readFileSync(path.join(FIX, SAMPLES[lang]), "utf8")).functions.map(
      (f) => `${f.kind}:${f.className ?? "-"}:${f.name}(${f.params.join(",")})`,
    );
  assert.deepEqual(get("javascript"), ["function:-:add(a,b)", "function:-:mul(x,y)", "method:Greeter:greet(name)"]);
  assert.deepEqual(get("go"), ["function:-:Add(a,b)", "method:Greeter:Greet(name)"]);
  assert.deepEqual(get("java"), ["method:Sample:add(a,b)", "method:Sample:greet(name)"]);
  assert.deepEqual(get("ruby"), ["function:-:add(a,b)", "method:Greeter:greet(name)"]);
  assert.deepEqual(get("rust"), ["function:-:add(a,b)", "method:Greeter:greet(self,name)"]);
  assert.deepEqual(get("cpp"), ["function:-:add(a,b)", "method:Greeter:greet(name)"]);
  assert.deepEqual(get("lua"), ["function:-:add(a,b)", "method:Greeter:greet(name)"]);
});

test("nested functions are flagged and not methods", () => {
  const src = "class A:\n    def m(self):\n        def inner(x):\n            return x\n        return inner(1)\n";
  const fns = extractFunctions("python", src).functions;
  assert.deepEqual(
    fns.map((f) => [f.name, f.kind, f.className, f.nested]),
    [
      ["m", "method", "A", false],
      ["inner", "function", null, true],
    ],
  );
});

test("leading comments separated by a blank line, and licence headers, are not docs", () => {
  const src = "// Copyright 2020 Someone\n// Licensed under MIT\n\n// unrelated\n\nfunction f(a) { return a; }\n";
  const [f] = extractFunctions("javascript", src).functions;
  assert.equal(f!.doc, null);
  assert.equal(f!.startLine, 6);
});

test("detectLanguage: extensions, file names, shebangs, unknown", () => {
  assert.equal(detectLanguage("a/b/x.PY"), "python");
  assert.equal(detectLanguage("x.h"), "c");
  assert.equal(detectLanguage("x.hpp"), "cpp");
  assert.equal(detectLanguage("x.tsx"), "typescript");
  assert.equal(detectLanguage("Rakefile"), "ruby");
  assert.equal(detectLanguage("script", "#!/usr/bin/env python3"), "python");
  assert.equal(detectLanguage("script", "#!/usr/bin/env -S node --no-warnings"), "javascript");
  assert.equal(detectLanguage("run", "#!/bin/bash -e"), "bash");
  assert.equal(detectLanguage("notes.txt", "hello"), null);
  assert.equal(detectLanguage("Makefile"), null);
  assert.equal(resolveLangId("golang"), "go");
  assert.equal(resolveLangId("C++"), "cpp");
  assert.equal(resolveLangId("cobol"), null);
});

test("parseCode reports syntax errors with positions and never throws; partial trees still yield functions", () => {
  const src = "def ok(a):\n    return a\n\ndef broken(x:\n    return x +\n";
  const pr = parseCode("python", src);
  assert.equal(pr.hasErrors, true);
  assert.ok(pr.errors.length > 0);
  assert.ok(pr.errors.every((e) => e.line >= 1 && e.col >= 1 && e.message.length > 0));
  assert.ok(
    pr.errors.some((e) => e.line >= 4),
    JSON.stringify(pr.errors),
  );
  const { functions, errors } = extractFunctions("python", src);
  assert.ok(errors.length > 0);
  const ok = functions.find((f) => f.name === "ok");
  assert.ok(ok && !ok.hasErrors);
});

test("malformed input: binary, empty, huge give clear issues; unloaded language throws a clear error", () => {
  const bin = "\u0000\u0001\u0002ELF\u0000\u0000";
  const pb = parseCode("c", bin);
  assert.equal(pb.hasErrors, true);
  assert.match(pb.errors[0]!.message, /binary/);
  const pe = parseCode("go", "");
  assert.equal(pe.hasErrors, false);
  assert.deepEqual(extractFunctions("go", "").functions, []);
  assert.deepEqual(codeTokens("go", ""), []);
  const ph = parseCode("python", "x = 1\n".repeat(100), { maxChars: 100 });
  assert.match(ph.errors[0]!.message, /too large/);
  assert.throws(() => parseCode("nope" as LangId, "x"), /unknown language/);
});

test("deeply nested code: parse, extraction, tokens and stripping work (iterative walks), maxDepth reported", () => {
  const src = "def f(a):\n    return " + "(".repeat(8000) + "a" + ")".repeat(8000) + "  # c\n";
  const pr = parseCode("python", src);
  assert.ok(pr.maxDepth > 8000, String(pr.maxDepth));
  const { functions } = extractFunctions("python", src);
  assert.deepEqual(
    functions.map((f) => f.name),
    ["f"],
  );
  assert.equal(codeTokens("python", src).length, 16001 + 7);
  assert.ok(!stripComments("python", src).code.includes("#"));
});

test("stripComments separates comments from docs; codeTokens keeps strings atomic", () => {
  const js = fs.readFileSync(path.join(FIX, "sample.js"), "utf8");
  const s = stripComments("javascript", js);
  assert.deepEqual(s.comments, ["// plain comment"]);
  assert.equal(s.docs.length, 2);
  assert.ok(!s.code.includes("/**") && !s.code.includes("//"));
  assert.equal(parseCode("javascript", s.code).hasErrors, false);
  const toks = codeTokens("python", 'x = "a b  c"  # note\ny = x\n');
  assert.deepEqual(toks, ["x", "=", '"a b  c"', "y", "=", "x"]);
  // a `#` inside a string is not a comment
  assert.equal(stripComments("python", 's = "# not a comment"\n').code, 's = "# not a comment"\n');
});

test("normalizeWhitespace: CRLF, tabs, runs of spaces, blank lines, common indentation", () => {
  assert.equal(normalizeWhitespace("    if x:\r\n\t\ty  =  1   \r\n\r\n    z=2\n"), "if x:\n    y = 1\nz=2");
});

test("the language layer works inside worker_threads", async () => {
  const mod = path.join(ROOT, "dist/src/lang/index.js");
  const code = `
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify("file://" + mod)}).then(async (m) => {
      await m.loadLanguage("go");
      const r = m.extractFunctions("go", "package p\\n// F doc.\\nfunc F(a int) int { return a }\\n");
      parentPort.postMessage(r.functions.map((f) => f.name + ":" + f.doc));
    });`;
  const w = new Worker(code, { eval: true });
  const msg = await new Promise((res, rej) => {
    w.once("message", res);
    w.once("error", rej);
  });
  await w.terminate();
  assert.deepEqual(msg, ["F:F doc."]);
});
