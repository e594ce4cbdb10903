/**
 * The job file's `proxy:` block (a route on the node's proxy) as users write it and as it is
 * normalised, and the rules the CLI and the agent both apply to it.
 */
import { z } from 'zod';
import { duration, entryName } from './fields.js';

/** A host name a route matches: DNS labels (a leading `*.` matches one label), any case. */
export const PROXY_HOST_PATTERN =
  /^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
/** A path prefix: `/`-separated segments of URL path characters (no query, no spaces). */
export const PROXY_PATH_PATTERN = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)+$/;
/** `8000` or `web:8000`: the container port, of the named entry. */
export const PROXY_TARGET_PATTERN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?:)?\d{1,5}$/;
/** The longest an update waits for the proxy's in-flight requests to an old container to finish. */
export const MAX_DRAIN_MS = 10 * 60_000;

export const ProxyFileSchema = z
  .strictObject({
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .describe("The node's published port the proxy serves the job on (several jobs may share one)"),
    host: z
      .string()
      .regex(PROXY_HOST_PATTERN, 'must be a host name like shop.example.com (or *.example.com)')
      .optional()
      .describe('Only requests for this host name (the Host header); default any host'),
    path: z
      .string()
      .regex(PROXY_PATH_PATTERN, 'must be a path prefix like /api')
      .optional()
      .describe('Only requests whose path starts with this prefix (passed on unchanged); default /'),
    target: z
      .union([
        z.number().int().min(1).max(65535),
        z
          .string()
          .regex(PROXY_TARGET_PATTERN, 'must be a container port like 8000, or entry:port like web:8000'),
      ])
      .describe('The container port requests go to; with several entries, entry:port (web:8000)'),
    health: z
      .strictObject({
        path: z
          .string()
          .regex(PROXY_PATH_PATTERN, 'must be a path like /up')
          .describe('Path the proxy requests; a 2xx answer is healthy'),
        interval: duration.optional().describe('Time between the proxy’s checks (default 2s)'),
      })
      .optional()
      .describe(
        "The proxy's own health check of every container: checked before traffic switches to a new one, then all along",
      ),
    drain: duration
      .optional()
      .describe(
        'How long requests in flight to an old container may take to finish before it is stopped (default 30s, at most 10m)',
      ),
  })
  .describe(
    "Serve the job on the node's published port through the node's proxy: updates, rollbacks and scaling switch traffic without dropping requests",
  );
export type ProxyFile = z.infer<typeof ProxyFileSchema>;

/** The normalised `proxy:` block: a route on the node's proxy to the job's containers. */
export const ProxySpecSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  /** Lower case; null: any host. */
  host: z.string().regex(PROXY_HOST_PATTERN).nullable(),
  /** A prefix without a trailing slash; null: every path. */
  path: z.string().regex(PROXY_PATH_PATTERN).nullable(),
  /** The entry requests go to (null: the single unnamed entry). */
  entry: entryName.nullable(),
  targetPort: z.number().int().min(1).max(65535),
  health: z
    .strictObject({ path: z.string().regex(PROXY_PATH_PATTERN), intervalMs: z.number().int().min(100) })
    .nullable(),
  drainMs: z.number().int().min(0).max(MAX_DRAIN_MS),
});
export type ProxySpec = z.infer<typeof ProxySpecSchema>;

/**
 * Whether a route's entry names one of the job's entries: `null` (a bare port) fits only a job
 * with a single entry, whatever its name. Shared by the CLI's normaliser and the agent.
 */
export function proxyTargetIssue(
  names: readonly (string | undefined)[],
  entry: string | null,
): string | null {
  const named = names.filter((n): n is string => n !== undefined);
  if (entry === null) {
    if (names.length > 1)
      return `must name the entry the proxy sends requests to, like ${named[0] ?? 'web'}:8000 (the job has ${names.length} containers)`;
    return names[0] === undefined ? null : `must be the entry's name, "${names[0]}"`;
  }
  if (named.includes(entry)) return null;
  return named.length > 0
    ? `names no entry of the job: "${entry}" is not one of ${named.join(', ')}`
    : `names the entry "${entry}", but the job's container has no name (write the port alone)`;
}

/**
 * Whether an entry binds the route's port itself (`out:` on TCP): only the proxy binds a routed
 * port. Shared by the CLI's normaliser and the agent. Null when none does.
 */
export function proxyPortIssue(
  entries: readonly { ports?: readonly { out?: number | null; protocol?: string }[] }[],
  port: number,
): string | null {
  const i = entries.findIndex((e) =>
    (Array.isArray(e.ports) ? e.ports : []).some((p) => p?.out === port && (p.protocol ?? 'tcp') === 'tcp'),
  );
  return i < 0
    ? null
    : `port ${port} is the proxy's; container[${i}] cannot bind it too (remove its "out: ${port}")`;
}
