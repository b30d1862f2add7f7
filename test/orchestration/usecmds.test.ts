/**
 * The commands that use a trained model (issue 13), end to end on a small checkpoint trained here:
 *   - `document` on temporary copies of real Python, Ruby and Go files (Debian's own shlex.py, ostruct.rb,
 *     strings/replace.go): the diff applies with patch(1) and equals `--write`; the files still parse and
 *     load (python3 import, ruby -c, gofmt -e); no existing documentation changed; a second `--check` run
 *     reports fewer undocumented functions; CRLF stays CRLF.
 *   - `implement` with `--test` (sandboxed, ranked), `roundtrip` (table + escaped HTML report), the model
 *     behind `batcoder serve` as an OpenAI-compatible URL;
 *   - malformed input: a binary file, an unknown language, a non-UTF-8 file, an empty documentation file.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { extractFunctions, loadLanguage, parseCode, type LangId } from "../../src/lang/index.js";
import { writeCorpus } from "../rl/corpus-fixture.js";

const bin = path.resolve("bin/batcoder.js");
let dir = "";
const RUN = "runs/rt";

function cli(args: string[], opts: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? dir,
    encoding: "utf8",
    timeout: 300_000,
    input: opts.input,
  });
}

/** A real file of the system's toolchains (installed by scripts/setup.sh): the first match of `dirGlob`/name. */
function systemFile(parent: string, sub: RegExp | null, name: string): string {
  const dirs = sub
    ? fs
        .readdirSync(parent)
        .filter((d) => sub.test(d))
        .map((d) => path.join(parent, d))
    : [parent];
  const hit = dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
  assert.ok(hit, `${name} not found under ${parent} (scripts/setup.sh installs python3, ruby and golang)`);
  return hit;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-usecmds-"));
  writeCorpus(path.join(dir, "corpus"), { train: 20, validation: 4, test: 6 }, ["python", "go"]);
  // a tiny model trained long enough (SFT) to write documentation in the project's format
  const train = cli([
    "train",
    "--corpus",
    "corpus",
    "--run-name",
    "rt",
    "--quiet",
    "--steps",
    "1",
    "--no-report",
    "--set",
    "rollout_batch_size=2",
    "--set",
    "num_docs_per_code=1",
    "--set",
    "num_codes_per_doc=1",
    "--set",
    "max_doc_tokens=32",
    "--set",
    "max_rebuild_tokens=8",
    "--set",
    "eval_size=4",
    "--set",
    "save_steps=1",
    "--set",
    "kl_coef=0",
    "--set",
    'warmstart.model={"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":2,"max_position_embeddings":512}',
    "--set",
    "warmstart.vocab_size=400",
    "--set",
    "warmstart.pretrain_steps=20",
    "--set",
    "warmstart.pretrain_seq_len=128",
    "--set",
    "warmstart.pretrain_batch_tokens=1024",
    "--set",
    "warmstart.sft_steps=150",
    "--set",
    "warmstart.sft_batch_tokens=2048",
  ]);
  assert.equal(train.status, 0, train.stderr + train.stdout);
  for (const l of ["python", "ruby", "go"] as const) await loadLanguage(l);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function docsOf(lang: LangId, src: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of extractFunctions(lang, src).functions)
    if (f.doc)
      m.set(
        `${f.className ?? ""}.${f.name}@${f.code.split("\n").find((l) => !/^\s*(#|\/\/|"""|''')/.test(l)) ?? ""}`,
        f.doc,
      );
  return m;
}

