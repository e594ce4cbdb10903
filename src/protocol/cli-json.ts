/**
 * What `dokkup … --json` prints: one JSON document on stdout per command, for scripts.
 *
 * Stable contract (schema version 1): fields are only ever added, never renamed or removed
 * while `schema` stays 1. Every document has `schema`, `command`, `exitCode` (the process's exit
 * code) and `nodes` — one entry per target node, in inventory order, each with the node's
 * `status` as the tables show it and, when it could not be asked, an `error`.
 *
 * Invalid input (exit code 2) prints no document, only the error on stderr.
 */
import { z } from 'zod';
import {
  AgentInfoSchema,
  JobHistorySchema,
  JobStatusSchema,
  LeaseInfoSchema,
  OperationResultSchema,
  PlanSchema,
} from './api.js';
import { AuditEntrySchema } from './audit.js';

export const CLI_JSON_SCHEMA_VERSION = 1;

/**
 * ONLINE / OFFLINE / UNAUTHORIZED / UNTRUSTED (its TLS certificate is not the pinned one, or no
 * trusted CA vouches for it: nothing was sent) / ERROR (answered with an error) / SKIPPED (not
 * contacted: interrupted).
 */
export const CliNodeStatusSchema = z.enum([
  'online',
  'offline',
  'unauthorized',
  'untrusted',
  'error',
  'skipped',
]);
export type CliNodeStatus = z.infer<typeof CliNodeStatusSchema>;

export const CliNodeErrorSchema = z.object({
  /** An agent error code (`job_busy`, `pull_failed`, …) or `offline` / `unauthorized` / `untrusted` / `protocol`. */
  code: z.string(),
  message: z.string(),
});
export type CliNodeError = z.infer<typeof CliNodeErrorSchema>;

const nodeFields = {
  node: z.string(),
  /** As written in the inventory. */
  location: z.string(),
  status: CliNodeStatusSchema,
  error: CliNodeErrorSchema.nullable(),
  /** Round trip of the command's request(s) to this node; null when not contacted. */
  latencyMs: z.number().nonnegative().nullable(),
};

const header = {
  schema: z.literal(CLI_JSON_SCHEMA_VERSION),
  exitCode: z.number().int(),
};

/** `dokkup show job --json FILE` */
export const ShowJobJsonSchema = z.object({
  ...header,
  command: z.literal('show job'),
  job: z.string(),
  nodes: z.array(z.object({ ...nodeFields, job: JobStatusSchema.nullable() })),
});
export type ShowJobJson = z.infer<typeof ShowJobJsonSchema>;

/** `dokkup show nodes --json` */
export const ShowNodesJsonSchema = z.object({
  ...header,
  command: z.literal('show nodes'),
  nodes: z.array(z.object({ ...nodeFields, info: AgentInfoSchema.nullable() })),
});
export type ShowNodesJson = z.infer<typeof ShowNodesJsonSchema>;

/** `dokkup history job --json FILE` */
export const HistoryJsonSchema = z.object({
  ...header,
  command: z.literal('history job'),
  job: z.string(),
  nodes: z.array(z.object({ ...nodeFields, history: JobHistorySchema.nullable() })),
});
export type HistoryJson = z.infer<typeof HistoryJsonSchema>;

/** `dokkup plan job --json FILE`: exit code 0 no changes, 1 changes, 2 error, 3 unreachable nodes. */
export const PlanJsonSchema = z.object({
  ...header,
  command: z.literal('plan job'),
  job: z.string(),
  /** The job file's version, computed locally. */
  version: z.string(),
  /** True when carrying out the plan would change something on some node. */
  changes: z.boolean(),
  /** The waves `run job` would carry the changing nodes out in. */
  waves: z.array(z.array(z.string())),
  /** The canary `run job` would put out (or keeps out), if any. */
  canary: z.object({ version: z.string(), nodes: z.array(z.string()) }).nullable(),
  /** Nodes `run job` would hold back behind the canary. */
  held: z.array(z.string()),
  nodes: z.array(z.object({ ...nodeFields, plan: PlanSchema.nullable() })),
});
export type PlanJson = z.infer<typeof PlanJsonSchema>;

/**
 * What happened on a node: `succeeded` (changed), `unchanged` (nothing to do), `failed`,
 * `reverted` (moved by this rollout, then put back on its previous version because another node
 * failed), `untouched` (not started: the rollout stopped after a failure, or the node is held
 * back behind a canary), `offline` / `unauthorized` / `untrusted` (skipped with a warning),
 * `skipped` (not contacted: interrupted), `declined` (the operator said no, or no terminal to ask
 * on and no `-y`).
 */
