/**
 * The JavaScript batch runner (runs INSIDE the sandbox); same protocol as the Python runner (python.ts).
 * Each side runs in a fresh `vm` context (its own globals; no `require`, no `process`; `console` output is
 * captured into the outcome). Every call, and the canonical serialisation of its result, runs as one script
 * under vm's `timeout`, which interrupts infinite loops. Arity is left to the host (tree-sitter analysis).
 */
export const JS_RUNNER = String.raw`"use strict";
const fs = require("node:fs");
const vm = require("node:vm");
const crypto = require("node:crypto");
const nonce = fs.readFileSync(0, "utf8").split("\n")[0].trim();
const batch = JSON.parse(fs.readFileSync("/src/batch.json", "utf8"));
const OUT = 1;
const emit = (o) => {
  const b = Buffer.from(nonce + " " + JSON.stringify(o) + "\n");
  let off = 0;
  while (off < b.length) off += fs.writeSync(OUT, b, off);
};
// Evaluated inside every context: canonical serialisation and preview, in that realm.
const PRELUDE = "var __bc_log = [];\n" +
  "var console = { log: (...a) => { __bc_log.push(a.map(String).join(' ')); }, error: () => {}, warn: () => {}, info: (...a) => { __bc_log.push(a.map(String).join(' ')); } };\n" +
  "var __bc_canon = " + (function canon(v) {
    let budget = 200000;
    const c = (v, depth, seen) => {
      if (--budget < 0) throw new Error("__bc_toobig");
      if (depth > 40) return "...";
      if (v === null) return "N";
      if (v === undefined) return "U";
      const t = typeof v;
      if (t === "boolean") return v ? "T" : "F";
      if (t === "number") {
        if (Number.isNaN(v)) return "fnan";
        if (Number.isInteger(v) || !Number.isFinite(v)) return "n" + String(v);
        return "n" + v.toPrecision(9).replace(/\.?0+(e|$)/, "$1");
      }
      if (t === "bigint") return "i" + v.toString();
      if (t === "string") return "s" + JSON.stringify(v);
      if (t === "symbol") return "y" + String(v.description);
      if (t === "function") return "fn";
      if (seen.has(v)) return "@";
      const s2 = new Set(seen); s2.add(v);
      const tag = Object.prototype.toString.call(v);
      if (Array.isArray(v)) return "[" + Array.from(v, (x) => c(x, depth + 1, s2)).join(",") + "]";
      if (tag === "[object Map]") return "M<" + Array.from(v.entries(), ([k, x]) => c(k, depth + 1, s2) + ":" + c(x, depth + 1, s2)).sort().join(",") + ">";
      if (tag === "[object Set]") return "S{" + Array.from(v, (x) => c(x, depth + 1, s2)).sort().join(",") + "}";
      if (tag === "[object Date]") return "D" + v.getTime();
      if (tag === "[object Promise]") return "P";
      if (ArrayBuffer.isView(v)) return tag + "[" + Array.from(v).join(",") + "]";
      if (typeof v[Symbol.iterator] === "function" && tag !== "[object Object]") {
        const xs = []; let i = 0;
        for (const x of v) { if (i++ >= 10000) break; xs.push(c(x, depth + 1, s2)); }
        return "it[" + xs.join(",") + "]";
      }
      const ctor = v.constructor && v.constructor.name ? v.constructor.name : "Object";
      return ctor + "<" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + c(v[k], depth + 1, s2)).join(",") + ">";
    };
    return c(v, 0, new Set());
  }).toString() + ";\n" +
  "var __bc_preview = function (v) { try { if (typeof v === 'string') return JSON.stringify(v).slice(0, 80); const s = JSON.stringify(v); return (s === undefined ? String(v) : s).slice(0, 80); } catch (e) { return String(Object.prototype.toString.call(v)).slice(0, 80); } };\n";

function errorType(e) {
  if (e && typeof e === "object") {
    const n = e.constructor && typeof e.constructor.name === "string" ? e.constructor.name : "Object";
    return n;
  }
  return "throw:" + typeof e;
}

function runSide(src, entry, inputs, gkey, side) {
  emit({ g: gkey, side, begin: 1 });
  const ctx = vm.createContext({});
  try {
    vm.runInContext(PRELUDE, ctx);
    vm.runInContext(src, ctx, { timeout: Math.max(batch.callMs * 5, 1000), filename: "prog.js" });
    if (vm.runInContext("typeof " + entry, ctx, { timeout: 1000 }) !== "function") {
      emit({ g: gkey, side, load: "does not define " + entry, arity: null, out: [] });
      return;
    }
  } catch (e) {
    const msg = e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT" ? "loading timed out" : errorType(e) + ": " + String(e && e.message !== undefined ? e.message : e).slice(0, 200);
    emit({ g: gkey, side, load: msg, arity: null, out: [] });
    return;
  }
  const call = new vm.Script(
    "(function () { __bc_log.length = 0; const a = JSON.parse(__bc_in); const before = __bc_canon(a); const r = " + entry + "(...a);" +
    " const after = __bc_canon(a); let pv = __bc_preview(r); if (after !== before) pv = (pv + ' args after: ' + __bc_preview(a)).slice(0, 160);" +
    " return [__bc_canon(r) + '|' + (after === before ? '=' : after) + '|' + __bc_log.join('\\n').slice(0, 10000), pv]; })()",
  );
  const out = [];
  const tEnd = Date.now() + batch.sideMs;
  let timeouts = 0;
  for (const raw of inputs) {
    if (Date.now() > tEnd || timeouts >= 1) { out.push(["side-timeout", "", ""]); continue; }
    ctx.__bc_in = JSON.stringify(raw);
    let kind = "ok", h = "", pv = "";
    try {
      const [s, p] = call.runInContext(ctx, { timeout: batch.callMs });
      h = crypto.createHash("sha1").update(String(s)).digest("hex").slice(0, 16);
      pv = String(p);
    } catch (e) {
      if (e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") { kind = "timeout"; timeouts++; }
      else if (e && e.message === "__bc_toobig") kind = "exc:TooBig";
      else {
        kind = "exc:" + errorType(e);
        try { pv = (errorType(e) + ": " + String(e && e.message !== undefined ? e.message : e)).slice(0, 80); } catch (_) { pv = kind.slice(4); }
      }
    }
    out.push([kind, h, pv]);
  }
  emit({ g: gkey, side, load: null, arity: null, out });
}

for (const g of batch.groups) {
  if (g.original !== null) {
    runSide(g.original, g.entry, g.inputs, g.key, "o1");
    runSide(g.original, g.entry, g.inputs, g.key, "o2");
  }
  for (const r of g.rebuilds) runSide(r.src, g.entry, g.inputs, g.key, "r:" + r.id);
}
const cu = process.cpuUsage();
emit({ done: 1, cpu: (cu.user + cu.system) / 1e6 });
process.exit(0);
`;
