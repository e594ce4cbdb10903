/**
 * Durations as users write them (`30s`, `1m30s`, `500ms`, `2h`, or a plain number of seconds,
 * like docker-compose) turned into whole milliseconds.
 */
import { InputError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// `ms` must come before `m` and `s`, or `500ms` would be read as 500 minutes followed by junk.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
const PLAIN_SECONDS = /^\d+(\.\d+)?$/;

/** Milliseconds (rounded to a whole number) or an `InputError` for anything else. */
export function parseDurationMs(v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0)
      throw new InputError(`must be a duration of 0 or more seconds, got ${v}`);
    return Math.round(v * 1000);
  }
  if (typeof v !== 'string') throw new InputError(`must be a duration like 30s, 1m30s or 500ms`);
  const text = v.trim();
  if (PLAIN_SECONDS.test(text)) return Math.round(Number(text) * 1000);
  let total = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  if (text.length === 0 || at !== text.length) {
    throw new InputError(`must be a duration like 30s, 1m30s or 500ms, got ${JSON.stringify(v)}`);
  }
  return Math.round(total);
}

/** `90000` → `1m30s`: for messages, so users see the unit they wrote. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
