/** A one-line progress bar on stderr (redrawn in place on a TTY, a line every few seconds otherwise). */
export class ProgressBar {
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly t0 = Date.now();
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled = true,
  ) {}
  update(done: number, extra = "", force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? 200 : 5000) && done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 24;
    const fill = Math.round(frac * width);
    const el = (now - this.t0) / 1000;
    const eta = frac > 0 && frac < 1 ? (el / frac) * (1 - frac) : 0;
    const line = `${this.label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${done}/${this.total} ${fmtDuration(el)}${eta ? ` eta ${fmtDuration(eta)}` : ""}${extra ? ` ${extra}` : ""}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(line + "\n");
  }
  done(extra = ""): void {
    if (!this.enabled) return;
    this.update(this.total, extra, true);
    if (this.tty) process.stderr.write("\n");
  }
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.round(s);
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