test("document: real Python/Ruby/Go files → a diff that patch applies, equal to --write; still parses and loads; no doc changed", () => {
  const files: [string, LangId, string][] = [
    [systemFile("/usr/lib", /^python3\.\d+$/, "shlex.py"), "python", "src/shlex.py"],
    [systemFile("/usr/lib/ruby", /^\d+\.\d+\.\d+$/, "ostruct.rb"), "ruby", "src/ostruct.rb"],
    [systemFile("/usr/lib/go/src/strings", null, "replace.go"), "go", "src/replace.go"],
  ];
  // A model this small writes well-formed documentation only for code like its training data, so each copy
  // also gets one function of that shape at the end; everything else in the files is the real thing.
  const extra: Record<string, string> = {
    python:
      "\n\ndef scale_extra_3(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor + 3)\n    return out\n",
    ruby: "\ndef scale_extra_3(values, factor)\n  out = []\n  values.each { |v| out << v * factor + 3 }\n  out\nend\n",
    go: "\nfunc ScaleExtra3(values []int, factor int) []int {\n\tout := []int{}\n\tfor _, v := range values {\n\t\tout = append(out, v*factor+3)\n\t}\n\treturn out\n}\n",
  };
  const originals = new Map<string, string>();
  for (const [from, lang, rel] of files) originals.set(rel, fs.readFileSync(from, "utf8") + extra[lang]);
  for (const copy of ["p", "w"]) {
    fs.mkdirSync(path.join(dir, copy, "src"), { recursive: true });
    for (const [, , rel] of files) fs.writeFileSync(path.join(dir, copy, rel), originals.get(rel)!);
  }
  const check0 = cli(["document", "--check", "src"], { cwd: path.join(dir, "p") });
  assert.equal(check0.status, 1, check0.stderr);
  const undocBefore = check0.stdout.trim().split("\n").length;

  const r = cli(["document", "src", "--model", path.join(dir, RUN), "--no-progress"], { cwd: path.join(dir, "p") });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /using weights: latest checkpoint of run/);
  const m =
    /3 files \((\d+) changed.*\): (\d+) functions documented, (\d+) skipped, (\d+) failed, (\d+) already documented/.exec(
      r.stderr,
    );
  assert.ok(m, r.stderr);
  assert.ok(Number(m[2]) >= 1, `the trained model documented nothing:\n${r.stderr}`);
  assert.match(r.stdout, /^--- a\/src\//m);
  // nothing written without --write
  for (const [, , rel] of files) assert.equal(fs.readFileSync(path.join(dir, "p", rel), "utf8"), originals.get(rel));
  const patch = spawnSync("patch", ["-p1", "-s"], { cwd: path.join(dir, "p"), input: r.stdout, encoding: "utf8" });
  assert.equal(patch.status, 0, patch.stderr + patch.stdout);

  const w = cli(["document", "src", "--model", path.join(dir, RUN), "--write", "--no-progress"], {
    cwd: path.join(dir, "w"),
  });
  assert.equal(w.status, 0, w.stderr);
  let changed = 0;
  for (const [, lang, rel] of files) {
    const orig = originals.get(rel)!;
    const patched = fs.readFileSync(path.join(dir, "p", rel), "utf8");
    assert.equal(
      fs.readFileSync(path.join(dir, "w", rel), "utf8"),
      patched,
      `${rel}: --write differs from the applied diff`,
    );
    if (patched !== orig) changed++;
    assert.ok(
      parseCode(lang, patched).errors.length <= parseCode(lang, orig).errors.length,
      `${rel} gained syntax errors`,
    );
    // every documentation that existed is unchanged, byte for byte, and no line of the original was removed
    const before = docsOf(lang, orig),
      afterDocs = docsOf(lang, patched);
    for (const [k, d] of before) assert.equal(afterDocs.get(k), d, `${rel}: documentation of ${k} changed`);
    const lines = new Set(patched.split("\n"));
    for (const l of orig.split("\n")) assert.ok(lines.has(l), `${rel}: line removed: ${l}`);
  }
  assert.equal(changed, Number(m[1]));
  assert.match(
    fs.readFileSync(path.join(dir, "w", "src/shlex.py"), "utf8"),
    /def scale_extra_3\(values, factor\):\n {4}"""[A-Z]/,
  );
  assert.match(
    fs.readFileSync(path.join(dir, "w", "src/replace.go"), "utf8"),
    /\n\/\/ ScaleExtra3 [^\n]*\n(\/\/[^\n]*\n)*func ScaleExtra3/,
  );
  const wd = path.join(dir, "w");
  const py = spawnSync(
    "python3",
    [
      "-c",
      "import shlex, os; assert os.path.dirname(os.path.abspath(shlex.__file__)) == os.getcwd(); print(shlex.split('a \"b c\"'))",
    ],
    { cwd: path.join(wd, "src"), encoding: "utf8" },
  );
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout.trim(), "['a', 'b c']");
  const rb = spawnSync("ruby", ["-c", "src/ostruct.rb"], { cwd: wd, encoding: "utf8" });
  assert.equal(rb.status, 0, rb.stderr);
  const rbRun = spawnSync("ruby", ["-e", 'require "./src/ostruct"; o = OpenStruct.new(a: 1); o.b = 2; puts o.to_h'], {
    cwd: wd,
    encoding: "utf8",
  });
  assert.equal(rbRun.status, 0, rbRun.stderr);
  const gof = spawnSync("/usr/lib/go/bin/gofmt", ["-e", "-l", "src/replace.go"], { cwd: wd, encoding: "utf8" });
  assert.equal(gof.status, 0, gof.stderr);
  // a second look finds fewer undocumented functions, and the written docs are read back as docs
  const check1 = cli(["document", "--check", "src"], { cwd: wd });
  const undocAfter = check1.status === 0 ? 0 : check1.stdout.trim().split("\n").length;
  assert.equal(undocAfter, undocBefore - Number(m[2]));
});

test("document: CRLF files stay CRLF, --include/--exclude and .gitignore choose the files, --check on a documented file is 0", () => {
  const d = path.join(dir, "crlf");
  fs.mkdirSync(path.join(d, "gen"), { recursive: true });
  fs.writeFileSync(
    path.join(d, "a.py"),
    "def scale(values, factor):\r\n    out = []\r\n    for v in values:\r\n        out.append(v * factor)\r\n    return out\r\n",
  );
  fs.writeFileSync(path.join(d, "gen", "b.py"), "def skip_me(x):\n    return x\n");
  fs.writeFileSync(path.join(d, "c.rb"), "def rb(x)\n  x\nend\n");
  fs.writeFileSync(path.join(d, ".gitignore"), "gen/\n");
  const r = cli(["document", ".", "--model", path.join(dir, RUN), "--write", "--include", "*.py", "--no-progress"], {
    cwd: d,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^1 files/m, r.stderr);
  const a = fs.readFileSync(path.join(d, "a.py"), "utf8");
  assert.match(a, /^def scale\(values, factor\):\r\n {4}"""/);
  assert.equal(a.replace(/\r\n/g, "").includes("\n"), false, "a bare LF crept into a CRLF file");
  assert.equal(fs.readFileSync(path.join(d, "gen", "b.py"), "utf8"), "def skip_me(x):\n    return x\n");
  assert.equal(fs.readFileSync(path.join(d, "c.rb"), "utf8"), "def rb(x)\n  x\nend\n");
  assert.equal(cli(["document", "--check", "a.py"], { cwd: d }).status, 0);
  const ex = cli(["document", "--check", ".", "--exclude", "*.rb"], { cwd: d });
  assert.equal(ex.status, 0, ex.stdout + ex.stderr);
});

