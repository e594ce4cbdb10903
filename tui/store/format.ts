/**
 * Text helpers only the TUI needs: sparklines, port lists, fitting text to a cell. Figures (sizes,
 * percentages, elapsed times, latencies) come from `src/core/format.ts`, so they read as in the CLI.
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
