/**
 * How a lease is said, on the agent (its refusals) and in the CLI and TUI (`lock status`, the job
 * row). Pure: the agent's clock comes in.
 */
import type { LeaseInfo } from '../protocol/api.js';

/** `alice@laptop` */
export function leaseHolder(lease: Pick<LeaseInfo, 'operator' | 'host'>): string {
  return `${lease.operator}@${lease.host}`;
}

/** `12s`, `3m4s`, `1h2m`: how long ago or how long to go, to the second. */
export function shortSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

/** `2026-11-02T10:31:42Z`: an ISO time to the second. */
export function isoSecond(at: number | string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * `job demo is locked by alice@laptop (run job demo.yaml) since 2026-11-02T10:31:42Z, 12s ago;
 * it lapses in 18s unless renewed`.
 */
export function describeLease(job: string, lease: LeaseInfo, now: number): string {
  const since = Date.parse(lease.acquiredAt);
  const expires = Date.parse(lease.expiresAt);
  return (
    `job ${job} is locked by ${leaseHolder(lease)} (${lease.command}) since ${isoSecond(lease.acquiredAt)}, ` +
    `${shortSpan(now - since)} ago; it lapses in ${shortSpan(expires - now)} unless renewed`
  );
}
