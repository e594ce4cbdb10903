/**
 * The leases at the agent's door: every change to a job passes here (refused while somebody else
 * holds the job's lease; renewed when it carries its holder's), and every lease change is logged
 * and reported once, whichever route made it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { LeaseChange, LeaseTable } from '../leases/lease-table.js';
import { leaseIdOf, leaseReleaseOf, releaseAtEnd, renewCarriedLease } from './lease-headers.js';

export interface LeaseGateOptions {
  logger: Logger;
  /** Every change (taken, renewed, released, broken, lapsed), for the audit log. */
  onLeaseChange?: ((change: LeaseChange) => void) | undefined;
  /** A job whose lease was taken or given back (its job list changed for the feeds' summaries). */
  onJobChange?: ((job: string) => void) | undefined;
}

export class LeaseGate {
  constructor(
    readonly leases: LeaseTable,
    private readonly options: LeaseGateOptions,
  ) {}

  /** Logs and reports a change (null: nothing changed). */
  changed(change: LeaseChange | null): void {
    if (!change) return;
    // Renewals come every few seconds per rollout: logged at debug, the rest at info.
    this.options.logger[change.kind === 'renewed' ? 'debug' : 'info'](
      { job: change.job, lease: change.lease, change: change.kind },
      `lease ${change.kind}`,
    );
    this.options.onLeaseChange?.(change);
    if (change.kind !== 'renewed') this.options.onJobChange?.(change.job);
  }

  /**
   * A change to a job: refused while somebody else holds its lease (see lease-table.ts); one
   * that carries its holder's lease renews it (see lease-headers.ts). Returns the renewal.
   */
  check(req: IncomingMessage, res: ServerResponse, job: string): LeaseChange | null {
    this.leases.check(job, leaseIdOf(req));
    const renewed = renewCarriedLease(req, res, this.leases, job);
    this.changed(renewed);
    return renewed;
  }

  /**
   * The check of a streamed change (deploy, rollback, stop). Returns what to call once its
   * operation ended, whatever became of it, when the change asked for its lease back then
   * (`dokkup-lease-release`), else null.
   */
  checkChange(req: IncomingMessage, res: ServerResponse, job: string): (() => void) | null {
    // A bad header is refused before the lease is touched.
    const asked = leaseReleaseOf(req);
    const held = this.check(req, res, job);
    const giveBack = asked ? releaseAtEnd(req, res, this.leases, job, held) : null;
    return giveBack && (() => this.changed(giveBack()));
  }
}
