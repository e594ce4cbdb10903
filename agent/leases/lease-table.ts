/**
 * Leases: a rollout (or promote, rollback, stop, purge) of a fleet first takes the job's lease on
 * every target node, so that a second operator is refused before anything changes, and renews it
 * while it runs. One lease per job per node; it lapses by itself after its TTL, so a CLI that was
 * killed never blocks anybody for long (Kamal's `kamal lock`, with a TTL).
 *
 * In memory: a lease outlives the CLI that took it, not the agent. After an agent restart the
 * holder's next renewal finds no lease and stops its rollout before the next wave, while the
 * job's operation lock and the lease header on every change still keep two operators from
 * interleaving on this node.
 */
import { DokkupError, LeaseHeldError } from '../../src/core/errors.js';
import { describeLease } from '../../src/core/lease.js';
import type { LeaseInfo, LeaseRelease, LeaseRequest } from '../../src/protocol/api.js';

interface LeaseRecord {
  id: string;
  operator: string;
  host: string;
  command: string;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
  /** The TTL its holder asked for: a request that carries the lease extends it by as much. */
  ttlMs: number;
}

/** What a change to the table did, for the audit log and the answer. */
export interface LeaseChange {
  job: string;
  kind: 'acquired' | 'renewed' | 'released' | 'broken';
  lease: LeaseInfo;
}

const PRUNE_ABOVE = 64;

function info(record: LeaseRecord): LeaseInfo {
  return {
    operator: record.operator,
    host: record.host,
    command: record.command,
    acquiredAt: new Date(record.acquiredAt).toISOString(),
    renewedAt: new Date(record.renewedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
  };
}

export class LeaseTable {
  private readonly records = new Map<string, LeaseRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The lease in force on the job, if any (a lapsed one is no lease). */
  get(job: string): LeaseInfo | null {
    const record = this.active(job);
    return record ? info(record) : null;
  }

  /** Whether `id` holds the job's lease now. */
  holds(job: string, id: string | undefined): boolean {
    return id !== undefined && this.active(job)?.id === id;
  }

  /**
   * Takes the lease, or renews it for its holder. With `renew`, only the holder's own lease is
   * extended (even one that lapsed, as long as nobody took it since): a lease that was released
   * or broken is not quietly taken again by a rollout that did not notice.
   */
  acquire(job: string, request: LeaseRequest, renew = false): LeaseChange {
    const now = this.now();
    const existing = this.records.get(job);
    const active = existing && existing.expiresAt > now ? existing : undefined;
    if (active && active.id !== request.id) {
      throw new LeaseHeldError(describeLease(job, info(active), now), info(active));
    }
    if (renew && existing?.id !== request.id) {
      throw new DokkupError(
        'lease_lost',
        `the lease on job ${job} is no longer yours: it was released or broken (dokkup lock release), or this agent restarted`,
      );
    }
    const kind = existing?.id === request.id ? 'renewed' : 'acquired';
    const record: LeaseRecord = {
      id: request.id,
      operator: request.operator,
      host: request.host,
      command: request.command,
      acquiredAt: kind === 'renewed' ? existing!.acquiredAt : now,
      renewedAt: now,
      expiresAt: now + request.ttlMs,
      ttlMs: request.ttlMs,
    };
    this.records.set(job, record);
    this.prune(now);
    return { job, kind, lease: info(record) };
  }

  /**
   * A request that carries lease `id` (a plan, a deploy, …) renews it, as a renewal would: the
   * holder's own lease, even one that lapsed as long as nobody took it since. Null when `id` does
   * not hold it (released, broken, taken by another, or this agent restarted): the caller is told
   * its lease is lost, so a rollout stops before its next wave, as after a failed renewal.
   */
  touch(job: string, id: string): LeaseChange | null {
    const existing = this.records.get(job);
    if (!existing || existing.id !== id) return null;
    const now = this.now();
    existing.renewedAt = now;
    existing.expiresAt = Math.max(existing.expiresAt, now + existing.ttlMs);
    return { job, kind: 'renewed', lease: info(existing) };
  }

  /** Gives the lease back (its holder) or breaks it (`force`); null when there was nothing to release. */
  release(job: string, request: LeaseRelease): LeaseChange | null {
    const existing = this.records.get(job);
    if (!existing) return null;
    if (request.force !== true && existing.id !== request.id) {
      const now = this.now();
      if (existing.expiresAt <= now) return null;
      throw new LeaseHeldError(
        `${describeLease(job, info(existing), now)}; only its holder can release it (or force it: dokkup lock release)`,
        info(existing),
      );
    }
    this.records.delete(job);
    const ownRelease = existing.id === request.id;
    return { job, kind: ownRelease ? 'released' : 'broken', lease: info(existing) };
  }

  /**
   * Refuses a change to the job by anybody but the lease's holder while a lease is in force.
   * Without a lease anybody may go on (a plain API call, a 0.3 CLI).
   */
  check(job: string, id: string | undefined): void {
    const active = this.active(job);
    if (!active || active.id === id) return;
    const now = this.now();
    throw new LeaseHeldError(describeLease(job, info(active), now), info(active));
  }

  /** Lapsed leases of jobs nobody touches again would otherwise stay forever. */
  private prune(now: number): void {
    if (this.records.size < PRUNE_ABOVE) return;
    for (const [job, record] of this.records) if (record.expiresAt <= now) this.records.delete(job);
  }

  private active(job: string): LeaseRecord | undefined {
    const record = this.records.get(job);
    if (!record) return undefined;
    if (record.expiresAt > this.now()) return record;
    return undefined;
  }
}
