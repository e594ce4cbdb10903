/**
 * Turning what an HTTP operation did into an audit entry, and `GET /v1/audit`'s query into a
 * read of the log.
 */
import { parseDurationMs } from '../../src/core/duration.js';
import type { ErrorBody, ErrorCode, OperationResult, Plan } from '../../src/protocol/api.js';
import {
  AUDIT_DEFAULT_LIMIT,
  AUDIT_MAX_LIMIT,
  type AuditEntry,
  type AuditOperation,
  type AuditResult,
} from '../../src/protocol/audit.js';
import { HttpError } from '../http/errors.js';
import type { AuditQuery } from './audit-log.js';

/** Codes of an operation the agent declined before changing anything. */
const REFUSED_CODES: ReadonlySet<ErrorCode> = new Set([
  'invalid_request',
  'job_busy',
  'lease_held',
  'lease_lost',
  'nothing_to_rollback',
  'not_found',
  'payload_too_large',
  'unauthorized',
]);

/** What one request's operation came to; filled in as it goes. */
export interface AuditNote {
  operation: AuditOperation;
  job: string | null;
  plan: Plan | null;
  result: OperationResult | null;
  /** Thrown before (or instead of) a result: the status and body the client got. */
  refusal: { status: number; error: ErrorBody['error'] } | null;
  /** A change answered in one response (a promotion, a lease) that succeeded, and what it did. */
  done?: { message: string };
  /** The version the request names when there is no plan (a promotion). */
  versionTo?: string;
  /** Nothing worth an entry happened (a lease renewal). */
  skip?: boolean;
}

export function newNote(operation: AuditOperation, job: string | null): AuditNote {
  return { operation, job, plan: null, result: null, refusal: null };
}

function resultOf(note: AuditNote): AuditResult {
  if (note.done && !note.refusal) return 'ok';
  if (note.result) {
    if (note.result.ok) return 'ok';
    return note.result.error && REFUSED_CODES.has(note.result.error.code) ? 'refused' : 'failed';
  }
  return note.refusal && note.refusal.status < 500 ? 'refused' : 'failed';
}

export interface RequestOrigin {
  remote: string | null;
  keyId: string | null;
}

export function auditEntryOf(
  note: AuditNote,
  origin: RequestOrigin,
  startedMs: number,
  endedMs: number,
): AuditEntry {
  const { plan, result } = note;
  const error = result?.error ?? note.refusal?.error;
  return {
    at: new Date(startedMs).toISOString(),
    remote: origin.remote,
    keyId: origin.keyId,
    operation: note.operation,
    job: note.job,
    action: plan?.action ?? (result?.ok ? result.action : null),
    versionFrom: plan?.versionFrom ?? result?.versionFrom ?? null,
    versionTo: plan?.versionTo ?? result?.versionTo ?? note.versionTo ?? null,
    countFrom: plan ? plan.running : null,
    countTo: plan ? plan.desired : null,
    result: resultOf(note),
    ...(error ? { error } : {}),
    durationMs: Math.max(0, Math.round(endedMs - startedMs)),
    ...(note.done && !note.refusal ? { message: note.done.message } : {}),
  };
}

/** `?since=1h` (a duration back from now, on the agent's clock) or an ISO-8601 time; `&limit=N`. */
export function parseAuditQuery(search: URLSearchParams, now: number): AuditQuery {
  const query: AuditQuery = { limit: AUDIT_DEFAULT_LIMIT };
  const since = search.get('since');
  if (since !== null) {
    const at = /^\d{4}-\d\d-\d\d/.test(since) ? Date.parse(since) : Number.NaN;
    if (!Number.isNaN(at)) query.since = at;
    else {
      try {
        query.since = now - parseDurationMs(since);
      } catch {
        throw new HttpError(
          400,
          'invalid_request',
          `since: must be a duration like 1h or 30m, or an ISO-8601 time; got ${JSON.stringify(since.slice(0, 40))}`,
          'since',
        );
      }
    }
  }
  const limit = search.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > AUDIT_MAX_LIMIT) {
      throw new HttpError(
        400,
        'invalid_request',
        `limit: must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`,
        'limit',
      );
    }
    query.limit = n;
  }
  return query;
}
