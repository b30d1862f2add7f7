/**
 * Behavioural comparison of an original function `c` and a rebuild `c'`: both run in the sandbox on the same
 * generated inputs; the score is the share of inputs on which they agree (return value, printed output and
 * the arguments after the call when the call returns; the exception's type when it raises).
 *
 * Many jobs share one sandboxed process (a batch); jobs with the same original form a group whose original
 * runs once (twice, to detect non-determinism) and whose probe result is cached, so a GRPO group of rebuilds
 * costs one original run. Batches run on `workers` sandboxes at once.
 */
import crypto from "node:crypto";
import os from "node:os";
import { UserError } from "../core/errors.js";
import { loadLanguage, resolveLangId } from "../lang/index.js";
import { Sandbox, type SandboxResult } from "../sandbox/sandbox.js";
import { exploratoryCount, generateInputs, type Json } from "./inputs.js";
import { BEHAVIOUR_LANGS, prepareBatch, type BatchGroup, type BehaviourLang } from "./runners/index.js";
import { analyseFunction, type FunctionInfo } from "./signature.js";

export interface BehaviourJob {
  /** A language id or alias (python/py, ruby/rb, javascript/js, lua, go). */
  lang: string;
  original: string;
  rebuilt: string;
  /** Function to compare; default: the first top-level function of the original. */
  entryPoint?: string;
  /** Extra argument lists (JSON) run before the generated ones (e.g. a benchmark's own tests). */
  inputs?: Json[][];
  /** Use only `inputs` (no generated ones). */
  inputsOnly?: boolean;
}

export interface BehaviourResult {
  /** Share of inputs with the same outcome, in [0, 1]; null when the original is not executable. */
  score: number | null;
  /** Whether the original could be run alone (deterministic, defined, not every input failing). */
  executable: boolean;
  /** Why the original is not executable, or why the rebuild scored 0 (does not load, arity, ...); else null. */
  reason: string | null;
  /** Inputs compared (0 when not executable). */
  nInputs: number;
  /** Inputs on which both agreed. */
  agree: number;
  entryPoint: string | null;
  /** The first input on which they disagree, with both outcomes (previews, truncated). */
  mismatch?: { input: string; original: string; rebuilt: string };
}

export interface BehaviourOptions {
  /** Input-generation seed (default 0): same seed, same inputs, same scores. */
  seed?: number;
  /** Inputs compared per function (default 24). */
  nInputs?: number;
  /** Candidate inputs run on the original, from which the compared ones are chosen (default 40). */
  nCandidates?: number;
  /** Largest share of compared inputs on which the original raises (default 0.125). */
  maxErrorShare?: number;
  /**
   * Per-call wall-clock limit inside the runner, ms (default 1000; Python and Lua also stop a call after a
   * tenth of it in CPU time).
   */
  callMs?: number;
  /** Wall-clock budget per side (all inputs of one function), ms (default 10000). */
  sideMs?: number;
  /** Sides (function runs) per sandboxed process (default 128). */
  batchSize?: number;
  /** Sandboxes run at once (default: twice the number of CPUs; a sandbox start waits on I/O). */
  workers?: number;
  /** Originals whose probe results are kept (default 1024). */
  cacheSize?: number;
  /** Address-space limit per runner process, bytes (Python; default 768 MiB). */
  memoryBytes?: number;
  /**
   * Python: a standard-library module used by name without an import is imported on first use, in both
   * programs alike (functions cut out of their file lose its imports). Default true.
   */
  autoImport?: boolean;
  /** Use this sandbox (else one is made; `unsafe` opts out of isolation explicitly). */
  sandbox?: Sandbox;
  unsafe?: boolean;
}

export const BEHAVIOUR_DEFAULTS = {
  seed: 0,
  nInputs: 24,
  nCandidates: 40,
  maxErrorShare: 0.125,
  callMs: 1000,
  sideMs: 10000,
  batchSize: 128,
  cacheSize: 1024,
  memoryBytes: 768 * 1024 * 1024,
  autoImport: true,
};

