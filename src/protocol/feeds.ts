/**
 * Live feeds over one WebSocket per agent (`routes.feeds`). A session multiplexes
 * subscriptions: the client sends `subscribe` / `unsubscribe` frames, the agent answers with
 * `subscribed`, then data frames carrying the subscription's `id`, and `error` for anything it
 * refuses. Every frame is one JSON text message.
 */
import { z } from 'zod';
import {
  AgentInfoSchema,
  ContainerInfoSchema,
  ErrorCodeSchema,
  HealthSchema,
  JobStatusSchema,
  OperationResultSchema,
  ProgressLineSchema,
} from './api.js';
import { CLI_JSON_SCHEMA_VERSION, CliNodeErrorSchema, CliNodeStatusSchema } from './cli-json.js';

/** Largest frame a client may send (subscribe frames are tiny). The agent's `ws` maxPayload. */
export const FEED_MAX_CLIENT_FRAME_BYTES = 16 * 1024;
/** Largest frame the agent sends; clients set it as their maxPayload. */
export const FEED_MAX_AGENT_FRAME_BYTES = 4 * 1024 * 1024;
/** Longest log line the agent forwards; longer lines are cut and marked `truncated`. */
export const FEED_MAX_LOG_LINE_CHARS = 16 * 1024;
/** Subscriptions one session may hold at once. */
export const FEED_MAX_SUBSCRIPTIONS = 64;

export const STATS_DEFAULT_INTERVAL_MS = 2000;
export const STATS_MIN_INTERVAL_MS = 500;
export const STATS_MAX_INTERVAL_MS = 60_000;
export const LOGS_MAX_TAIL = 100_000;

/**
 * `?ping=<ms>` on the feeds URL: how long the agent may hear nothing from this client before it
 * pings it (anything the client sends counts). A control center over ten thousand nodes asks for
 * minutes, so that its idle connections are not woken four times a minute each (the kernel's TCP
 * keepalive finds a dead path sooner, for free). Without it: the agent's own tick, 15 s. An agent
 * that predates it ignores the query and pings at its tick.
 */
export const FEED_PING_QUERY = 'ping';
/**
 * Both ends turn TCP keepalive on for feed sockets, idle this long: a peer that vanished without a
 * word (a cable, a partition) is found by the kernels' probes, without waking either process.
 */
export const FEED_KEEPALIVE_MS = 30_000;
export const FEED_PING_MIN_MS = 1_000;
export const FEED_PING_MAX_MS = 600_000;
export const FeedPingMsSchema = z.coerce
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(FEED_PING_MIN_MS, `must be at least ${FEED_PING_MIN_MS}`)
  .max(FEED_PING_MAX_MS, `must be at most ${FEED_PING_MAX_MS}`);

export const SUMMARY_DEFAULT_INTERVAL_MS = 10_000;
export const SUMMARY_MIN_INTERVAL_MS = 1_000;
export const SUMMARY_MAX_INTERVAL_MS = 300_000;

/**
 * `summary` came after the first three (0.4): an agent that predates it refuses the subscription
 * with an `invalid_request` error on `topic`, and a client falls back to what it did before
 * (HTTP for the job list, the stats topic for usage).
 */
export const FeedTopicSchema = z.enum(['events', 'stats', 'logs', 'summary']);
export type FeedTopic = z.infer<typeof FeedTopicSchema>;

/** Chosen by the client; unique among the session's live subscriptions. */
export const SubscriptionIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters');

const jobName = z.string().min(1).max(63);

// ---------------------------------------------------------------------------------------------
// Subscription parameters

export const EventsParamsSchema = z.strictObject({
  /** Only this job's container and operation events. */
  job: jobName.optional(),
});
export type EventsParams = z.infer<typeof EventsParamsSchema>;

export const StatsParamsSchema = z.strictObject({
  intervalMs: z
    .number()
    .int()
    .min(STATS_MIN_INTERVAL_MS, `must be at least ${STATS_MIN_INTERVAL_MS}`)
    .max(STATS_MAX_INTERVAL_MS, `must be at most ${STATS_MAX_INTERVAL_MS}`)
    .default(STATS_DEFAULT_INTERVAL_MS),
  /** Only this job's containers. */
  job: jobName.optional(),
});
export type StatsParams = z.input<typeof StatsParamsSchema>;

