/**
 * The Python reference environment (.venv/, made by scripts/setup-python.sh, which scripts/setup.sh runs): where
 * its interpreter is, whether it is ready, and a way to run a script in it. Tests compare the engine against it.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/test/helpers). */
export const repoRoot = path.resolve(here, "../../..");
/** The venv's interpreter. */
export const venvPython = path.join(repoRoot, ".venv/bin/python");
/** Written by setup-python.sh only after every package installed and imported. */
const stamp = path.join(repoRoot, ".venv/.batcoder-python.sha");

/** True when setup-python.sh finished (interpreter present and the stamp written after a passing import check). */
export function pythonReady(): boolean {
  return fs.existsSync(venvPython) && fs.existsSync(stamp);
}

/** `false` when ready, else a reason, for `test(name, { skip: pythonSkip() }, …)` in optional comparisons. */
export function pythonSkip(): string | false {
  return pythonReady() ? false : "Python reference venv not set up (run: bash scripts/setup-python.sh)";
}

export interface PythonRun {
  stdout: string;
  stderr: string;
}

/**
 * Runs `code` (a Python program, given on stdin-free `-c`) or a script file in the venv with `args`.
 * Offline (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) and single-threaded unless `env` says otherwise.
 * Throws with the interpreter's stderr when it exits non-zero, so a broken reference fails the test that used it.
 */
export function runPython(
  program: { code: string } | { script: string },
  args: string[] = [],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): PythonRun {
  if (!pythonReady())
    throw new Error(`Python reference venv not ready at ${venvPython}: run bash scripts/setup-python.sh`);
  const argv = "code" in program ? ["-c", program.code, ...args] : [program.script, ...args];
  const r = spawnSync(venvPython, argv, {
    cwd: repoRoot,
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 120_000,
    env: pythonEnv(opts.env),
  });
  if (r.error) throw new Error(`python failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python exited ${r.status ?? r.signal}: ${r.stderr.slice(-4000)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

function pythonEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    TOKENIZERS_PARALLELISM: "false",
    OMP_NUM_THREADS: "1",
    PYTHONIOENCODING: "utf-8",
    ...extra,
  };
}

/**
 * runPython without blocking the event loop: for a Python program that talks to a server running in this process
 * (e.g. an HTTP client against a server the test started). Rejects with the interpreter's stderr on failure.
 */
export function runPythonAsync(
  program: { code: string } | { script: string },
  args: string[] = [],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PythonRun> {
  if (!pythonReady())
    return Promise.reject(
      new Error(`Python reference venv not ready at ${venvPython}: run bash scripts/setup-python.sh`),
    );
  const argv = "code" in program ? ["-c", program.code, ...args] : [program.script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython, argv, { cwd: repoRoot, env: pythonEnv(opts.env) });
    let stdout = "",
      stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`python failed to run: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`python exited ${code ?? signal}: ${stderr.slice(-4000)}`));
    });
    child.stdin.end(opts.input ?? "");
  });
}
