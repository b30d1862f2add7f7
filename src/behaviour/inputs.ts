/**
 * Input generation for behavioural comparison: type-aware random values (types from hints, defaults,
 * declarations, usage and parameter names; values seeded from the function's own literals and comparison
 * boundaries), then EvalPlus-style type-preserving mutation of those seeds. Deterministic for (source, seed);
 * sizes are bounded (lists ≤ 8 elements, strings ≤ 12 characters, dicts ≤ 5 entries, nesting ≤ 3).
 *
 * Values are JSON. Python tuples/sets/int-keyed dicts are tagged (`{"__bc__": "tuple", "v": [...]}`) and
 * decoded by the Python runner; other languages only ever get plain JSON.
 */
import { Rng } from "../core/rng.js";
import type { LangId } from "../lang/index.js";
import { fnv1a, type FunctionInfo, type Kind, type ParamInfo, type Ty } from "./signature.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface InputOptions {
  seed: number;
  /** How many distinct candidate argument lists to produce (default 40). */
  count: number;
}

const WORDS = [
  "",
  "a",
  "abc",
  "hello",
  "Hello World",
  "racecar",
  "a,b,c",
  "123",
  " x ",
  "aAbB",
  "zz",
  "the cat",
  "level",
  "xyz",
  "b",
];
const STR_WORDS = ["apple", "Bob", "cat", "", "dog", "a", "kiwi", "zebra", "hello", "ab"];
const ALPHABET = "abcxyzAB ,.019";
const DICT_KEYS = ["a", "b", "c", "x", "key", "apple", "z"];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function tag(lang: LangId, kind: "tuple" | "set", v: Json[]): Json {
  return lang === "python" ? { __bc__: kind, v } : v;
}

export class Generator {
  constructor(
    readonly rng: Rng,
    readonly info: FunctionInfo,
  ) {}

  int(min?: number): number {
    const r = this.rng;
    const ints = this.info.ints;
    let v: number;
    const u = r.next();
    if (ints.length && u < 0.3) v = pick(r, ints);
    else if (u < 0.85) v = r.int(16) - 3;
    else v = r.int(201) - 100;
    if (min !== undefined && v < min) v = min + (Math.abs(v) % 50);
    return v;
  }

  float(): number {
    const r = this.rng;
    if (this.info.floats.length && r.next() < 0.3) return pick(r, this.info.floats);
    const u = r.next();
    if (u < 0.2) return pick(r, [0, 0.5, 1.5, -2.25, 10]);
    return Math.round((r.next() * 20 - 10) * 100) / 100;
  }

  str(char = false): string {
    const r = this.rng;
    if (char) return ALPHABET[r.int(ALPHABET.length)]!;
    const strs = this.info.strs;
    const u = r.next();
    if (strs.length && u < 0.3) return pick(r, strs);
    if (u < 0.65) return pick(r, WORDS);
    const n = r.int(9);
    let s = "";
    for (let i = 0; i < n; i++) s += ALPHABET[r.int(ALPHABET.length)]!;
    return s;
  }

