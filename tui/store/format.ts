/**
 * Pure formatting helpers for the TUI's cells: sizes, percentages, durations, sparklines, ports.
 * No terminal, no clock: times are passed in.
 */
import type { PublishedPort } from '../../src/protocol/api.js';

const SPARK_BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A sparkline of `width` characters from the last values (oldest first). Values are scaled
 * against `max` (default: the largest value shown, at least 1 so that idle stays flat).
 */
export function sparkline(values: readonly number[], width: number, max?: number): string {
  if (width <= 0) return '';
  const shown = values.slice(-width);
  const top = max ?? Math.max(1, ...shown);
  let out = '';
  for (const v of shown) {
    const ratio = top > 0 ? Math.min(1, Math.max(0, v / top)) : 0;
    out += SPARK_BARS[Math.min(SPARK_BARS.length - 1, Math.round(ratio * (SPARK_BARS.length - 1)))];
  }
  return out.padStart(width, ' ');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `512B`, `1.5KiB`, `340MiB`, `2.1GiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)}${UNITS[unit]}`;
}

/** `0.0%`, `12.3%`, `250%` (several cores). */
export function formatPercent(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return '-';
  return percent >= 100 ? `${Math.round(percent)}%` : `${percent.toFixed(1)}%`;
}

/** Compact age/uptime: `42s`, `5m`, `3h12m`, `4d2h`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
}

/** Round-trip latency: `3ms`, `1.2s`. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Docker-style ports: `0.0.0.0:32768->8000/tcp, 53/udp`. */
export function formatPorts(ports: readonly PublishedPort[]): string {
  if (ports.length === 0) return '-';
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const p of ports) {
    // Docker lists IPv4 and IPv6 bindings separately; one is enough for a table cell.
    const text =
      p.publicPort === null
        ? `${p.privatePort}/${p.protocol}`
        : `${p.publicPort}->${p.privatePort}/${p.protocol}`;
    if (seen.has(text)) continue;
    seen.add(text);
    parts.push(text);
  }
  return parts.join(',');
}

/** Fits text into exactly `width` cells: padded, or cut with `…`. */
export function fitText(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  return align === 'right'
    ? text.padStart(width + (text.length - chars.length))
    : text + ' '.repeat(width - chars.length);
}

/** Display length in terminal cells (our texts hold no wide characters). */
export function cellLength(text: string): number {
  return Array.from(text).length;
}
