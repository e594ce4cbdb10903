/**
 * The node's proxy, managed: one Caddy container (ProxyHost) configured through its admin API
 * (ProxyAdmin) from the route table kept here. Every change is a whole new configuration, loaded
 * one at a time; Caddy applies it gracefully (requests in flight finish) or refuses it whole, so a
 * failed change leaves the previous routes serving.
 *
 * The switch an update makes, in order (see agent/jobs/executor.ts):
 *   admit(new)   the proxy itself reaches each new container's health path (probe listener);
 *   route(new)   the job's route gets the new upstreams, the old ones leave it;
 *   drain(old)   until the proxy has no request in flight to them (at most `drain`);
 * and only then are the old containers stopped.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { formatDurationMs } from '../../src/core/duration.js';
import { DokkupError } from '../../src/core/errors.js';
import {
  type CaddyPaths,
  caddyConfig,
  type Route,
  routedPorts,
  routeLabel,
  sameRouteKey,
  upstreamAddress,
  withRoute,
} from '../../src/core/proxy.js';
import type { RouteStatus } from '../../src/protocol/api.js';
import type { ProxySpec } from '../../src/protocol/job.js';
import { PROXY_CONTAINER, PROXY_STATE_MOUNT, type ProxyHost } from '../docker/proxy-container.js';
import type { ProxyAdmin } from './caddy-admin.js';

/** Caddy's admin socket and probe socket, inside the proxy container. */
export const CONTAINER_PATHS: CaddyPaths = {
  adminSocket: `${PROXY_STATE_MOUNT}/admin.sock`,
  probeSocket: `${PROXY_STATE_MOUNT}/probe.sock`,
};
const INITIAL_CONFIG = 'initial.json';

export interface ProxyManagerOptions {
  host: ProxyHost;
  admin: ProxyAdmin;
  /** Host directory mounted into the proxy (the agent's `<dataDir>/proxy`). */
  stateDir: string;
  image: string;
  /** `uid:gid` the proxy runs as; undefined: the image's user. */
  user?: string;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How often a probe or a drain asks the proxy again. */
  pollMs?: number;
}

export type ProxyProgress = (message: string) => void;

export class ProxyManager {
  private table: Route[] = [];
  /** Containers the proxy may reach for a probe but sends no traffic to yet, per job. */
  private probes: Route[] = [];
  private loading: Promise<unknown> = Promise.resolve();
  /** The ports the proxy container publishes (as of the last change). */
  private published: number[] = [];
  private readonly pollMs: number;

  constructor(private readonly opts: ProxyManagerOptions) {
    this.pollMs = opts.pollMs ?? 200;
  }

  get image(): string {
    return this.opts.image;
  }

  /** The job's live route, if it has one. */
  routeOf(job: string): Route | undefined {
    return this.table.find((r) => r.job === job);
  }

  routes(): readonly Route[] {
    return this.table;
  }

  /** The job that owns a route with the same port, host and path as `proxy`, other than `job`. */
  ownerOf(job: string, proxy: ProxySpec): string | null {
    return this.table.find((r) => r.job !== job && sameRouteKey(r.proxy, proxy))?.job ?? null;
  }

  /**
   * At agent start: the routes the agent's state says (each job's current version, its running
   * containers). Applied when there is any, or when a proxy container exists (it may hold routes
   * of jobs purged while the agent was down).
   */
  async reconcile(routes: Route[]): Promise<void> {
    await this.serialised(async () => {
      const exists = (await this.opts.host.inspect()) !== null;
      if (routes.length === 0 && !exists) return;
      await this.apply(routes, []);
      this.opts.logger.info(
        {
          routes: routes.map((r) => ({
            job: r.job,
            route: routeLabel(r.proxy),
            upstreams: r.upstreams.length,
          })),
        },
        'proxy routes reconciled',
      );
    });
  }

