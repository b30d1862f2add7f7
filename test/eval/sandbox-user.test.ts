/**
 * The sandbox as a normal (non-root) user: when the tests run as root, a child node process is started as
 * uid/gid 65534 (setpriv) and drives the sandbox in "user" mode (unprivileged user namespace + rlimits).
 * When the tests already run as a normal user, sandbox.test.ts covers that mode directly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const executors = path.resolve(here, "../../src/eval/sandbox/executors.js");
const sandbox = path.resolve(here, "../../src/eval/sandbox/sandbox.js");

const script = `
import { Sandbox, probeSandbox } from ${JSON.stringify(sandbox)};
import { executeProgram } from ${JSON.stringify(executors)};
const p = probeSandbox();
const sb = new Sandbox();
const limits = { wallMs: 3000, cpuSeconds: 3, memoryBytes: 256 * 1024 * 1024 };
const out = { mode: sb.mode, probe: p };
for (const [name, src] of [
  ["ok", "import os\\nprint(os.getuid())\\n"],
  ["exit0", "import os\\nos._exit(0)\\n"],
  ["mem", "x = bytearray(2 * 1024 ** 3)\\n"],
  ["loop", "while True:\\n    pass\\n"],
  ["fork", "import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass\\n"],
  ["read", "open('/etc/shadow').read()\\n"],
]) {
  const r = await executeProgram(sb, "py", src, { limits });
  out[name] = r.status;
}
console.log(JSON.stringify(out));
`;

test("user mode (non-root): passes, refuses early exit, contains memory/loop/fork bombs, hides host files", (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("already running as a normal user: sandbox.test.ts exercises user mode");
    return;
  }
  const probe = spawnSync(
    "/usr/bin/setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", executors],
    { encoding: "utf8" },
  );
  if (probe.status !== 0) {
    t.skip("the build is not readable by uid 65534 here");
    return;
  }
  const dir = fs.mkdtempSync("/tmp/bc-usermode-");
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, "run.mjs");
  fs.writeFileSync(file, script, { mode: 0o644 });
  try {
    const r = spawnSync(
      "/usr/bin/setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, file],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(out.mode, "user");
    assert.equal(out.ok, "passed");
    assert.equal(out.exit0, "failed");
    assert.equal(out.mem, "memory");
    assert.equal(out.loop, "timeout");
    assert.notEqual(out.fork, "passed");
    assert.equal(out.read, "failed");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
