/**
 * Behavioural similarity: rewrites agree, one-token breaks do not, exceptions compare by type, argument
 * mutation counts, results are deterministic for a seed, hostile code is contained and reported, functions
 * that cannot run alone are marked not executable — in Python, Ruby and JavaScript, all inside the sandbox.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  BehaviourRunner,
  compareBehaviour,
  type BehaviourJob,
  type BehaviourResult,
} from "../../src/behaviour/index.js";
import { probeSandbox } from "../../src/sandbox/sandbox.js";
import { UserError } from "../../src/core/errors.js";

const COUNT_POS = `def count_pos(xs):
    n = 0
    for x in xs:
        if x > 0:
            n += 1
    return n
`;

let runner: BehaviourRunner;
const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-behaviour-"));
const hostMarker = path.join(hostDir, "written-by-sandbox");

function ok(r: BehaviourResult, what: string): number {
  assert.equal(r.executable, true, `${what}: expected executable, got ${r.reason}`);
  assert.ok(r.score !== null && r.nInputs >= 8, `${what}: expected a score over ≥ 8 inputs: ${JSON.stringify(r)}`);
  return r.score!;
}

describe("behaviour: sandboxed comparison", () => {
  before(() => {
    assert.ok(probeSandbox().ok, `this machine must be able to sandbox: ${probeSandbox().reason}`);
    runner = new BehaviourRunner({ seed: 0 });
  });
  after(() => fs.rmSync(hostDir, { recursive: true, force: true }));

  it("python: rewrites score 1, breaks score below 1, wrong arity / missing function score 0 with a reason", async () => {
    const jobs: BehaviourJob[] = [
      { lang: "python", original: COUNT_POS, rebuilt: "def count_pos(xs):\n    return sum(1 for x in xs if x > 0)\n" },
      {
        lang: "py",
        original: COUNT_POS,
        rebuilt:
          "def count_pos(items):\n    k = 0\n    i = 0\n    while i < len(items):\n        if not items[i] <= 0:\n            k += 1\n        i += 1\n    return k\n",
      },
      { lang: "python", original: COUNT_POS, rebuilt: "def count_pos(xs):\n    return sum(1 for x in xs if x >= 0)\n" },
      { lang: "python", original: COUNT_POS, rebuilt: "def count_pos(xs):\n    return sum(1 for x in xs if x > 1)\n" },
      { lang: "python", original: COUNT_POS, rebuilt: "def count_pos(xs, extra):\n    return 0\n" },
      { lang: "python", original: COUNT_POS, rebuilt: "LIMIT = 3\n" },
      { lang: "python", original: COUNT_POS, rebuilt: "def count_pos(xs:\n    return (\n" },
    ];
    const r = await runner.compare(jobs);
    assert.equal(ok(r[0]!, "comprehension"), 1);
    assert.equal(ok(r[1]!, "while + negated if + renamed"), 1);
    assert.ok(ok(r[2]!, "flipped comparison") < 0.9, JSON.stringify(r[2]));
    assert.ok(ok(r[3]!, "wrong constant") < 1, JSON.stringify(r[3]));
    assert.ok(r[2]!.mismatch && /returns/.test(r[2]!.mismatch.original), "a mismatch example is reported");
    assert.equal(r[4]!.score, 0);
    assert.match(r[4]!.reason ?? "", /arity differs/);
    assert.equal(r[5]!.score, 0);
    assert.match(r[5]!.reason ?? "", /does not define count_pos/);
    // a rebuild from documentation cannot know the original's name: its own function stands in for it
    const named = await runner.compare([
      {
        lang: "python",
        original: COUNT_POS,
        rebuilt: "def positives(values):\n    return len([v for v in values if v > 0])\n",
      },
      {
        lang: "python",
        original: COUNT_POS,
        rebuilt: "def positives(values):\n    return len([v for v in values if v >= 0])\n",
      },
      {
        lang: "ruby",
        original: 'def vowels_7(s)\n  s.downcase.count("aeiou")\nend\n',
        rebuilt: 'def vowel_total(word)\n  word.downcase.count("aeiou")\nend\n',
      },
      {
        lang: "go",
        original: "func tri(n int) int {\n\tt := 0\n\tfor i := 1; i <= n; i++ {\n\t\tt += i\n\t}\n\treturn t\n}\n",
        rebuilt: "func sumTo(n int) int {\n\treturn n * (n + 1) / 2\n}\n",
      },
      {
        lang: "javascript",
        original: "function add(a, b) { return a + b; }",
        rebuilt: "function plus(x, y) { return x + y; }",
      },
      { lang: "lua", original: "function add(a, b) return a + b end", rebuilt: "function plus(x, y) return x + y end" },
    ]);
    assert.equal(ok(named[0]!, "renamed rewrite"), 1);
    assert.ok(ok(named[1]!, "renamed break") < 1);
    for (const [i, what] of [
      [2, "ruby"],
      [4, "javascript"],
      [5, "lua"],
    ] as const)
      assert.equal(ok(named[i]!, what), 1);
    // n(n+1)/2 equals the loop for n >= 0 and differs below: a renamed Go rebuild is run and judged
    assert.ok(ok(named[3]!, "go renamed") > 0 && named[3]!.score! < 1, JSON.stringify(named[3]));
    assert.equal(r[6]!.score, 0);
    assert.match(r[6]!.reason ?? "", /does not load: SyntaxError/);
  });

  it("exceptions are compared by type (not message); argument mutation is part of the outcome", async () => {
    const orig = `def top(xs: list[int]) -> int:
    if not xs:
        raise ValueError("empty")
    return max(xs)
`;
    const addOne = "def add_one(xs):\n    xs.append(1)\n    return len(xs)\n";
    const r = await runner.compare([
      {
        lang: "python",
        original: orig,
        rebuilt:
          'def top(xs):\n    if len(xs) == 0:\n        raise ValueError("nothing to do")\n    return sorted(xs)[-1]\n',
      },
      {
        lang: "python",
        original: orig,
        rebuilt: 'def top(xs):\n    if len(xs) == 0:\n        raise KeyError("empty")\n    return max(xs)\n',
      },
      { lang: "python", original: addOne, rebuilt: "def add_one(xs):\n    xs.extend([1])\n    return len(xs)\n" },
      { lang: "python", original: addOne, rebuilt: "def add_one(xs):\n    return len(xs) + 1\n" },
    ]);
    assert.equal(ok(r[0]!, "same exception type, other message"), 1);
    const k = ok(r[1]!, "KeyError instead of ValueError");
    assert.ok(k < 1, JSON.stringify(r[1]));
    assert.match(r[1]!.mismatch!.original, /ValueError/);
    assert.match(r[1]!.mismatch!.rebuilt, /KeyError/);
    assert.equal(ok(r[2]!, "same mutation"), 1);
    assert.equal(
      ok(r[3]!, "no mutation"),
      0,
      "same return values but the argument is not mutated: every input differs",
    );
    assert.match(r[3]!.mismatch!.original, /args after/);
  });

  it("is deterministic for a seed, and the seed changes the inputs", async () => {
    const jobs: BehaviourJob[] = [
      {
        lang: "python",
        original: COUNT_POS,
        rebuilt: "def count_pos(xs):\n    return len([x for x in xs if x >= 0])\n",
      },
      { lang: "ruby", original: "def dbl(n)\n  n * 2\nend\n", rebuilt: "def dbl(n)\n  n + 2\nend\n" },
    ];
    const a = await compareBehaviour(jobs, { seed: 7 });
    const b = await compareBehaviour(jobs, { seed: 7 });
    assert.deepEqual(a, b);
    const c = await compareBehaviour(jobs, { seed: 8 });
    assert.notDeepEqual(
      a.map((x) => x.mismatch?.input),
      c.map((x) => x.mismatch?.input),
      "another seed draws other inputs",
    );
  });

  it("functions that cannot run alone are not executable, with the reason", async () => {
    const rebuilt = "def f(x):\n    return x\n";
    const r = await runner.compare([
      { lang: "python", original: "def f(x):\n    return helper(x) + 1\n", rebuilt },
      { lang: "python", original: "import numpy_not_installed_here\ndef f(x):\n    return x\n", rebuilt },
      { lang: "python", original: "import random\ndef f(x):\n    return random.random() + len(str(x))\n", rebuilt },
      {
        lang: "python",
        original:
          "def f(path):\n    with open('/etc/batcoder-nothing/' + str(path)) as fh:\n        return fh.read()\n",
        rebuilt,
      },
      {
        lang: "python",
        original: "class A:\n    def f(self, x):\n        return x + self.k\n",
        rebuilt,
        entryPoint: "f",
      },
      { lang: "python", original: "def f(x):\n    return None\n", rebuilt },
      { lang: "python", original: "def g(x):\n    return x\n", rebuilt, entryPoint: "f" },
    ]);
    for (const x of r) {
      assert.equal(x.executable, false, JSON.stringify(x));
      assert.equal(x.score, null);
    }
    assert.match(r[0]!.reason!, /every input raises .*NameError/);
    assert.match(r[1]!.reason!, /does not load: ModuleNotFoundError/);
    assert.match(r[2]!.reason!, /non-deterministic/);
    assert.match(r[3]!.reason!, /every input raises .*(FileNotFoundError|OSError)/);
    assert.match(r[4]!.reason!, /method/);
    assert.match(r[5]!.reason!, /constant behaviour/);
    assert.match(r[6]!.reason!, /no function named f/);
  });

  it("hostile rebuilds are contained and reported: infinite loop, swallowed timeouts, fork bomb, network, file writes, exit", async () => {
    const orig = "def f(x: int) -> int:\n    return x * 3\n";
    const r = await runner.compare([
      { lang: "python", original: orig, rebuilt: "def f(x):\n    while True:\n        pass\n" },
      {
        lang: "python",
        original: orig,
        rebuilt:
          "def f(x):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n",
      },
      {
        lang: "python",
        original: orig,
        rebuilt: "import os\ndef f(x):\n    for _ in range(10000):\n        os.fork()\n    return x * 3\n",
      },
      {
        lang: "python",
        original: orig,
        rebuilt:
          "import socket\ndef f(x):\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n    return x * 3\n",
      },
      {
        lang: "python",
        original: orig,
        rebuilt: `def f(x):\n    open(${JSON.stringify(hostMarker)}, 'w').write('x')\n    return x * 3\n`,
      },
      { lang: "python", original: orig, rebuilt: "import os\ndef f(x):\n    os._exit(0)\n" },
      { lang: "python", original: orig, rebuilt: "def f(x):\n    return x + x + x\n" },
    ]);
    for (const x of r.slice(0, 6)) assert.ok(x.executable && x.score === 0, JSON.stringify(x));
    // what went wrong: the first differing outcome, or the reason the rebuild scored 0 (a crashed runner)
    const why = (x: BehaviourResult) => x.mismatch?.rebuilt ?? x.reason ?? "";
    assert.match(why(r[0]!), /timeout/);
    assert.match(why(r[1]!), /timeout|crashed the runner/, "a program that swallows the timeout is still stopped");
    assert.match(why(r[2]!), /raises (BlockingIOError|OSError)|crashed the runner/);
    assert.match(
      why(r[3]!),
      /raises (OSError|TimeoutError|ConnectionRefusedError)|timeout/,
      "no network: the connection fails",
    );
    assert.match(why(r[4]!), /raises (FileNotFoundError|PermissionError|OSError)/);
    assert.equal(fs.existsSync(hostMarker), false, "the sandbox must not write to the host");
    assert.match(why(r[5]!), /crashed the runner/);
    assert.equal(ok(r[6]!, "a correct rebuild in the same batch as the hostile ones"), 1);
  });

  it("ruby: rewrites agree, breaks and hostile loops do not, missing names are not executable", async () => {
    const orig = "def count_pos(xs)\n  n = 0\n  xs.each { |x| n += 1 if x > 0 }\n  n\nend\n";
    const r = await runner.compare([
      { lang: "ruby", original: orig, rebuilt: "def count_pos(xs)\n  xs.select { |x| x > 0 }.size\nend\n" },
      { lang: "rb", original: orig, rebuilt: "def count_pos(xs)\n  xs.count { |x| x >= 0 }\nend\n" },
      {
        lang: "ruby",
        original: orig,
        rebuilt: "def count_pos(xs)\n  loop do\n    begin\n      loop {}\n    rescue Exception\n    end\n  end\nend\n",
      },
      { lang: "ruby", original: "def f(x)\n  helper(x) + 1\nend\n", rebuilt: "def f(x)\n  x\nend\n" },
      {
        lang: "ruby",
        original: "def add_one(xs)\n  xs << 1\n  xs.size\nend\n",
        rebuilt: "def add_one(xs)\n  xs.size + 1\nend\n",
      },
    ]);
    assert.equal(ok(r[0]!, "count"), 1);
    assert.ok(ok(r[1]!, "flipped") < 1);
    assert.equal(ok(r[2]!, "loop"), 0);
    assert.match(r[2]!.mismatch!.rebuilt, /timeout/);
    assert.equal(r[3]!.executable, false);
    assert.match(r[3]!.reason!, /NoMethodError|NameError/);
    assert.equal(ok(r[4]!, "mutation"), 0);
  });

  it("javascript: rewrites agree, breaks and hostile loops do not, missing names are not executable", async () => {
    const orig = "function countPos(xs) {\n  let n = 0;\n  for (const x of xs) if (x > 0) n++;\n  return n;\n}\n";
    const r = await runner.compare([
      { lang: "javascript", original: orig, rebuilt: "const countPos = (xs) => xs.filter((x) => x > 0).length;\n" },
      { lang: "js", original: orig, rebuilt: "function countPos(xs) { return xs.filter((x) => x >= 0).length; }\n" },
      { lang: "js", original: orig, rebuilt: "function countPos(xs) { while (true) {} }\n" },
      { lang: "js", original: orig, rebuilt: "function countPos(xs, y) { return 0; }\n" },
      { lang: "js", original: "function f(x) { return helper(x) + 1; }\n", rebuilt: "function f(x) { return x; }\n" },
      {
        lang: "js",
        original: orig,
        rebuilt: "function countPos(xs) { return require('fs').readdirSync('/').length; }\n",
      },
    ]);
    assert.equal(ok(r[0]!, "filter"), 1);
    assert.ok(ok(r[1]!, "flipped") < 1);
    assert.equal(ok(r[2]!, "infinite loop"), 0);
    assert.match(r[2]!.mismatch!.rebuilt, /timeout/);
    assert.equal(r[3]!.score, 0);
    assert.match(r[3]!.reason!, /arity/);
    assert.equal(r[4]!.executable, false);
    assert.match(r[4]!.reason!, /ReferenceError/);
    assert.equal(ok(r[5]!, "require is not available"), 0);
    assert.match(r[5]!.mismatch!.rebuilt, /ReferenceError/);
  });

  it("lua: rewrites agree, breaks, hostile loops and wrong arity do not, missing globals are not executable", async () => {
    const orig =
      "local function count_pos(xs)\n  local n = 0\n  for _, x in ipairs(xs) do\n    if x > 0 then n = n + 1 end\n  end\n  return n\nend\n";
    const r = await runner.compare([
      {
        lang: "lua",
        original: orig,
        rebuilt:
          "function count_pos(items)\n  local k = 0\n  local i = 1\n  while i <= #items do\n    if not (items[i] <= 0) then k = k + 1 end\n    i = i + 1\n  end\n  return k\nend\n",
      },
      {
        lang: "lua",
        original: orig,
        rebuilt:
          "function count_pos(xs)\n  local n = 0\n  for _, x in ipairs(xs) do\n    if x >= 0 then n = n + 1 end\n  end\n  return n\nend\n",
      },
      {
        lang: "lua",
        original: orig,
        rebuilt: "function count_pos(xs)\n  while true do pcall(function() while true do end end) end\nend\n",
      },
      { lang: "lua", original: orig, rebuilt: "function count_pos(xs, y)\n  return 0\nend\n" },
      { lang: "lua", original: "function f(x)\n  return helper(x)\nend\n", rebuilt: "function f(x) return x end\n" },
      {
        lang: "lua",
        original: "function f(x)\n  return math.random() + x\nend\n",
        rebuilt: "function f(x) return x end\n",
      },
    ]);
    assert.equal(ok(r[0]!, "while + negated if + renamed"), 1);
    assert.ok(ok(r[1]!, "flipped") < 1);
    assert.equal(ok(r[2]!, "pcall-swallowed infinite loop"), 0);
    assert.match(r[2]!.mismatch!.rebuilt, /timeout/);
    assert.equal(r[3]!.score, 0);
    assert.match(r[3]!.reason!, /arity/);
    assert.equal(r[4]!.executable, false);
    assert.match(r[4]!.reason!, /every input raises .*helper/);
    assert.match(r[5]!.reason!, /non-deterministic/);
  });

  it("go: one compiled program per batch; rewrites agree, breaks and panics differ, compile errors are per side", async () => {
    const orig =
      "func CountPos(xs []int) int {\n\tn := 0\n\tfor _, x := range xs {\n\t\tif x > 0 {\n\t\t\tn++\n\t\t}\n\t}\n\treturn n\n}\n";
    const r = await runner.compare([
      {
        lang: "go",
        original: orig,
        rebuilt:
          "package main\n\nfunc CountPos(xs []int) int {\n\tc := 0\n\tfor i := 0; i < len(xs); i++ {\n\t\tif !(xs[i] <= 0) {\n\t\t\tc++\n\t\t}\n\t}\n\treturn c\n}\n",
      },
      {
        lang: "go",
        original: orig,
        rebuilt:
          "func CountPos(xs []int) int {\n\tc := 0\n\tfor _, x := range xs {\n\t\tif x >= 0 {\n\t\t\tc++\n\t\t}\n\t}\n\treturn c\n}\n",
      },
      { lang: "go", original: orig, rebuilt: "func CountPos(xs []int) int {\n\treturn undefinedThing(xs)\n}\n" },
      { lang: "go", original: orig, rebuilt: "func CountPos(xs []int, y int) int {\n\treturn 0\n}\n" },
      { lang: "go", original: orig, rebuilt: "func CountPos(xs []int) int {\n\tfor {\n\t}\n}\n" },
      {
        lang: "go",
        original: orig,
        rebuilt:
          "func CountPos(xs []int) int {\n\tn := 0\n\tfor _, x := range xs[1:] {\n\t\tif x > 0 {\n\t\t\tn++\n\t\t}\n\t}\n\treturn n\n}\n",
      },
      {
        lang: "go",
        original: "func Up(s string) string {\n\treturn strings.ToUpper(s) + strconv.Itoa(len(s))\n}\n",
        rebuilt: "func Up(s string) string {\n\treturn fmt.Sprint(strings.ToUpper(s), len(s))\n}\n",
      },
      {
        lang: "go",
        original: "func F(x int) int {\n\treturn helper(x)\n}\n",
        rebuilt: "func F(x int) int { return x }\n",
      },
      {
        lang: "go",
        original: "func (p *T) M(x int) int {\n\treturn x\n}\n",
        rebuilt: "func M(x int) int { return x }\n",
        entryPoint: "M",
      },
      {
        lang: "go",
        original: orig,
        rebuilt: 'import "github.com/nothing/here"\n\nfunc CountPos(xs []int) int {\n\treturn here.Count(xs)\n}\n',
      },
    ]);
    assert.equal(ok(r[0]!, "for + negated if (with a package clause)"), 1);
    assert.ok(ok(r[1]!, "flipped") < 1);
    assert.equal(r[2]!.score, 0);
    assert.match(r[2]!.reason!, /does not load: compile error: .*undefined: undefinedThing/);
    assert.equal(r[3]!.score, 0);
    assert.match(r[3]!.reason!, /compile error/);
    assert.equal(ok(r[4]!, "infinite loop"), 0);
    assert.match(r[4]!.mismatch!.rebuilt, /timeout/);
    assert.ok(ok(r[5]!, "slice from 1") < 1);
    assert.ok(r[5]!.mismatch!.rebuilt.length > 0);
    assert.equal(ok(r[6]!, "auto-imported strings/strconv/fmt"), 1);
    assert.equal(r[7]!.executable, false);
    assert.match(r[7]!.reason!, /undefined: helper/);
    assert.equal(r[8]!.executable, false);
    assert.match(r[8]!.reason!, /method/);
    // an import that breaks the whole build: the batch is bisected down to it, the others still score
    assert.equal(r[9]!.score, 0);
    assert.match(r[9]!.reason!, /does not build .*github\.com\/nothing\/here/);
  });

  it("a second compare of the same original reuses the cached probe and gives the same score", async () => {
    const job: BehaviourJob = {
      lang: "python",
      original: COUNT_POS,
      rebuilt: "def count_pos(xs):\n    return sum(x > 0 for x in xs)\n",
    };
    const fresh = new BehaviourRunner({ seed: 1 });
    const [a] = await fresh.compare([job]);
    const before = fresh.processes;
    const [b] = await fresh.compare([job]);
    assert.deepEqual(a, b);
    assert.equal(fresh.processes - before, 1, "only the rebuild runs the second time");
  });

  it("unsupported languages and bad options are clear errors", async () => {
    await assert.rejects(
      compareBehaviour([{ lang: "cobol", original: "x", rebuilt: "y" }]),
      (e: unknown) => e instanceof UserError && /not supported/.test(e.message),
    );
    assert.throws(() => new BehaviourRunner({ nInputs: 0 }), UserError);
  });
});