export const LogsParamsSchema = z
  .strictObject({
    /** Every container of this job on the node (stopped ones included, new ones while following). */
    job: jobName.optional(),
    /** With `job`: only the containers of this entry of the job (`container[].name`). */
    entry: z.string().min(1).max(63).optional(),
    /** One container: full or unique-prefix ID, or name. */
    container: z.string().min(1).max(128).optional(),
    /** Last N lines of each container; omitted means all. */
    tail: z.number().int().min(0).max(LOGS_MAX_TAIL).optional(),
    /** Unix seconds (fractions allowed): only lines at or after this time. */
    since: z.number().nonnegative().optional(),
    /** Keep streaming new lines until unsubscribed. */
    follow: z.boolean().default(false),
  })
  .refine((p) => (p.job === undefined) !== (p.container === undefined), {
    message: 'give exactly one of job or container',
  })
  .refine((p) => p.entry === undefined || p.job !== undefined, {
    message: 'entry is a filter of job: give job too',
    path: ['entry'],
  });
export type LogsParams = z.input<typeof LogsParamsSchema>;

export const SummaryParamsSchema = z.strictObject({
  /** At most one summary this often (sooner after a change of the job list, at most once a second). */
  intervalMs: z
    .number()
    .int()
    .min(SUMMARY_MIN_INTERVAL_MS, `must be at least ${SUMMARY_MIN_INTERVAL_MS}`)
    .max(SUMMARY_MAX_INTERVAL_MS, `must be at most ${SUMMARY_MAX_INTERVAL_MS}`)
    .default(SUMMARY_DEFAULT_INTERVAL_MS),
  /**
   * What a container event does: bring the next summary forward (`soon`, the default), or only
   * have the lists read again for the next one (`at-interval`): for a client that follows the
   * node's events itself, such as a control center over a large fleet, where a summary after
   * every restart would be most of its traffic. An operation's end always brings it forward.
   */
  containerEvents: z.enum(['soon', 'at-interval']).optional(),
});
export type SummaryParams = z.input<typeof SummaryParamsSchema>;

// ---------------------------------------------------------------------------------------------
// Client → agent

export const SubscribeFrameSchema = z.discriminatedUnion('topic', [
  z.strictObject({
    type: z.literal('subscribe'),
    id: SubscriptionIdSchema,
    topic: z.literal('events'),
    params: EventsParamsSchema.default({}),
  }),
  z.strictObject({
    type: z.literal('subscribe'),
    id: SubscriptionIdSchema,
    topic: z.literal('stats'),
    params: StatsParamsSchema.default({ intervalMs: STATS_DEFAULT_INTERVAL_MS }),
  }),
  z.strictObject({
    type: z.literal('subscribe'),
    id: SubscriptionIdSchema,
    topic: z.literal('logs'),
    params: LogsParamsSchema,
  }),
  z.strictObject({
    type: z.literal('subscribe'),
    id: SubscriptionIdSchema,
    topic: z.literal('summary'),
    params: SummaryParamsSchema.default({ intervalMs: SUMMARY_DEFAULT_INTERVAL_MS }),
  }),
]);
export type SubscribeFrame = z.infer<typeof SubscribeFrameSchema>;
export type SubscribeFrameInput = z.input<typeof SubscribeFrameSchema>;

export const UnsubscribeFrameSchema = z.strictObject({
  type: z.literal('unsubscribe'),
  id: SubscriptionIdSchema,
});
export type UnsubscribeFrame = z.infer<typeof UnsubscribeFrameSchema>;

