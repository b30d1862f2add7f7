/** core/diff: unified diffs that `patch` applies back exactly (LF and CRLF), and hunks with context. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { unifiedDiff } from "../../src/core/diff.js";
import { Rng } from "../../src/core/rng.js";

function patchApplies(a: string, b: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-diff-"));
  try {
    fs.writeFileSync(path.join(dir, "f.txt"), a);
    const d = unifiedDiff(a, b, { fromFile: "a/f.txt", toFile: "b/f.txt" });
    const r = spawnSync("patch", ["-p1", "--binary", "-s"], { cwd: dir, input: d, encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${d}`);
    return fs.readFileSync(path.join(dir, "f.txt"), "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("unifiedDiff: equal texts give no diff; insertions show context and correct ranges", () => {
  assert.equal(unifiedDiff("a\nb\n", "a\nb\n"), "");
  const d = unifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nnew\n5\n6\n7\n8\n9\n", {
    fromFile: "x",
    toFile: "y",
  });
  assert.equal(d, "--- x\n+++ y\n@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n");
});

test("unifiedDiff: random edits round-trip through patch(1), LF, CRLF and no final newline", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 25; trial++) {
    const eol = trial % 3 === 0 ? "\r\n" : "\n";
    const a = Array.from({ length: 5 + Math.floor(rng.next() * 40) }, (_, i) => `line ${i % 7}`);
    const b = [...a];
    for (let e = 0; e < 1 + Math.floor(rng.next() * 6); e++) {
      const at = Math.floor(rng.next() * (b.length + 1));
      if (rng.next() < 0.5) b.splice(at, 0, `ins ${e}`);
      else if (b.length) b.splice(Math.min(at, b.length - 1), 1);
    }
    const tail = trial % 4 === 1 ? "" : eol;
    const A = a.join(eol) + eol,
      B = b.join(eol) + tail;
    assert.equal(patchApplies(A, B), B, `trial ${trial}`);
  }
});
