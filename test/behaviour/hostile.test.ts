/**
 * Per-call limits hold against programs that defeat the runners' in-process timers: an endless loop that
 * catches every exception (the timeout included), a long sleep that catches it, a blocking stdin read, a
 * filesystem walk, native code that never yields (a C loop, a regular-expression or pattern blow-up, a child
 * process), a program that turns the timers off or kills the watchdog thread, endless top-level code. Each is
 * scored 0 as a rebuild (or not executable as an original) within a few seconds, and ordinary functions in
 * the same batch keep their correct scores. Also the host's window guard on its own (hostWindows).
 */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { BehaviourRunner, type BehaviourJob, type BehaviourResult } from "../../src/behaviour/index.js";
import { hostWindows } from "../../src/behaviour/compare.js";
import { probeSandbox } from "../../src/sandbox/sandbox.js";

/** Per-call limit of these tests (ms): small so that each hostile side costs little. */
const CALL_MS = 400;
/** What one hostile side may cost at most: the host's load window plus a fresh runner process, with slack. */
const PER_HOSTILE_S = 8;

interface Case {
  lang: string;
  /** The original: an ordinary function of one integer. */
  orig: string;
  /** A correct rewrite and a break of it (wrong on negative numbers only). */
  same: string;
  broken: string;
  /** Rebuilds that must score 0 (name → source). */
  hostile: Record<string, string>;
  /** Rebuilds that read stdin: they must not block (stdin is empty) and so agree with the original. */
  stdin: string;
  /** Originals that must come out not executable. */
  hostileOriginals: Record<string, string>;
}

const CASES: Case[] = [
  {
    lang: "ruby",
    orig: "def f(x)\n  x * 2 + 1\nend\n",
    same: "def f(x)\n  1 + x + x\nend\n",
    broken: "def f(x)\n  x.abs * 2 + 1\nend\n",
    hostile: {
      "loop rescuing Exception":
        "def f(x)\n  loop do\n    begin\n      loop { }\n    rescue Exception\n    end\n  end\nend\n",
      "sleep rescuing Exception":
        "def f(x)\n  loop do\n    begin\n      sleep 100\n    rescue Exception\n    end\n  end\nend\n",
      "filesystem walk":
        "require 'find'\ndef f(x)\n  loop do\n    begin\n      Find.find('/') { |p| p }\n    rescue Exception\n    end\n  end\nend\n",
      "kills the watchdog": "def f(x)\n  Thread.list.each { |t| t.kill unless t == Thread.current }\n  loop { }\nend\n",
      "endless top level": "begin\n  loop { }\nrescue Exception\n  retry\nend\ndef f(x)\n  x * 2 + 1\nend\n",
    },
    stdin: "def f(x)\n  IO.new(0).read.to_s.size + STDIN.read.to_s.size + x * 2 + 1\nend\n",
    hostileOriginals: {
      // As irb/cmd/help.rb in the bundled corpus: each timeout re-enters the method from its `ensure`.
      "ensure re-entry": "def g(*names)\n  sleep 10\nensure\n  g(*names)\nend\n",
      "loop rescuing Exception":
        "def g(x)\n  loop do\n    begin\n      loop { }\n    rescue Exception\n    end\n  end\nend\n",
    },
  },
  {
    lang: "python",
    orig: "def f(x: int) -> int:\n    return x * 2 + 1\n",
    same: "def f(x):\n    return 1 + x + x\n",
    broken: "def f(x):\n    return abs(x) * 2 + 1\n",
    hostile: {
      "loop catching BaseException":
        "def f(x):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n",
      "sleep catching BaseException":
        "import time\ndef f(x):\n    while True:\n        try:\n            time.sleep(100)\n        except BaseException:\n            pass\n",
      "filesystem walk":
        "import os\ndef f(x):\n    while True:\n        try:\n            for _ in os.walk('/'):\n                pass\n        except BaseException:\n            pass\n",
      "C loop": "import itertools\ndef f(x):\n    return sum(itertools.repeat(1, 10**13)) + x\n",
      "timers off":
        "import signal\ndef f(x):\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    signal.signal(signal.SIGPROF, signal.SIG_IGN)\n    while True:\n        pass\n",
      "endless top level":
        "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\ndef f(x):\n    return x * 2 + 1\n",
    },
    stdin: "import os, sys\ndef f(x):\n    return len(os.read(0, 10)) + len(sys.stdin.read()) + x * 2 + 1\n",
    hostileOriginals: {
      "C loop": "import itertools\ndef g(x: int) -> int:\n    return sum(itertools.repeat(1, 10**13)) + x\n",
      "loop catching BaseException":
        "def g(x: int) -> int:\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n",
    },
  },
  {
    lang: "javascript",
    orig: "function f(x) {\n  return x * 2 + 1;\n}\n",
    same: "function f(x) {\n  return 1 + x + x;\n}\n",
    broken: "function f(x) {\n  return Math.abs(x) * 2 + 1;\n}\n",
    hostile: {
      "loop catching everything": "function f(x) {\n  for (;;) { try { for (;;) {} } catch (e) {} }\n}\n",
      "regexp blow-up": "function f(x) {\n  /(a+)+b/.test('a'.repeat(40) + 'c');\n  return x * 2 + 1;\n}\n",
      "Atomics.wait":
        "function f(x) {\n  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n  return x * 2 + 1;\n}\n",
      "endless top level": "for (;;) { try { for (;;) {} } catch (e) {} }\nfunction f(x) {\n  return x * 2 + 1;\n}\n",
    },
    // No process or require inside the context: reading stdin is a ReferenceError, not a block.
    stdin: "",
    hostileOriginals: {
      "loop catching everything": "function g(x) {\n  for (;;) { try { for (;;) {} } catch (e) {} }\n}\n",
    },
  },
  {
    lang: "lua",
    orig: "function f(x)\n  return x * 2 + 1\nend\n",
    same: "function f(x)\n  return 1 + x + x\nend\n",
    broken: "function f(x)\n  return math.abs(x) * 2 + 1\nend\n",
    hostile: {
      "loop catching errors": "function f(x)\n  while true do pcall(function() while true do end end) end\nend\n",
      "pattern blow-up": "function f(x)\n  string.find(string.rep('a', 3000), '.-.-.-.-b')\n  return x * 2 + 1\nend\n",
      "child process sleeps": "function f(x)\n  os.execute('sleep 100')\n  return x * 2 + 1\nend\n",
      "endless top level":
        "while true do pcall(function() while true do end end) end\nfunction f(x)\n  return x * 2 + 1\nend\n",
    },
    stdin: "function f(x)\n  local s = io.read('a') or ''\n  return #s + x * 2 + 1\nend\n",
    hostileOriginals: {
      "pattern blow-up": "function g(x)\n  string.find(string.rep('a', 3000), '.-.-.-.-b')\n  return x * 2 + 1\nend\n",
    },
  },
];

