/**
 * Runs the reference `evalplus` package (the project's Python venv, made by scripts/setup-python.sh) on a samples
 * file, inside our sandbox, on a subset of the same vendored data our harness reads (so verdicts are compared on
 * identical tasks and prompts). Returns, per task, each sample's [base_status, plus_status] in sample order.
 */
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { Sandbox } from "../../src/sandbox/sandbox.js";
import { newSentinel, classify } from "../../src/sandbox/executors.js";
import type { EvalPlusTask } from "../../src/eval/evalplus.js";
import { pythonReady, venvPython } from "../helpers/python.js";

/** The project's venv (`.venv`, a link made by scripts/setup-python.sh; BATCODER_REFERENCE_VENV overrides). */
export function projectVenv(): string {
  return process.env.BATCODER_REFERENCE_VENV ?? path.dirname(path.dirname(venvPython));
}

/** Why the reference cannot run here (undefined when it can). */
export function referenceMissing(venv = projectVenv()): string | undefined {
  const py = path.join(venv, "bin", "python");
  if (venv === projectVenv() && !process.env.BATCODER_REFERENCE_VENV && !pythonReady())
    return `the Python reference venv is not set up at ${venv} (bash scripts/setup-python.sh)`;
  if (!fs.existsSync(py)) return `no Python venv at ${venv}`;
  const r = spawnSync(py, ["-c", "import evalplus.evaluate"], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) return `the venv at ${venv} cannot import evalplus: ${(r.stderr || "").trim().split("\n").pop()}`;
  return undefined;
}

/** The venv's base interpreter prefix when it lies outside /usr (e.g. a pyenv build under /root). */
function baseInterpreter(venv: string): string[] {
  const cfg = fs.readFileSync(path.join(venv, "pyvenv.cfg"), "utf8");
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
  if (!home || home.startsWith("/usr/")) return [];
  return [path.dirname(fs.realpathSync(home))];
}

const RUNNER = String.raw`import json, os, sys
dataset = sys.argv[1]
os.environ["HOME"] = "/tmp"
prompts = json.load(open("/src/prompts.json"))
with open("/tmp/subset.jsonl", "w") as out:
    for line in open("/src/lines.jsonl"):
        if line.strip():
            o = json.loads(line)
            o["prompt"] = prompts[o["task_id"]]
            out.write(json.dumps(o) + "\n")
os.environ["HUMANEVAL_OVERRIDE_PATH" if dataset == "humaneval" else "MBPP_OVERRIDE_PATH"] = "/tmp/subset.jsonl"
import shutil
shutil.copy("/src/samples.jsonl", "/tmp/samples.jsonl")
from evalplus.evaluate import evaluate
evaluate(dataset, samples="/tmp/samples.jsonl", parallel=2, i_just_wanna_run=True)
res = json.load(open("/tmp/samples_eval_results.json"))
verdicts = {t: [[r["base_status"], r["plus_status"]] for r in rs] for t, rs in res["eval"].items()}
from importlib.metadata import version
out = {"version": version("evalplus"), "verdicts": verdicts}
sys.stdout.write("\n" + json.dumps(out) + "\n" + sys.stdin.readline().strip() + "\n")
`;

export async function runReference(
  tasks: EvalPlusTask[],
  samples: { task_id: string; completion?: string; solution?: string }[],
  venv = projectVenv(),
): Promise<{ version: string; verdicts: Record<string, [string, string | null][]> }> {
  const dataset = tasks[0]!.dataset;
  const sandbox = new Sandbox();
  const sentinel = newSentinel();
  const r = await sandbox.run({
    command: [path.join(fs.realpathSync(venv), "bin", "python"), "/src/runner.py", dataset],
    files: {
      "runner.py": RUNNER,
      "lines.jsonl": tasks.map((t) => t.line).join("\n") + "\n",
      "prompts.json": JSON.stringify(Object.fromEntries(tasks.map((t) => [t.taskId, t.prompt]))),
      "samples.jsonl": samples.map((s) => JSON.stringify(s)).join("\n") + "\n",
    },
    stdin: sentinel + "\n",
    shm: true,
    env: { HOME: "/tmp", PATH: `${fs.realpathSync(venv)}/bin:/usr/bin:/bin`, TQDM_DISABLE: "1" },
    roBinds: [fs.realpathSync(venv), ...baseInterpreter(venv)],
    limits: {
      wallMs: 1_800_000,
      cpuSeconds: 3600,
      memoryBytes: 12 * 1024 * 1024 * 1024,
      maxProcs: 256,
      outputBytes: 16 * 1024 * 1024,
      fileSizeBytes: 2 * 1024 * 1024 * 1024,
      tmpBytes: 4 * 1024 * 1024 * 1024,
    },
  });
  const c = classify("py", r, sentinel);
  if (!c.passed)
    throw new Error(`reference evalplus failed: ${c.result}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  return JSON.parse(c.stdout.trim().split("\n").pop()!) as {
    version: string;
    verdicts: Record<string, [string, string | null][]>;
  };
}
