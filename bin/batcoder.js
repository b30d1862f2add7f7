#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`, which scripts/setup.sh runs).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entry = path.join(root, "dist", "src", "cli", "main.js");
if (!existsSync(entry)) {
  console.error("batcoder: not built yet — run `npm run setup` (or `npm run build`) in " + root);
  process.exit(2);
}
const { main } = await import(pathToFileURL(entry).href);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err && err.userFacing) console.error(`batcoder: ${err.message}`);
    else console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