test("document: --overwrite replaces an existing docstring (only then); --min-roundtrip keeps only docs the model rebuilds from", () => {
  const d = path.join(dir, "ow");
  fs.mkdirSync(d, { recursive: true });
  const src =
    'def scale_ow_4(values, factor):\n    """old words."""\n    out = []\n    for v in values:\n        out.append(v * factor + 4)\n    return out\n';
  fs.writeFileSync(path.join(d, "a.py"), src);
  const model = path.join(dir, RUN);
  const plain = cli(["document", "a.py", "--model", model, "--no-progress"], { cwd: d });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, "", "an existing doc is never touched without --overwrite");
  assert.match(plain.stderr, /0 functions documented, 0 skipped, 0 failed, 1 already documented/);
  const ow = cli(["document", "a.py", "--model", model, "--overwrite", "--write", "--no-progress"], { cwd: d });
  assert.equal(ow.status, 0, ow.stderr);
  const out = fs.readFileSync(path.join(d, "a.py"), "utf8");
  assert.doesNotMatch(out, /old words/);
  assert.match(out, /^def scale_ow_4\(values, factor\):\n {4}"""[A-Z][\s\S]*"""\n {4}out = \[\]\n/);
  assert.equal((out.match(/"""/g) ?? []).length % 2, 0);

  fs.writeFileSync(
    path.join(d, "b.py"),
    src
      .replace('    """old words."""\n', "")
      .replace(/scale_ow_4/g, "scale_mr_5")
      .replace("+ 4", "+ 5"),
  );
  const json = (args: string[]) => {
    const r = cli(["document", "b.py", "--model", model, "--json", "--no-progress", ...args], { cwd: d });
    assert.equal(r.status, 0, r.stderr);
    return (
      JSON.parse(r.stdout) as { files: { functions: { status: string; roundtrip?: number; reason?: string }[] }[] }
    ).files[0]!.functions[0]!;
  };
  const low = json(["--min-roundtrip", "0"]);
  assert.equal(low.status, "documented", low.reason);
  assert.ok(typeof low.roundtrip === "number" && low.roundtrip >= 0 && low.roundtrip <= 1);
  const high = json(["--min-roundtrip", "1", "--metric", "exact"]);
  assert.equal(typeof high.roundtrip, "number");
  if (high.roundtrip! < 1) {
    assert.equal(high.status, "failed");
    assert.match(high.reason!, /^round-trip exact \d\.\d{3} < 1$/);
  } else assert.equal(high.status, "documented");
});

test("malformed input: binary, unknown language, non-UTF-8, empty documentation → clear errors; directories skip and report", () => {
  const d = path.join(dir, "bad");
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, "bin.py"), Buffer.from([0x64, 0x65, 0x66, 0x00, 0x01, 0x02]));
  fs.writeFileSync(path.join(d, "notes.xyz"), "hello\n");
  fs.writeFileSync(path.join(d, "latin1.py"), Buffer.from("def f():\n    return '\xe9'\n", "latin1"));
  fs.writeFileSync(path.join(d, "empty.txt"), "  \n\n");
  const model = path.join(dir, RUN);
  const cases: [string[], RegExp][] = [
    [["document", "bin.py", "--check"], /bin\.py: binary file \(contains NUL bytes\)/],
    [["document", "notes.xyz", "--check"], /notes\.xyz: unknown language; known languages: python, /],
    [["document", "latin1.py", "--check"], /latin1\.py: not valid UTF-8/],
    [["document", "missing.py", "--check"], /missing\.py: no such file or directory/],
    [
      ["implement", "empty.txt", "--lang", "python", "--model", model],
      /empty\.txt is empty: there is no documentation to implement/,
    ],
    [["implement", "notes.xyz", "--lang", "cobol", "--model", model], /unknown language 'cobol' \(known: python/],
    [["document", "bin.py"], /--model REF is required/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args, { cwd: d });
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "a stack trace instead of a clear error");
  }
  const walk = cli(["document", ".", "--check"], { cwd: d });
  assert.match(walk.stderr, /bin\.py: skipped \(binary file/);
  assert.match(walk.stderr, /latin1\.py: skipped \(not valid UTF-8\)/);
});

test("implement: n samples from documentation, run in the sandbox against the user's tests and ranked", () => {
  const d = path.join(dir, "impl");
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(d, "doc.txt"),
    "Scale every value by a factor and shift it by 1.\n\nParameters:\n  values: the numbers\n  factor: the multiplier\n",
  );
  fs.writeFileSync(
    path.join(d, "tests.py"),
    "import math\nassert scale_train_1([1, 2], 2) == [3, 5]\nassert scale_train_1([], 3) == []\ndef test_len():\n    assert len(scale_train_1([1], 1)) == 1\n",
  );
  const r = cli(
    [
      "implement",
      "doc.txt",
      "--lang",
      "python",
      "--model",
      path.join(dir, RUN),
      "-n",
      "3",
      "--signature",
      "def scale_train_1(values, factor):",
      "--test",
      "tests.py",
      "--json",
    ],
    { cwd: d },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    samples: {
      index: number;
      code: string;
      passed: number;
      total: number;
      results: { name: string; status: string }[];
    }[];
  };
  assert.equal(out.samples.length, 3);
  for (const s of out.samples) {
    assert.ok(s.code.startsWith("def scale_train_1(values, factor):"), s.code);
    assert.equal(s.total, 3);
    assert.deepEqual(
      s.results.map((x) => x.name),
      ["line 2", "line 3", "test_len"],
    );
    assert.equal(s.passed, s.results.filter((x) => x.status === "passed").length);
  }
  for (let i = 1; i < out.samples.length; i++)
    assert.ok(out.samples[i - 1]!.passed >= out.samples[i]!.passed, "ranked by passes");
  // from stdin
  const stdin = cli(["implement", "-", "--lang", "python", "--model", path.join(dir, RUN)], {
    cwd: d,
    input: "Return the sum of a list.\n",
  });
  assert.equal(stdin.status, 0, stdin.stderr);
});

test("roundtrip: table on stdout, escaped self-contained HTML; the model behind batcoder serve as a URL gives the same docs", async () => {
  const d = path.join(dir, "rt");
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(d, "m.py"),
    [
      "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor + 1)\n    return out\n",
      "def html_bits(x):\n    return '</script><img src=x onerror=alert(1)>' + str(x)\n",
    ].join("\n\n"),
  );
  const r = cli(
    ["roundtrip", "m.py", "--model", path.join(dir, RUN), "--html", "rt.html", "--json", "rt.json", "--no-progress"],
    { cwd: d },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^function\s+bleu\s+codebleu\s+graph\s+exact\s+behav\s+score\s+flag$/m);
  assert.match(r.stdout, /m\.py:1 scale /);
  assert.match(r.stdout, /^mean of 2 /m);
  const html = fs.readFileSync(path.join(d, "rt.html"), "utf8");
  assert.ok(html.includes("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"), "the code is shown escaped");
  assert.equal(html.includes("<img src=x"), false, "unescaped user code in the report");
  assert.equal((html.match(/<script>/g) ?? []).length, 1, "one inline script (the sorter)");
  assert.doesNotMatch(html, /(src|href)="https?:/, "nothing loaded from the network");
  const rows = (
    JSON.parse(fs.readFileSync(path.join(d, "rt.json"), "utf8")) as {
      rows: { name: string; score: number; flags: string[]; scores: Record<string, number | null> }[];
    }
  ).rows;
  assert.deepEqual(
    rows.map((x) => x.name),
    ["scale", "html_bits"],
  );
  for (const row of rows) {
    for (const k of ["bleu", "codebleu", "dfg", "exact"]) assert.ok(row.scores[k]! >= 0 && row.scores[k]! <= 1, k);
    assert.equal(row.flags.length > 0, row.score < 0.5);
  }

  // the same model over HTTP: the batcoder prompt format as text gives the same (greedy) documentation
  const srv = spawn(process.execPath, [bin, "serve", path.join(dir, RUN), "--port", "0"], {
    cwd: d,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const onData = (c: Buffer) => {
        buf += String(c);
        const mm = /(http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
        if (mm) resolve(mm[1]!);
      };
      srv.stdout.on("data", onData);
      srv.stderr.on("data", onData);
      srv.on("exit", (code) => reject(new Error(`serve exited ${code}: ${buf}`)));
      setTimeout(() => reject(new Error(`serve did not start: ${buf}`)), 60_000);
    });
    const viaUrl = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [bin, "document", "m.py", "--model", `${url}/v1`, "--json", "--no-progress"], {
        cwd: d,
      });
      let so = "",
        se = "";
      c.stdout.on("data", (x) => (so += String(x)));
      c.stderr.on("data", (x) => (se += String(x)));
      c.on("exit", (status) => resolve({ status, stdout: so, stderr: se }));
    });
    assert.equal(viaUrl.status, 0, viaUrl.stderr);
    const local = cli(["document", "m.py", "--model", path.join(dir, RUN), "--json", "--no-progress"], { cwd: d });
    const docs = (s: string) =>
      (JSON.parse(s) as { files: { functions: { name: string; doc?: string }[] }[] }).files[0]!.functions.map((f) => [
        f.name,
        f.doc,
      ]);
    assert.deepEqual(docs(viaUrl.stdout), docs(local.stdout));
  } finally {
    srv.kill();
  }
});
