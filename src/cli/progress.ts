/** A one-line progress bar on a terminal's stderr; silent when stderr is not a TTY. */
export class ProgressBar {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly enabled = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string) {}

  update(step: number, total: number, extra: Record<string, number>): void {
    const now = performance.now();
    if (!this.enabled || (now - this.lastDraw < 100 && step < total)) return;
    this.lastDraw = now;
    const frac = Math.min(1, step / total);
    const width = 24;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const elapsed = (now - this.started) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : NaN;
    const fields = Object.entries(extra)
      .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
      .join('  ');
    const line = `${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ${step}/${total}  ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'}  ${fields}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