describe("behaviour: per-call limits hold against hostile programs", () => {
  before(() => {
    assert.ok(probeSandbox().ok, `this machine must be able to sandbox: ${probeSandbox().reason}`);
  });

  it("the host's windows leave the in-process timers time to fire first", () => {
    const w = hostWindows({ callMs: 1000, sideMs: 10000 });
    assert.ok(w.callMs > 1000 + 500 && w.callMs <= 3000, JSON.stringify(w));
    assert.ok(w.loadMs > 5000 && w.loadMs <= 8000, JSON.stringify(w));
    assert.ok(w.sideMs > 10000 + w.loadMs, JSON.stringify(w));
  });

  for (const c of CASES) {
    it(`${c.lang}: hostile rebuilds score 0 and hostile originals are not executable, each within seconds`, {
      timeout: 180_000,
    }, async () => {
      const runner = new BehaviourRunner({ callMs: CALL_MS, workers: 2 });
      const names = Object.keys(c.hostile);
      const origNames = Object.keys(c.hostileOriginals);
      const jobs: BehaviourJob[] = [
        { lang: c.lang, original: c.orig, rebuilt: c.same },
        { lang: c.lang, original: c.orig, rebuilt: c.broken },
        ...names.map((n) => ({ lang: c.lang, original: c.orig, rebuilt: c.hostile[n]! })),
        ...origNames.map((n) => ({ lang: c.lang, original: c.hostileOriginals[n]!, rebuilt: c.hostileOriginals[n]! })),
        ...(c.stdin ? [{ lang: c.lang, original: c.orig, rebuilt: c.stdin }] : []),
      ];
      const t0 = performance.now();
      const r = await runner.compare(jobs);
      const sec = (performance.now() - t0) / 1000;
      const show = (x: BehaviourResult) => JSON.stringify(x);
      assert.equal(r[0]!.executable, true, show(r[0]!));
      assert.equal(r[0]!.score, 1, `a correct rewrite in the same batch: ${show(r[0]!)}`);
      assert.ok(r[0]!.nInputs >= 8, show(r[0]!));
      assert.ok(
        r[1]!.score !== null && r[1]!.score < 1 && r[1]!.score > 0,
        `a break that is wrong on some inputs: ${show(r[1]!)}`,
      );
      names.forEach((n, k) => {
        const x = r[2 + k]!;
        assert.ok(x.executable && x.score === 0, `hostile rebuild "${n}" must score 0: ${show(x)}`);
      });
      origNames.forEach((n, k) => {
        const x = r[2 + names.length + k]!;
        assert.equal(x.executable, false, `hostile original "${n}" must not be executable: ${show(x)}`);
        assert.match(x.reason ?? "", /timed out|timeout/, `hostile original "${n}": ${show(x)}`);
      });
      if (c.stdin) {
        const x = r[r.length - 1]!;
        assert.equal(x.score, 1, `reading stdin must not block (it is empty): ${show(x)}`);
      }
      const bound = 10 + PER_HOSTILE_S * (names.length + 2 * origNames.length);
      assert.ok(sec < bound, `${c.lang}: ${sec.toFixed(1)} s for ${jobs.length} jobs (bound ${bound} s)`);
    });
  }
});
