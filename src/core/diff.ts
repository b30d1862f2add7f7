/**
 * A unified diff of two texts (the format `patch` and `git apply` read): Myers' O(ND) shortest edit script on
 * lines, hunks with `context` lines around each change. Lines keep their own endings, so a CRLF file's diff
 * carries its CRLFs; a last line without a newline gets the "\ No newline at end of file" marker.
 */

function splitLines(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const j = text.indexOf("\n", i);
    if (j < 0) {
      out.push(text.slice(i));
      break;
    }
    out.push(text.slice(i, j + 1));
    i = j + 1;
  }
  return out;
}

type Op = { kind: " " | "-" | "+"; line: string };

/** Myers' greedy algorithm with a trace for the backtrack; returns the edit script in order. */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length,
    m = b.length,
    max = n + m;
  const off = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    const nv = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      nv[off + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
    v = nv;
  }
  trace.push(v);
  // backtrack
  const ops: Op[] = [];
  let x = n,
    y = m;
  for (let d = trace.length - 2; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[off + k - 1]! < vd[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[off + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ kind: " ", line: a[--x]! }), y--;
    if (d === 0) break;
    if (x === prevX) ops.push({ kind: "+", line: b[--y]! });
    else ops.push({ kind: "-", line: a[--x]! });
  }
  while (x > 0 && y > 0) ops.push({ kind: " ", line: a[--x]! }), y--;
  return ops.reverse();
}

export interface DiffOptions {
  fromFile?: string;
  toFile?: string;
  /** Context lines around each change (default 3). */
  context?: number;
}

/** The unified diff from `a` to `b`; "" when they are equal. */
export function unifiedDiff(a: string, b: string, opts: DiffOptions = {}): string {
  if (a === b) return "";
  const ctx = opts.context ?? 3;
  const al = splitLines(a),
    bl = splitLines(b);
  const ops = editScript(al, bl);
  // positions (1-based line numbers) of each op in a and b
  const pos: { ai: number; bi: number }[] = [];
  let ai = 0,
    bi = 0;
  for (const op of ops) {
    pos.push({ ai, bi });
    if (op.kind !== "+") ai++;
    if (op.kind !== "-") bi++;
  }
  const changed = ops.map((o, i) => (o.kind !== " " ? i : -1)).filter((i) => i >= 0);
  let out = `--- ${opts.fromFile ?? "a"}\n+++ ${opts.toFile ?? "b"}\n`;
  let i = 0;
  while (i < changed.length) {
    let start = Math.max(0, changed[i]! - ctx);
    let end = Math.min(ops.length, changed[i]! + ctx + 1);
    while (i + 1 < changed.length && changed[i + 1]! - ctx <= end) end = Math.min(ops.length, changed[++i]! + ctx + 1);
    i++;
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== "+").length,
      bCount = hunk.filter((o) => o.kind !== "-").length;
    const aStart = aCount ? pos[start]!.ai + 1 : pos[start]!.ai,
      bStart = bCount ? pos[start]!.bi + 1 : pos[start]!.bi;
    out += `@@ -${aStart},${aCount} +${bStart},${bCount} @@\n`;
    for (const o of hunk) {
      out += o.kind + o.line;
      if (!o.line.endsWith("\n")) out += "\n\\ No newline at end of file\n";
    }
    start = end;
  }
  return out;
}