type Outcome = [kind: string, hash: string, preview: string];

interface SideResult {
  load: string | null;
  arity: [number, number] | null;
  out: Outcome[];
}

/** What running the original told us, cached per (lang, original, entry, seed, sizes). */
type Probe =
  | { executable: false; reason: string; entry: string | null }
  | {
      executable: true;
      entry: string;
      inputs: Json[][];
      outcomes: Outcome[];
      arity: [number, number] | null;
      nArgs: number;
    };

interface GroupWork {
  key: string;
  lang: BehaviourLang;
  entry: string;
  info: FunctionInfo;
  original: string;
  /** Inputs to run: all candidates while the original is probed, then the chosen ones. */
  inputs: Json[][];
  probe: Probe | null;
  /** Candidates before this index are the main ones; the rest explore other kinds. */
  nMain: number;
  rebuilds: Map<string, string>;
  /** A rebuild's own function name where it does not define the original's (rebuildEntry). */
  rebuildEntries: Map<string, string>;
  /** Filled by the batches. */
  sides: Map<string, SideResult>;
}

const LANG_OF: Record<string, BehaviourLang | undefined> = Object.fromEntries(BEHAVIOUR_LANGS.map((l) => [l, l]));

/** The behaviour language of a language name or alias, or a UserError listing the supported ones. */
export function behaviourLang(name: string): BehaviourLang {
  const id = resolveLangId(name);
  const l = id ? LANG_OF[id] : undefined;
  if (!l)
    throw new UserError(
      `behaviour: language ${JSON.stringify(name)} is not supported (supported: ${BEHAVIOUR_LANGS.join(", ")})`,
    );
  return l;
}

function sha(s: string): string {
  return crypto.createHash("sha256").update(s).digest("hex").slice(0, 24);
}

function agreeOutcome(a: Outcome, b: Outcome): boolean {
  return a[0] === b[0] && (a[0] !== "ok" || a[1] === b[1]);
}

function describe(o: Outcome): string {
  if (o[0] === "ok") return `returns ${o[2]}`;
  if (o[0].startsWith("exc:")) return `raises ${o[2] || o[0].slice(4)}`;
  return o[0];
}

const TIMEOUTS = new Set(["timeout", "side-timeout", "crash"]);

function argsPreview(args: Json[]): string {
  const s = JSON.stringify(args);
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}

function arityText(a: [number, number]): string {
  return a[1] < 0 ? `${a[0]}+` : a[0] === a[1] ? String(a[0]) : `${a[0]}..${a[1]}`;
}

