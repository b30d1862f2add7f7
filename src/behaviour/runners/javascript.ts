/**
 * The JavaScript batch runner (runs INSIDE the sandbox); same protocol as the Python runner (python.ts).
 * Each side runs in a fresh `vm` context (its own globals; no `require`, no `process`; `console` output is
 * captured into the outcome). All calls of a side, with the canonical serialisation of their results, first run
 * as one script under vm's `timeout` (callMs); if that times out, the side is redone in a fresh context call
 * by call, each under its own `timeout`, which interrupts infinite loops. Arity is left to the host.
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

// Compiled once, run in every fresh context.
const PRELUDE_SCRIPT = new vm.Script(PRELUDE);
const scripts = new Map();
function scriptFor(key, text) {
  let sc = scripts.get(key);
  if (!sc) {
    sc = new vm.Script(text);
    scripts.set(key, sc);
  }
  return sc;
}

function load(src, entry) {
  const ctx = vm.createContext({});
  try {
    PRELUDE_SCRIPT.runInContext(ctx);
    vm.runInContext(src, ctx, { timeout: Math.max(batch.callMs * 5, 1000), filename: "prog.js" });
    if (vm.runInContext("typeof " + entry, ctx, { timeout: 1000 }) !== "function") return { err: "does not define " + entry };
  } catch (e) {
    return { err: e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT" ? "loading timed out" : errorType(e) + ": " + String(e && e.message !== undefined ? e.message : e).slice(0, 200) };
  }
  return { ctx };
}

const sha = (s) => crypto.createHash("sha1").update(String(s)).digest("hex").slice(0, 16);
const outcome = (x) => {
  const [k, s, p] = Array.from(x);
  return k === "ok" ? ["ok", sha(s), String(p)] : [String(k), "", String(p)];
};

// One call, inside the context: [kind, canonical outcome, preview].
const CALL_BODY = (entry) =>
  "__bc_log.length = 0; try { const before = __bc_canon(a); const r = " + entry + "(...a);" +
  " const after = __bc_canon(a); let pv = __bc_preview(r); if (after !== before) pv = (pv + ' args after: ' + __bc_preview(a)).slice(0, 160);" +
  " res.push(['ok', __bc_canon(r) + '|' + (after === before ? '=' : after) + '|' + __bc_log.join('\\n').slice(0, 10000), pv]); }" +
  " catch (e) { let t = 'Object', m = ''; try { t = (e && typeof e === 'object') ? (e.constructor && typeof e.constructor.name === 'string' ? e.constructor.name : 'Object') : 'throw:' + typeof e;" +
  " m = String(e && e.message !== undefined ? e.message : e); } catch (_) {}" +
  " if (m === '__bc_toobig') res.push(['exc:TooBig', '', '']); else res.push(['exc:' + t, '', (t + ': ' + m).slice(0, 80)]); }";

function runSide(src, entry, inputs, gkey, side) {
  emit({ g: gkey, side, begin: 1 });
  let L = load(src, entry);
  if (L.err) {
    emit({ g: gkey, side, load: L.err, arity: null, out: [] });
    return;
  }
  // Fast path: every input in one script under one limit (vm's timeout starts a watchdog thread per run).
  // Results go to context globals, so a run stopped by the limit still tells which calls finished.
  const t0 = Date.now();
  try {
    L.ctx.__bc_ins = JSON.stringify(inputs);
    L.ctx.__bc_res = [];
    const all = scriptFor("all:" + entry, "(function () { const ins = JSON.parse(__bc_ins); const res = __bc_res; for (let k = 0; k < ins.length; k++) { const a = ins[k]; __bc_started = Date.now(); " + CALL_BODY(entry) + " } return res; })()");
    const res = all.runInContext(L.ctx, { timeout: batch.callMs });
    if (Array.isArray(res) && res.length === inputs.length) {
      emit({ g: gkey, side, load: null, arity: null, out: res.map(outcome) });
      return;
    }
  } catch (e) {
    if (e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      // The call in progress ran for most of the limit: it timed out (as the call-by-call path would say).
      let done = [];
      let started = t0;
      try {
        done = Array.from(L.ctx.__bc_res);
        started = Number(L.ctx.__bc_started) || t0;
      } catch (_) {}
      if (done.length < inputs.length && Date.now() - started >= batch.callMs / 2) {
        const out = done.map(outcome);
        out.push(["timeout", "", ""]);
        while (out.length < inputs.length) out.push(["side-timeout", "", ""]);
        emit({ g: gkey, side, load: null, arity: null, out });
        return;
      }
    }
    // otherwise (slow calls, or the program broke the harness): redo this side call by call in a fresh context
  }
  L = load(src, entry);
  if (L.err) {
    emit({ g: gkey, side, load: L.err, arity: null, out: [] });
    return;
  }
  const ctx = L.ctx;
  const call = scriptFor("one:" + entry, "(function () { const a = JSON.parse(__bc_in); const res = []; " + CALL_BODY(entry) + " return res[0]; })()");
  const out = [];
  const tEnd = Date.now() + batch.sideMs;
  let timeouts = 0;
  for (const raw of inputs) {
    if (Date.now() > tEnd || timeouts >= 1) { out.push(["side-timeout", "", ""]); continue; }
    ctx.__bc_in = JSON.stringify(raw);
    try {
      out.push(outcome(call.runInContext(ctx, { timeout: batch.callMs })));
    } catch (e) {
      if (e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") { out.push(["timeout", "", ""]); timeouts++; }
      else {
        let pv = "";
        try { pv = (errorType(e) + ": " + String(e && e.message !== undefined ? e.message : e)).slice(0, 80); } catch (_) {}
        out.push(["exc:" + errorType(e), "", pv]);
      }
    }
  }
  emit({ g: gkey, side, load: null, arity: null, out });
}

for (const g of batch.groups) {
  if (g.original !== null) {
    runSide(g.original, g.entry, g.inputs, g.key, "o1");
    runSide(g.original, g.entry, g.inputs, g.key, "o2");
  }
  for (const r of g.rebuilds) runSide(r.src, r.entry || g.entry, g.inputs, g.key, "r:" + r.id);
}
const cu = process.cpuUsage();
emit({ done: 1, cpu: (cu.user + cu.system) / 1e6 });
process.exit(0);
`;
