/**
 * The round-trip report (`batcoder roundtrip --html FILE`): ONE self-contained HTML page (inline CSS and a
 * small inline script, nothing loaded from anywhere) with a sortable table of every function's scores and,
 * per function, the original code, the model's documentation and the rebuild side by side. Every piece of
 * user code and model text is HTML-escaped (a function containing `</script>` or `<img onerror>` is shown, not run).
 */
import { escapeHtml } from "./svg.js";

/** One function's round trip (src/orchestration/roundtrip.ts RoundtripRow has this shape). */
export interface RoundtripReportRow {
  path: string;
  lang: string;
  name: string;
  line: number;
  code: string;
  doc: string;
  rebuilt: string;
  docValid: boolean;
  docLeaked: boolean;
  scores: { bleu: number; codebleu: number; dfg: number; exact: number; behaviour: number | null };
  behaviourNote?: string;
  score: number;
  flags: string[];
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right}th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
td:first-child,th:first-child,td.l{text-align:left}tr.low td{background:#fff3f0}pre{white-space:pre-wrap;background:#f8f8f8;
padding:6px;margin:0;font-size:12px;max-height:28em;overflow:auto}.sbs{display:grid;grid-template-columns:1fr 1fr 1fr;gap:8px}
.muted{color:#777}details{margin:0}summary{cursor:pointer}`;

/** A tiny sorter: click a header to sort by its column (numbers by value, text alphabetically). */
const SCRIPT = `document.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
var tb=th.closest('table').tBodies[0];var rows=Array.prototype.slice.call(tb.rows);var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
rows.sort(function(a,b){var x=a.cells[i].dataset.v,y=b.cells[i].dataset.v;var nx=parseFloat(x),ny=parseFloat(y);
var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));return asc?c:-c;});rows.forEach(function(r){tb.appendChild(r);});});});`;

const f3 = (x: number | null): string => (x === null ? "–" : x.toFixed(3));
const cell = (x: number | null): string => `<td data-v="${x === null ? -1 : x}">${f3(x)}</td>`;

export function renderRoundtripReport(
  rows: readonly RoundtripReportRow[],
  meta: { model: string; threshold: number; title?: string },
): string {
  const mean = (f: (r: RoundtripReportRow) => number | null): string => {
    const xs = rows.map(f).filter((x): x is number => x !== null);
    return xs.length ? f3(xs.reduce((a, b) => a + b, 0) / xs.length) : "–";
  };
  const body = rows
    .map((r) => {
      const id = `${r.path}:${r.line} ${r.name}`;
      const detail =
        `<details><summary>${escapeHtml(id)}</summary><div class="sbs"><div><b>original (${escapeHtml(r.lang)})</b><pre>${escapeHtml(r.code)}</pre></div>` +
        `<div><b>documentation</b>${r.docValid ? "" : ' <span class="muted">(badly formed)</span>'}${r.docLeaked ? ' <span class="muted">(leaks code)</span>' : ""}<pre>${escapeHtml(r.doc)}</pre></div>` +
        `<div><b>rebuild</b><pre>${escapeHtml(r.rebuilt)}</pre></div></div>${r.behaviourNote ? `<div class="muted">behaviour: ${escapeHtml(r.behaviourNote)}</div>` : ""}</details>`;
      return `<tr${r.flags.length ? ' class="low"' : ""}><td class="l" data-v="${escapeHtml(id)}">${detail}</td>${cell(r.scores.bleu)}${cell(r.scores.codebleu)}${cell(r.scores.dfg)}${cell(r.scores.exact)}${cell(r.scores.behaviour)}${cell(r.score)}<td class="l" data-v="${escapeHtml(r.flags.join("; "))}">${escapeHtml(r.flags.join("; "))}</td></tr>`;
    })
    .join("\n");
  const title = meta.title ?? "batcoder round trip";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="muted">model ${escapeHtml(meta.model)} · ${rows.length} functions · per function: code → documentation → rebuild, scored against the original.
Score = behaviour where the function ran in the sandbox, else CodeBLEU. Rows below ${meta.threshold} are flagged with a guess at why. Click a header to sort, a function to compare.</p>
<p>means: BLEU ${mean((r) => r.scores.bleu)} · CodeBLEU ${mean((r) => r.scores.codebleu)} · graph ${mean((r) => r.scores.dfg)} · exact ${mean((r) => r.scores.exact)} · behaviour ${mean((r) => r.scores.behaviour)} · score ${mean((r) => r.score)}</p>
<table><thead><tr><th>function</th><th>BLEU</th><th>CodeBLEU</th><th>graph</th><th>exact</th><th>behaviour</th><th>score</th><th>why low (guess)</th></tr></thead>
<tbody>
${body}
</tbody></table>
<script>${SCRIPT}</script>
</body></html>
`;
}