export const CliOutcomeSchema = z.enum([
  'succeeded',
  'unchanged',
  'failed',
  'reverted',
  'untouched',
  'offline',
  'unauthorized',
  'untrusted',
  'skipped',
  'declined',
]);
export type CliOutcome = z.infer<typeof CliOutcomeSchema>;

/** `dokkup run job|promote job|rollback job|stop job --json FILE` */
export const OperationJsonSchema = z.object({
  ...header,
  command: z.enum(['run job', 'promote job', 'rollback job', 'stop job']),
  job: z.string(),
  /** run: the job file's version; rollback: `--to` if given; stop: null. */
  version: z.string().nullable(),
  /** stop only: whether containers and history are removed. */
  purge: z.boolean().optional(),
  /** True when the operation was carried out (confirmed, or `-y`); false when declined or nothing to do. */
  confirmed: z.boolean(),
  /** Ctrl-C stopped dispatching before every node was done. */
  interrupted: z.boolean(),
  /** The nodes carried out, wave by wave (`update.max_parallel`). */
  waves: z.array(z.array(z.string())),
  /** A canary this rollout puts out (or one already out that it keeps): its version and nodes. */
  canary: z.object({ version: z.string(), nodes: z.array(z.string()) }).nullable(),
  /** Nodes that would change but are held back behind a canary (`promote job` moves them). */
  held: z.array(z.string()),
  /** Why the waves stopped early: a node failed, Ctrl-C, or the lease was lost. */
  stopped: z
    .object({
      reason: z.enum(['failed', 'interrupted', 'lease-lost']),
      node: z.string().nullable(),
      message: z.string().nullable(),
    })
    .nullable(),
  /** Nodes this rollout moved and then put back on their previous version (`update.auto_revert`). */
  reverted: z.array(z.string()),
  /** promote: the nodes whose canary mark was cleared. */
  promoted: z.array(z.string()),
  /** Another operator holds the job's lease: nothing was changed. */
  refused: z.object({ node: z.string(), message: z.string(), lease: LeaseInfoSchema.nullable() }).nullable(),
  nodes: z.array(
    z.object({
      ...nodeFields,
      plan: PlanSchema.nullable(),
      /** Null when the operation was not run on this node. */
      result: OperationResultSchema.nullable(),
      /** The revert's result, when the rollout failed elsewhere and this node was put back. */
      revert: OperationResultSchema.nullable(),
      outcome: CliOutcomeSchema,
      /** `Deployment successful`, `Already up to date`, the error, … */
      message: z.string(),
      /** The wave (1-based) the node was scheduled in; null when it is not carried out. */
      wave: z.number().int().positive().nullable(),
      /** One of the canaries of this rollout. */
      canary: z.boolean(),
      /** The version the node runs afterwards, as far as its answers tell. */
      versionAfter: z.string().nullable(),
    }),
  ),
});
export type OperationJson = z.infer<typeof OperationJsonSchema>;

/** `dokkup lock status|release job --json FILE`: the job's lease on every node. */
export const LockJsonSchema = z.object({
  ...header,
  command: z.enum(['lock status job', 'lock release job']),
  job: z.string(),
  nodes: z.array(
    z.object({
      ...nodeFields,
      /** status: the lease in force; release: the lease that was broken (null: there was none). */
      lease: LeaseInfoSchema.nullable(),
    }),
  ),
});
export type LockJson = z.infer<typeof LockJsonSchema>;
/** `dokkup audit --json`: each node's entries, and all of them merged in time order. */
export const AuditJsonSchema = z.object({
  ...header,
  command: z.literal('audit'),
  since: z.string().nullable().describe('--since as given (a duration on each agent clock, or an ISO time)'),
  nodes: z.array(
    z.object({
      ...nodeFields,
      entries: z.array(AuditEntrySchema).nullable().describe("The node's entries, oldest first"),
      truncated: z.boolean().nullable().describe('Older entries matched but were left out by --limit'),
    }),
  ),
  entries: z
    .array(AuditEntrySchema.extend({ node: z.string().describe('The node the entry is from') }))
    .describe('Every node entry, oldest first'),
});
export type AuditJson = z.infer<typeof AuditJsonSchema>;

/** Any document the CLI prints with `--json`, told apart by `command`. */
export const CliJsonSchema = z.discriminatedUnion('command', [
  ShowJobJsonSchema,
  ShowNodesJsonSchema,
  HistoryJsonSchema,
  PlanJsonSchema,
  OperationJsonSchema,
  LockJsonSchema,
  AuditJsonSchema,
]);
export type CliJson = z.infer<typeof CliJsonSchema>;