/** Decides executability from the original's two runs and chooses the compared inputs. */
export function probeFromRuns(
  entry: string,
  inputs: Json[][],
  o1: SideResult,
  o2: SideResult,
  o: Required<Pick<BehaviourOptions, "nInputs" | "maxErrorShare">>,
  /** Candidates from this index on are exploratory (other kinds): never chosen as raising inputs. */
  errorsBefore = inputs.length,
): Probe {
  if (o1.load !== null) return { executable: false, reason: `original does not load: ${o1.load}`, entry };
  if (o2.load !== null)
    return { executable: false, reason: `original does not load the second time: ${o2.load}`, entry };
  let nondet = 0;
  const ok: number[] = [];
  const err: number[] = [];
  const errTypes = new Map<string, { n: number; preview: string }>();
  let timeouts = 0;
  for (let i = 0; i < inputs.length; i++) {
    const a = o1.out[i];
    const b = o2.out[i];
    if (!a || !b) return { executable: false, reason: "original: runner returned fewer outcomes than inputs", entry };
    if (TIMEOUTS.has(a[0]) || TIMEOUTS.has(b[0])) {
      timeouts++;
      continue;
    }
    if (!agreeOutcome(a, b)) {
      nondet++;
      continue;
    }
    if (a[0] === "ok") ok.push(i);
    else {
      if (i < errorsBefore) err.push(i);
      const e = errTypes.get(a[0]) ?? { n: 0, preview: a[2] };
      e.n++;
      errTypes.set(a[0], e);
    }
  }
  if (nondet > 0)
    return {
      executable: false,
      reason: `non-deterministic: ${nondet} of ${inputs.length} inputs gave different outcomes on two runs`,
      entry,
    };
  if (ok.length === 0) {
    if (err.length === 0) return { executable: false, reason: `every input timed out (${timeouts})`, entry };
    const [type, e] = [...errTypes.entries()].sort((x, y) => y[1].n - x[1].n)[0]!;
    return {
      executable: false,
      reason: `every input raises (${err.length}/${inputs.length} ${type.slice(4)}${e.preview ? `: ${e.preview}` : ""})`,
      entry,
    };
  }
  const nErr = Math.min(err.length, Math.floor(o.nInputs * o.maxErrorShare));
  const nOk = Math.min(ok.length, o.nInputs - nErr);
  const chosen = [...ok.slice(0, nOk), ...err.slice(0, nErr)].sort((a, b) => a - b);
  const distinct = new Set(chosen.map((i) => `${o1.out[i]![0]}|${o1.out[i]![1]}`));
  if (distinct.size < 2)
    return {
      executable: false,
      reason: `constant behaviour: all ${chosen.length} inputs give the same outcome (${describe(o1.out[chosen[0]!]!)})`,
      entry,
    };
  return {
    executable: true,
    entry,
    inputs: chosen.map((i) => inputs[i]!),
    outcomes: chosen.map((i) => o1.out[i]!),
    arity: o1.arity,
    nArgs: inputs[0]?.length ?? 0,
  };
}

/** Scores one rebuild's side against the probe. */
function scoreSide(p: Extract<Probe, { executable: true }>, r: SideResult | undefined): BehaviourResult {
  const base = { executable: true, entryPoint: p.entry, nInputs: p.inputs.length };
  if (!r) return { ...base, score: 0, agree: 0, reason: "rebuild was not run (runner failure)" };
  if (r.load !== null)
    return {
      ...base,
      score: 0,
      agree: 0,
      reason: r.load.startsWith("does not define") ? `rebuild ${r.load}` : `rebuild does not load: ${r.load}`,
    };
  if (r.arity && (p.nArgs < r.arity[0] || (r.arity[1] >= 0 && p.nArgs > r.arity[1]))) {
    return {
      ...base,
      score: 0,
      agree: 0,
      reason: `arity differs: the original is called with ${p.nArgs} argument(s), the rebuild takes ${arityText(r.arity)}`,
    };
  }
  let agree = 0;
  let mismatch: BehaviourResult["mismatch"];
  for (let j = 0; j < p.inputs.length; j++) {
    const ro = r.out[j];
    const oo = p.outcomes[j]!;
    if (ro && agreeOutcome(oo, ro)) agree++;
    else if (!mismatch)
      mismatch = {
        input: argsPreview(p.inputs[j]!),
        original: describe(oo),
        rebuilt: ro ? describe(ro) : "no outcome",
      };
  }
  const res: BehaviourResult = { ...base, score: agree / p.inputs.length, agree, reason: null };
  if (mismatch) res.mismatch = mismatch;
  return res;
}

/** Arity from the syntax tree, for runners that cannot introspect it (JavaScript): [required, all or -1]. */
function hostArity(lang: BehaviourLang, src: string, entry: string): [number, number] | null {
  const info = analyseFunction(lang, src, entry);
  if ("error" in info) return null;
  const required = info.params.filter((p) => p.defaultText === null).length;
  return [required, info.variadic ? -1 : info.params.length];
}

