/**
 * Hand-drawn inline SVG line charts (no library, no CDN): axes with "nice" ticks, one <path> per series,
 * optional shaded confidence band per series, a legend. Non-finite points are skipped (the line breaks).
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Optional [x, lo, hi] band (e.g. a 95% CI), drawn under the line. */
  band?: Array<[number, number, number]>;
}

export interface ChartOptions {
  title: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Force the y range to include these values (e.g. 0). */
  yInclude?: number[];
}

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
  "#bcbd22",
];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round tick positions covering [lo, hi] (about `n` of them). */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  if (out[0]! > lo) out.unshift(out[0]! - step);
  if (out.at(-1)! < hi) out.push(out.at(-1)! + step);
  return out;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 560;
  const H = o.height ?? 300;
  const m = { l: 58, r: 12, t: 28, b: 50 + 16 * Math.ceil(o.series.length / 3) };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const finite = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  const xs: number[] = [];
  const ys: number[] = [...(o.yInclude ?? [])];
  for (const s of o.series) {
    for (const p of s.points.filter(finite)) {
      xs.push(p[0]);
      ys.push(p[1]);
    }
    for (const b of s.band ?? []) if (b.every(Number.isFinite)) ys.push(b[1], b[2]);
  }
  const title = `<text x="${W / 2}" y="18" text-anchor="middle" class="chart-title">${escapeHtml(o.title)}</text>`;
  if (xs.length === 0) {
    return `<svg class="chart empty" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  }
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [xt[0]!, xt.at(-1)!];
  const [y0, y1] = [yt[0]!, yt.at(-1)!];
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * pw;
  const Y = (y: number) => m.t + ph - ((y - y0) / (y1 - y0 || 1)) * ph;
  const parts: string[] = [title];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot-bg"/>`);
  for (const t of yt)
    parts.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" class="grid"/><text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(t)}</text>`,
    );
  for (const t of xt)
    parts.push(
      `<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/><text x="${X(t).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${fmt(t)}</text>`,
    );
  parts.push(
    `<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" class="axis"/>`,
  );
  if (o.xLabel)
    parts.push(
      `<text x="${m.l + pw / 2}" y="${m.t + ph + 30}" text-anchor="middle" class="label">${escapeHtml(o.xLabel)}</text>`,
    );
  if (o.yLabel)
    parts.push(
      `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeHtml(o.yLabel)}</text>`,
    );
  o.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const band = (s.band ?? []).filter((b) => b.every(Number.isFinite));
    if (band.length >= 2) {
      const up = band.map((b) => `${X(b[0]).toFixed(1)} ${Y(b[2]).toFixed(1)}`);
      const dn = band
        .slice()
        .reverse()
        .map((b) => `${X(b[0]).toFixed(1)} ${Y(b[1]).toFixed(1)}`);
      parts.push(
        `<path class="band" d="M${up.join(" L")} L${dn.join(" L")} Z" fill="${color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
    // Break the line at non-finite points.
    let d = "";
    let pen = false;
    let n = 0;
    for (const p of s.points) {
      if (!finite(p)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)} `;
      pen = true;
      n++;
    }
    if (n === 1) {
      const p = s.points.find(finite)!;
      parts.push(
        `<circle class="series-dot" cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    }
    if (n >= 1) {
      parts.push(
        `<path class="series" data-series="${escapeHtml(s.name)}" data-points="${n}" d="${d.trim()}" fill="none" stroke="${color}" stroke-width="1.8"/>`,
      );
      if (n <= 30)
        for (const p of s.points.filter(finite))
          parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2" fill="${color}"/>`);
    }
    const lx = m.l + (i % 3) * (pw / 3);
    const ly = m.t + ph + 50 + 16 * Math.floor(i / 3);
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="12" height="3" fill="${color}"/><text x="${lx + 16}" y="${ly - 3}" class="legend">${escapeHtml(s.name)}</text>`,
    );
  });
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>`;
}