  /**
   * The proxy reaches every one of `names` (containers of `job` for `proxy`) on the health path
   * (any answer but a gateway error without one) before `deadline`; else throws `unhealthy`. The
   * job's routes are untouched either way.
   */
  async admit(
    job: string,
    proxy: ProxySpec,
    names: readonly string[],
    deadline: number,
    report: ProxyProgress,
  ): Promise<void> {
    if (names.length === 0) return;
    await this.serialised(() =>
      this.apply(this.table, withRoute(this.probes, job, { job, proxy, upstreams: names })),
    );
    report(`Checking ${names.length} new container${names.length === 1 ? '' : 's'} through the proxy`);
    const waiting = new Set(names);
    let last = '';
    for (;;) {
      for (const name of [...waiting]) {
        try {
          const status = await this.opts.admin.probe(name, 2000);
          const ok = proxy.health ? status >= 200 && status < 400 : status !== 502 && status !== 504;
          if (ok) waiting.delete(name);
          else last = `${name} answered ${status}${proxy.health ? ` on ${proxy.health.path}` : ''}`;
        } catch (err) {
          last = `${name}: ${(err as Error).message}`;
        }
      }
      if (waiting.size === 0) return;
      if (this.opts.now() >= deadline) {
        await this.withdraw(job).catch(() => {});
        throw new DokkupError(
          'unhealthy',
          `the proxy could not reach ${waiting.size} new container${waiting.size === 1 ? '' : 's'} healthy (${last})`,
        );
      }
      await this.opts.sleep(this.pollMs);
    }
  }

  /** Forgets the job's probe-only containers (after a failed update). */
  async withdraw(job: string): Promise<void> {
    if (!this.probes.some((p) => p.job === job)) return;
    await this.serialised(() => this.apply(this.table, withRoute(this.probes, job, null)));
  }

  /**
   * The job's route becomes `route` (null: the job has none): one configuration load. Refused
   * when another job owns the same port, host and path. On failure the previous routes serve.
   */
  async route(job: string, route: Route | null, report: ProxyProgress): Promise<void> {
    await this.serialised(async () => {
      if (route) {
        const owner = this.ownerOf(job, route.proxy);
        if (owner)
          throw new DokkupError(
            'invalid_request',
            `${routeLabel(route.proxy)}: the route is already the job "${owner}"'s on this node`,
            'proxy.port',
          );
      }
      const previous = this.routeOf(job);
      const before = previous?.upstreams ?? [];
      // The containers leaving the route stay in the configuration (on the probe listener only)
      // until they are drained: Caddy counts a request in flight against its upstream only while
      // some configuration still names that upstream, and a reload does not wait for them.
      const staying = new Set((route?.upstreams ?? []).map((n) => upstreamAddress(n, route!.proxy)));
      const leaving = previous
        ? previous.upstreams.filter((n) => !staying.has(upstreamAddress(n, previous.proxy)))
        : [];
      const draining =
        previous && leaving.length > 0 ? { job, proxy: previous.proxy, upstreams: leaving } : null;
      await this.apply(withRoute(this.table, job, route), withRoute(this.probes, job, draining));
      if (route) {
        report(
          before.length === 0
            ? `Proxy: ${routeLabel(route.proxy)} now serves ${route.upstreams.length} container${route.upstreams.length === 1 ? '' : 's'}`
            : `Proxy: ${routeLabel(route.proxy)} switched to ${route.upstreams.length} container${route.upstreams.length === 1 ? '' : 's'}`,
        );
      } else if (before.length > 0) report('Proxy: route removed');
    });
  }

  /**
   * Waits until the proxy has no request in flight to any of `names` (they have left the job's
   * route), at most `proxy.drainMs`, then forgets them. Never throws: a proxy that cannot say is
   * waited for the whole drain.
   */
  async drain(job: string, proxy: ProxySpec, names: readonly string[], report: ProxyProgress): Promise<void> {
    if (names.length === 0) return;
    try {
      await this.waitDrained(proxy, names, report);
    } finally {
      await this.withdraw(job).catch((err) =>
        this.opts.logger.warn({ err }, 'cannot forget the drained containers in the proxy'),
      );
    }
  }

