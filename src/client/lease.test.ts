/**
 * The fleet lease's requests, over agents in memory: taken with the plan (one request per node),
 * the lease route for an agent that says nothing about leases, leaseless agents (404) served
 * without one, and renewals only of the nodes no request renewed lately.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseRequest, Plan, PlanRequest } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient, RequestOptions } from './agent-client.js';
import { Cluster } from './cluster.js';
import { AgentHttpError } from './errors.js';
import { FleetLease, type LeaseHolder } from './lease.js';

interface FakeAgent {
  /** Takes no lease with a plan and says nothing about one (an agent of before this change). */
  silent?: boolean;
  /** No lease route at all (an agent of before 0.4): 404. */
  leaseless?: boolean;
  /** The lease is somebody else's. */
  heldBy?: string;
}

const node = (name: string): InventoryNode => ({
  name,
  location: `${name}:1`,
  baseUrl: `http://${name}:1`,
  key: 'k',
});
const holder: LeaseHolder = { operator: 'alice', host: 'laptop', command: 'run job web.yaml', ttlMs: 30_000 };
const plan = { changes: true } as Plan;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function fleet(agents: Record<string, FakeAgent>) {
  const log: string[] = [];
  const holders = new Map<string, string>();
  const client = (n: InventoryNode): AgentClient => {
    const agent = agents[n.name]!;
    const refuse = (job: string) => {
      throw new AgentHttpError(n.name, 409, {
        code: 'lease_held',
        message: `job ${job} is locked by ${agent.heldBy}`,
      });
    };
    const carried = (options: RequestOptions) => {
      if (agent.silent || agent.leaseless || !options.lease) return;
      options.onLeaseState?.(holders.get(n.name) === options.lease ? 'held' : 'lost');
    };
    return {
      node: n,
      plan: async (job: string, _request: PlanRequest, options: RequestOptions = {}) => {
        if (options.leaseTake && options.lease && !agent.silent && !agent.leaseless) {
          if (agent.heldBy) refuse(job);
          holders.set(n.name, options.lease);
          log.push(`lease+plan ${n.name}`);
        } else log.push(`plan ${n.name}`);
        carried(options);
        return plan;
      },
      promote: async (job: string, version: string, options: RequestOptions = {}) => {
        log.push(`promote ${n.name}`);
        carried(options);
        return { job, version, promoted: true };
      },
      acquireLease: async (job: string, request: LeaseRequest) => {
        if (agent.leaseless)
          throw new AgentHttpError(n.name, 404, { code: 'not_found', message: 'no route' });
        if (agent.heldBy) refuse(job);
        log.push(`${request.renew ? 'renew' : 'lease'} ${n.name}`);
        holders.set(n.name, request.id);
        return { job, lease: null, held: true, ...(agent.silent ? {} : { takesWithPlan: true }) };
      },
      releaseLease: async (job: string) => {
        log.push(`release ${n.name}`);
        holders.delete(n.name);
        return { job, released: null, broken: false };
      },
      close: () => {},
    } as unknown as AgentClient;
  };
  const cluster = new Cluster(Object.keys(agents).map(node), { clientFactory: client });
  cleanups.push(() => cluster.close());
  return { cluster, log, holders };
}

const planTask = (client: AgentClient, _node: InventoryNode, options: RequestOptions) =>
  client.plan('web', { operation: 'stop', purge: false }, options);

describe('the fleet lease', () => {
  it('is taken on the first node alone, then with the plan: one request per other node', async () => {
    const { cluster, log } = fleet({ a: {}, b: {}, c: {} });
    const lease = new FleetLease(cluster, 'web', holder);
    const { acquisition, results } = await lease.acquireWith(cluster.nodes, planTask);
    expect(acquisition.held.map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect([...results.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(log[0]).toBe('lease a');
    expect(log.slice(1, 3).sort()).toEqual(['lease+plan b', 'lease+plan c']);
    expect(log.slice(3)).toEqual(['plan a']);
    await lease.release();
  });

  it('an agent that says nothing of the lease gets the lease route, then the plan again; a leaseless one is served without', async () => {
    const { cluster, log } = fleet({ a: {}, b: { silent: true }, c: { leaseless: true }, d: {} });
    const lease = new FleetLease(cluster, 'web', holder);
    const { acquisition, results } = await lease.acquireWith(cluster.nodes, planTask);
    expect(acquisition.held.map((n) => n.name).sort()).toEqual(['a', 'b', 'd']);
    expect(acquisition.leaseless.map((n) => n.name)).toEqual(['c']);
    expect(acquisition.refused).toBeNull();
    expect([...results.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    // b said nothing of the lease its plan carried: the lease route, then the plan under it.
    expect(log.filter((l) => l.endsWith(' b'))).toEqual(['plan b', 'lease b', 'plan b']);
    expect(log.filter((l) => l.endsWith(' c'))).toEqual(['plan c']);
    expect(log.filter((l) => l.endsWith(' d'))).toEqual(['lease+plan d']);
    await lease.release();
    expect(log.filter((l) => l.startsWith('release')).sort()).toEqual([
      'release a',
      'release b',
      'release d',
    ]);
  });

  it('refused on any node: nothing is held, what was taken is given back, naming the holder', async () => {
    const { cluster, holders } = fleet({ a: {}, b: { heldBy: 'bob@desk' }, c: {} });
    const lease = new FleetLease(cluster, 'web', holder);
    const { acquisition } = await lease.acquireWith(cluster.nodes, planTask);
    expect(acquisition.refused).toMatchObject({
      node: { name: 'b' },
      message: 'job web is locked by bob@desk',
    });
    expect(holders.size).toBe(0);
    expect(lease.acquired).toBe(false);
  });

  it('renews only the nodes no request renewed for a third of the TTL; a request that hears "lost" stops the rollout', async () => {
    let now = 0;
    const { cluster, log } = fleet({ a: {}, b: {}, c: {}, d: { silent: true } });
    const lease = new FleetLease(cluster, 'web', holder, undefined, () => now);
    await lease.acquireWith(cluster.nodes, planTask);
    log.length = 0;
    // Nothing is due yet: everything was renewed by the plans.
    now = 9_000;
    await lease.renew();
    expect(log).toEqual([]);
    // b is asked something (that carries the lease); 2 s later a, c and d are due, b is not.
    const client = cluster.client(cluster.nodes[1]!);
    await client.promote('web', 'v', lease.requestFor(cluster.nodes[1]!));
    now = 11_000;
    await lease.renew();
    expect(log.filter((l) => l.startsWith('renew')).sort()).toEqual(['renew a', 'renew c', 'renew d']);
    expect(lease.lost()).toBeNull();
    // d's agent says nothing about the lease: its requests never spare it a renewal.
    log.length = 0;
    const d = cluster.nodes[3]!;
    await cluster.client(d).promote('web', 'v', lease.requestFor(d));
    now = 22_000;
    await lease.renew();
    expect(log.filter((l) => l.startsWith('renew')).sort()).toEqual([
      'renew a',
      'renew b',
      'renew c',
      'renew d',
    ]);
    // Broken on c: the next request that carries the lease hears it is lost.
    const c = cluster.nodes[2]!;
    cluster.client(c).releaseLease('web', { force: true });
    await cluster.client(c).promote('web', 'v', lease.requestFor(c));
    expect(lease.lost()).toMatchObject({ node: 'c', message: expect.stringMatching(/no longer yours/) });
    await lease.release();
  });
});