  value(t: Ty, depth = 0): Json {
    const r = this.rng;
    const n = () => (depth >= 2 ? r.int(3) : r.int(9));
    switch (t.k) {
      case "int":
        return this.int(t.min);
      case "float":
        return this.float();
      case "bool":
        return r.next() < 0.5;
      case "str":
        return this.str(t.char);
      case "none":
        return null;
      case "list": {
        const len = t.len ?? n();
        return Array.from({ length: len }, () => this.value(t.el, depth + 1));
      }
      case "tuple":
        return tag(
          this.info.lang,
          "tuple",
          t.els
            ? t.els.map((e) => this.value(e, depth + 1))
            : Array.from({ length: n() }, () => this.value(t.el ?? { k: "int" }, depth + 1)),
        );
      case "set": {
        const xs = Array.from({ length: n() }, () => this.value(t.el, depth + 1));
        const uniq = [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
        return tag(this.info.lang, "set", uniq);
      }
      case "dict": {
        const len = depth >= 2 ? r.int(3) : r.int(6);
        if (t.key.k === "int") {
          const pairs: Json[] = [];
          const seen = new Set<number>();
          for (let i = 0; i < len; i++) {
            const k = this.int(t.key.min);
            if (seen.has(k)) continue;
            seen.add(k);
            pairs.push([k, this.value(t.val, depth + 1)]);
          }
          if (this.info.lang === "python") return { __bc__: "dict", v: pairs };
          return Object.fromEntries((pairs as [number, Json][]).map(([k, v]) => [String(k), v]));
        }
        const o: Record<string, Json> = {};
        for (let i = 0; i < len; i++) {
          const k = r.next() < 0.7 ? pick(r, DICT_KEYS) : this.str();
          o[k] = this.value(t.val, depth + 1);
        }
        return o;
      }
    }
  }
}

const KIND_TY: Record<Kind, Ty> = {
  int: { k: "int" },
  float: { k: "float" },
  bool: { k: "bool" },
  str: { k: "str" },
  list: { k: "list", el: { k: "int" } },
  dict: { k: "dict", key: { k: "str" }, val: { k: "int" } },
};

/**
 * The type to draw for parameter `p` in candidate number `i`: the declared type; else the vote leader when the
 * evidence is clear, a vote-weighted kind when it is not, and int/str/list in turn when nothing is known.
 * `explore` draws any common kind (used only for the last few candidates, which are never mutated).
 */
export function typeFor(p: ParamInfo, rng: Rng, i: number, explore = false): Ty {
  if (p.declared) return p.declared;
  const entries = (Object.entries(p.votes) as [Kind, number][])
    .filter(([, w]) => w > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const elKind = (Object.entries(p.elVotes) as [Kind, number][]).sort((a, b) => b[1] - a[1])[0]?.[0];
  const withEl = (t: Ty): Ty =>
    t.k === "list"
      ? { k: "list", el: elKind === "str" ? { k: "str" } : rng.next() < 0.8 ? { k: "int" } : { k: "str" } }
      : t;
  if (explore) return withEl(KIND_TY[pick(rng, ["int", "str", "list", "dict", "float"] as const)]);
  if (entries.length === 0) {
    // Nothing known: explore the common kinds; the original's runs pick the inputs that work.
    return withEl(KIND_TY[i === 0 ? "int" : pick(rng, ["int", "str", "list"] as const)]);
  }
  const [lead, second] = [entries[0]![1], entries[1]?.[1] ?? 0];
  if (lead >= 4 && lead >= 2 * second) return withEl(KIND_TY[entries[0]![0]]);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let u = rng.next() * total;
  for (const [k, w] of entries) {
    u -= w;
    if (u <= 0) return withEl(KIND_TY[k]);
  }
  return withEl(KIND_TY[entries[0]![0]]);
}

/** A type-preserving mutation of one JSON value (EvalPlus-style). */
export function mutateValue(v: Json, rng: Rng, g: Generator, depth = 0): Json {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return pick(rng, [v + 1, v - 1, -v, v * 2, v / 2, 0]);
    return pick(rng, [v + 1, v - 1, -v, v * 2, 0, g.int()]);
  }
  if (typeof v === "boolean") return !v;
  if (typeof v === "string") {
    const ops = ["insert", "delete", "replace", "swapcase", "dup", "reverse"] as const;
    const op = pick(rng, ops);
    const at = v.length ? rng.int(v.length) : 0;
    let s = v;
    if (op === "insert" || v.length === 0) s = v.slice(0, at) + g.str(true) + v.slice(at);
    else if (op === "delete") s = v.slice(0, at) + v.slice(at + 1);
    else if (op === "replace") s = v.slice(0, at) + g.str(true) + v.slice(at + 1);
    else if (op === "swapcase")
      s = [...v].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("");
    else if (op === "dup") s = v + v;
    else s = [...v].reverse().join("");
    return s.slice(0, 24);
  }
  if (Array.isArray(v)) {
    const xs = v.slice();
    const op =
      xs.length === 0 ? "add" : pick(rng, ["add", "remove", "swap", "mutate", "mutate", "dup", "repeat"] as const);
    if (op === "add") {
      const proto = xs.length ? xs[rng.int(xs.length)]! : 0;
      const el = xs.length ? mutateValue(proto, rng, g, depth + 1) : g.int();
      if (xs.length < 10) xs.splice(rng.int(xs.length + 1), 0, el);
    } else if (op === "remove") xs.splice(rng.int(xs.length), 1);
    else if (op === "swap" && xs.length > 1) {
      const i = rng.int(xs.length);
      const j = rng.int(xs.length);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    } else if (op === "dup" && xs.length < 10) xs.push(xs[rng.int(xs.length)]!);
    else if (op === "repeat" && xs.length < 10) {
      const i = rng.int(xs.length);
      xs.splice(i, 0, xs[i]!); // equal neighbours
    } else if (xs.length) {
      const i = rng.int(xs.length);
      xs[i] = mutateValue(xs[i]!, rng, g, depth + 1);
    }
    return xs;
  }
  if (v && typeof v === "object") {
    if (typeof v.__bc__ === "string" && Array.isArray(v.v)) {
      if (v.__bc__ === "tuple")
        return { __bc__: "tuple", v: v.v.map((x) => (rng.next() < 0.5 ? mutateValue(x, rng, g, depth + 1) : x)) };
      const inner = mutateValue(v.v, rng, g, depth + 1) as Json[];
      if (v.__bc__ === "set")
        return { __bc__: "set", v: [...new Map(inner.map((x) => [JSON.stringify(x), x])).values()] };
      return {
        __bc__: "dict",
        v: [
          ...new Map(
            (inner as Json[]).filter(Array.isArray).map((p) => [JSON.stringify((p as Json[])[0]), p]),
          ).values(),
        ],
      };
    }
    const o = { ...v };
    const keys = Object.keys(o);
    const op = keys.length === 0 ? "add" : pick(rng, ["add", "remove", "mutate"] as const);
    if (op === "add" && keys.length < 6) {
      const proto = keys.length ? o[keys[rng.int(keys.length)]!]! : g.int();
      o[pick(rng, DICT_KEYS) + (rng.next() < 0.3 ? "2" : "")] = mutateValue(proto, rng, g, depth + 1);
    } else if (op === "remove" && keys.length) delete o[keys[rng.int(keys.length)]!];
    else if (keys.length) {
      const k = keys[rng.int(keys.length)]!;
      o[k] = mutateValue(o[k]!, rng, g, depth + 1);
    }
    return o;
  }
  return v;
}

/** Edge-case value of a type: 0, "", [], {} (and the first literal of the function for ints). */
function edgeValue(t: Ty, lang: LangId): Json {
  switch (t.k) {
    case "int":
      return t.min !== undefined ? Math.max(0, t.min) : 0;
    case "float":
      return 0;
    case "bool":
      return false;
    case "str":
      return t.char ? "a" : "";
    case "none":
      return null;
    case "list":
      return t.len ? Array.from({ length: t.len }, () => edgeValue(t.el, lang)) : [];
    case "tuple":
      return tag(lang, "tuple", t.els ? t.els.map((e) => edgeValue(e, lang)) : []);
    case "set":
      return tag(lang, "set", []);
    case "dict":
      return {};
  }
}

/**
 * Searches and boundaries need hits: with probability 0.35 a scalar argument takes the value of another scalar
 * argument of its type (x == lo), or of an element of a list argument (or a key of a dict argument), so
 * `target in items`-style code sees both outcomes.
 */
function linkArgs(args: Json[], rng: Rng): Json[] {
  if (args.length < 2 || rng.next() >= 0.35) return args;
  const scalars = args.map((a, i) => (typeof a === "number" || typeof a === "string" ? i : -1)).filter((i) => i >= 0);
  if (scalars.length === 0) return args;
  const si = scalars[rng.int(scalars.length)]!;
  const same = scalars.filter((j) => j !== si && typeof args[j] === typeof args[si]);
  if (same.length && rng.next() < 0.5) {
    // boundary: two arguments equal (x == lo, start == stop, ...)
    const out = args.slice();
    out[si] = args[same[rng.int(same.length)]!]!;
    return out;
  }
  const pool: Json[] = [];
  for (const a of args) {
    if (Array.isArray(a)) pool.push(...a.filter((x) => typeof x === typeof args[si]));
    else if (a && typeof a === "object" && !("__bc__" in a) && typeof args[si] === "string")
      pool.push(...Object.keys(a));
  }
  if (pool.length === 0) return args;
  const out = args.slice();
  out[si] = pool[rng.int(pool.length)]!;
  return out;
}

/** How many of `count` candidates explore other kinds (the last ones): 10% when a parameter's type is guessed. */
export function exploratoryCount(info: FunctionInfo, count: number): number {
  return info.params.some((p) => !p.declared) && count > 1 ? Math.max(1, Math.floor(count * 0.1)) : 0;
}

/**
 * Candidate argument lists for `info`: one edge-case list, type-aware random lists (about half the budget),
 * then mutations of earlier candidates, all distinct. Deterministic for (info, seed, count).
 */
export function generateInputs(info: FunctionInfo, source: string, opts: InputOptions): Json[][] {
  const rng = new Rng((opts.seed ^ fnv1a(source)) >>> 0);
  const g = new Generator(rng, info);
  const out: Json[][] = [];
  const seen = new Set<string>();
  const add = (args: Json[]): void => {
    const k = JSON.stringify(args);
    if (seen.has(k) || k.length > 4000) return;
    seen.add(k);
    out.push(args);
  };
  const ps = info.params;
  if (ps.length === 0) {
    add([]);
    return out;
  }
  add(ps.map((p, i) => edgeValue(typeFor(p, rng, i), info.lang)));
  const fresh = Math.max(1, Math.ceil(opts.count * 0.55));
  for (let i = 0, tries = 0; out.length < fresh && tries < fresh * 4; i++, tries++)
    add(
      linkArgs(
        ps.map((p) => g.value(typeFor(p, rng, i))),
        rng,
      ),
    );
  // A few candidates of other kinds at the end (never mutated): they are compared only when the main guess
  // leaves too few inputs on which the original returns.
  const nExplore = exploratoryCount(info, opts.count);
  for (let tries = 0; out.length < opts.count - nExplore && tries < opts.count * 6; tries++) {
    const base = out[rng.int(out.length)]!;
    const args = base.slice();
    const j = rng.int(args.length);
    args[j] = mutateValue(args[j]!, rng, g);
    if (rng.next() < 0.3 && args.length > 1) {
      const k = rng.int(args.length);
      args[k] = mutateValue(args[k]!, rng, g);
    }
    add(args);
  }
  for (let i = 0, tries = 0; out.length < opts.count && tries < nExplore * 8; i++, tries++)
    add(ps.map((p) => g.value(typeFor(p, rng, i, true))));
  return out;
}
