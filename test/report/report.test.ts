import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { renderReport } from "../../src/report/report.js";
import { lineChart, niceTicks } from "../../src/report/svg.js";
import { trainRL } from "../../src/rl/trainer.js";
import { parseConfig } from "../../src/rl/config.js";
import { evaluateHeldOut } from "../../src/rl/eval.js";
import { lowercaseToyReward, TestByteTokenizer } from "../rl/helpers.js";
import { BigramPolicy } from "../rl/bigram-policy.js";

const CHROMIUM = "/usr/bin/chromium";

test("nice ticks cover the range with round steps", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
  const t = niceTicks(3, 47);
  assert.ok(t[0]! <= 3 && t.at(-1)! >= 47);
  assert.equal(niceTicks(5, 5).length > 1, true);
});

test("line chart: one path per series, breaks on NaN, empty chart says so", () => {
  const svg = lineChart({
    title: "t",
    series: [
      {
        name: "a",
        points: [
          [1, 1],
          [2, NaN],
          [3, 2],
          [4, 3],
        ],
      },
      { name: "b<", points: [[1, 0]] },
    ],
  });
  assert.equal((svg.match(/class="series"/g) ?? []).length, 2);
  assert.match(svg, /data-points="3"/);
  assert.match(svg, /b&lt;/);
  const path1 = svg.match(/data-series="a" data-points="3" d="([^"]+)"/)![1]!;
  assert.equal((path1.match(/M/g) ?? []).length, 2); // the NaN broke the line
  assert.match(lineChart({ title: "x", series: [] }), /no data/);
});

async function makeRun(dir: string) {
  const tok = new TestByteTokenizer();
  const policy = new BigramPolicy(tok, 2);
  const items = Array.from({ length: 4 }, (_, i) => ({
    id: `f${i}`,
    lang: "python",
    code: `def f${i}():\n    return ${i}\n`,
  }));
  const reward = lowercaseToyReward;
  const evalItems = items.map((it) => ({ ...it, doc: `Return ${it.id}.` }));
  const cfg = parseConfig({
    max_steps: 6,
    rollout_batch_size: 2,
    num_docs_per_code: 2,
    num_codes_per_doc: 2,
    max_doc_tokens: 6,
    max_rebuild_tokens: 6,
    learning_rate: 0.1,
    save_steps: 3,
    eval_steps: 3,
    run_name: "report-test",
  });
  await trainRL({
    config: cfg,
    policy,
    reward,
    train: items,
    runDir: dir,
    evaluate: (p) =>
      evaluateHeldOut(p, evalItems, reward, {
        maxDocTokens: 6,
        maxCodeTokens: 6,
        batchSize: 4,
        signatureHint: false,
      }) as unknown as Promise<Record<string, unknown>>,
  });
}

test("report: self-contained page whose plots draw in headless Chromium", {
  skip: !fs.existsSync(CHROMIUM) && "chromium not installed",
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-rep-"));
  await makeRun(dir);
  const r = renderReport(dir);
  assert.ok(fs.existsSync(r.file));
  // offline: no external URLs anywhere (only the SVG namespace)
  const urls = r.html.match(/(?:src|href)\s*=\s*["']?https?:/gi) ?? [];
  assert.deepEqual(urls, []);
  assert.ok(!/<link\b/i.test(r.html));
  assert.match(r.html, /Before \/ after RL/);
  assert.match(r.html, /after RL: documentation/);

  const ud = fs.mkdtempSync(path.join(os.tmpdir(), "bc-chr-"));
  const res = spawnSync(
    CHROMIUM,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${ud}`,
      "--dump-dom",
      `file://${r.file}`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  fs.rmSync(ud, { recursive: true, force: true });
  assert.equal(res.status, 0, res.stderr);
  const dom = res.stdout;
  const charts = Number(dom.match(/<body[^>]*data-charts="(\d+)"/)?.[1]);
  assert.ok(charts >= 8, `only ${charts} charts rendered`);
  const lengths = [...dom.matchAll(/data-points="(\d+)"[^>]*data-rendered-length="([\d.]+)"/g)].map((m) => ({
    points: Number(m[1]),
    len: Number(m[2]),
  }));
  assert.ok(lengths.length >= 15, `only ${lengths.length} plotted series`);
  // every line with at least two points has a positive drawn length in the browser's layout
  for (const l of lengths.filter((x) => x.points >= 2)) assert.ok(l.len > 0, JSON.stringify(l));
  assert.ok(
    lengths.filter((x) => x.points >= 6).length >= 10,
    "reward/KL/length curves should have one point per step",
  );
});

test("report of a missing or empty directory is a clear error", () => {
  assert.throws(() => renderReport("/nonexistent/run"), /no run directory/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bc-rep-"));
  assert.throws(() => renderReport(dir), /metrics.jsonl is missing/);
});
