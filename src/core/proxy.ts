/**
 * The node's proxy, the pure parts: the `proxy:` block normalised, routes and their table, the
 * port-ownership policy, the Caddy configuration the table becomes, and which upstreams a switch
 * adds and drains. The agent (agent/proxy) carries them out against a real Caddy.
 *
 * A route belongs to one job: `port` (+ `host`, + `path` prefix) → that job's containers of one
 * entry, on `targetPort`. Its upstreams are container names, which the proxy resolves on the
 * network it shares with them.
 */
import type { ContainerSpec, JobSpec, ProxyFile, ProxySpec } from '../protocol/job.js';
import { MAX_DRAIN_MS, PROXY_TARGET_PATTERN, proxyPortIssue, proxyTargetIssue } from '../protocol/job.js';
import { formatDurationMs, parseDurationMs } from './duration.js';

/** The node proxy's container: one per node, made by the agent (`dokkup logs job --proxy` reads it). */
export const PROXY_CONTAINER_NAME = 'dokkup-proxy';
export const DEFAULT_PROXY_DRAIN_MS = 30_000;
export const DEFAULT_PROXY_HEALTH_INTERVAL_MS = 2_000;
/** The header the probe listener routes by: the container the agent asks about. */
export const PROBE_HEADER = 'X-Dokkup-Upstream';
/** The Host the admin API accepts (its `origins`): nothing else reaches it anyway (a unix socket). */
export const ADMIN_ORIGIN = 'dokkup-proxy';

export interface ProxyIssue {
  /** Inside the `proxy:` block, e.g. `['target']`. */
  path: (string | number)[];
  message: string;
}

/** The normalised block for a schema-valid `proxy:` (entries already normalised), or the problems. */
export function normalizeProxy(
  file: ProxyFile,
  entries: readonly Pick<ContainerSpec, 'name' | 'ports'>[],
): { proxy: ProxySpec | null; issues: ProxyIssue[] } {
  const issues: ProxyIssue[] = [];
  const duration = (
    value: unknown,
    at: (string | number)[],
    fallback: number,
    max: number,
    min = 0,
  ): number => {
    if (value === undefined) return fallback;
    let ms: number;
    try {
      ms = parseDurationMs(value as number | string);
    } catch (err) {
      issues.push({ path: at, message: (err as Error).message });
      return fallback;
    }
    if (ms < min || ms > max) {
      issues.push({
        path: at,
        message: `must be between ${formatDurationMs(min)} and ${formatDurationMs(max)}`,
      });
      return fallback;
    }
    return Math.round(ms);
  };
  let entry: string | null = null;
  let targetPort = 0;
  if (typeof file.target === 'number') targetPort = file.target;
  else if (typeof file.target === 'string' && PROXY_TARGET_PATTERN.test(file.target)) {
    const colon = file.target.lastIndexOf(':');
    if (colon >= 0) entry = file.target.slice(0, colon);
    targetPort = Number(file.target.slice(colon + 1));
  }
  // A target of the wrong shape was reported by the schema.
  const shaped =
    typeof file.target === 'number' ||
    (typeof file.target === 'string' && PROXY_TARGET_PATTERN.test(file.target));
  if (shaped && (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535))
    issues.push({ path: ['target'], message: 'the container port must be between 1 and 65535' });
  const names = entries.map((e) => e.name);
  // A bare port in a job whose single entry is named goes to that entry.
  if (entry === null && names.length === 1) entry = names[0] ?? null;
  const targetIssue = shaped ? proxyTargetIssue(names, entry) : null;
  if (targetIssue) issues.push({ path: ['target'], message: targetIssue });
  const bound = typeof file.port === 'number' ? proxyPortIssue(entries, file.port) : null;
  if (bound) issues.push({ path: ['port'], message: bound });
  const health =
    file.health && typeof file.health === 'object'
      ? {
          path: (typeof file.health.path === 'string' ? normalizePath(file.health.path) : null) ?? '/',
          intervalMs: duration(
            file.health.interval,
            ['health', 'interval'],
            DEFAULT_PROXY_HEALTH_INTERVAL_MS,
            3_600_000,
            100,
          ),
        }
      : null;
  const drainMs = duration(file.drain, ['drain'], DEFAULT_PROXY_DRAIN_MS, MAX_DRAIN_MS);
  if (issues.length > 0 || !shaped) return { proxy: null, issues };
  return {
    proxy: {
      port: file.port,
      host: typeof file.host === 'string' ? file.host.toLowerCase() : null,
      path: typeof file.path === 'string' ? normalizePath(file.path) : null,
      entry,
      targetPort,
      health,
      drainMs,
    },
    issues,
  };
}

