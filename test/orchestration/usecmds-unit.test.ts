/** Pieces of document / roundtrip / implement that need no model: reason guesses, test splitting, decoding, chat prompts. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage } from "../../src/lang/index.js";
import { reasonGuesses, splitTests, roundtripTable } from "../../src/orchestration/roundtrip.js";
import { decodeSource } from "../../src/orchestration/document.js";
import { chatMessagesFor } from "../../src/orchestration/directions.js";
import { renderRoundtripReport } from "../../src/report/roundtrip.js";

test("reasonGuesses: poorly named, one-letter parameters, too long, unknown API, bad documentation", async () => {
  await loadLanguage("python");
  const base = {
    lang: "python" as const,
    docValid: true,
    docLeaked: false,
    doc: "Do a thing.",
    rebuilt: "def f():\n    return 1\n",
  };
  assert.match(reasonGuesses({ ...base, name: "f", code: "def f(a):\n    return a\n" }).join("|"), /poorly named: 'f'/);
  assert.match(
    reasonGuesses({ ...base, name: "combine", code: "def combine(a, b):\n    return a + b\n" }).join("|"),
    /one-letter parameters \(a, b\)/,
  );
  const long = `def walk_tree(node):\n${"    node = node.parent\n".repeat(45)}    return node\n`;
  assert.match(reasonGuesses({ ...base, name: "walk_tree", code: long }).join("|"), /too long: 47 lines/);
  assert.match(
    reasonGuesses({
      ...base,
      name: "fetch_rows",
      code: "def fetch_rows(conn):\n    return conn.execute_many_fast(q)\n",
    }).join("|"),
    /unknown API: calls execute_many_fast/,
  );
  assert.match(
    reasonGuesses({ ...base, docValid: false, name: "fetch_rows", code: "def fetch_rows(conn):\n    return 1\n" }).join(
      "|",
    ),
    /badly formed documentation/,
  );
  assert.deepEqual(
    reasonGuesses({
      ...base,
      name: "fetch_rows",
      code: "def fetch_rows(conn):\n    return 1\n",
      rebuilt: "def fetch_rows(conn):\n    return 2\n",
    }),
    ["no clear cause (the documentation may be too vague)"],
  );
});

test("splitTests: Python asserts and test functions are separate units sharing the preamble; other languages one unit", () => {
  const u = splitTests(
    "python",
    "import math\nX = 2\nassert f(1) == 2\ndef test_a():\n    assert f(X) == 4\n\nassert f(0) == 0\n",
  );
  assert.deepEqual(
    u.map((x) => x.name),
    ["line 3", "test_a", "line 7"],
  );
  assert.ok(u.every((x) => x.source.startsWith("import math\nX = 2\n")));
  assert.match(u[1]!.source, /def test_a\(\):\n {4}assert f\(X\) == 4\n\ntest_a\(\)\n$/);
  assert.deepEqual(splitTests("ruby", "raise 'x' unless f(1) == 2\n"), [
    { name: "tests", source: "raise 'x' unless f(1) == 2\n" },
  ]);
});

test("decodeSource: NUL bytes and invalid UTF-8 refused, a BOM dropped", () => {
  assert.deepEqual(decodeSource(Buffer.from([0x61, 0x00])), { reason: "binary file (contains NUL bytes)" });
  assert.deepEqual(decodeSource(Buffer.from([0x61, 0xe9, 0x62])), { reason: "not valid UTF-8" });
  assert.deepEqual(decodeSource(Buffer.from("\ufeffdef f(): pass\n")), { text: "def f(): pass\n" });
});

test("chat prompts carry the documentation format, the language and the signature; the report escapes", () => {
  const [sys, user] = chatMessagesFor("code2doc", "def f(): pass", "python");
  assert.match(sys!.content, /Documentation format/);
  assert.match(user!.content, /this Python function[\s\S]*def f\(\): pass$/);
  assert.match(
    chatMessagesFor("doc2code", "Add.", "go", "func Add(a, b int) int")[1]!.content,
    /Go function[\s\S]*Add\.\n\nThe function starts with:\nfunc Add/,
  );
  const row = {
    path: "a<b>.py",
    lang: "python" as const,
    name: "x",
    line: 1,
    code: "<script>alert(1)</script>",
    doc: "D & <b>",
    rebuilt: "'\"",
    docValid: true,
    docLeaked: false,
    scores: { bleu: 0.1, codebleu: 0.2, dfg: 0.3, exact: 0, behaviour: null },
    score: 0.2,
    flags: ["poorly <named>"],
  };
  const html = renderRoundtripReport([row], { model: "m<1>", threshold: 0.5 });
  for (const raw of ["<script>alert", "D & <b>", "a<b>.py", "<named>", "m<1>"])
    assert.equal(html.includes(raw), false, raw);
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.match(roundtripTable([row]), /a<b>\.py:1 x\s+0\.100\s+0\.200\s+0\.300\s+0\.000\s+-\s+0\.200\s+poorly <named>/);
});
