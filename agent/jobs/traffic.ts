/**
 * The executor's side of the node proxy: which containers a job's route should send requests to,
 * and the switch (admit new → route → drain old) that every operation of a job with a `proxy:`
 * block goes through (deploy, rollback, scale, stop). Jobs without one never touch the proxy.
 */
import { usesFixedHostPort } from '../../src/core/entries.js';
import { DokkupError } from '../../src/core/errors.js';
import { currentRecord } from '../../src/core/history.js';
import type { ObservedContainer } from '../../src/core/planner.js';
import { type NodeJob, type Route, routeConflict, switchSteps } from '../../src/core/proxy.js';
import type { JobSpec, ProxySpec } from '../../src/protocol/job.js';
import type { ProxyManager } from '../proxy/manager.js';
import type { JobStateStore } from '../store/job-store.js';
import type { ProgressSink } from './service.js';

/** A container as the route sees it: its name is the upstream's host name. */
export interface NamedContainer {
  id: string;
  name: string;
  entry: string | null;
}

export class TrafficSwitch {
  constructor(
    private readonly proxy: ProxyManager | null,
    private readonly store: JobStateStore,
    private readonly now: () => number,
  ) {}

  /** The proxy network new containers of the route's entry join (null: the spec has no route). */
  networkFor(spec: JobSpec, entry: string | null, network: string): string | undefined {
    return spec.proxy && spec.proxy.entry === entry ? network : undefined;
  }

  /**
   * Refuses a spec whose route another job of the node owns (same port, host and path), whose
   * proxy port another job binds itself, or whose fixed host port the proxy serves.
   */
  async check(spec: JobSpec, prefix = ''): Promise<void> {
    if (spec.proxy && !this.proxy)
      throw new DokkupError('invalid_request', 'this agent runs no proxy', `${prefix}proxy`);
    // Only routes and fixed host ports can collide with a route.
    if (!spec.proxy && !usesFixedHostPort(spec)) return;
    const others: NodeJob[] = [];
    for (const job of await this.store.list()) {
      if (job === spec.name) continue;
      const record = currentRecord(await this.store.read(job));
      if (record) others.push({ job, spec: record.spec });
    }
    // Routes the proxy serves count too (a job purged while its route was being switched).
    for (const route of this.proxy?.routes() ?? [])
      if (!others.some((o) => o.job === route.job))
        others.push({ job: route.job, spec: { container: [], proxy: route.proxy } });
    const conflict = routeConflict(spec.name, spec, others);
    if (conflict) throw new DokkupError('invalid_request', conflict.message, `${prefix}${conflict.field}`);
  }

  /** The job's live route (what the proxy sends its requests to now). */
  routeOf(job: string): Route | undefined {
    return this.proxy?.routeOf(job);
  }

  /** True when the operation must go through the proxy: the spec has a route, or the job had one. */
  involved(spec: JobSpec | null, job: string): boolean {
    return this.proxy !== null && (spec?.proxy !== undefined || this.routeOf(job) !== undefined);
  }

  /**
   * After the gate: the proxy reaches every container of `target` it does not serve yet, then the
   * route switches to exactly `target` (the spec without a route: the route goes). Throws, leaving
   * the route as it was, when a new container cannot be reached by the deadline.
   */
  async cutover(spec: JobSpec, target: readonly NamedContainer[], report: ProgressSink): Promise<void> {
    if (!this.proxy) return;
    const proxy = spec.proxy;
    const live = this.proxy.routeOf(spec.name);
    if (!proxy) {
      if (live) await this.proxy.route(spec.name, null, say(report, 'health'));
      return;
    }
    const names = target.filter((c) => c.entry === proxy.entry).map((c) => c.name);
    const unchanged = live && sameProxy(live.proxy, proxy);
    const steps = switchSteps(unchanged ? live.upstreams : [], names);
    if (unchanged && steps.add.length === 0 && steps.drain.length === 0) return;
    await this.proxy.admit(
      spec.name,
      proxy,
      steps.add,
      this.now() + spec.update.healthyDeadlineMs,
      say(report, 'health'),
    );
    await this.proxy.route(spec.name, { job: spec.name, proxy, upstreams: names }, say(report, 'health'));
  }

  /**
   * After the route left them: waits for the proxy's requests in flight to `before`'s upstreams
   * that the route no longer has (at most the drain time of `before`'s route).
   */
  async drain(job: string, before: Route | undefined, report: ProgressSink): Promise<void> {
    if (!this.proxy || !before) return;
    const now = this.proxy.routeOf(job);
    const keep = now && sameProxy(now.proxy, before.proxy) ? now.upstreams : [];
    const { drain } = switchSteps(before.upstreams, keep);
    await this.proxy.drain(job, before.proxy, drain, say(report, 'stop'));
  }

  /**
   * Takes `leaving` containers out of the job's route before they stop (scale down, leftovers,
   * stop): the route keeps the rest, or goes when none is left. Then drains them.
   */
  async release(job: string, leaving: ReadonlySet<string>, report: ProgressSink): Promise<void> {
    if (!this.proxy) return;
    const live = this.proxy.routeOf(job);
    if (!live?.upstreams.some((n) => leaving.has(n))) return;
    const rest = live.upstreams.filter((n) => !leaving.has(n));
    await this.proxy.route(job, rest.length > 0 ? { ...live, upstreams: rest } : null, say(report, 'stop'));
    await this.drain(job, live, report);
  }

  /** Removes the job's probe-only containers after a failed update (its route is untouched). */
  async withdraw(job: string): Promise<void> {
    await this.proxy?.withdraw(job);
  }
}

function sameProxy(a: ProxySpec, b: ProxySpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function say(report: ProgressSink, phase: 'health' | 'stop') {
  return (message: string) => report({ type: 'progress', phase, message });
}

/** Observed containers as the route sees them. */
export function named(cs: readonly ObservedContainer[]): NamedContainer[] {
  return cs.map((c) => ({ id: c.id, name: c.name, entry: c.entry }));
}