export const ClientFrameSchema = z.union([SubscribeFrameSchema, UnsubscribeFrameSchema]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

// ---------------------------------------------------------------------------------------------
// Events

/** Docker container actions forwarded to subscribers (exec_*, attach, resize… are not). */
export const ContainerActionSchema = z.enum([
  'create',
  'start',
  'restart',
  'die',
  'kill',
  'stop',
  'oom',
  'pause',
  'unpause',
  'rename',
  'update',
  'health_status',
  'destroy',
]);
export type ContainerAction = z.infer<typeof ContainerActionSchema>;

export const ContainerEventSchema = z.object({
  type: z.literal('container'),
  action: ContainerActionSchema,
  containerId: z.string(),
  /** Without Docker's leading slash. */
  containerName: z.string(),
  job: z.string(),
  version: z.string().nullable(),
  /** The job entry it runs (`dokkup.job.entry`), for jobs with named entries. */
  entry: z.string().optional(),
  image: z.string().nullable(),
  /** `die`: the process's exit code. */
  exitCode: z.number().int().optional(),
  /** `kill`: the signal sent. */
  signal: z.string().optional(),
  /** `health_status`: the new health. */
  health: HealthSchema.optional(),
  /** Unix milliseconds as Docker recorded it (fractional: Docker's clock has nanoseconds). */
  at: z.number(),
});
export type ContainerEvent = z.infer<typeof ContainerEventSchema>;

/** The agent's own operations, mirrored from the job engine so other operators see them live. */
export const OperationStartEventSchema = z.object({
  type: z.literal('operation-start'),
  job: z.string(),
  operation: z.enum(['deploy', 'rollback', 'stop']),
  at: z.number(),
});
export const OperationProgressEventSchema = z.object({
  type: z.literal('operation-progress'),
  job: z.string(),
  line: ProgressLineSchema,
  at: z.number(),
});
export const OperationDoneEventSchema = z.object({
  type: z.literal('operation-done'),
  job: z.string(),
  result: OperationResultSchema,
  at: z.number(),
});

export const FeedEventSchema = z.discriminatedUnion('type', [
  ContainerEventSchema,
  OperationStartEventSchema,
  OperationProgressEventSchema,
  OperationDoneEventSchema,
]);
export type FeedEvent = z.infer<typeof FeedEventSchema>;

// ---------------------------------------------------------------------------------------------
// Stats

export const ContainerStatsSchema = z.object({
  containerId: z.string(),
  containerName: z.string(),
  job: z.string(),
  version: z.string().nullable(),
  /** The job entry it runs, for jobs with named entries. */
  entry: z.string().optional(),
  /** As `docker stats` computes it: 100 % is one full CPU, so it may exceed 100. */
  cpuPercent: z.number(),
  /** Bytes, page cache excluded (as `docker stats`). */
  memoryUsage: z.number(),
  /** Bytes; the host's memory when the container has no limit. */
  memoryLimit: z.number(),
  memoryPercent: z.number(),
  /** Bytes since the container started, summed over its interfaces. */
  networkRx: z.number(),
  networkTx: z.number(),
  blockRead: z.number(),
  blockWrite: z.number(),
  pids: z.number().int().nullable(),
  /** Unix milliseconds of Docker's reading. */
  readAt: z.number(),
});
export type ContainerStats = z.infer<typeof ContainerStatsSchema>;

export const StatsBatchSchema = z.object({
  /** Unix milliseconds when the agent sent the batch. */
  at: z.number(),
  /** Every running container of the subscription (that Docker has reported on so far). */
  containers: z.array(ContainerStatsSchema),
});
export type StatsBatch = z.infer<typeof StatsBatchSchema>;

// ---------------------------------------------------------------------------------------------
// Logs

export const LogStreamSchema = z.enum(['stdout', 'stderr']);
export type LogStream = z.infer<typeof LogStreamSchema>;

export const LogLineSchema = z.object({
  containerId: z.string(),
  containerName: z.string(),
  /** The job entry the container runs, for jobs with named entries. */
  entry: z.string().optional(),
  stream: LogStreamSchema,
  /** Docker's RFC 3339 timestamp with nanoseconds, exactly as Docker wrote it. */
  ts: z.string(),
  /** The same instant in Unix milliseconds (fractional), for ordering. */
  at: z.number(),
  /** Without the trailing newline. */
  text: z.string(),
  /** The line was longer than FEED_MAX_LOG_LINE_CHARS and was cut. */
  truncated: z.boolean().optional(),
});
export type LogLine = z.infer<typeof LogLineSchema>;

// ---------------------------------------------------------------------------------------------
// Node summaries

/** The usage of a node's dokkup containers, summed (as `docker stats` computes each). */
export const NodeUsageSchema = z.object({
  cpuPercent: z.number(),
  /** Bytes, page cache excluded. */
  memoryUsage: z.number(),
  /** Containers whose readings are in the sums. */
  containers: z.number().int().nonnegative(),
});
export type NodeUsage = z.infer<typeof NodeUsageSchema>;

/**
 * What a fleet view needs of a node, at a low rate, instead of asking it over HTTP: the first
 * summary of a subscription carries everything; later ones carry `info`, `jobs` and `others` only
 * when they changed (a client keeps the last ones), and the usage each time.
 */
export const NodeSummarySchema = z.object({
  /** Unix milliseconds when the agent made it. */
  at: z.number(),
  /** As `GET /v1/info` answers. */
  info: AgentInfoSchema.optional(),
  /** As `GET /v1/jobs` answers. */
  jobs: z.array(JobStatusSchema).optional(),
  /** The engine's containers that dokkup does not manage (`GET /v1/containers`, job ''). */
  others: z.array(ContainerInfoSchema).optional(),
  /** Null until Docker has reported on the containers (or when the node has none running). */
  usage: NodeUsageSchema.nullable(),
});
export type NodeSummary = z.infer<typeof NodeSummarySchema>;

// ---------------------------------------------------------------------------------------------
// Agent → client

export const SubscribedFrameSchema = z.object({
  type: z.literal('subscribed'),
  id: SubscriptionIdSchema,
  topic: FeedTopicSchema,
});
export const EventFrameSchema = z.object({
  type: z.literal('event'),
  id: SubscriptionIdSchema,
  event: FeedEventSchema,
});
export const StatsFrameSchema = z.object({
  type: z.literal('stats'),
  id: SubscriptionIdSchema,
  batch: StatsBatchSchema,
});
export const LogsFrameSchema = z.object({
  type: z.literal('logs'),
  id: SubscriptionIdSchema,
  lines: z.array(LogLineSchema),
});
export const SummaryFrameSchema = z.object({
  type: z.literal('summary'),
  id: SubscriptionIdSchema,
  summary: NodeSummarySchema,
});
/** Items this subscription lost because the client did not keep up (since the last such frame). */
export const DroppedFrameSchema = z.object({
  type: z.literal('dropped'),
  id: SubscriptionIdSchema,
  count: z.number().int().positive(),
});
/** A finite subscription (logs without follow) has sent everything; it is over. */
export const EndFrameSchema = z.object({
  type: z.literal('end'),
  id: SubscriptionIdSchema,
});
/**
 * A refused frame or a failed subscription. With an `id`, that subscription is over; without,
 * the frame could not be tied to one (unparseable JSON, for example). The session stays open.
 */
export const FeedErrorFrameSchema = z.object({
  type: z.literal('error'),
  id: SubscriptionIdSchema.nullable(),
  code: ErrorCodeSchema,
  message: z.string(),
  /** For `invalid_request`: the offending field, e.g. `params.intervalMs`. */
  path: z.string().optional(),
});

export const AgentFrameSchema = z.discriminatedUnion('type', [
  SubscribedFrameSchema,
  EventFrameSchema,
  StatsFrameSchema,
  LogsFrameSchema,
  SummaryFrameSchema,
  DroppedFrameSchema,
  EndFrameSchema,
  FeedErrorFrameSchema,
]);
export type AgentFrame = z.infer<typeof AgentFrameSchema>;
export type SubscribedFrame = z.infer<typeof SubscribedFrameSchema>;
export type EventFrame = z.infer<typeof EventFrameSchema>;
export type StatsFrame = z.infer<typeof StatsFrameSchema>;
export type LogsFrame = z.infer<typeof LogsFrameSchema>;
export type SummaryFrame = z.infer<typeof SummaryFrameSchema>;
export type DroppedFrame = z.infer<typeof DroppedFrameSchema>;
export type EndFrame = z.infer<typeof EndFrameSchema>;
export type FeedErrorFrame = z.infer<typeof FeedErrorFrameSchema>;

// ---------------------------------------------------------------------------------------------
// CLI output (`--json`), same contract as `cli-json.ts`: fields are only ever added.

/** `dokkup top job --json FILE`: one document with each node's first stats batch. */
export const TopJobJsonSchema = z.object({
  schema: z.literal(CLI_JSON_SCHEMA_VERSION),
  command: z.literal('top job'),
  exitCode: z.number().int(),
  job: z.string(),
  nodes: z.array(
    z.object({
      node: z.string(),
      location: z.string(),
      status: CliNodeStatusSchema,
      error: CliNodeErrorSchema.nullable(),
      /** From connecting to the first complete batch; null when not reached. */
      latencyMs: z.number().nonnegative().nullable(),
      /** The job's running containers on the node; null when the node could not be asked. */
      containers: z.array(ContainerStatsSchema).nullable(),
    }),
  ),
});
export type TopJobJson = z.infer<typeof TopJobJsonSchema>;

/** `dokkup events --json [FILE]`: one line per event (NDJSON), until interrupted. */
export const EventsJsonLineSchema = z.object({
  node: z.string(),
  event: FeedEventSchema,
});
export type EventsJsonLine = z.infer<typeof EventsJsonLineSchema>;