  private async waitDrained(
    proxy: ProxySpec,
    names: readonly string[],
    report: ProxyProgress,
  ): Promise<void> {
    const addresses = new Set(names.map((n) => upstreamAddress(n, proxy)));
    const deadline = this.opts.now() + proxy.drainMs;
    report(
      `Draining ${names.length} old container${names.length === 1 ? '' : 's'} (up to ${formatDurationMs(proxy.drainMs)})`,
    );
    for (;;) {
      let busy = -1;
      try {
        busy = (await this.opts.admin.upstreams())
          .filter((u) => addresses.has(u.address))
          .reduce((n, u) => n + u.numRequests, 0);
      } catch (err) {
        this.opts.logger.warn({ err }, 'cannot read the proxy upstreams while draining');
      }
      if (busy === 0) return;
      if (this.opts.now() >= deadline) {
        if (busy > 0) report(`Drain time over: ${busy} request${busy === 1 ? '' : 's'} still in flight`);
        return;
      }
      await this.opts.sleep(this.pollMs);
    }
  }

  /** The proxy container and how many routes it serves (null: there is no proxy on the node). */
  async summary(): Promise<{ image: string; state: string; ports: number[]; routes: number } | null> {
    const c = await this.opts.host.inspect();
    return c ? { image: c.image, state: c.state, ports: c.ports, routes: this.table.length } : null;
  }

  /** The job's route with each upstream's health as the proxy sees it now (null: no route). */
  async status(job: string, probe = true): Promise<RouteStatus | null> {
    const route = this.routeOf(job);
    if (!route) return null;
    const upstreams = await Promise.all(
      route.upstreams.map(async (name) => {
        let healthy: boolean | null = null;
        if (probe)
          try {
            const status = await this.opts.admin.probe(name, 1500);
            healthy = route.proxy.health ? status >= 200 && status < 400 : status !== 502 && status !== 504;
          } catch {
            healthy = null;
          }
        return { container: name, address: upstreamAddress(name, route.proxy), healthy };
      }),
    );
    return {
      route: routeLabel(route.proxy),
      port: route.proxy.port,
      host: route.proxy.host,
      path: route.proxy.path,
      entry: route.proxy.entry,
      targetPort: route.proxy.targetPort,
      upstreams,
    };
  }

  /** One configuration change at a time, in order. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.loading.then(fn, fn);
    this.loading = run.catch(() => {});
    return run;
  }

  /**
   * Makes the proxy serve `table` (+ probe-only `probes`): the container runs and publishes every
   * routed port, then the configuration is loaded. The table is only replaced once Caddy took it.
   */
  private async apply(table: Route[], probes: Route[]): Promise<void> {
    // Probe-only routes count: a job's first containers are probed on a proxy that already
    // publishes its port (no second restart to publish it when the route comes).
    const wanted = routedPorts([...table, ...probes]);
    const ports = [...new Set([...this.published, ...wanted])];
    await mkdir(this.opts.stateDir, { recursive: true });
    // A first start (no autosave yet) comes up serving this table.
    await writeFile(
      join(this.opts.stateDir, INITIAL_CONFIG),
      JSON.stringify(caddyConfig(table, CONTAINER_PATHS, probes, ports)),
    );
    const { created, ports: published } = await this.opts.host.ensure({
      image: this.opts.image,
      ports: wanted,
      stateDir: this.opts.stateDir,
      initialConfig: `${PROXY_STATE_MOUNT}/${INITIAL_CONFIG}`,
      ...(this.opts.user ? { user: this.opts.user } : {}),
    });
    this.published = published;
    // Every published port gets a server: one no route uses any more answers 404, not a reset.
    const live = caddyConfig(table, CONTAINER_PATHS, probes, published);
    await this.waitReady(created ? 20_000 : 5_000);
    try {
      await this.opts.admin.load(live);
    } catch (err) {
      throw new DokkupError('internal', `configuring ${PROXY_CONTAINER}: ${(err as Error).message}`);
    }
    this.table = table;
    this.probes = probes;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = this.opts.now() + timeoutMs;
    while (!(await this.opts.admin.ready())) {
      if (this.opts.now() >= deadline) {
        const tail = (await this.opts.host.tail(10)).trim();
        throw new DokkupError(
          'internal',
          `${PROXY_CONTAINER} does not answer on its admin socket (${join(this.opts.stateDir, 'admin.sock')})${tail ? `; its last lines:\n${tail}` : ''}`,
        );
      }
      await this.opts.sleep(100);
    }
  }
}
