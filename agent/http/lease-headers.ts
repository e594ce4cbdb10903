/**
 * The lease a request carries in its headers (see `LEASE_HEADER` in src/protocol/api.ts):
 *   - `dokkup-lease: <id>` on a change (deploy, rollback, stop, promote) and on a plan: the
 *     holder's request renews its lease on the job, as a renewal would, so a rollout renews only
 *     the nodes it has not asked anything lately;
 *   - plus `dokkup-lease-take: <base64url JSON>` on a plan: the lease is taken with the plan
 *     (refused, naming the holder, when another operator holds it), one request instead of two.
 *   - plus `dokkup-lease-release: on-end` on a change (deploy, rollback, stop): the lease is given
 *     back once the operation has ended, before its result is sent, and the answer says
 *     `dokkup-lease-release: on-end` (the holder's last request to the node needs no release after it).
 * The answer says `dokkup-lease-state: held` or `lost` (released, broken, taken by another, or
 * this agent restarted), so the holder learns a lost lease from any answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  LEASE_HEADER,
  LEASE_ID_PATTERN,
  LEASE_RELEASE_HEADER,
  LEASE_RELEASE_ON_END,
  LEASE_STATE_HEADER,
  LEASE_TAKE_HEADER,
  type LeaseRequest,
  LeaseRequestSchema,
  type LeaseStateHeader,
} from '../../src/protocol/api.js';
import type { LeaseChange, LeaseTable } from '../leases/lease-table.js';
import { HttpError } from './errors.js';

/** The `Dokkup-Lease` header: the caller's lease id, checked like any input. */
export function leaseIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers[LEASE_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !LEASE_ID_PATTERN.test(value)) {
    throw new HttpError(
      400,
      'invalid_request',
      `${LEASE_HEADER} header: must be one lease id of 16 to 64 characters of A-Z a-z 0-9 _ -`,
      LEASE_HEADER,
    );
  }
  return value;
}

/** Longest `dokkup-lease-take` value: the fields' own limits, base64url-encoded, with room. */
const MAX_TAKE_HEADER = 2_048;

/** The lease a plan asks to take (`dokkup-lease-take` with `dokkup-lease`), or undefined; 400 when malformed. */
export function leaseTakeOf(req: IncomingMessage): LeaseRequest | undefined {
  const value = req.headers[LEASE_TAKE_HEADER];
  if (value === undefined) return undefined;
  const bad = (why: string) =>
    new HttpError(400, 'invalid_request', `${LEASE_TAKE_HEADER} header: ${why}`, LEASE_TAKE_HEADER);
  const id = leaseIdOf(req);
  if (id === undefined) throw bad(`comes with a ${LEASE_HEADER} header (the lease id)`);
  if (typeof value !== 'string' || value.length > MAX_TAKE_HEADER || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw bad(`must be base64url JSON of at most ${MAX_TAKE_HEADER} characters`);
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw bad('must be base64url JSON');
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw bad('must be a JSON object of operator, host, command and ttlMs');
  }
  const parsed = LeaseRequestSchema.safeParse({ ...decoded, id });
  if (!parsed.success || parsed.data.renew !== undefined) {
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    const field = issue ? issue.path.join('.') : 'renew';
    throw bad(`${field}: ${issue?.message ?? 'not allowed here'}`);
  }
  return parsed.data;
}

/**
 * A request that carries its lease renews it (see the file comment) and is told how it stands.
 * Returns the change for the agent's log (null: the lease is not the caller's any more).
 */
export function renewCarriedLease(
  req: IncomingMessage,
  res: ServerResponse,
  leases: LeaseTable,
  job: string,
): LeaseChange | null {
  const id = leaseIdOf(req);
  if (id === undefined) return null;
  const change = leases.touch(job, id);
  markLease(res, change ? 'held' : 'lost');
  return change;
}

/**
 * Whether a change asks for its lease back at its end (`dokkup-lease-release: on-end`, with the
 * lease id in `dokkup-lease`); 400 for any other value or without the id.
 */
export function leaseReleaseOf(req: IncomingMessage): boolean {
  const value = req.headers[LEASE_RELEASE_HEADER];
  if (value === undefined) return false;
  const bad = (why: string) =>
    new HttpError(400, 'invalid_request', `${LEASE_RELEASE_HEADER} header: ${why}`, LEASE_RELEASE_HEADER);
  if (value !== LEASE_RELEASE_ON_END) throw bad(`must be ${LEASE_RELEASE_ON_END}`);
  if (leaseIdOf(req) === undefined) throw bad(`comes with a ${LEASE_HEADER} header (the lease id)`);
  return true;
}

/**
 * A change that asked for its lease back at its end (`leaseReleaseOf` said so) and holds it
 * (`held`, its renewal): says so in the answer's headers and returns what gives it back (null:
 * nothing to give back).
 */
export function releaseAtEnd(
  req: IncomingMessage,
  res: ServerResponse,
  leases: LeaseTable,
  job: string,
  held: LeaseChange | null,
): (() => LeaseChange | null) | null {
  if (held === null) return null;
  const id = leaseIdOf(req)!;
  if (!res.headersSent) res.setHeader(LEASE_RELEASE_HEADER, LEASE_RELEASE_ON_END);
  return () => {
    try {
      return leases.release(job, { id });
    } catch {
      // Somebody else's lease now (ours lapsed and was taken): not ours to give back.
      return null;
    }
  };
}

export function markLease(res: ServerResponse, state: LeaseStateHeader): void {
  if (!res.headersSent) res.setHeader(LEASE_STATE_HEADER, state);
}