class Lru<V> {
  private m = new Map<string, V>();
  constructor(readonly cap: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.cap) this.m.delete(this.m.keys().next().value!);
  }
  get size(): number {
    return this.m.size;
  }
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

function crashReason(r: SandboxResult): string {
  if (r.timedOut) return "the sandboxed process hit its wall-clock limit";
  if (r.memoryExceeded) return "the sandboxed process ran out of memory";
  if (r.cpuExceeded) return "the sandboxed process hit its CPU-time limit";
  if (r.outputLimited) return "the sandboxed process printed too much";
  const tail = r.stderr.trim().split("\n").slice(-1)[0] ?? "";
  return `the sandboxed process died (${r.signal ?? `exit ${r.exitCode}`}${tail ? `: ${tail.slice(0, 160)}` : ""})`;
}

/**
 * The function of a rebuild to call. A rebuild made from documentation alone cannot know the original's name (the
 * documentation does not carry it), so when the rebuild does not define that name, its first top-level function
 * (not a method) stands in for it: behaviour is compared, not naming. Null = call the original's name (defined, or
 * nothing better to call; the runner then reports the missing definition).
 */
export function rebuildEntry(lang: BehaviourLang, rebuilt: string, entry: string): string | null {
  if (!("error" in analyseFunction(lang, rebuilt, entry))) return null;
  const first = analyseFunction(lang, rebuilt);
  if ("error" in first || first.method || first.entry === entry) return null;
  return first.entry;
}

/** A reusable behavioural comparator: keeps the sandbox and the cache of probed originals. */
export class BehaviourRunner {
  readonly opts: Required<Omit<BehaviourOptions, "sandbox" | "unsafe">>;
  private readonly sandbox: Sandbox;
  private readonly cache: Lru<Probe>;
  /** Sandboxed processes started so far (for benchmarks). */
  processes = 0;
  /** CPU seconds the runner processes reported (interpreter start included, sandbox set-up not; for benchmarks). */
  runnerCpuSeconds = 0;

