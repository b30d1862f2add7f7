/**
 * The hostile-program suite: every program is a HumanEval/53 (`add`) completion that misbehaves. Each must
 * be contained, classified, and leave the host and later runs unaffected.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadBenchmark, type Problem } from "../../src/eval/benchmarks.js";
import { executeProgram, type ExecResult } from "../../src/sandbox/executors.js";
import { Sandbox, probeSandbox } from "../../src/sandbox/sandbox.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoFile = path.resolve(here, "../../../package.json");
const hostMarkerDir = fs.mkdtempSync(path.join(os.tmpdir(), "batcoder-hostile-"));
const hostMarker = path.join(hostMarkerDir, "written-by-sandbox");

const add: Problem = loadBenchmark("humaneval").find((p) => p.taskId === "HumanEval/53")!;
const CORRECT = "    return x + y\n";
const limits = { wallMs: 4000, cpuSeconds: 4, memoryBytes: 256 * 1024 * 1024, outputBytes: 64 * 1024 };

let sandbox: Sandbox;
const run = (completion: string, lang: "py" | "js" = "py", source?: string): Promise<ExecResult> =>
  executeProgram(sandbox, lang, source ?? add.assemble(completion), { limits });

/** Runs the correct completion: later runs must be unaffected by what came before. */
async function stillHealthy(): Promise<void> {
  const r = await run(CORRECT);
  assert.equal(r.status, "passed", `a correct program must still pass after a hostile one: ${r.result}\n${r.stderr}`);
}

