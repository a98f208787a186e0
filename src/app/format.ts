// Number formatting shared by the run list, charts and tables.

export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** Four significant digits; exponent notation for very small or large magnitudes. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return x.toExponential(2);
  return Number(x.toPrecision(4)).toString();
}

/** 61706 → "61.7k", 1.2e6 → "1.2M". */
export function formatCount(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${Number((n / 1e3).toPrecision(3))}k`;
  if (n < 1e9) return `${Number((n / 1e6).toPrecision(3))}M`;
  return `${Number((n / 1e9).toPrecision(3))}G`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${Number((n / 1024).toPrecision(3))} KiB`;
  return `${Number((n / 1024 ** 2).toPrecision(3))} MiB`;
}

/** 83_000 → "1m 23s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

// Intl formatters are costly to build (milliseconds each): build them once, not per render.
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  const sameDay = d.toDateString() === new Date().toDateString();
  return (sameDay ? timeOfDay : dateAndTime).format(d);
}
