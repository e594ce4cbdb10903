/**
 * How a lease is said, on the agent (its refusals) and in the CLI and TUI (`lock status`, the job
 * row). Pure: the agent's clock comes in.
 */
import { LEASE_TTL_LIMITS_MS, type LeaseInfo } from '../protocol/api.js';

/** How long a lease lasts without renewal on a small fleet: a killed CLI blocks the job this long. */
export const LEASE_TTL_BASE_MS = 30_000;
/** What each target node adds to the default TTL (from 1,500 nodes on, where it passes the base). */
export const LEASE_TTL_PER_NODE_MS = 20;

/**
 * The default TTL of a command's lease on `nodes` target nodes: 30 s, or 20 ms per node on larger
 * fleets (100 s at 5,000 nodes, 200 s at 10,000), at most the agents' 10 min.
 *
 * The CLI renews the nodes it sent nothing to for a third of the TTL (those waiting for a later
 * wave), one connection each, about 1–2 ms of its CPU over TLS. With a fixed 30 s, a fresh
 * rollout of 10,000 nodes spent a third of its connections on renewals (the plan phase alone
 * takes ~12 s there), and a long one would renew every waiting node every 10 s, which is most of
 * a core. At 20 ms per node the renewals of a whole fleet cost at most about a fifth of the
 * CLI's time however long the rollout, and a killed CLI blocks a 10,000-node job for 200 s at
 * most (`dokkup lock release` breaks it at once).
 */
export function defaultLeaseTtlMs(nodes: number): number {
  const scaled = Math.ceil(Math.max(0, nodes) * LEASE_TTL_PER_NODE_MS);
  return Math.min(LEASE_TTL_LIMITS_MS.max, Math.max(LEASE_TTL_BASE_MS, scaled));
}

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
