/**
 * Pure formatting helpers for the TUI's cells: sizes, percentages, durations, sparklines, ports.
 * No terminal, no clock: times are passed in. Figures read as in the CLI (src/core/format.ts).
 */
import {
  formatBinaryBytes,
  formatElapsed,
  formatPercent as formatPercentage,
  formatLatency as formatRoundTrip,
} from '../../src/core/format.js';
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

/** `512B`, `1.5KiB`, `340MiB`, `2.1GiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  return formatBinaryBytes(bytes);
}

/** `0.0%`, `12.3%`, `250%` (several cores). */
export function formatPercent(percent: number | null | undefined): string {
  return formatPercentage(percent);
}

/** Compact age/uptime: `42s`, `5m`, `3h12m`, `4d2h`. */
export function formatDuration(ms: number | null | undefined): string {
  return formatElapsed(ms);
}

/** Round-trip latency: `3.2ms`, `42ms`, `1.2s`. */
export function formatLatency(ms: number | null | undefined): string {
  return formatRoundTrip(ms);
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
