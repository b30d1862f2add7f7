/**
 * The one progress display on stderr: redrawn in place on a TTY, one line every few seconds otherwise. With a known
 * total it draws a bar with done/total, elapsed time and an ETA; without one (e.g. a stream of unknown size) it shows
 * the label, the caller's figures and the elapsed time.
 */
export interface ProgressOptions {
  /** Steps already done before this process started (resume): the ETA counts only the steps run here. */
  startAt?: number;
  /** Minimum time between redraws (default 200 ms on a TTY, 5 s otherwise). */
  intervalMs?: number;
  /** Draw in place (default: stderr is a TTY). */
  tty?: boolean;
}

export class ProgressBar {
  private last = 0;
  private shown = false;
  private readonly t0 = Date.now();
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly startAt: number;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    private readonly enabled = true,
    opts: ProgressOptions = {},
  ) {
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
    this.intervalMs = opts.intervalMs ?? (this.tty ? 200 : 5000);
    this.startAt = opts.startAt ?? 0;
  }

  /** Redraws (rate-limited unless `force`, and always at the last step). */
  update(done: number, extra = "", force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    const finished = this.total !== null && done >= this.total;
    if (!force && !finished && now - this.last < this.intervalMs) return;
    this.last = now;
    const el = (now - this.t0) / 1000;
    let line: string;
    if (this.total === null) {
      line = `${this.label}: ${extra}${extra ? "  " : ""}${fmtDuration(el)}`;
    } else {
      const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
      const width = 24;
      const fill = Math.round(frac * width);
      const runFrac = this.total > this.startAt ? Math.min(1, (done - this.startAt) / (this.total - this.startAt)) : 1;
      const eta = runFrac > 0 && runFrac < 1 ? (el / runFrac) * (1 - runFrac) : 0;
      line = `${this.label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${done}/${this.total} ${fmtDuration(el)}${eta ? ` eta ${fmtDuration(eta)}` : ""}${extra ? ` ${extra}` : ""}`;
    }
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(line + "\n");
    this.shown = true;
  }

  /** Final redraw (with a total: at 100%) and a newline on a TTY. */
  done(extra = ""): void {
    if (!this.enabled) return;
    if (this.total !== null) this.update(this.total, extra, true);
    else if (extra) this.update(0, extra, true);
    if (this.tty && this.shown) process.stderr.write("\n");
  }
}

/** 75 -> "1m15s", 3725 -> "1h02m", 9 -> "9s". */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.round(s);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    ss = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(ss).padStart(2, "0")}s` : `${ss}s`;
}