  constructor(opts: BehaviourOptions = {}) {
    this.opts = {
      ...BEHAVIOUR_DEFAULTS,
      workers: Math.max(2, 2 * os.cpus().length),
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as Required<Omit<BehaviourOptions, "sandbox" | "unsafe">>;
    for (const k of ["nInputs", "nCandidates", "callMs", "sideMs", "batchSize", "workers", "cacheSize"] as const) {
      const v = this.opts[k];
      if (!Number.isInteger(v) || v < 1) throw new UserError(`behaviour: ${k} must be a positive integer, got ${v}`);
    }
    if (!(this.opts.maxErrorShare >= 0 && this.opts.maxErrorShare <= 1))
      throw new UserError(`behaviour: maxErrorShare must be in [0, 1]`);
    this.sandbox = opts.sandbox ?? new Sandbox({ unsafe: opts.unsafe ?? false });
    this.cache = new Lru(this.opts.cacheSize);
  }

  /** Compares every job; results in job order. Throws UserError only for an unsupported language. */
  async compare(jobs: BehaviourJob[]): Promise<BehaviourResult[]> {
    const o = this.opts;
    const results: (BehaviourResult | undefined)[] = new Array(jobs.length);
    const groups = new Map<string, GroupWork>();
    const members: { job: number; group: string; rid: string }[] = [];
    const langs = new Set(jobs.map((j) => behaviourLang(j.lang)));
    for (const l of langs) await loadLanguage(l);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const lang = behaviourLang(job.lang);
      const key = sha(
        JSON.stringify([
          lang,
          job.original,
          job.entryPoint ?? null,
          job.inputs ?? null,
          job.inputsOnly ?? false,
          o.autoImport,
          o.seed,
          o.nInputs,
          o.nCandidates,
          o.maxErrorShare,
          o.callMs,
        ]),
      );
      let g = groups.get(key);
      if (!g) {
        const cached = this.cache.get(key);
        if (cached && !cached.executable) {
          results[i] = {
            score: null,
            executable: false,
            reason: cached.reason,
            nInputs: 0,
            agree: 0,
            entryPoint: cached.entry,
          };
          continue;
        }
        const info = analyseFunction(lang, job.original, job.entryPoint);
        if ("error" in info) {
          const p: Probe = { executable: false, reason: `original: ${info.error}`, entry: job.entryPoint ?? null };
          this.cache.set(key, p);
          results[i] = { score: null, executable: false, reason: p.reason, nInputs: 0, agree: 0, entryPoint: p.entry };
          continue;
        }
        const why = info.method ? "a method (needs an instance of its class)" : info.unsupported;
        if (why) {
          const p: Probe = {
            executable: false,
            reason: `original is ${why.startsWith("a method") ? why : `not runnable alone: ${why}`}`,
            entry: info.entry,
          };
          this.cache.set(key, p);
          results[i] = {
            score: null,
            executable: false,
            reason: p.reason,
            nInputs: 0,
            agree: 0,
            entryPoint: info.entry,
          };
          continue;
        }
        let inputs = cached?.executable
          ? cached.inputs
          : job.inputsOnly
            ? []
            : generateInputs(info, job.original, { seed: o.seed, count: o.nCandidates });
        let nMain = inputs.length - exploratoryCount(info, o.nCandidates);
        if (!cached && job.inputs?.length) {
          const seen = new Set(job.inputs.map((x) => JSON.stringify(x)));
          inputs = [...job.inputs, ...inputs.filter((x) => !seen.has(JSON.stringify(x)))];
          nMain = inputs.length - exploratoryCount(info, o.nCandidates);
        }
        g = {
          key,
          lang,
          entry: info.entry,
          info,
          original: job.original,
          inputs,
          probe: cached ?? null,
          nMain,
          rebuilds: new Map(),
          rebuildEntries: new Map(),
          sides: new Map(),
        };
        groups.set(key, g);
      }
      const rid = sha(job.rebuilt).slice(0, 12);
      g.rebuilds.set(rid, job.rebuilt);
      const own = rebuildEntry(lang, job.rebuilt, g.entry);
      if (own) g.rebuildEntries.set(rid, own);
      members.push({ job: i, group: key, rid });
    }
    // Phase 1: probe the originals not in the cache (run twice on every candidate input).
    await this.runGroups([...groups.values()], "originals");
    for (const g of groups.values()) {
      if (!g.probe) {
        const o1 = g.sides.get("o1");
        const o2 = g.sides.get("o2");
        g.probe =
          o1 && o2
            ? probeFromRuns(g.entry, g.inputs, o1, o2, o, g.nMain)
            : { executable: false, reason: g.sides.get("o1!")?.load ?? "original was not run", entry: g.entry };
        this.cache.set(g.key, g.probe);
      }
      if (g.probe.executable) g.inputs = g.probe.inputs;
    }
    // Phase 2: the rebuilds of executable originals, on the chosen inputs only.
    await this.runGroups(
      [...groups.values()].filter((g) => g.probe?.executable),
      "rebuilds",
    );
    for (const m of members) {
      const g = groups.get(m.group)!;
      const p = g.probe!;
      if (!p.executable) {
        results[m.job] = {
          score: null,
          executable: false,
          reason: p.reason,
          nInputs: 0,
          agree: 0,
          entryPoint: p.entry,
        };
        continue;
      }
      const side = g.sides.get(`r:${m.rid}`);
      const crash = g.sides.get(`r:${m.rid}!`);
      if (!side && crash) {
        results[m.job] = {
          score: 0,
          executable: true,
          reason: `rebuild ${crash.load}`,
          nInputs: p.inputs.length,
          agree: 0,
          entryPoint: p.entry,
        };
        continue;
      }
      if (side && side.load === null && side.arity === null)
        side.arity = hostArity(g.lang, g.rebuilds.get(m.rid)!, g.rebuildEntries.get(m.rid) ?? g.entry);
      results[m.job] = scoreSide(p, side);
    }
    return results as BehaviourResult[];
  }

