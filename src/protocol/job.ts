/**
 * The job file as users write it (`JobFileSchema`, docker-compose spelling) and the
 * normalised job spec that crosses the wire (`JobSpecSchema`). Normalisation itself lives in
 * `src/core/spec.ts`; this file only defines shapes.
 */
import { z } from 'zod';
import { duration, entryName } from './fields.js';
import { ProxyFileSchema, ProxySpecSchema, proxyPortIssue, proxyTargetIssue } from './proxy.js';
import { RegistryFileSchema } from './registry.js';
import { specRuleProblems } from './spec-rules.js';

export { DURATION_PATTERN, ENTRY_NAME_PATTERN, ENTRY_NAME_RULE } from './fields.js';
export {
  MAX_DRAIN_MS,
  PROXY_HOST_PATTERN,
  PROXY_PATH_PATTERN,
  PROXY_TARGET_PATTERN,
  type ProxyFile,
  ProxyFileSchema,
  type ProxySpec,
  ProxySpecSchema,
  proxyPortIssue,
  proxyTargetIssue,
} from './proxy.js';

/** Docker container names: the job name becomes `<job>-<uuid>` (`<job>-<entry>-<uuid>`). */
export const JOB_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** The most entries (containers per replica) a job may list. */
export const MAX_ENTRIES = 16;

const jobName = z
  .string()
  .regex(JOB_NAME_PATTERN, 'must start with a letter or digit and use only letters, digits, _ . - (max 63)');
const nonEmpty = z.string().min(1, 'must not be empty');
const stringOrList = z.union([nonEmpty, z.array(z.string()).min(1, 'must not be empty')]);
const keyValueList = z.union([
  z.array(z.string()),
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
]);

export const PortFileSchema = z
  .strictObject({
    in: z
      .union([
        z.number().int().min(1).max(65535),
        z.string().regex(/^\d{1,5}(\/(tcp|udp))?$/, 'must be a port like 8000 or 53/udp'),
      ])
      .describe('Container port, TCP unless written like 53/udp'),
    out: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe(
        'Fixed host port (needs count: 1; updates then stop first). Without it each container gets a random host port',
      ),
  })
  .describe('A published port');

export const HealthcheckFileSchema = z
  .strictObject({
    test: stringOrList
      .optional()
      .describe(
        'A shell command (a string, run with CMD-SHELL) or a list like ["CMD", "curl", "-f", "http://localhost/"]',
      ),
    interval: duration.optional().describe('Time between checks (30s, 1m30s, 500ms or seconds)'),
    timeout: duration.optional().describe('Time one check may take'),
    retries: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Failed checks in a row that make the container unhealthy'),
    start_period: duration
      .optional()
      .describe('Time after the start during which failed checks do not count'),
    disable: z.boolean().optional().describe("true: no health check, not even the image's HEALTHCHECK"),
  })
  .describe("Health check in docker-compose spelling; without one the image's HEALTHCHECK is used");

export const ResourcesFileSchema = z
  .strictObject({
    cpus: z
      .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/, 'must be a number like 0.5')])
      .optional()
      .describe('CPU limit in cores, e.g. 0.5'),
    memory: z
      .union([
        z.number().int().positive(),
        // Spelled without the `i` flag: JSON Schema patterns have no flags.
        z.string().regex(/^\d+(\.\d+)?\s*([kmgtKMGT][iI]?[bB]?|[bB])?$/, 'must be a size like 256m or 1g'),
      ])
      .optional()
      .describe('Memory limit: bytes, or a size like 256m or 1g'),
  })
  .describe('Resource limits');

export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;

/**
 * Linux signal numbers 1–31 by name (x86 and arm share them), as Docker's `StopSignal` takes
 * them. Real-time signals (32–64) have no fixed name and are written as numbers.
 */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
