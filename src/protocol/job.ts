/**
 * The job file as users write it (`JobFileSchema`, docker-compose spelling) and the
 * normalised job spec that crosses the wire (`JobSpecSchema`). Normalisation itself lives in
 * `src/core/spec.ts`; this file only defines shapes.
 */
import { z } from 'zod';

/** Docker container names: the job name becomes `<job>-<uuid>`. */
export const JOB_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** `30s`, `1m30s`, `500ms`, `2h`, or a plain number of seconds. */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

const jobName = z
  .string()
  .regex(JOB_NAME_PATTERN, 'must start with a letter or digit and use only letters, digits, _ . - (max 63)');
const duration = z.union([
  z.number().nonnegative(),
  z.string().regex(DURATION_PATTERN, 'must be a duration like 30s, 1m30s or 500ms'),
]);
const nonEmpty = z.string().min(1, 'must not be empty');
const stringOrList = z.union([nonEmpty, z.array(z.string()).min(1, 'must not be empty')]);
const keyValueList = z.union([
  z.array(z.string()),
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
]);

export const PortFileSchema = z.strictObject({
  in: z.union([
    z.number().int().min(1).max(65535),
    z.string().regex(/^\d{1,5}(\/(tcp|udp))?$/, 'must be a port like 8000 or 53/udp'),
  ]),
  out: z.number().int().min(1).max(65535).optional(),
});

export const HealthcheckFileSchema = z.strictObject({
  test: stringOrList.optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(0).optional(),
  start_period: duration.optional(),
  disable: z.boolean().optional(),
});

export const ResourcesFileSchema = z.strictObject({
  cpus: z
    .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/, 'must be a number like 0.5')])
    .optional(),
  memory: z
    .union([
      z.number().int().positive(),
      z.string().regex(/^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i, 'must be a size like 256m or 1g'),
    ])
    .optional(),
});

export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;

export const ContainerFileSchema = z.strictObject({
  image: nonEmpty,
  ports: z.array(PortFileSchema).optional(),
  restart: z.enum(RESTART_POLICIES).optional(),
  labels: keyValueList.optional(),
  environment: keyValueList.optional(),
  volumes: z.array(nonEmpty).optional(),
  networks: z
    .array(nonEmpty)
    .min(1, 'must name at least one network (omit it for the default bridge)')
    .optional(),
  command: stringOrList.optional(),
  entrypoint: stringOrList.optional(),
  healthcheck: HealthcheckFileSchema.optional(),
  resources: ResourcesFileSchema.optional(),
  pull: z.enum(['missing', 'always']).optional(),
});

export const UpdateFileSchema = z.strictObject({
  /** How long new containers get to become running and healthy before the update is abandoned. */
  healthy_deadline: duration.optional(),
  /** How long a container without a health check must stay running to count as healthy. */
  min_healthy_time: duration.optional(),
});

export const JobFileSchema = z.strictObject({
  name: jobName,
  group: nonEmpty.optional(),
  node: nonEmpty.optional(),
  nodes: z.array(nonEmpty).min(1, 'must name at least one node').optional(),
  count: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
  container: z
    .array(ContainerFileSchema)
    .min(1, 'must hold one container')
    .max(1, 'only one container per job is supported for now'),
  update: UpdateFileSchema.optional(),
});
export type JobFile = z.infer<typeof JobFileSchema>;

// ---------------------------------------------------------------------------------------------
// Normalised spec: what the CLI sends to agents and what agents keep in their history.

export const PortSpecSchema = z.strictObject({
  in: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']),
  /** Fixed host port, or null for a random one. */
  out: z.number().int().min(1).max(65535).nullable(),
});
export type PortSpec = z.infer<typeof PortSpecSchema>;

export const HealthcheckSpecSchema = z.strictObject({
  /** Docker form: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"] (disabled). Null = image default. */
  test: z.array(z.string()).nullable(),
  intervalMs: z.number().int().nonnegative().nullable(),
  timeoutMs: z.number().int().nonnegative().nullable(),
  retries: z.number().int().nonnegative().nullable(),
  startPeriodMs: z.number().int().nonnegative().nullable(),
});
export type HealthcheckSpec = z.infer<typeof HealthcheckSpecSchema>;

export const ContainerSpecSchema = z.strictObject({
  image: z.string().min(1),
  command: z.array(z.string()).nullable(),
  entrypoint: z.array(z.string()).nullable(),
  ports: z.array(PortSpecSchema),
  restart: z.enum(RESTART_POLICIES),
  labels: z.record(z.string(), z.string()),
  environment: z.record(z.string(), z.string()),
  volumes: z.array(z.string()),
  networks: z.array(z.string()).min(1),
  healthcheck: HealthcheckSpecSchema.nullable(),
  resources: z.strictObject({
    nanoCpus: z.number().int().positive().nullable(),
    memoryBytes: z.number().int().positive().nullable(),
  }),
  pull: z.enum(['missing', 'always']),
});
export type ContainerSpec = z.infer<typeof ContainerSpecSchema>;

export const TargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('group'), group: z.string() }),
  z.strictObject({ kind: z.literal('nodes'), nodes: z.array(z.string()).min(1) }),
]);
export type Target = z.infer<typeof TargetSchema>;

export const UpdatePolicySchema = z.strictObject({
  healthyDeadlineMs: z.number().int().positive(),
  minHealthyMs: z.number().int().nonnegative(),
});
export type UpdatePolicy = z.infer<typeof UpdatePolicySchema>;

export const JobSpecSchema = z.strictObject({
  name: jobName,
  count: z.number().int().min(1).max(1000),
  target: TargetSchema,
  container: ContainerSpecSchema,
  update: UpdatePolicySchema,
});
export type JobSpec = z.infer<typeof JobSpecSchema>;