/** `/api/` → `/api`, `/` → null (every path). */
function normalizePath(path: string): string | null {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? null : trimmed;
}

/** `:80 shop.example.com/api → web:8000` (the route as plans and tables show it). */
export function routeLabel(proxy: ProxySpec): string {
  const where = `${proxy.host ?? ''}${proxy.path ?? ''}`;
  const target = proxy.entry ? `${proxy.entry}:${proxy.targetPort}` : String(proxy.targetPort);
  return `:${proxy.port}${where ? ` ${where}` : ''} → ${target}`;
}

/** The route with everything that shapes it: `:80 shop.example.com → 8000 (health /up every 1s, drain 30s)`. */
export function routeDescription(proxy: ProxySpec): string {
  const health = proxy.health
    ? `health ${proxy.health.path} every ${formatDurationMs(proxy.health.intervalMs)}`
    : 'no health check';
  return `${routeLabel(proxy)} (${health}, drain ${formatDurationMs(proxy.drainMs)})`;
}

/** Two routes claim the same requests: same port, host and path prefix. */
export function sameRouteKey(a: ProxySpec, b: ProxySpec): boolean {
  return a.port === b.port && a.host === b.host && a.path === b.path;
}

/** Another job's current spec on the node, as the conflict check sees it. */
export interface NodeJob {
  job: string;
  spec: Pick<JobSpec, 'container' | 'proxy'>;
}

/**
 * Why `spec` cannot run beside the node's other jobs, or null: a route with the same port, host
 * and path as another job's; a proxy port another job binds itself (`out`); or an `out` port the
 * proxy serves. Only the proxy binds the ports it serves.
 */
export function routeConflict(
  job: string,
  spec: Pick<JobSpec, 'container' | 'proxy'>,
  others: readonly NodeJob[],
): { field: string; message: string } | null {
  for (const other of others) {
    if (other.job === job) continue;
    const mine = spec.proxy;
    const theirs = other.spec.proxy;
    if (mine && theirs && sameRouteKey(mine, theirs)) {
      return {
        field: 'proxy.port',
        message: `${routeWhere(mine)} is already routed to job "${other.job}" on this node (give this job another host, path or port)`,
      };
    }
    if (mine && boundPorts(other.spec).includes(mine.port)) {
      return {
        field: 'proxy.port',
        message: `port ${mine.port} is bound by job "${other.job}" (its ports: out: ${mine.port}); only the proxy may serve it`,
      };
    }
    if (theirs) {
      const i = spec.container.findIndex((e) =>
        e.ports.some((p) => p.out === theirs.port && p.protocol === 'tcp'),
      );
      if (i >= 0)
        return {
          field: `container.${i}.ports`,
          message: `host port ${theirs.port} is served by the node's proxy for job "${other.job}"; a job cannot bind it (use a proxy: block)`,
        };
    }
  }
  return null;
}

function routeWhere(proxy: ProxySpec): string {
  return `port ${proxy.port}${proxy.host ? ` host ${proxy.host}` : ''}${proxy.path ? ` path ${proxy.path}` : ''}`;
}

function boundPorts(spec: Pick<JobSpec, 'container'>): number[] {
  return spec.container.flatMap((e) =>
    e.ports.filter((p) => p.out !== null && p.protocol === 'tcp').map((p) => p.out!),
  );
}

// ---------------------------------------------------------------------------------------------
// The table and its Caddy configuration

/** One job's route and the containers (by name) it sends requests to. */
export interface Route {
  job: string;
  proxy: ProxySpec;
  upstreams: readonly string[];
}

/** `name:port`: how the proxy dials a container on the shared network. */
export function upstreamAddress(container: string, proxy: Pick<ProxySpec, 'targetPort'>): string {
  return `${container}:${proxy.targetPort}`;
}

/** The host ports the proxy must publish for the table, sorted. */
export function routedPorts(routes: readonly Route[]): number[] {
  return [...new Set(routes.map((r) => r.proxy.port))].sort((a, b) => a - b);
}

export interface CaddyPaths {
  /** Where the admin API listens, inside the proxy container (a unix socket). */
  adminSocket: string;
  /** The probe listener (a unix socket): the agent asks the proxy to reach a container. */
  probeSocket: string;
}

/**
 * Routes in the order a server must try them: a host before any host, then longer path prefixes
 * first; ties by job name, so the same table always gives the same configuration.
 */
export function routeOrder(a: Route, b: Route): number {
  const hostA = a.proxy.host === null ? 1 : 0;
  const hostB = b.proxy.host === null ? 1 : 0;
  if (hostA !== hostB) return hostA - hostB;
  const pathA = a.proxy.path?.length ?? 0;
  const pathB = b.proxy.path?.length ?? 0;
  if (pathA !== pathB) return pathB - pathA;
  return a.job < b.job ? -1 : a.job > b.job ? 1 : 0;
}

