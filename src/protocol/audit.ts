/**
 * The agent's audit log: one entry per operation that changes something on the node (or was
 * refused after the caller authenticated), kept in the agent's data directory and read back with
 * `GET /v1/audit` (`dokkup audit`, the TUI's Events tab).
 */
import { z } from 'zod';
import { ErrorBodySchema, PlanActionSchema } from './api.js';

export const AuditOperationSchema = z
  .enum(['deploy', 'rollback', 'stop', 'purge', 'plan', 'rotate-key', 'promote', 'lease', 'lease-break'])
  .describe(
    "What was asked: a deploy (fresh, update, scale, start), rollback, stop, purge, a refused plan, a key rotation, a canary's promotion, a refused attempt to take a job's lease (taking and giving back one's own is not recorded), or breaking another's lease (lock release)",
  );
export type AuditOperation = z.infer<typeof AuditOperationSchema>;

export const AuditResultSchema = z
  .enum(['ok', 'failed', 'refused'])
  .describe(
    'ok: done; failed: tried and failed (the previous version runs); refused: declined before anything changed',
  );
export type AuditResult = z.infer<typeof AuditResultSchema>;

export const AuditEntrySchema = z.object({
  at: z.string().describe('When the operation started (ISO-8601, the agent clock)'),
  remote: z
    .string()
    .nullable()
    .describe('Address the request came from; "local" for a command run on the node itself'),
  keyId: z
    .string()
    .nullable()
    .describe('Short public id of the API key used (never the key); null when unknown'),
  operation: AuditOperationSchema,
  job: z.string().nullable().describe('The job, when the operation is about one'),
  action: PlanActionSchema.nullable().describe(
    "What the agent's plan was: fresh, update, scale, start, noop, …",
  ),
  versionFrom: z.string().nullable().describe('Version running before'),
  versionTo: z.string().nullable().describe('Version asked for'),
  countFrom: z.number().int().nullable().describe('Containers running before'),
  countTo: z.number().int().nullable().describe('Containers asked for'),
  result: AuditResultSchema,
  error: ErrorBodySchema.shape.error.optional().describe('Why it failed or was refused'),
  durationMs: z.number().nonnegative().describe('How long it took'),
  message: z.string().optional().describe('Anything else worth saying (a key rotation names both keys)'),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditListSchema = z.object({
  entries: z.array(AuditEntrySchema).describe('Oldest first'),
  /** True when older entries matched but were left out by `limit`. */
  truncated: z.boolean(),
});
export type AuditList = z.infer<typeof AuditListSchema>;

/** `GET /v1/audit` answers at most this many entries (the newest). */
export const AUDIT_DEFAULT_LIMIT = 500;
export const AUDIT_MAX_LIMIT = 5000;
