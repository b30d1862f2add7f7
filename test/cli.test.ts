import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const bin = "bin/batcoder.js";

test("batcoder --help lists every command", () => {
  const r = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0);
  for (const c of ["train", "eval", "corpus", "similarity", "serve", "export"])
    assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test("unknown command exits 2 with a clear message", () => {
  const r = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