/** The highest Linux signal number (SIGRTMAX). */
export const MAX_SIGNAL = 64;
/** Docker counts a stop timeout in whole seconds; dokkup caps it so an update fits the CLI's wait. */
export const MAX_STOP_GRACE_MS = 10 * 60_000;
/** A normalised stop signal: a name of `SIGNAL_NUMBERS`, or a real-time signal's number. */
const stopSignal = z.union([
  z.enum(Object.keys(SIGNAL_NUMBERS) as [string, ...string[]]),
  z.string().regex(/^(3[2-9]|[45]\d|6[0-4])$/, 'must be a signal name like SIGTERM or a number 32-64'),
]);

export const ContainerFileSchema = z
  .strictObject({
    name: entryName
      .optional()
      .describe(
        'Entry name (required when the job lists more than one container, unique in the job): a DNS label like web or cache. It names the containers (<job>-<name>-<uuid>) and is their network alias on user-defined networks',
      ),
    image: nonEmpty.describe('Image reference, e.g. nginx:alpine or registry.example.com/app:1.2'),
    ports: z
      .array(PortFileSchema)
      .optional()
      .describe('Published ports: - in: 8000 (random host port), - in: 53/udp, - {in: 80, out: 8080}'),
    restart: z
      .enum(RESTART_POLICIES)
      .optional()
      .describe('Restart policy: no, always (default), on-failure, unless-stopped'),
    labels: keyValueList
      .optional()
      .describe(
        'Container labels: a list of key=value (split at the first =) or a map; dokkup.* is reserved',
      ),
    environment: keyValueList.optional().describe('Environment variables: a list of KEY=value or a map'),
    volumes: z
      .array(nonEmpty)
      .optional()
      .describe('Volumes: name:/path (a named volume) or /host/path:/path[:ro]'),
    networks: z
      .array(nonEmpty)
      .min(1, 'must name at least one network (omit it for the default bridge)')
      .optional()
      .describe('Networks to attach (default bridge); missing user networks are created'),
    command: stringOrList
      .optional()
      .describe(
        "Command: a string (split like a shell would, nothing expanded) or a list; default the image's CMD",
      ),
    entrypoint: stringOrList
      .optional()
      .describe("Entrypoint: a string (split like a shell would) or a list; default the image's ENTRYPOINT"),
    healthcheck: HealthcheckFileSchema.optional(),
    resources: ResourcesFileSchema.optional(),
    pull: z
      .enum(['missing', 'always'])
      .optional()
      .describe(
        'missing (default): pull when the image is not on the node; always: pull on every run (a tag that now points at a new image is an update)',
      ),
    stop_grace_period: duration
      .optional()
      .describe(
        'docker-compose: how long a container gets after its stop signal before it is killed (default 10s, whole seconds, at most 10m)',
      ),
    stop_signal: z
      .union([nonEmpty, z.number().int()])
      .optional()
      .describe(
        "docker-compose: the signal that asks the container to stop (SIGTERM, SIGQUIT, 15…; default the image's)",
      ),
    init: z
      .boolean()
      .optional()
      .describe("docker-compose: run Docker's init process as PID 1 (it forwards signals and reaps zombies)"),
  })
  .describe('One container of every replica (an entry, like a docker-compose service)');
/** One `container:` entry as written in a job file. */
export type ContainerFile = z.infer<typeof ContainerFileSchema>;

/** `3` nodes or `25%` of the job's target nodes. */
export const SHARE_PATTERN = /^\d+(\.\d+)?%$/;
const share = (what: string) =>
  z.union([
    z.number().int().nonnegative(),
    z.string().regex(SHARE_PATTERN, `must be a number of nodes or a percentage like 25%: ${what}`),
  ]);

export const EnvFileEntrySchema = z
  .strictObject({
    path: nonEmpty.describe('The file, relative to the job file'),
    required: z.boolean().optional().describe('false: a missing file is skipped (default true)'),
  })
  .describe('An env file that may be optional');

