/**
 * `batcoder serve` and `batcoder eval` as a user runs them: a tiny embedded checkpoint is served on a free
 * port by a child process, and `eval` talks to it over HTTP; `--samples` scores a file without a model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../../bin/batcoder.js");
const config = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 2048,
};

function cli(args: string[], cwd: string) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
}

test("serve a checkpoint, evaluate it over HTTP with the eval command; results interoperate with --samples", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-evalcli-"));
  const ck = path.join(dir, "ck");
  const policy = createEmbeddedPolicy({ config, tokenizer: new ByteTokenizer(), seed: 5, modelName: "tiny-cli" });
  await policy.saveState(ck);
  const server = spawn(process.execPath, [bin, "serve", ck, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const t = setTimeout(() => reject(new Error("serve did not print its URL")), 30_000);
      server.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const m = /(http:\/\/\S+\/v1)/.exec(buf);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const out = path.join(dir, "run");
    const r = cli(
      [
        "eval",
        "--benchmark",
        "humaneval",
        "--model",
        url,
        "--limit",
        "2",
        "--n",
        "2",
        "--k",
        "1,2",
        "--temperature",
        "0.7",
        "--max-tokens",
        "8",
        "--out",
        out,
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pass@1/);
    assert.match(r.stdout, /tiny-cli/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    assert.equal(summary.samples, 4);
    assert.equal(summary.model, "tiny-cli");
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    assert.equal(cfg.n, 2);
    assert.ok(fs.readdirSync(path.join(out, "cache")).length === 1, "generation cache written");

    // The samples file it wrote scores the same without a model.
    const r2 = cli(
      [
        "eval",
        "--benchmark",
        "humaneval",
        "--samples",
        path.join(out, "samples.jsonl"),
        "--k",
        "1,2",
        "--out",
        path.join(dir, "rescored"),
        "--quiet",
      ],
      dir,
    );
    assert.equal(r2.status, 0, r2.stderr);
    const s2 = JSON.parse(fs.readFileSync(path.join(dir, "rescored", "summary.json"), "utf8"));
    assert.deepEqual(s2.passAtK, summary.passAtK);
    assert.deepEqual(s2.perTask, summary.perTask);

    // A checkpoint directory directly (embedded model, generation cache in front of it).
    const out3 = path.join(dir, "direct");
    const r3 = cli(
      [
        "eval",
        "--benchmark",
        "multipl-e:py",
        "--model",
        ck,
        "--format",
        "instruct",
        "--limit",
        "2",
        "--max-tokens",
        "6",
        "--out",
        out3,
        "--quiet",
      ],
      dir,
    );
    assert.equal(r3.status, 0, r3.stderr);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out3, "summary.json"), "utf8")).samples, 2);
    assert.equal(
      fs
        .readFileSync(path.join(out3, "cache", fs.readdirSync(path.join(out3, "cache"))[0]!), "utf8")
        .trim()
        .split("\n").length,
      2,
    );
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("eval command: a correct samples file scores 100%; bad input is a clear error with exit status 1 or 2", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-evalcli-"));
  try {
    const f = path.join(dir, "s.jsonl");
    fs.writeFileSync(f, JSON.stringify({ task_id: "HumanEval/53", completion: "    return x + y\n" }) + "\n");
    const ok = cli(["eval", "--benchmark", "humaneval", "--samples", f, "--out", path.join(dir, "o"), "--quiet"], dir);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /pass@1\s+\| 100\.00%/);
    const bad = (args: string[], re: RegExp, code = 1) => {
      const r = cli(args, dir);
      assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace for user errors");
    };
    bad(["eval", "--benchmark", "humanevil", "--samples", f], /unknown benchmark/);
    bad(["eval", "--benchmark", "humaneval"], /--model .* or --samples/);
    bad(["eval", "--benchmark", "humaneval", "--samples", f, "--n", "abc"], /--n expects a number/);
    bad(["eval", "--benchmark", "humaneval", "--samples", path.join(dir, "missing.jsonl")], /cannot read samples file/);
    bad(
      ["eval", "--benchmark", "humaneval", "--model", path.join(dir, "nope")],
      /neither an http\(s\) URL, a directory, a .gguf file nor a hub id/,
    );
    bad(["eval", "--benchmark", "humaneval", "--model", dir], /holds no checkpoint/);
    bad(["eval", "--bogus"], /Unknown option/, 2);
    bad(["serve"], /exactly one CHECKPOINT/);
    const noBwrap = spawnSync(process.execPath, [bin, "eval", "--benchmark", "humaneval", "--samples", f, "--quiet"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, BATCODER_BWRAP: "/nonexistent/bwrap" },
    });
    assert.equal(noBwrap.status, 1);
    assert.match(noBwrap.stderr, /cannot run generated code safely: bubblewrap .* --unsafe-no-sandbox/s);
    const unsafe = spawnSync(
      process.execPath,
      [
        bin,
        "eval",
        "--benchmark",
        "humaneval",
        "--samples",
        f,
        "--quiet",
        "--unsafe-no-sandbox",
        "--out",
        path.join(dir, "u"),
      ],
      { cwd: dir, encoding: "utf8", env: { ...process.env, BATCODER_BWRAP: "/nonexistent/bwrap" } },
    );
    assert.equal(unsafe.status, 0, unsafe.stderr);
    assert.match(unsafe.stdout, /sandbox\s+\| unsafe/);
    assert.match(unsafe.stdout, /pass@1\s+\| 100\.00%/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