function processesWithToken(token: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(token)) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe("sandbox: hostile programs", () => {
  before(() => {
    const p = probeSandbox();
    assert.ok(p.ok, `this machine must be able to sandbox for these tests: ${p.reason}`);
    sandbox = new Sandbox();
  });
  after(() => fs.rmSync(hostMarkerDir, { recursive: true, force: true }));

  it("a correct completion passes and a wrong one fails", async () => {
    await stillHealthy();
    const r = await run("    return x - y\n");
    assert.equal(r.status, "failed");
    assert.match(r.result, /AssertionError/);
  });

  it("runs as an unprivileged uid with no capabilities, no network interfaces but lo", async () => {
    const r = await run(
      "    import os\n    st = open('/proc/self/status').read()\n" +
        "    print('UID', os.getuid(), 'CAPEFF', [l.split()[1] for l in st.splitlines() if l.startswith('CapEff')][0], 'CAPBND', [l.split()[1] for l in st.splitlines() if l.startswith('CapBnd')][0])\n" +
        "    print('NETDEV', sorted(os.listdir('/sys/class/net')) if os.path.exists('/sys/class/net') else [])\n    return x + y\n",
    );
    assert.equal(r.status, "passed", r.stderr);
    const m = /UID (\d+) CAPEFF (\w+) CAPBND (\w+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    if (process.getuid?.() === 0) assert.notEqual(m[1], "0", "root must be dropped inside the sandbox");
    assert.equal(Number.parseInt(m[2]!, 16), 0, "no effective capabilities");
    assert.equal(Number.parseInt(m[3]!, 16), 0, "empty bounding set");
  });

  it("exit(0) before the tests is not a pass", async () => {
    for (const c of [
      "    return x + y\nimport sys\nsys.exit(0)\n",
      "    import os\n    os._exit(0)\n",
      "    raise SystemExit(0)\n",
    ]) {
      const r = await run(c);
      assert.equal(r.passed, false, c);
      assert.equal(r.status, "failed", c);
    }
  });

  it("printing fake success output (or a fake sentinel) is not a pass", async () => {
    const c =
      "    import sys, os\n    print('passed'); print('OK'); print('BATCODER-PASS-' + '0' * 32)\n    sys.stdout.flush()\n    os._exit(0)\n";
    const r = await run(c);
    assert.equal(r.passed, false);
  });

  it("monkey-patching the error path (excepthook → exit 0) is not a pass", async () => {
    const c = "    return 0\nimport sys, os\nsys.excepthook = lambda *a: os._exit(0)\n";
    const r = await run(c);
    assert.equal(r.passed, false);
  });

  it("JavaScript: patching node:assert does not make wrong code pass", async () => {
    const p = loadBenchmark("multipl-e:js").find((q) => q.taskId === "HumanEval_53_add")!;
    const patch =
      "  return 0;\n}\nconst __a = require('node:assert'); __a.deepEqual = () => {}; __a.equal = () => {}; __a.strict.deepEqual = () => {};\n";
    const r = await executeProgram(sandbox, "js", p.assemble(patch), { limits });
    assert.equal(r.passed, false, r.stdout);
    const ok = await executeProgram(sandbox, "js", p.assemble("  return x + y;\n}\n"), { limits });
    assert.equal(ok.status, "passed", ok.stderr);
  });

  it("fork bomb: contained by the process limit and the timeout", async () => {
    const t0 = Date.now();
    const r = await run(
      "    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
    );
    assert.equal(r.passed, false);
    assert.ok(["timeout", "failed", "memory"].includes(r.status), r.status);
    assert.ok(Date.now() - t0 < limits.wallMs + 5000);
    await stillHealthy();
  });

  it("memory bomb: classified as memory", async () => {
    const r = await run("    blocks = []\n    while True:\n        blocks.append(bytearray(16 * 1024 * 1024))\n");
    assert.equal(r.status, "memory", `${r.result} ${r.stderr.slice(-200)}`);
    await stillHealthy();
  });

  it("infinite loop: classified as timeout, killed near the wall-clock limit", async () => {
    const t0 = Date.now();
    const r = await run("    while True:\n        pass\n");
    assert.equal(r.status, "timeout");
    assert.ok(Date.now() - t0 < limits.wallMs + 3000);
  });

  it("a caller watching stdout as it streams can stop the run at once (onStdout + signal)", async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const t0 = Date.now();
    const r = await sandbox.run({
      command: ["/usr/bin/python3", "-c", "import time\nprint('ready', flush=True)\ntime.sleep(60)\n"],
      onStdout: (b) => {
        seen.push(b.toString());
        if (seen.join("").includes("ready\n")) ac.abort();
      },
      signal: ac.signal,
      limits: { wallMs: 30_000, cpuSeconds: 30 },
    });
    assert.equal(r.aborted, true);
    assert.equal(r.timedOut, false);
    assert.equal(r.stdout, "ready\n", "the whole stdout is still in the result");
    assert.ok(Date.now() - t0 < 10_000, `stopped after ${Date.now() - t0} ms, not at the wall limit`);
    const plain = await sandbox.run({ command: ["/bin/echo", "hi"] });
    assert.equal(plain.aborted, false);
  });

  it("infinite output: classified as output-limit, capture bounded", async () => {
    const r = await run("    while True:\n        print('spam' * 100)\n");
    assert.equal(r.status, "output-limit");
    assert.ok(r.stdout.length + r.stderr.length <= limits.outputBytes + 100);
  });

  it("file size, open files and /tmp size are limited", async () => {
    const big = await executeProgram(
      sandbox,
      "py",
      add.assemble("    open('/tmp/big', 'wb').write(b'x' * (64 * 1024 * 1024))\n    return x + y\n"),
      {
        limits: { ...limits, fileSizeBytes: 1024 * 1024 },
      },
    );
    assert.equal(big.passed, false);
    assert.match(big.result, /file size limit|File too large/);
    const files = await run(
      "    fs = []\n    try:\n        while True:\n            fs.append(open('/dev/null'))\n    except OSError as e:\n        print('EMFILE after', len(fs))\n    return x + y\n",
    );
    assert.equal(files.status, "passed", files.stderr);
    const m = /EMFILE after (\d+)/.exec(files.stdout);
    assert.ok(m && Number(m[1]) < 300, files.stdout);
    const full = await executeProgram(
      sandbox,
      "py",
      add.assemble(
        "    import errno\n    try:\n        for i in range(64):\n            open(f'/tmp/f{i}', 'wb').write(b'x' * (1024 * 1024))\n    except OSError as e:\n        print('NOSPC' if e.errno == errno.ENOSPC else e)\n    return x + y\n",
      ),
      { limits: { ...limits, tmpBytes: 8 * 1024 * 1024 } },
    );
    assert.equal(full.status, "passed", full.stderr);
    assert.match(full.stdout, /NOSPC/);
  });

  it("writing outside the work dir fails; /tmp is private and fresh per run", async () => {
    const c =
      "    res = []\n" +
      `    for p in ['/src/x', '/usr/x', '/etc/x', '/x', ${JSON.stringify(hostMarker)}]:\n` +
      "        try:\n            open(p, 'w').write('pwned')\n            res.append('WROTE ' + p)\n        except OSError:\n            res.append('BLOCKED')\n" +
      "    open('/tmp/left-behind', 'w').write('x')\n    print(*res)\n    return x + y\n";
    const r = await run(c);
    assert.equal(r.status, "passed", r.stderr);
    assert.doesNotMatch(r.stdout, /WROTE/);
    assert.equal(fs.existsSync(hostMarker), false);
    const r2 = await run(
      "    import os\n    print('LEFT' if os.path.exists('/tmp/left-behind') else 'FRESH')\n    return x + y\n",
    );
    assert.match(r2.stdout, /FRESH/);
  });

  it("host files are not readable: /etc/shadow, the repository, $HOME", async () => {
    const targets = ["/etc/shadow", repoFile, path.join(os.homedir(), ".bashrc"), os.homedir(), "/work", "/root"];
    const c =
      `    for p in ${JSON.stringify(targets)}:\n` +
      "        try:\n            import os\n            (os.listdir(p) if os.path.isdir(p) else open(p).read())\n            print('READ', p)\n        except OSError:\n            print('DENIED', p)\n    return x + y\n";
    const r = await run(c);
    assert.equal(r.status, "passed", r.stderr);
    assert.doesNotMatch(r.stdout, /READ/);
  });

  it("network: cannot reach a server listening on the host", async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const c =
        `    import socket\n    try:\n        socket.create_connection(('127.0.0.1', ${port}), timeout=1)\n        print('CONNECTED')\n    except OSError:\n        print('NONET')\n` +
        "    try:\n        socket.create_connection(('1.1.1.1', 53), timeout=1)\n        print('CONNECTED')\n    except OSError:\n        print('NONET')\n    return x + y\n";
      const r = await run(c);
      assert.equal(r.status, "passed", r.stderr);
      assert.doesNotMatch(r.stdout, /CONNECTED/);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  it("daemons do not outlive the run", async () => {
    const token = `bcdaemon${process.pid}${Date.now()}`;
    const c =
      "    return x + y\nimport os, subprocess\n" +
      `subprocess.Popen(['/bin/sh', '-c', 'sleep 30; echo ${token}'], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n` +
      `if os.fork() == 0:\n    os.setsid()\n    os.execv('/bin/sh', ['/bin/sh', '-c', 'sleep 31 # ${token}'])\n`;
    const r = await run(c);
    assert.equal(r.status, "passed", r.stderr);
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(processesWithToken(token), [], "no process of the run may survive it");
  });

  it("signals to the parent, to pid 1, to everyone (-1) and to a host process do not escape", async () => {
    const victim = spawn("/bin/sleep", ["30"], { stdio: "ignore" });
    try {
      const c = `    import os, signal\n    for pid in (os.getppid(), 1, -1, ${victim.pid}):\n        try:\n            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n    return x + y\n`;
      const r = await run(c);
      // Either the signals had no effect (tests completed: a legitimate pass) or the program only took down
      // its own sandbox (failed); nothing outside may be touched.
      assert.ok(r.status === "passed" || r.status === "failed", r.status);
      assert.equal(victim.exitCode, null);
      assert.equal(victim.signalCode, null);
      assert.doesNotThrow(() => process.kill(victim.pid!, 0), "the host process must still be alive");
      await stillHealthy();
    } finally {
      victim.kill("SIGKILL");
    }
  });

  it("deep recursion: contained and classified", async () => {
    const r = await run(
      "    import sys\n    sys.setrecursionlimit(10**9)\n    def f(n):\n        return f(n + 1) + 1\n    return f(0)\n",
    );
    assert.equal(r.passed, false);
    assert.ok(["failed", "memory", "timeout"].includes(r.status), r.status);
    await stillHealthy();
  });

  it("refuses with a clear message when it cannot sandbox, unless the caller opts out (unsafe mode still runs and classifies)", async () => {
    const saved = process.env.BATCODER_BWRAP;
    process.env.BATCODER_BWRAP = "/nonexistent/bwrap";
    try {
      const p = probeSandbox(true);
      assert.equal(p.ok, false);
      assert.throws(
        () => new Sandbox(),
        (e: Error & { userFacing?: boolean }) =>
          e.userFacing === true && /bubblewrap/.test(e.message) && /--unsafe-no-sandbox/.test(e.message),
      );
      const unsafe = new Sandbox({ unsafe: true });
      assert.equal(unsafe.mode, "unsafe");
      const ok = await executeProgram(unsafe, "py", add.assemble(CORRECT), { limits });
      assert.equal(ok.status, "passed", ok.stderr);
      const bad = await executeProgram(unsafe, "py", add.assemble("    import os\n    os._exit(0)\n"), { limits });
      assert.equal(bad.passed, false);
      const loop = await executeProgram(unsafe, "py", add.assemble("    while True:\n        pass\n"), {
        limits: { ...limits, wallMs: 1500 },
      });
      assert.equal(loop.status, "timeout");
    } finally {
      if (saved === undefined) delete process.env.BATCODER_BWRAP;
      else process.env.BATCODER_BWRAP = saved;
      probeSandbox(true);
    }
    await stillHealthy();
  });
});
