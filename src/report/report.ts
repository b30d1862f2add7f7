/**
 * `renderReport(runDir)`: one self-contained HTML page for a run directory (no external resources: inline CSS,
 * inline SVG plots drawn by src/report/svg.ts). Reads config.resolved.json, metrics.jsonl, evals.jsonl,
 * samples.jsonl, summary.json and (when `batcoder train` wrote it) warmstart.json.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { readJsonl } from "../core/jsonl.js";
import { METRIC_KEYS, RUN_FILES, runPaths } from "../core/runs.js";
import { escapeHtml, lineChart, type Series } from "./svg.js";

type Row = Record<string, unknown>;
interface CI {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}
const isCI = (v: unknown): v is CI => !!v && typeof v === "object" && typeof (v as CI).mean === "number";

function num(v: unknown): number {
  return typeof v === "number" ? v : NaN;
}

function seriesOf(rows: Row[], key: string, name = key): Series {
  return { name, points: rows.map((r) => [num(r.step), num(r[key])] as [number, number]) };
}

function fmt(v: unknown, digits = 3): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  return v.toFixed(digits);
}

function ciCell(v: unknown): string {
  if (!isCI(v)) return "–";
  return `${fmt(v.mean)} <span class="muted">[${fmt(v.lo)}, ${fmt(v.hi)}]</span>`;
}

function pre(s: unknown, cls = ""): string {
  return `<pre class="${cls}">${escapeHtml(typeof s === "string" ? s : s == null ? "" : JSON.stringify(s, null, 2))}</pre>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#888;font-size:.9em}.grid-charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #e5e5e5;border-radius:4px}.chart-title{font-size:13px;font-weight:600}
.tick,.legend{font-size:10px;fill:#555}.label{font-size:11px;fill:#333}.grid{stroke:#eee}.axis{stroke:#999}.plot-bg{fill:#fcfcfc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f5f5f5}pre{background:#f7f7f9;border:1px solid #eee;padding:6px;white-space:pre-wrap;word-break:break-word;font-size:12px;margin:2px 0;max-height:300px;overflow:auto}
.ex{display:grid;grid-template-columns:1fr 1fr 1fr;gap:8px;margin-bottom:18px;border-bottom:1px dashed #ccc;padding-bottom:12px}
.ex h4{margin:2px 0;font-size:.9em}.good{color:#2a7}.bad{color:#c33}details{margin:8px 0}
`;

export interface ReportResult {
  html: string;
  file: string;
  charts: number;
}

export function renderReport(runDir: string, outFile?: string): ReportResult {
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory())
    throw new UserError(`no run directory at ${runDir}`);
  const files = runPaths(runDir);
  const metricsFile = files.metrics;
  if (!fs.existsSync(metricsFile)) throw new UserError(`${runDir} is not a run directory: metrics.jsonl is missing`);
  const metrics = readJsonl<Row>(metricsFile);
  const evals = readJsonl<Row>(files.evals);
  const samples = readJsonl<Row>(files.samples);
  const readJson = (f: string): Row | null => {
    const p = path.join(runDir, f);
    if (!fs.existsSync(p)) return null;
    try {
      return JSON.parse(fs.readFileSync(p, "utf8")) as Row;
    } catch {
      return null;
    }
  };
  const config = readJson(RUN_FILES.config) ?? {};
  const summary = readJson(RUN_FILES.summary);
  const warm = readJson(RUN_FILES.warmstart);
  const name = String(config.run_name ?? path.basename(path.resolve(runDir)));

  const charts: string[] = [];
  const add = (title: string, series: Series[], yLabel?: string, yInclude?: number[]) =>
    charts.push(lineChart({ title, series, xLabel: "step", yLabel, yInclude }));
  add(
    "Reward per direction",
    [
      seriesOf(metrics, METRIC_KEYS.rewardCode2Doc, "code→doc (documentation)"),
      seriesOf(metrics, METRIC_KEYS.rewardDoc2Code, "doc→code (reconstruction)"),
      seriesOf(metrics, "reward/doc2code/similarity", "reconstruction similarity"),
    ],
    "reward",
  );
  const compKeys = [
    ...new Set(metrics.flatMap((m) => Object.keys(m).filter((k) => k.startsWith("reward/component/")))),
  ];
  // Components on a [0, 1]-like scale share a chart; counts (parse errors, ...) get their own.
  const maxAbs = (k: string) => Math.max(0, ...metrics.map((m) => Math.abs(num(m[k]))).filter(Number.isFinite));
  const unitKeys = compKeys.filter((k) => maxAbs(k) <= 1.5 && !/errors/.test(k));
  const otherKeys = compKeys.filter((k) => !unitKeys.includes(k));
  if (unitKeys.length)
    add(
      "Reward components (reconstructions)",
      unitKeys.map((k) => seriesOf(metrics, k, k.slice("reward/component/".length))),
      "value",
    );
  if (otherKeys.length)
    add(
      "Reward diagnostics (reconstructions)",
      otherKeys.map((k) => seriesOf(metrics, k, k.slice("reward/component/".length))),
      "mean per reconstruction",
      [0],
    );
  add(
    "Documentation checks",
    [
      seriesOf(metrics, METRIC_KEYS.docValidRate, "format valid"),
      seriesOf(metrics, METRIC_KEYS.docLeakRate, "leaking"),
      seriesOf(metrics, "doc/kept_rate", "kept"),
    ],
    "rate",
    [0, 1],
  );
  add(
    "KL to the reference (per token)",
    [
      seriesOf(metrics, METRIC_KEYS.kl, "KL (all)"),
      seriesOf(metrics, "kl/code2doc", "KL code→doc"),
      seriesOf(metrics, "kl/doc2code", "KL doc→code"),
    ],
    "nats",
    [0],
  );
  add("Entropy (per token)", [seriesOf(metrics, "entropy", "entropy")], "nats", [0]);
  add(
    "Lengths (tokens)",
    [seriesOf(metrics, "len/doc_mean", "documentation"), seriesOf(metrics, "len/code_mean", "reconstruction")],
    "tokens",
    [0],
  );
  add(
    "PPO diagnostics",
    [
      seriesOf(metrics, "clip_fraction", "clip fraction"),
      seriesOf(metrics, "approx_kl_old", "approx KL(old‖new)"),
      seriesOf(metrics, "grad_norm", "grad norm"),
    ],
    "value",
    [0],
  );
  add(
    "Time per step",
    [
      seriesOf(metrics, "time/sampling_s", "sampling"),
      seriesOf(metrics, "time/reward_s", "reward"),
      seriesOf(metrics, "time/update_s", "update"),
    ],
    "seconds",
    [0],
  );
  const evalKeys: Array<[string, string]> = [
    ["roundtrip", "round-trip similarity"],
    ["doc2code_human", "doc→code from human docs"],
    ["doc_bleu", "doc BLEU vs human"],
    ["doc_rougeL", "doc ROUGE-L vs human"],
  ];
  if (evals.length) {
    charts.push(
      lineChart({
        title: "Held-out evaluation (mean, 95% CI)",
        xLabel: "step",
        yLabel: "score",
        series: evalKeys.map(([k, label]) => ({
          name: label,
          points: evals.map((e) => [num(e.step), isCI(e[k]) ? (e[k] as CI).mean : NaN] as [number, number]),
          band: evals.map((e) =>
            isCI(e[k])
              ? ([num(e.step), (e[k] as CI).lo, (e[k] as CI).hi] as [number, number, number])
              : ([NaN, NaN, NaN] as [number, number, number]),
          ),
        })),
      }),
    );
  }
  if (warm) {
    const stage = (k: string): Series | null => {
      const s = warm[k] as Row | undefined;
      const losses = s && Array.isArray(s.losses) ? (s.losses as number[]) : null;
      return losses ? { name: `${k} loss`, points: losses.map((l, i) => [i + 1, l] as [number, number]) } : null;
    };
    for (const k of ["pretrain", "sft"]) {
      const s = stage(k);
      if (s)
        charts.push(
          lineChart({
            title: `Warm start: ${k} (cross-entropy)`,
            series: [s],
            xLabel: "optimizer step",
            yLabel: "nats/token",
          }),
        );
    }
  }

  // ---- before / after table ----
  const first = evals[0];
  const last = evals.length > 1 ? evals.at(-1) : undefined;
  let table = `<p class="muted">No held-out evaluation in this run.</p>`;
  if (first) {
    const rows = [
      ...evalKeys,
      ["doc_valid_rate", "doc format-valid rate"],
      ["doc_leak_rate", "doc leak rate"],
    ] as Array<[string, string]>;
    table = `<table><tr><th>metric (held-out, n=${isCI(first.roundtrip) ? (first.roundtrip as CI).n : "?"})</th><th>step ${num(first.step)} (start)</th>${last ? `<th>step ${num(last.step)} (after RL)</th><th>Δ</th>` : ""}</tr>`;
    for (const [k, label] of rows) {
      const a = first[k],
        b = last?.[k];
      const av = isCI(a) ? a.mean : num(a),
        bv = isCI(b) ? b.mean : num(b);
      const delta = last && Number.isFinite(av) && Number.isFinite(bv) ? bv - av : NaN;
      const cls = delta > 0 ? "good" : delta < 0 ? "bad" : "";
      table += `<tr><td>${escapeHtml(label)}</td><td>${isCI(a) ? ciCell(a) : fmt(a)}</td>${last ? `<td>${isCI(b) ? ciCell(b) : fmt(b)}</td><td class="${cls}">${Number.isFinite(delta) ? (delta >= 0 ? "+" : "") + delta.toFixed(3) : "–"}</td>` : ""}</tr>`;
    }
    // benchmark pass@1 at the first and last evaluation: `benchmarks` (a list), or one `benchmark` (older runs)
    const bms = (e: Row | undefined): Row[] =>
      !e
        ? []
        : Array.isArray(e.benchmarks)
          ? (e.benchmarks as Row[])
          : e.benchmark && typeof e.benchmark === "object"
            ? [e.benchmark as Row]
            : [];
    for (const bf of bms(first)) {
      const bl = bms(last).find((x) => x.name === bf.name);
      const a = num(bf.pass_at_1),
        b = num(bl?.pass_at_1);
      const fmtNote = typeof bf.format === "string" ? `, ${bf.format}` : "";
      table += `<tr><td>${escapeHtml(String(bf.name))} pass@1 (${num(bf.tasks)} tasks${escapeHtml(fmtNote)})</td><td>${fmt(a)}</td>${last ? `<td>${fmt(b)}</td><td>${Number.isFinite(b - a) ? (b - a >= 0 ? "+" : "") + (b - a).toFixed(3) : "–"}</td>` : ""}</tr>`;
    }
    table += `</table>`;
  }

  // ---- before / after examples, side by side ----
  let examples = "";
  const exA = first && Array.isArray(first.examples) ? (first.examples as Row[]) : [];
  const exB = last && Array.isArray(last.examples) ? (last.examples as Row[]) : [];
  for (const a of exA) {
    const b = exB.find((x) => x.id === a.id);
    examples += `<div class="ex"><div><h4>original code (${escapeHtml(String(a.lang))})</h4>${pre(a.code)}<h4>human documentation</h4>${pre(a.human_doc)}</div>`;
    examples += `<div><h4>before RL: documentation</h4>${pre(a.generated_doc)}<h4>before: rebuilt code (sim ${fmt(a.roundtrip_similarity)})</h4>${pre(a.roundtrip_code)}</div>`;
    examples += b
      ? `<div><h4>after RL: documentation</h4>${pre(b.generated_doc)}<h4>after: rebuilt code (sim ${fmt(b.roundtrip_similarity)})</h4>${pre(b.roundtrip_code)}</div></div>`
      : `<div class="muted">no later evaluation</div></div>`;
  }

  // ---- training samples (first and last logged step) ----
  const steps = [...new Set(samples.map((s) => num(s.step)))].sort((x, y) => x - y);
  const pick = [steps[0], steps.at(-1)].filter((s, i, a) => s !== undefined && a.indexOf(s) === i) as number[];
  let sampleHtml = "";
  for (const st of pick) {
    for (const s of samples.filter((x) => x.step === st).slice(0, 3)) {
      sampleHtml += `<div class="ex"><div><h4>step ${st}: code</h4>${pre(s.code)}</div><div><h4>sampled documentation (${s.doc_valid ? "valid" : "invalid"}${s.doc_leaked ? ", leaking" : ""}; reward ${fmt(s.doc_reward)})</h4>${pre(s.doc)}</div><div><h4>best reconstruction (similarity ${fmt(s.rebuilt_similarity)})</h4>${pre(s.rebuilt ?? "(no reconstruction: documentation rejected)")}</div></div>`;
    }
  }

  const sumRows = summary
    ? Object.entries((summary.final as Row) ?? {})
        .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${fmt(v)}</td></tr>`)
        .join("")
    : "";
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>batcoder report — ${escapeHtml(name)}</title><style>${CSS}</style></head>
<body>
<h1>BatCoder run: ${escapeHtml(name)}</h1>
<div class="muted">${metrics.length} RL steps logged · ${evals.length} evaluations · advantage estimator ${escapeHtml(String(config.advantage_estimator ?? "?"))} · reward metric ${escapeHtml(String(config.reward_metric ?? "?"))}${summary ? ` · ${fmt(num(summary.elapsed_s) / 60, 1)} min` : ""}</div>
<h2>Before / after RL (held-out functions)</h2>
${table}
${sumRows ? `<details><summary>final training window (mean of the last steps)</summary><table>${sumRows}</table></details>` : ""}
<h2>Training curves</h2>
<div class="grid-charts">${charts.join("\n")}</div>
<h2>Held-out examples, before and after RL</h2>
${examples || `<p class="muted">No examples recorded.</p>`}
<h2>Training samples</h2>
${sampleHtml || `<p class="muted">No samples recorded.</p>`}
<h2>Configuration</h2>
<details><summary>config.resolved.json</summary>${pre(config)}</details>
${warm ? `<details><summary>warm start</summary>${pre({ ...warm, pretrain: warm.pretrain ? { ...(warm.pretrain as Row), losses: undefined } : undefined, sft: warm.sft ? { ...(warm.sft as Row), losses: undefined } : undefined })}</details>` : ""}
<script>
// Self-check hook (used by the tests in headless Chromium): record each plotted line's drawn length.
for (const p of document.querySelectorAll("path.series")) p.setAttribute("data-rendered-length", String(p.getTotalLength()));
document.body.setAttribute("data-charts", String(document.querySelectorAll("svg.chart").length));
</script>
</body></html>
`;
  const file = outFile ?? files.report;
  fs.writeFileSync(file, html);
  return { html, file, charts: charts.length };
}
