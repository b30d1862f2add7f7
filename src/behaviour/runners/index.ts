/**
 * Per-language batch runners: the program text that runs a JSON batch inside the sandbox, and how to start
 * it. Every runner speaks the same protocol (see python.ts): nonce on stdin, batch at /src/batch.json, one
 * `<nonce> {json}` line per side on stdout, a `{"done":1}` line at the end.
 */
import type { SandboxLimits } from "../../sandbox/sandbox.js";
import { PYTHON_RUNNER } from "./python.js";
import { RUBY_RUNNER } from "./ruby.js";
import { JS_RUNNER } from "./javascript.js";
import { LUA_RUNNER } from "./lua.js";
import { GO_SCRIPT, goBatchProgram } from "./go.js";

export const BEHAVIOUR_LANGS = ["python", "ruby", "javascript", "lua", "go"] as const;
export type BehaviourLang = (typeof BEHAVIOUR_LANGS)[number];

/** One group of the batch as the runner sees it. */
export interface BatchGroup {
  key: string;
  entry: string;
  inputs: unknown[][];
  /** The original's source, present when the original must be run (twice: sides o1, o2). */
  original: string | null;
  /** `entry`: the rebuild's own function to call when it does not define the original's name (see bindEntry). */
  rebuilds: { id: string; src: string; entry?: string }[];
  /** Go only: parameter types of the entry point and its number of results, from the original's declaration. */
  goSig?: { params: string[]; results: number };
}

export interface BatchSpec {
  callMs: number;
  sideMs: number;
  memBytes: number;
  /** Python: import a standard-library module on first use of its name. */
  autoImport: boolean;
  groups: BatchGroup[];
}

export interface PreparedBatch {
  files: Record<string, string>;
  command: string[];
  env?: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  /** Extra wall-clock time the batch needs before the first side runs (compilation), ms. */
  setupMs: number;
}

const GO_ENV = {
  GOCACHE: "/tmp/gocache",
  GOPATH: "/tmp/gopath",
  GOFLAGS: "-mod=mod",
  GOPROXY: "off",
  CGO_ENABLED: "0",
  GOTOOLCHAIN: "local",
  PATH: "/usr/lib/go/bin:/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
};

export function prepareBatch(lang: BehaviourLang, spec: BatchSpec): PreparedBatch {
  const batch = JSON.stringify(spec);
  switch (lang) {
    case "python":
      return {
        files: { "runner.py": PYTHON_RUNNER, "batch.json": batch },
        command: ["/usr/bin/python3", "-I", "-S", "/src/runner.py"],
        setupMs: 0,
      };
    case "ruby":
      return {
        files: { "runner.rb": RUBY_RUNNER, "batch.json": batch },
        command: ["/usr/bin/ruby", "--disable-gems", "/src/runner.rb"],
        setupMs: 0,
      };
    case "go":
      return {
        files: { ...goBatchProgram(spec).files, "batch.json": batch },
        command: ["/bin/sh", "-c", GO_SCRIPT],
        env: GO_ENV,
        limits: { maxProcs: 256 },
        setupMs: 60_000,
      };
    case "lua":
      return {
        files: { "runner.lua": LUA_RUNNER, "batch.json": batch },
        command: ["/usr/bin/lua5.4", "/src/runner.lua"],
        setupMs: 0,
      };
    case "javascript":
      return {
        files: { "runner.js": JS_RUNNER, "batch.json": batch },
        command: ["/usr/bin/node", "--max-old-space-size=384", "--stack-size=2000", "/src/runner.js"],
        setupMs: 0,
      };
  }
}
