import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBenchmark } from "../../src/eval/benchmarks.js";
import {
  completionFromBase,
  completionFromChat,
  extractCodeBlock,
  matchingClose,
  stripPythonScaffolding,
  truncateAtStop,
} from "../../src/eval/postprocess.js";

test("truncateAtStop cuts at the earliest stop sequence", () => {
  assert.equal(truncateAtStop("    return 1\ndef g():\n#x", ["\n#", "\ndef"]), "    return 1");
  assert.equal(truncateAtStop("abc", ["\n"]), "abc");
});

test("extractCodeBlock prefers the block tagged with the language, handles unterminated fences", () => {
  const t = "Here:\n```text\nnot code\n```\nand\n```python\ndef f():\n    return 1\n```\nbye";
  assert.equal(extractCodeBlock(t, "python"), "def f():\n    return 1\n");
  assert.equal(extractCodeBlock("```\nx = 1\n", "python"), "x = 1\n");
  assert.equal(extractCodeBlock("def f(): pass", "python"), "def f(): pass");
});

test("Python scaffolding (top-level asserts, prints, __main__ blocks) is removed, functions kept", () => {
  const code =
    "import math\ndef f(x):\n    assert x > 0\n    print(x)\n    return x\n\nassert f(1) == 1\nassert f(\n    2) == 2\nprint(f(3))\nif __name__ == '__main__':\n    f(4)\n    f(5)\nY = 2\n";
  assert.equal(
    stripPythonScaffolding(code),
    "import math\ndef f(x):\n    assert x > 0\n    print(x)\n    return x\n\nY = 2\n",
  );
});

test("HumanEval completion format: the continuation is cut at the Codex stop sequences", () => {
  const p = loadBenchmark("humaneval")[0]!;
  assert.equal(completionFromBase(p, "    return True\n\n\ndef other():\n    pass\n"), "    return True\n\n");
  assert.equal(completionFromBase(p, "    return True\nif __name__ == '__main__':\n"), "    return True");
});

test("MBPP: prompt holds the task text and the three asserts; the judged program does not include the prompt and echoed asserts are cut", () => {
  const p = loadBenchmark("mbpp").find((q) => q.taskId === "Mbpp/11")!;
  assert.match(p.prompt, /^"""\nWrite a python function to remove first and last occurrence/);
  assert.equal((p.prompt.match(/^assert /gm) ?? []).length, 3);
  const c = completionFromBase(p, "def remove_Occ(s, ch):\n    return s\nassert remove_Occ('hello', 'l') == 'heo'\n");
  assert.equal(c, "def remove_Occ(s, ch):\n    return s");
  const prog = p.assemble(c);
  assert.ok(!prog.includes(p.prompt), "the prompt is not part of the judged program");
  assert.equal((prog.match(/^assert /gm) ?? []).length, 3, "only the official asserts are judged");
});

test("instruct format: Python code block is used whole; other languages are re-anchored on the prompt's signature", () => {
  const he = loadBenchmark("humaneval").find((q) => q.taskId === "HumanEval/53")!;
  const py = completionFromChat(
    he,
    "Sure!\n```python\ndef add(x: int, y: int):\n    return x + y\n\nprint(add(1, 2))\nassert add(1,1)==2\n```\n",
  );
  assert.equal(py, "\ndef add(x: int, y: int):\n    return x + y\n");
  const rs = loadBenchmark("multipl-e:rs").find((q) => q.taskId === "HumanEval_53_add")!;
  const c = completionFromChat(rs, "```rust\nfn add(x: isize, y: isize) -> isize {\n    x + y\n}\n```");
  assert.equal(c, "    x + y\n");
  const rb = loadBenchmark("multipl-e:rb").find((q) => q.taskId === "HumanEval_53_add")!;
  assert.equal(completionFromChat(rb, "```ruby\ndef add(x, y)\n  x + y\nend\n```"), "  x + y\nend\n");
});

test("matchingClose skips braces in strings, chars and comments; Rust lifetimes are not chars", () => {
  assert.equal(
    matchingClose('  let s = "}"; // }\n  /* } */ x }\n}', "js"),
    '  let s = "}"; // }\n  /* } */ x '.length,
  );
  assert.equal(matchingClose("  let c = '}'; f::<'a>(x) }", "rs"), "  let c = '}'; f::<'a>(x) ".length);
  assert.equal(matchingClose('  echo "${#1}" # }\n}', "sh"), '  echo "${#1}" # }\n'.length);
  assert.equal(matchingClose("  if (x) { y; }", "cpp"), -1);
});

test("instruct format: Java answers keep working with any indentation (the method is closed by brace matching)", () => {
  const p = loadBenchmark("multipl-e:java").find((q) => q.taskId === "HumanEval_53_add")!;
  const c = completionFromChat(
    p,
    "```java\nclass Problem {\n  public static long add(long x, long y) {\n    if (x > 0) { return x + y; }\n    return x + y;\n  }\n}\n```",
  );
  assert.equal(c, "    if (x > 0) { return x + y; }\n    return x + y;\n");
});
