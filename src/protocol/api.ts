/**
 * The agent's HTTP API: routes, request bodies and responses. Long operations answer with
 * NDJSON (`application/x-ndjson`): zero or more `ProgressLine`s, then exactly one `DoneLine`.
 */
import { z } from 'zod';
import { SubmittedJobSpecSchema } from './job.js';
import { RegistryAuthListSchema } from './registry.js';

export const API_PREFIX = '/v1';
export const routes = {
  /** Unauthenticated liveness probe; answers `{ ok: true }` and nothing else. */
  health: '/healthz',
  info: `${API_PREFIX}/info`,
  jobs: `${API_PREFIX}/jobs`,
  /** Every container on the node's engine, dokkup's and others (`job` is '' for the others). */
  containers: `${API_PREFIX}/containers`,
  job: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}`,
  history: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/history`,
  plan: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/plan`,
  deploy: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/deploy`,
  rollback: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/rollback`,
  stop: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/stop`,
  /** A canary's version becomes the job's own on this node (its canary mark is cleared). */
  promote: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/promote`,
  /** The job's lease on this node: GET shows it, PUT takes or renews it. */
  lease: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/lease`,
  /** POST: gives the lease back (its holder) or breaks it (`force`). */
  leaseRelease: (name: string) => `${API_PREFIX}/jobs/${encodeURIComponent(name)}/lease/release`,
  /** WebSocket feeds (events, stats, logs); see `feeds.ts`. */
  feeds: `${API_PREFIX}/feeds`,
  /**
   * The node's audit log (`audit.ts`): `since` (ISO-8601, or a duration like 1h back from the
   * agent's clock) keeps the operations that ended since; `limit` the newest N.
   */
  audit: `${API_PREFIX}/audit`,
} as const;

/** Largest request body an agent accepts. */
export const MAX_BODY_BYTES = 256 * 1024;

