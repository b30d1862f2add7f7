/** A one-line progress display on stderr: MB read, MB/s, files, functions kept. */
export class Progress {
  private last = 0;
  private readonly t0 = Date.now();
  private shown = false;
  constructor(
    private readonly enabled: boolean,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly intervalMs = tty ? 200 : 5000,
  ) {}
  update(s: { bytes: number; files: number; kept: number; extracted: number }, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const secs = Math.max(1e-3, (now - this.t0) / 1000);
    const mb = s.bytes / 1e6;
    const line = `corpus: ${mb.toFixed(1)} MB  ${(mb / secs).toFixed(2)} MB/s  ${s.files} files  ${s.extracted} functions  ${s.kept} kept  ${secs.toFixed(0)}s`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(line + "\n");
    this.shown = true;
  }
  done(): void {
    if (this.enabled && this.shown && this.tty) process.stderr.write("\n");
  }
}