export const UpdateFileSchema = z
  .strictObject({
    healthy_deadline: duration
      .optional()
      .describe(
        'Time new containers get to be running and healthy before the update is abandoned (default 120s)',
      ),
    min_healthy_time: duration
      .optional()
      .describe(
        'Without a health check, how long a new container must stay running to count as healthy (default 3s)',
      ),
    max_parallel: share('nodes updated at once')
      .optional()
      .describe(
        'Nodes updated at once, a number or a percentage of the target nodes (default 25%, rounded up, at least 1): a wave starts when every node of the one before is healthy on the new version',
      ),
    auto_revert: z
      .boolean()
      .optional()
      .describe(
        'When a node fails, no further wave starts and the nodes this rollout already moved go back to the version they ran before (default true)',
      ),
    canary: share('canary nodes')
      .optional()
      .describe(
        'Move only this many nodes (or this percentage of the target nodes) to a new version and stop; `dokkup promote job` rolls out the rest, `dokkup rollback job` takes them back (default 0: no canary)',
      ),
    auto_promote: duration
      .optional()
      .describe(
        'With canary: the CLI watches the canary this long and promotes it if it stays healthy (like --promote-after)',
      ),
  })
  .describe('How an update judges its new containers and rolls out across the nodes');

export const JobFileSchema = z
  .strictObject({
    name: jobName.describe(
      'Job name: letters, digits, _ . - (at most 63, starting with a letter or digit); containers are named <name>-<uuid>',
    ),
    group: nonEmpty
      .optional()
      .describe('Run on the nodes of this inventory group (give one of group, node, nodes)'),
    node: nonEmpty.optional().describe('Run on this inventory node (give one of group, node, nodes)'),
    nodes: z
      .array(nonEmpty)
      .min(1, 'must name at least one node')
      .optional()
      .describe('Run on these inventory nodes (give one of group, node, nodes)'),
    count: z
      .number()
      .int()
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .optional()
      .describe('Replicas per node (default 1); each replica runs one container of every entry of container'),
    container: z
      .array(ContainerFileSchema)
      .min(1, 'must hold at least one container')
      .max(MAX_ENTRIES, `must hold at most ${MAX_ENTRIES} containers`)
      .describe(
        'The containers of one replica: one entry, or several with a name each (deployed, versioned, scaled and rolled back together)',
      ),
    update: UpdateFileSchema.optional(),
    proxy: ProxyFileSchema.optional(),
    env_file: z
      .union([
        nonEmpty,
        z.array(z.union([nonEmpty, EnvFileEntrySchema])).min(1, 'must name at least one file'),
      ])
      .optional()
      .describe(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} syntax
        'dotenv files (relative to this job file) whose variables ${VAR} in this file may use; the shell environment wins over them. They do not reach the container: list what it needs under environment',
      ),
    registries: z
      .array(RegistryFileSchema)
      .optional()
      .describe(
        "Credentials for the registries of this job's images; they win over the inventory's and the Docker client configuration",
      ),
  })
  .describe('A dokkup job file: what to run and where (docker-compose spelling)');
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

/** Spec fields a plan would otherwise show by value (environment and labels it shows by key only). */
export const MASKABLE_FIELDS = ['command', 'entrypoint'] as const;
export type MaskableField = (typeof MASKABLE_FIELDS)[number];

export const ContainerSpecSchema = z.strictObject({
  /**
   * The entry's name; absent only for the single entry of a job that names none (as every 0.3
   * job file): such a spec keeps its 0.3 version and its containers their 0.3 names.
   */
  name: entryName.optional(),
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
  // The stop fields are present only when the job file sets them: a spec that does not use them
  // keeps the version (hash) it had before they existed.
  stopGracePeriodMs: z.number().int().min(0).max(MAX_STOP_GRACE_MS).multipleOf(1000).optional(),
  stopSignal: stopSignal.optional(),
  init: z.boolean().optional(),
  /**
   * Fields whose value came (in part) from `${VAR}` interpolation: plans name them without their
   * values. Present only when some are; not part of the version (it does not shape the container).
   */
  maskedFields: z.array(z.enum(MASKABLE_FIELDS)).min(1).optional(),
});
export type ContainerSpec = z.infer<typeof ContainerSpecSchema>;

export const TargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('group'), group: z.string() }),
  z.strictObject({ kind: z.literal('nodes'), nodes: z.array(z.string()).min(1) }),
]);
export type Target = z.infer<typeof TargetSchema>;

