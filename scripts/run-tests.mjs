// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
let files = walk("dist/test").sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error("run-tests: no test files found under dist/test");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: { ...process.env, BATCODER_TEST: "1" },
});
process.exit(r.status ?? 1);