  /** Runs every side of every group, in batches, retrying the sides a crashed process did not reach. */
  private async runGroups(groups: GroupWork[], phase: "originals" | "rebuilds"): Promise<void> {
    type Side = { g: GroupWork; side: string };
    const pending: Side[] = [];
    for (const g of groups) {
      if (phase === "originals" && !g.probe) pending.push({ g, side: "o1" }, { g, side: "o2" });
      if (phase === "rebuilds") for (const rid of g.rebuilds.keys()) pending.push({ g, side: `r:${rid}` });
    }
    const byLang = new Map<BehaviourLang, Side[]>();
    for (const s of pending) byLang.set(s.g.lang, [...(byLang.get(s.g.lang) ?? []), s]);
    const batches: { lang: BehaviourLang; sides: Side[] }[] = [];
    for (const [lang, sides] of byLang) {
      for (let i = 0; i < sides.length; i += this.opts.batchSize)
        batches.push({ lang, sides: sides.slice(i, i + this.opts.batchSize) });
    }
    await pool(batches, this.opts.workers, async (b) => {
      const stack = [b.sides];
      while (stack.length) stack.push(...(await this.runBatch(b.lang, stack.pop()!)).filter((x) => x.length));
    });
  }

  /**
   * Runs one batch; returns the batches still to run: after a crash, the sides not reached minus the one that
   * caused it; after a Go build that failed as a whole, the batch split in two (then per side, blamed).
   */
  private async runBatch(
    lang: BehaviourLang,
    sides: { g: GroupWork; side: string }[],
  ): Promise<{ g: GroupWork; side: string }[][]> {
    const o = this.opts;
    const byGroup = new Map<string, { g: GroupWork; orig: boolean; rebuilds: string[] }>();
    for (const s of sides) {
      const e = byGroup.get(s.g.key) ?? { g: s.g, orig: false, rebuilds: [] };
      if (s.side === "o1" || s.side === "o2") e.orig = true;
      else e.rebuilds.push(s.side.slice(2));
      byGroup.set(s.g.key, e);
    }
    const spec = {
      callMs: o.callMs,
      sideMs: o.sideMs,
      memBytes: o.memoryBytes,
      autoImport: o.autoImport,
      groups: [...byGroup.values()].map(
        (e): BatchGroup => ({
          key: e.g.key,
          entry: e.g.entry,
          inputs: e.g.inputs,
          original: e.orig ? e.g.original : null,
          rebuilds: e.rebuilds.map((id) => {
            const entry = e.g.rebuildEntries.get(id);
            return { id, src: e.g.rebuilds.get(id)!, ...(entry ? { entry } : {}) };
          }),
          ...(e.g.info.go ? { goSig: { params: e.g.info.go.paramTypes, results: e.g.info.go.results } } : {}),
        }),
      ),
    };
    // The original runs twice; a side whose sibling o1 crashed must not run o2 alone, so they stay together.
    const prep = prepareBatch(lang, spec);
    const nonce = crypto.randomBytes(16).toString("hex");
    const wallMs = Math.min(120_000, prep.setupMs + 5_000 + sides.length * Math.min(o.sideMs, o.callMs * 8 + 200));
    this.processes++;
    const r = await this.sandbox.run({
      command: prep.command,
      files: prep.files,
      stdin: nonce + "\n",
      env: prep.env,
      limits: {
        wallMs,
        cpuSeconds: Math.ceil(wallMs / 1000),
        memoryBytes: o.memoryBytes + 256 * 1024 * 1024,
        outputBytes: 16 * 1024 * 1024,
        ...(prep.limits ?? {}),
      },
    });
    const groupsByKey = new Map([...byGroup.values()].map((e) => [e.g.key, e.g]));
    const begun = new Set<string>();
    const finished = new Set<string>();
    let done = false;
    let lastBegun: string | null = null;
    for (const line of r.stdout.split("\n")) {
      if (!line.startsWith(nonce + " ")) continue;
      let msg: {
        g?: string;
        side?: string;
        begin?: number;
        done?: number;
        cpu?: number;
        load?: string | null;
        arity?: [number, number] | null;
        out?: Outcome[];
      };
      try {
        msg = JSON.parse(line.slice(nonce.length + 1));
      } catch {
        continue;
      }
      if (msg.done) {
        done = true;
        if (typeof msg.cpu === "number" && Number.isFinite(msg.cpu)) this.runnerCpuSeconds += msg.cpu;
        continue;
      }
      const g = msg.g ? groupsByKey.get(msg.g) : undefined;
      if (!g || !msg.side) continue;
      const id = `${g.key}\u0000${msg.side}`;
      if (msg.begin) {
        begun.add(id);
        lastBegun = id;
        continue;
      }
      g.sides.set(msg.side, { load: msg.load ?? null, arity: msg.arity ?? null, out: msg.out ?? [] });
      finished.add(id);
    }
    const left = sides.filter((s) => !finished.has(`${s.g.key}\u0000${s.side}`));
    if (done || left.length === 0) return [];
    if (finished.size === 0 && lastBegun === null) {
      // Interpreted runners start user code only after a `begin` line: failing before any is a host problem.
      if (lang !== "go" || r.exitCode !== 99)
        throw new Error(
          `behaviour: the ${lang} runner failed before running anything: ${crashReason(r)}\n${r.stderr.slice(-2000)}`,
        );
      // Go: the program as a whole did not build although no side was singled out (e.g. build constraints
      // in a side's source): bisect, keeping each original's two runs together, then blame the single unit.
      const units: { g: GroupWork; side: string }[][] = [];
      for (const s of sides) {
        const last = units[units.length - 1];
        if (s.side === "o2" && last && last[0]!.g === s.g && last[0]!.side === "o1") last.push(s);
        else units.push([s]);
      }
      if (units.length > 1) {
        const half = Math.ceil(units.length / 2);
        return [units.slice(0, half).flat(), units.slice(half).flat()];
      }
      const u = units[0]!;
      const msg = `compile error: the program does not build (${(
        r.stderr
          .trim()
          .split("\n")
          .find((l) => /\.go:\d+/.test(l)) ?? crashReason(r)
      ).slice(0, 200)})`;
      if (u[0]!.side === "o1" || u[0]!.side === "o2")
        u[0]!.g.sides.set("o1!", { load: `original does not load: ${msg}`, arity: null, out: [] });
      else u[0]!.g.sides.set(`${u[0]!.side}!`, { load: `does not load: ${msg}`, arity: null, out: [] });
      return [];
    }
    if (lastBegun === null || finished.has(lastBegun)) return [left]; // died between sides: nothing to blame
    const [gk, side] = lastBegun.split("\u0000") as [string, string];
    const g = groupsByKey.get(gk)!;
    const why = `crashed the runner: ${crashReason(r)}`;
    if (side === "o1" || side === "o2") {
      g.sides.set("o1!", { load: `original ${why}`, arity: null, out: [] });
      // Without its original the group cannot be scored: drop its other sides.
      return [left.filter((s) => s.g !== g)];
    }
    g.sides.set(`${side}!`, { load: why, arity: null, out: [] });
    return [left.filter((s) => !(s.g === g && s.side === side))];
  }
}

/** One-shot convenience: a runner for these jobs only. Prefer a long-lived `BehaviourRunner` (it caches). */
export async function compareBehaviour(jobs: BehaviourJob[], opts: BehaviourOptions = {}): Promise<BehaviourResult[]> {
  return new BehaviourRunner(opts).compare(jobs);
}