/** A number of nodes, or a percentage of the job's target nodes (rounded up, at least 1). */
export const ShareSchema = z.union([
  z.strictObject({ nodes: z.number().int().min(1) }),
  z.strictObject({ percent: z.number().positive().max(100) }),
]);
export type Share = z.infer<typeof ShareSchema>;

/**
 * How a job is updated. The fleet fields (maxParallel, autoRevert, canary, autoPromoteMs) are
 * present only when the job file sets them, so a 0.3 job file's normalised spec is unchanged; none
 * of `update` is part of the version hash (it is how to roll out, not what runs).
 */
export const UpdatePolicySchema = z.strictObject({
  healthyDeadlineMs: z.number().int().positive(),
  minHealthyMs: z.number().int().nonnegative(),
  maxParallel: ShareSchema.optional(),
  autoRevert: z.boolean().optional(),
  canary: ShareSchema.optional(),
  autoPromoteMs: z.number().int().positive().optional(),
});
export type UpdatePolicy = z.infer<typeof UpdatePolicySchema>;

/**
 * The naming rules of a job's entries beyond each name's pattern: with more than one entry each
 * needs a name, and no two the same. Shared by the CLI's normaliser (which reports them at
 * file:line:col) and the agent's request validation, so both refuse the same specs.
 */
export function entryNameIssues(
  names: readonly (string | undefined)[],
): { index: number; message: string }[] {
  if (names.length < 2) return [];
  const issues: { index: number; message: string }[] = [];
  const seen = new Map<string, number>();
  names.forEach((name, index) => {
    if (name === undefined) {
      issues.push({ index, message: 'is required when a job has more than one container' });
      return;
    }
    const first = seen.get(name);
    if (first !== undefined)
      issues.push({ index, message: `"${name}" is already the name of container[${first}]` });
    else seen.set(name, index);
  });
  return issues;
}

/** A job's entries: one, or several each with a unique name. */
export const EntriesSpecSchema = z
  .array(ContainerSpecSchema)
  .min(1)
  .max(MAX_ENTRIES)
  .superRefine((entries, ctx) => {
    for (const { index, message } of entryNameIssues(entries.map((e) => e.name)))
      ctx.addIssue({ code: 'custom', path: [index, 'name'], message });
  });

/**
 * The normalised job. `container` is the list of entries (each replica runs one container of
 * every entry). dokkup 0.3 sent and stored a single container object here: such a spec (an old
 * CLI's request, an old agent's history file) is read as a list of that one entry, unchanged.
 */
export const JobSpecSchema = z
  .strictObject({
    name: jobName,
    count: z.number().int().min(1).max(1000),
    target: TargetSchema,
    container: z.preprocess(
      (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? [value] : value),
      EntriesSpecSchema,
    ),
    update: UpdatePolicySchema,
    /** Present only when the job file has a `proxy:` block (a 0.3 job file keeps its version). */
    proxy: ProxySpecSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (!spec.proxy) return;
    const issue = proxyTargetIssue(
      spec.container.map((e) => e.name),
      spec.proxy.entry,
    );
    if (issue) ctx.addIssue({ code: 'custom', path: ['proxy', 'entry'], message: issue });
    const bound = proxyPortIssue(spec.container, spec.proxy.port);
    if (bound) ctx.addIssue({ code: 'custom', path: ['proxy', 'port'], message: bound });
  });
export type JobSpec = z.infer<typeof JobSpecSchema>;

/**
 * A spec as a client submits it (deploy, plan): the shape plus every rule the CLI's normaliser
 * keeps (src/protocol/spec-rules.ts), so an agent refuses with a 400 naming the field whatever
 * the client skipped. Stored history keeps the plain `JobSpecSchema`, so a record written by an
 * older version stays readable.
 */
export const SubmittedJobSpecSchema = JobSpecSchema.superRefine((spec, ctx) => {
  for (const problem of specRuleProblems(spec)) {
    ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  }
});