const byJob = (a: Route, b: Route) => (a.job < b.job ? -1 : a.job > b.job ? 1 : 0);

function ms(value: number): string {
  return `${value}ms`;
}

/**
 * The whole Caddy JSON configuration for a route table (what `POST /load` gets). `probes` are
 * containers the proxy may reach on the probe listener only (new ones, before they get traffic).
 */
export function caddyConfig(
  routes: readonly Route[],
  paths: CaddyPaths,
  probes: readonly Route[] = [],
  /** Ports to serve besides the routed ones (published, no route left): they answer 404. */
  alsoPorts: readonly number[] = [],
): Record<string, unknown> {
  const servers: Record<string, unknown> = {};
  const ports = [...new Set([...routedPorts(routes), ...alsoPorts])].sort((a, b) => a - b);
  for (const port of ports) {
    const onPort = routes.filter((r) => r.proxy.port === port).sort(routeOrder);
    servers[`port-${port}`] = {
      listen: [`:${port}`],
      automatic_https: { disable: true },
      routes: [
        ...onPort.map(caddyRoute),
        {
          handle: [
            {
              handler: 'static_response',
              status_code: 404,
              body: `dokkup-proxy: no route for this host and path on port ${port}\n`,
            },
          ],
        },
      ],
    };
  }
  servers['probe'] = {
    listen: [`unix/${paths.probeSocket}`],
    automatic_https: { disable: true },
    routes: [...[...routes].sort(byJob), ...[...probes].sort(byJob)].flatMap((r) =>
      r.upstreams.map((name) => ({
        match: [{ header: { [PROBE_HEADER]: [name] } }],
        handle: [
          { handler: 'rewrite', uri: r.proxy.health?.path ?? '/' },
          { handler: 'reverse_proxy', upstreams: [{ dial: upstreamAddress(name, r.proxy) }] },
        ],
        terminal: true,
      })),
    ),
  };
  const drains = routes.map((r) => r.proxy.drainMs);
  return {
    admin: { listen: `unix/${paths.adminSocket}`, origins: [ADMIN_ORIGIN] },
    apps: {
      http: {
        // A reload lets requests in flight on the previous configuration finish, up to the
        // longest drain a route asks for.
        grace_period: ms(Math.max(1000, ...drains)),
        servers,
      },
    },
  };
}

function caddyRoute(route: Route): Record<string, unknown> {
  const { proxy } = route;
  const match: Record<string, unknown> = {};
  if (proxy.host) match['host'] = [proxy.host];
  if (proxy.path) match['path'] = [proxy.path, `${proxy.path}/*`];
  const handle =
    route.upstreams.length === 0
      ? [
          {
            handler: 'static_response',
            status_code: 503,
            body: `dokkup-proxy: job ${route.job} has no running container\n`,
          },
        ]
      : [
          {
            handler: 'reverse_proxy',
            upstreams: route.upstreams.map((name) => ({ dial: upstreamAddress(name, proxy) })),
            load_balancing: {
              selection_policy: { policy: 'round_robin' },
              // A container that cannot be dialled (it just died) costs a retry on another one,
              // not a failed request.
              try_duration: '5s',
              try_interval: '100ms',
            },
            ...(proxy.health
              ? {
                  health_checks: {
                    active: {
                      uri: proxy.health.path,
                      interval: ms(proxy.health.intervalMs),
                      timeout: ms(Math.min(5000, Math.max(1000, proxy.health.intervalMs))),
                    },
                  },
                }
              : {}),
          },
        ];
  return {
    ...(Object.keys(match).length > 0 ? { match: [match] } : {}),
    handle,
    terminal: true,
  };
}

/** Replaces (or with `route` null removes) one job's route in a table; other jobs' stay as they are. */
export function withRoute(table: readonly Route[], job: string, route: Route | null): Route[] {
  const rest = table.filter((r) => r.job !== job);
  return route ? [...rest, route].sort((a, b) => (a.job < b.job ? -1 : a.job > b.job ? 1 : 0)) : rest;
}

/** What a switch from `before` to `after` upstreams does: probe the added, drain the removed. */
export function switchSteps(
  before: readonly string[],
  after: readonly string[],
): { add: string[]; keep: string[]; drain: string[] } {
  const was = new Set(before);
  const will = new Set(after);
  return {
    add: after.filter((n) => !was.has(n)),
    keep: after.filter((n) => was.has(n)),
    drain: before.filter((n) => !will.has(n)),
  };
}
