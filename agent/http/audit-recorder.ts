/**
 * The audit log at the agent's routes: every change (deploy, rollback, stop, promote, a lease
 * taken by force…) is recorded whatever becomes of it, and its entry is on disk before the client
 * sees the result (the done line) or the refusal. A log that cannot be written is an error in the
 * agent's own log, never the client's.
 */
import type { Logger } from 'pino';
import type { OperationResult } from '../../src/protocol/api.js';
import type { AuditEntry, AuditList } from '../../src/protocol/audit.js';
import type { AuditQuery } from '../audit/audit-log.js';
import { type AuditNote, auditEntryOf, newNote } from '../audit/entries.js';
import type { OperationHooks } from '../jobs/service.js';
import { toErrorResponse } from './errors.js';
import type { RouteContext } from './router.js';

/** Where operations are recorded (`AuditLog` from agent/audit). */
export interface AuditSink {
  append(entry: AuditEntry): Promise<void>;
  read(query: AuditQuery): Promise<AuditList>;
}

/** Records an operation's result in the audit log (awaited) and hands it back. */
export type Settle = (result: OperationResult) => Promise<OperationResult>;

export interface AuditRecorderOptions {
  /** Without one, nothing is recorded. */
  audit: AuditSink | undefined;
  logger: Logger;
  /** Clock for audit times. */
  now: () => number;
}

export class AuditRecorder {
  constructor(private readonly options: AuditRecorderOptions) {}

  /** Appends the entry for `note`, begun at `started`. */
  async record(context: RouteContext, note: AuditNote, started: number): Promise<void> {
    const { audit, logger, now } = this.options;
    if (!audit) return;
    const origin = { remote: context.req.socket.remoteAddress ?? null, keyId: context.keyId };
    try {
      await audit.append(auditEntryOf(note, origin, started, now()));
    } catch (error) {
      logger.error(
        { error: (error as Error).message, operation: note.operation, job: note.job },
        'cannot write the audit log',
      );
    }
  }

  /** A route whose operation is recorded whatever becomes of it (see the file comment). */
  route(
    kind: AuditNote['operation'],
    handler: (context: RouteContext, note: AuditNote, settle: Settle) => Promise<void>,
  ): (context: RouteContext) => Promise<void> {
    return async (context) => {
      const note = newNote(kind, null);
      const started = this.options.now();
      let recorded = false;
      const settle: Settle = async (result) => {
        note.result = result;
        recorded = true;
        await this.record(context, note, started);
        return result;
      };
      try {
        await handler(context, note, settle);
      } catch (error) {
        const { status, body } = toErrorResponse(error);
        note.refusal = { status, error: body.error };
        if (!recorded) await this.record(context, note, started);
        throw error;
      }
      if (recorded || note.skip) return;
      // A short change answered in one response (a promotion, a lease): done.
      if (note.done) {
        await this.record(context, note, started);
        return;
      }
      // An operation that threw after its stream started (answered with a failed done line).
      note.refusal = {
        status: 500,
        error: { code: 'internal', message: 'the operation failed unexpectedly' },
      };
      await this.record(context, note, started);
    };
  }

  /** The hooks of an operation that note what it planned. */
  hooksOf(note: AuditNote): OperationHooks {
    return {
      onPlan: (plan) => {
        note.plan = plan;
      },
    };
  }
}