export const ErrorCodeSchema = z.enum([
  'invalid_request',
  'unauthorized',
  'not_found',
  'job_busy',
  'payload_too_large',
  'nothing_to_rollback',
  'lease_held',
  'lease_lost',
  'docker_unavailable',
  'pull_failed',
  'create_failed',
  'start_failed',
  'unhealthy',
  'interrupted',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

// ---------------------------------------------------------------------------------------------
// Leases and canaries: the fleet state that must outlive the CLI that made it

/** Sent on every change a lease holder makes, so the agent can refuse everybody else's. */
export const LEASE_HEADER = 'dokkup-lease';
/**
 * Sent with a plan, beside `LEASE_HEADER`: take the lease with the plan (one request instead of
 * two). Its value is the rest of a `LeaseRequest` (`operator`, `host`, `command`, `ttlMs`) as
 * base64url JSON. An agent that does not know it ignores it (and sends no `LEASE_STATE_HEADER`).
 */
export const LEASE_TAKE_HEADER = 'dokkup-lease-take';
/**
 * Answered to a request that carried `LEASE_HEADER` (since 0.4): `held` when the request renewed
 * (or took) the caller's lease on the job, `lost` when the lease is no longer the caller's.
 */
export const LEASE_STATE_HEADER = 'dokkup-lease-state';
export type LeaseStateHeader = 'held' | 'lost';
/**
 * Sent with a change (deploy, rollback, stop), beside `LEASE_HEADER`: `on-end` gives the lease
 * back when the operation has ended (whatever its outcome, before its result is sent), sparing
 * the holder a release request when this is its last request to the node. An agent that takes
 * it answers the same header (`on-end`); one that does not know it ignores it (the holder then
 * releases as before).
 */
export const LEASE_RELEASE_HEADER = 'dokkup-lease-release';
export const LEASE_RELEASE_ON_END = 'on-end';
/** A lease id: random, URL-safe, made by the CLI for one command. */
export const LEASE_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
/** Longest and shortest lease an agent grants (a holder renews it well before it ends). */
export const LEASE_TTL_LIMITS_MS = { min: 1_000, max: 10 * 60_000 } as const;

/** Names as people write them: no control characters (they end up on other operators' screens). */
const printable = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

/** Who holds a job's lease on a node, for what, and until when (the agent's clock). */
export const LeaseInfoSchema = z.object({
  operator: z.string().describe('Who took it (DOKKUP_OPERATOR, else the login name)'),
  host: z.string().describe('The machine the command ran on'),
  command: z.string().describe('What it is for, e.g. `run job demo.yaml`'),
  acquiredAt: z.string().describe('When it was taken (ISO-8601)'),
  renewedAt: z.string().describe('When its holder last renewed it (ISO-8601)'),
  expiresAt: z.string().describe('When it lapses unless renewed (ISO-8601)'),
});
export type LeaseInfo = z.infer<typeof LeaseInfoSchema>;

export const LeaseRequestSchema = z.strictObject({
  id: z.string().regex(LEASE_ID_PATTERN, 'must be 16 to 64 characters of A-Z a-z 0-9 _ -'),
  operator: printable(64),
  host: printable(255),
  command: printable(300),
  ttlMs: z
    .number()
    .int()
    .min(LEASE_TTL_LIMITS_MS.min, `must be at least ${LEASE_TTL_LIMITS_MS.min} ms`)
    .max(LEASE_TTL_LIMITS_MS.max, `must be at most ${LEASE_TTL_LIMITS_MS.max} ms`),
  /** Only extend the caller's own lease: refused (`lease_lost`) when it was released or broken. */
  renew: z.boolean().optional(),
});
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>;

export const LeaseReleaseSchema = z
  .strictObject({
    /** The holder's id: released only if it still holds the lease. */
    id: LeaseRequestSchema.shape.id.optional(),
    /** Break the lease whoever holds it (`dokkup lock release`). */
    force: z.boolean().optional(),
  })
  .refine((body) => body.id !== undefined || body.force === true, {
    message: 'give the lease id, or force: true to break the lease',
  });
export type LeaseRelease = z.infer<typeof LeaseReleaseSchema>;

export const LeaseStateSchema = z.object({
  job: z.string(),
  /** The lease in force, null when nobody holds one. */
  lease: LeaseInfoSchema.nullable(),
  /** True when the request's own lease id holds it. */
  held: z.boolean(),
  /**
   * The agent takes the lease with a plan (`LEASE_TAKE_HEADER`) and renews it with every request
   * that carries it (`LEASE_STATE_HEADER`). Absent from older agents.
   */
  takesWithPlan: z.boolean().optional(),
});
export type LeaseState = z.infer<typeof LeaseStateSchema>;

export const LeaseReleasedSchema = z.object({
  job: z.string(),
  /** The lease that was given back or broken; null when there was none in force. */
  released: LeaseInfoSchema.nullable(),
  /** True when it was somebody else's (forced). */
  broken: z.boolean(),
});
export type LeaseReleased = z.infer<typeof LeaseReleasedSchema>;

/**
 * A node that runs a canary: its current version was put out as a canary and not promoted yet.
 * `from` is the version the node ran before the canary (what `rollback job` takes it back to).
 */
export const CanaryMarkSchema = z.object({
  version: z.string().describe('The canary version (the node runs it)'),
  from: z.string().nullable().describe('The version the node ran before the canary'),
  since: z.string().describe('When the canary was put out on this node (ISO-8601)'),
});
export type CanaryMark = z.infer<typeof CanaryMarkSchema>;

export const PromoteRequestSchema = z.strictObject({
  /** The canary version to promote: refused if the node's canary is another one. */
  version: z.string().regex(/^[0-9a-f]{7}$/, 'must be a 7-character version'),
});
export type PromoteRequest = z.infer<typeof PromoteRequestSchema>;

export const PromoteResultSchema = z.object({
  job: z.string(),
  version: z.string(),
  /** False when the node had no canary mark (already promoted, or never a canary). */
  promoted: z.boolean(),
});
export type PromoteResult = z.infer<typeof PromoteResultSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    /** For `invalid_request`: the field path, e.g. `spec.container.0.ports.0.in`. */
    path: z.string().optional(),
    /** For `lease_held`: who holds the lease. */
    lease: LeaseInfoSchema.optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const AgentInfoSchema = z.object({
  agentVersion: z.string(),
  dockerVersion: z.string(),
  dockerApiVersion: z.string(),
  hostname: z.string(),
  os: z.string(),
  arch: z.string(),
  jobs: z.number().int().nonnegative(),
  containers: z.object({ running: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  /** The node's proxy, once a job with a `proxy:` block made it. */
  proxy: z
    .object({
      image: z.string(),
      /** The container's state (`running`, `exited`, …). */
      state: z.string(),
      /** Host ports it publishes. */
      ports: z.array(z.number().int()),
      /** Routes it serves (one per job). */
      routes: z.number().int().nonnegative(),
    })
    .optional(),
});
export type AgentInfo = z.infer<typeof AgentInfoSchema>;

export const ContainerStateSchema = z.enum([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);
export const HealthSchema = z.enum(['healthy', 'unhealthy', 'starting', 'none']);
export type ContainerState = z.infer<typeof ContainerStateSchema>;
export type Health = z.infer<typeof HealthSchema>;

export const PublishedPortSchema = z.object({
  privatePort: z.number().int(),
  publicPort: z.number().int().nullable(),
  protocol: z.enum(['tcp', 'udp', 'sctp']),
  ip: z.string().nullable(),
});
export type PublishedPort = z.infer<typeof PublishedPortSchema>;

export const ContainerInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  job: z.string(),
  /** `dokkup.job.version` label; null for a container without one. */
  version: z.string().nullable(),
  /** `dokkup.job.entry` label: the entry of the job it runs (absent for a job's single unnamed entry). */
  entry: z.string().optional(),
  /** `dokkup.job.replica` label: the replica it belongs to (jobs with several entries). */
  replica: z.string().optional(),
  image: z.string(),
  imageId: z.string(),
  state: ContainerStateSchema,
  /** Docker's human status, e.g. `Up 8 minutes (healthy)`. */
  status: z.string(),
  health: HealthSchema,
  ports: z.array(PublishedPortSchema),
  /** Unix seconds. */
  createdAt: z.number(),
});
export type ContainerInfo = z.infer<typeof ContainerInfoSchema>;

/** An entry of a job with named entries, and its image. */
export const EntryImageSchema = z.object({ name: z.string(), image: z.string() });
export type EntryImage = z.infer<typeof EntryImageSchema>;

export const HistoryEntrySchema = z.object({
  version: z.string(),
  /** The first entry's image. */
  image: z.string(),
  /** Jobs with named entries: every entry and its image, in file order. */
  entries: z.array(EntryImageSchema).optional(),
  count: z.number().int(),
  /** ISO-8601. */
  deployedAt: z.string(),
  current: z.boolean(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const JobHistorySchema = z.object({
  job: z.string(),
  current: z.string().nullable(),
  entries: z.array(HistoryEntrySchema),
  /** The current version is a canary (not promoted yet); absent from agents before 0.4. */
  canary: CanaryMarkSchema.nullable().optional(),
});
export type JobHistory = z.infer<typeof JobHistorySchema>;

/** One entry of a job with named entries on a node. */
export const EntryStatusSchema = z.object({
  name: z.string(),
  /** The current version's image of the entry (or, without history, what its containers run). */
  image: z.string().nullable(),
  /** Desired containers of the entry: the job's count (one per replica). */
  desired: z.number().int().nullable(),
  running: z.number().int(),
  total: z.number().int(),
});
export type EntryStatus = z.infer<typeof EntryStatusSchema>;

/** A job's route on the node's proxy and its upstreams as the proxy sees them. */
export const RouteStatusSchema = z.object({
  /** `:80 shop.example.com → 8000` */
  route: z.string(),
  port: z.number().int(),
  host: z.string().nullable(),
  path: z.string().nullable(),
  entry: z.string().nullable(),
  targetPort: z.number().int(),
  upstreams: z.array(
    z.object({
      container: z.string(),
      /** `name:port` the proxy dials. */
      address: z.string(),
      /** The proxy reached it on its health path just now (null: the proxy did not answer). */
      healthy: z.boolean().nullable(),
    }),
  ),
});
export type RouteStatus = z.infer<typeof RouteStatusSchema>;

export const JobStatusSchema = z.object({
  name: z.string(),
  /** Current version from the node's history (null when never deployed or purged). */
  version: z.string().nullable(),
  /** The (first entry's) image. */
  image: z.string().nullable(),
  /** Desired containers of the current version: count × entries (count for one-entry jobs). */
  desired: z.number().int().nullable(),
  running: z.number().int(),
  total: z.number().int(),
  containers: z.array(ContainerInfoSchema),
  /** Jobs with named entries: each entry's image and containers, in file order. */
  entries: z.array(EntryStatusSchema).optional(),
  /** The job's route on the node's proxy (jobs with a `proxy:` block that serve). */
  route: RouteStatusSchema.optional(),
  /** The current version is a canary (not promoted yet); absent from agents before 0.4. */
  canary: CanaryMarkSchema.nullable().optional(),
  /** Who holds the job's lease on this node (a rollout in progress); absent before 0.4. */
  lease: LeaseInfoSchema.nullable().optional(),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobListSchema = z.object({ jobs: z.array(JobStatusSchema) });
export type JobList = z.infer<typeof JobListSchema>;

export const ContainerListSchema = z.object({ containers: z.array(ContainerInfoSchema) });
export type ContainerList = z.infer<typeof ContainerListSchema>;

// ---------------------------------------------------------------------------------------------
// Plans

/**
 * Credentials for the registries of the images this request may pull, from the operator's
 * machine. The agent passes them to the pull and keeps them nowhere (not in the spec, the history,
 * its logs, the audit log or the feeds).
 */
const registryAuth = RegistryAuthListSchema.optional();

export const DeployRequestSchema = z.strictObject({
  spec: SubmittedJobSpecSchema,
  registryAuth,
  /** Put the version out as a canary: the node keeps a canary mark until it is promoted. */
  canary: z.boolean().optional(),
});
export const RollbackRequestSchema = z.strictObject({
  /** Version to go back to; default: the one deployed before the current one. */
  to: z
    .string()
    .regex(/^[0-9a-f]{7}$/, 'must be a 7-character version')
    .optional(),
  registryAuth,
});
export const StopRequestSchema = z.strictObject({ purge: z.boolean().default(false) });
export const PlanRequestSchema = z.discriminatedUnion('operation', [
  z.strictObject({ operation: z.literal('deploy'), spec: SubmittedJobSpecSchema, registryAuth }),
  z.strictObject({ operation: z.literal('rollback'), to: RollbackRequestSchema.shape.to }),
  z.strictObject({ operation: z.literal('stop'), purge: z.boolean().default(false) }),
]);
export type DeployRequest = z.infer<typeof DeployRequestSchema>;
export type RollbackRequest = z.infer<typeof RollbackRequestSchema>;
export type StopRequest = z.infer<typeof StopRequestSchema>;
export type PlanRequest = z.infer<typeof PlanRequestSchema>;

export const PlanActionSchema = z.enum([
  /** Nothing deployed here yet: create `count` containers. */
  'fresh',
  /** New version: start-first (or stop-first with fixed ports) replacement. */
  'update',
  /** Same version, different count: add or remove the difference. */
  'scale',
  /** Same version and count, but some job containers are stopped: start them. */
  'start',
  /** Nothing to do. */
  'noop',
  'rollback',
  'stop',
  'purge',
]);
export type PlanAction = z.infer<typeof PlanActionSchema>;

export const ChangeSchema = z.object({ from: z.string().nullable(), to: z.string().nullable() });
const keyChangesSchema = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
});
/** How one container definition changes. */
export const ContainerDiffSchema = z.object({
  image: ChangeSchema.optional(),
  /** The entry's name (naming the single entry of a job, for example). */
  name: ChangeSchema.optional(),
  /** Keys only: values may be secrets and are never sent back. */
  environment: keyChangesSchema,
  labels: keyChangesSchema,
  ports: ChangeSchema.optional(),
  command: ChangeSchema.optional(),
  entrypoint: ChangeSchema.optional(),
  /** How containers are stopped, as the job file spells it (null: not set, Docker's default). */
  stop_grace_period: ChangeSchema.optional(),
  stop_signal: ChangeSchema.optional(),
  init: ChangeSchema.optional(),
  /** Other changed fields by name: volumes, networks, restart, healthcheck, resources. */
  other: z.array(z.string()),
});
export type ContainerDiff = z.infer<typeof ContainerDiffSchema>;

/** One entry of a job with named entries that is added, removed or changed. */
export const EntryDiffSchema = z.object({
  name: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  /** The entry's image (the new one; for a removed entry, the old one). */
  image: z.string(),
  /** `changed`: what changes. */
  diff: ContainerDiffSchema.optional(),
});
export type EntryDiff = z.infer<typeof EntryDiffSchema>;

/**
 * A plan's changes. For a job with one unnamed entry (the 0.3 shape) the container's changes are
 * the top-level fields; for a job with named entries they are in `entries`, one per entry that
 * changes, and the top-level container fields are empty.
 */
export const SpecDiffSchema = ContainerDiffSchema.omit({ name: true }).extend({
  count: z.object({ from: z.number().int().nullable(), to: z.number().int() }).optional(),
  /** The image tag now points at a different image (`pull: always`). */
  imageIdChanged: z.boolean(),
  entries: z.array(EntryDiffSchema).optional(),
  /** The route on the node proxy, as `routeDescription` spells it (null: none); only when it changes. */
  route: ChangeSchema.optional(),
});
export type SpecDiff = z.infer<typeof SpecDiffSchema>;

export const PlanSchema = z.object({
  job: z.string(),
  operation: z.enum(['deploy', 'rollback', 'stop']),
  action: PlanActionSchema,
  /** True when carrying out this plan changes something on the node. */
  changes: z.boolean(),
  /** Nothing of this job exists on the node yet. */
  fresh: z.boolean(),
  versionFrom: z.string().nullable(),
  versionTo: z.string().nullable(),
  running: z.number().int(),
  total: z.number().int(),
  /** Containers running after the plan is carried out. */
  desired: z.number().int(),
  strategy: z.enum(['start-first', 'stop-first']).nullable(),
  canRollback: z.boolean(),
  rollbackTo: z.string().nullable(),
  diff: SpecDiffSchema.nullable(),
  warnings: z.array(z.string()),
  /** The route on the node's proxy after the plan (`:80 shop.example.com → 8000`); absent without one. */
  route: z.string().optional(),
  /** The node runs a canary (its current version, not promoted yet); absent before 0.4. */
  canary: CanaryMarkSchema.nullable().optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

// ---------------------------------------------------------------------------------------------
// Progress of long operations (NDJSON lines)

export const PhaseSchema = z.enum([
  'plan',
  'pull',
  'create',
  'start',
  'health',
  'stop',
  'remove',
  'restore',
  'cleanup',
]);
export type Phase = z.infer<typeof PhaseSchema>;

export const ProgressLineSchema = z.object({
  type: z.literal('progress'),
  phase: PhaseSchema,
  /** e.g. `Starting container (2/5)` or `Pulling 127.0.0.1:5000/web:2: 12.1 MB / 40 MB`. */
  message: z.string(),
  current: z.number().int().optional(),
  total: z.number().int().optional(),
});
export type ProgressLine = z.infer<typeof ProgressLineSchema>;

export const OperationResultSchema = z.object({
  ok: z.boolean(),
  action: PlanActionSchema,
  /** `Deployment successful`, `Update successful`, `Already up to date`, `Rollback successful`, ... */
  message: z.string(),
  versionFrom: z.string().nullable(),
  versionTo: z.string().nullable(),
  running: z.number().int(),
  total: z.number().int(),
  /** On failure: true when the previous version was left (or put back) running. */
  restored: z.boolean().optional(),
  /**
   * On failure: true when the new version had already been committed (it passed the health gate
   * and is what runs); the failure came after, while removing the old containers. `restored` is
   * then false.
   */
  committed: z.boolean().optional(),
  error: ErrorBodySchema.shape.error.optional(),
  /**
   * Milliseconds from the start of the operation on the node until the new version passed its
   * health gate and was committed (what serves from then on). Absent when nothing new was rolled
   * out (stop, purge, no change, or a failure before that point).
   */
  cutoverMs: z.number().int().nonnegative().optional(),
  /** Milliseconds the whole operation took on the node (stop phases included). */
  durationMs: z.number().int().nonnegative().optional(),
});
export type OperationResult = z.infer<typeof OperationResultSchema>;

export const DoneLineSchema = z.object({ type: z.literal('done'), result: OperationResultSchema });
export type DoneLine = z.infer<typeof DoneLineSchema>;

export const OperationLineSchema = z.discriminatedUnion('type', [ProgressLineSchema, DoneLineSchema]);
export type OperationLine = z.infer<typeof OperationLineSchema>;
