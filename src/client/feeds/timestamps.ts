/**
 * Docker's log timestamps (RFC 3339 with up to nine fraction digits, as in `LogLine.ts`) as
 * exact nanoseconds, so that lines seen again after a reconnect can be recognised exactly.
 */
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

export function logTimestampNanos(ts: string): bigint | null {
  const m = RFC3339.exec(ts);
  if (!m) return null;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return null;
  return BigInt(whole) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
