/**
 * The fleet side of a rollout: waves, a failure mid-rollout and the revert, Ctrl-C between
 * waves, canary, promote, a rollback during a canary, and the lease. Against small agents kept
 * in memory (a test double of the client, below: each node runs a version, may carry a canary
 * mark, and fails where a test says), and for the lease race against the simulator (the real
 * agent HTTP code).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../test/sim/simulator.js';
import { testSpec } from '../core/spec.fixture.js';
import { specVersion } from '../core/version.js';
import type { CanaryMark, LeaseRequest, OperationResult, Plan, PlanRequest } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { JobSpec, UpdatePolicy } from '../protocol/job.js';
import type { AgentClient, DeployOptions, ProgressCallback, RequestOptions } from './agent-client.js';
import { Cluster } from './cluster.js';
import { AgentHttpError, AgentUnreachableError } from './errors.js';
import { FleetLease, type LeaseHolder } from './lease.js';
import {
  deployOperation,
  planRollout,
  promoteOperation,
  type RolloutResult,
  rollbackOperation,
  rolloutExitCode,
  stopOperation,
  versionAfter,
} from './rollout.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const v1 = testSpec({ image: 'web:1' }, { name: 'web', count: 2 });
const V1 = specVersion(v1);
const withImage = (image: string, update: Partial<UpdatePolicy> = {}): JobSpec => ({
  ...v1,
  container: v1.container.map((entry) => ({ ...entry, image })),
  update: { ...v1.update, ...update },
});
const V2 = specVersion(withImage('web:2'));
const V3 = specVersion(withImage('web:3'));

interface FakeNode {
  version: string | null;
  canary: CanaryMark | null;
  /** Operations that fail on this node. */
  fails?: ('deploy' | 'rollback')[];
  /** Every lease request fails: held by somebody else. */
  leaseHeldBy?: string;
  offline?: boolean;
  /** An agent that takes no lease with a plan (it ignores the header, says nothing about the lease). */
  oldAgent?: boolean;
}

const node = (name: string): InventoryNode => ({
  name,
  location: `${name}:1`,
  baseUrl: `http://${name}:1`,
  key: 'k',
});

/** Agents in memory: they plan and carry out deploys, rollbacks and promotes on their own state. */
function memoryFleet(nodes: Record<string, FakeNode>, concurrency = 32) {
  const log: string[] = [];
  const leases = new Map<string, string>();
  const fail = (
    name: string,
    op: 'deploy' | 'rollback',
    from: string | null,
    to: string,
  ): OperationResult => ({
    ok: false,
    action: op === 'deploy' ? 'update' : 'rollback',
    message: `image for ${to} not found`,
    versionFrom: from,
    versionTo: to,
    running: 2,
    total: 2,
    restored: true,
    error: { code: 'pull_failed', message: `image for ${to} not found on ${name}` },
  });
  const client = (n: InventoryNode): AgentClient => {
    const state = nodes[n.name]!;
    const reach = () => {
      if (state.offline) throw new AgentUnreachableError(n.name, 'connect ECONNREFUSED', 'ECONNREFUSED');
    };
    const plan = (request: PlanRequest): Plan => {
      const to =
        request.operation === 'deploy'
          ? specVersion(request.spec)
          : request.operation === 'rollback'
            ? (request.to ?? null)
            : null;
      const changes =
        request.operation === 'stop' ? state.version !== null : to !== null && to !== state.version;
      return {
        job: 'web',
        operation: request.operation,
        action: !changes
          ? 'noop'
          : request.operation === 'deploy'
            ? state.version
              ? 'update'
              : 'fresh'
            : request.operation,
        changes,
        fresh: state.version === null,
        versionFrom: state.version,
        versionTo: request.operation === 'stop' ? state.version : (to ?? state.version),
        running: 2,
        total: 2,
        desired: 2,
        strategy: changes ? 'start-first' : null,
        canRollback: true,
        rollbackTo: null,
        diff: null,
        warnings: to === state.version ? [`version ${to} is already current`] : [],
        canary: state.canary,
      };
    };
    const move = async (op: 'deploy' | 'rollback', to: string, canary: boolean): Promise<OperationResult> => {
      log.push(`start ${op} ${n.name} ${to}${canary ? ' canary' : ''}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      const from = state.version;
      if (state.fails?.includes(op)) {
        log.push(`fail ${op} ${n.name}`);
        return fail(n.name, op, from, to);
      }
      state.canary = canary
        ? { version: to, from: state.canary?.from ?? from, since: 't' }
        : state.canary?.version === to
          ? state.canary
          : null;
      state.version = to;
      log.push(`end ${op} ${n.name} ${to}`);
      return {
        ok: true,
        action: op === 'deploy' ? 'update' : 'rollback',
        message: op === 'deploy' ? 'Update successful' : 'Rollback successful',
        versionFrom: from,
        versionTo: to,
        running: 2,
        total: 2,
      };
    };
    const stopped = (): OperationResult => ({
      ok: true,
      action: 'stop',
      message: 'Job stopped successfully',
      versionFrom: state.version,
      versionTo: state.version,
      running: 0,
      total: 2,
    });
    const held = (lease: string | undefined) => {
      const holder = leases.get(n.name);
      if (holder && holder !== lease)
        throw new AgentHttpError(n.name, 409, { code: 'lease_held', message: `locked by ${holder}` });
    };
    /** A 0.4 agent gives the lease back at the end of a change that asks for it (and says so). */
    const atEnd = async (options: RequestOptions, change: () => Promise<OperationResult>) => {
      const giveBack = !state.oldAgent && options.releaseLeaseAtEnd && leases.get(n.name) === options.lease;
      if (giveBack) options.onLeaseReleaseAtEnd?.();
      try {
        return await change();
      } finally {
        if (giveBack) {
          leases.delete(n.name);
          log.push(`given back ${n.name}`);
        }
      }
    };
    return {
      node: n,
      plan: async (job: string, request: PlanRequest, options: RequestOptions = {}) => {
        reach();
        // A 0.4 agent takes the lease with the plan (or refuses, naming the holder), and renews
        // the lease a request carries.
        if (!state.oldAgent && options.lease) {
          if (options.leaseTake) {
            const holder = state.leaseHeldBy ?? leases.get(n.name);
            if (holder && holder !== options.lease) {
              throw new AgentHttpError(n.name, 409, {
                code: 'lease_held',
                message: `job ${job} is locked by ${holder}`,
              });
            }
            leases.set(n.name, options.lease);
            log.push(`lease ${n.name}`);
          }
          options.onLeaseState?.(leases.get(n.name) === options.lease ? 'held' : 'lost');
        }
        log.push(`plan ${n.name}`);
        return plan(request);
      },
      deploy: async (spec: JobSpec, _progress: ProgressCallback, options: DeployOptions = {}) => {
        reach();
        held(options.lease);
        return atEnd(options, () => move('deploy', specVersion(spec), options.canary === true));
      },
      rollback: async (
        _job: string,
        to: string | undefined,
        _progress: ProgressCallback,
        options: RequestOptions = {},
      ) => {
        reach();
        held(options.lease);
        return atEnd(options, () => move('rollback', to ?? state.canary?.from ?? 'ppppppp', false));
      },
      stop: async (
        _job: string,
        _purge: boolean,
        _progress: ProgressCallback,
        options: RequestOptions = {},
      ) => {
        reach();
        held(options.lease);
        return atEnd(options, async () => {
          log.push(`stop ${n.name}`);
          return stopped();
        });
      },
      promote: async (job: string, version: string, options: RequestOptions = {}) => {
        reach();
        held(options.lease);
        log.push(`promote ${n.name}`);
        const promoted = state.canary?.version === version;
        if (promoted) state.canary = null;
        return { job, version, promoted };
      },
      acquireLease: async (job: string, request: LeaseRequest) => {
        reach();
        log.push(`lease ${n.name}`);
        if (state.leaseHeldBy) {
          throw new AgentHttpError(n.name, 409, {
            code: 'lease_held',
            message: `job ${job} is locked by ${state.leaseHeldBy}`,
          });
        }
        leases.set(n.name, request.id);
        return { job, lease: null, held: true, ...(state.oldAgent ? {} : { takesWithPlan: true }) };
      },
      releaseLease: async (job: string) => {
        log.push(`release ${n.name}`);
        leases.delete(n.name);
        return { job, released: null, broken: false };
      },
      close: () => {},
    } as unknown as AgentClient;
  };
  const cluster = new Cluster(Object.keys(nodes).map(node), { concurrency, clientFactory: client });
  cleanups.push(() => cluster.close());
  return { cluster, log, nodes, leases };
}

const holder: LeaseHolder = { operator: 'alice', host: 'laptop', command: 'run job web.yaml', ttlMs: 30_000 };
const outcomes = (result: RolloutResult) => result.nodes.map((r) => [r.node.name, r.outcome, r.message]);
const on = (version: string | null, canary: CanaryMark | null = null): FakeNode => ({ version, canary });

async function roll(
  fleet: ReturnType<typeof memoryFleet>,
  operation = deployOperation(withImage('web:2')),
  signal?: AbortSignal,
  leaseEndsWithRollout?: boolean,
) {
  const lease = new FleetLease(fleet.cluster, 'web', holder);
  const planned = await planRollout({
    cluster: fleet.cluster,
    job: 'web',
    operation,
    lease,
    ...(signal ? { signal } : {}),
    ...(leaseEndsWithRollout === undefined ? {} : { leaseEndsWithRollout }),
  });
  try {
    return { planned, result: planned.needsConfirmation ? await planned.execute() : planned.unasked() };
  } finally {
    await lease.release();
  }
}

describe('waves', () => {
  it('max_parallel 1: a node starts only once the one before is on the new version', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
    const { result } = await roll(fleet, deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })));
    expect(fleet.log.filter((l) => /^(start|end)/.test(l))).toEqual([
      `start deploy a ${V2}`,
      `end deploy a ${V2}`,
      `start deploy b ${V2}`,
      `end deploy b ${V2}`,
      `start deploy c ${V2}`,
      `end deploy c ${V2}`,
    ]);
    expect(result.nodes.map((r) => r.wave)).toEqual([1, 2, 3]);
    expect(rolloutExitCode(result)).toBe(0);
  });

  it('stop and rollback go in waves too', async () => {
    const fleet = memoryFleet({ a: on(V2), b: on(V2), c: on(V2), d: on(V2) });
    const { planned } = await roll(fleet, stopOperation('web', false, { maxParallel: { nodes: 3 } }));
    expect(planned.schedule.waves).toEqual([['a', 'b', 'c'], ['d']]);
    const back = await roll(fleet, rollbackOperation('web', V1, { maxParallel: { nodes: 2 } }));
    expect(back.planned.schedule.waves).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(Object.values(fleet.nodes).map((n) => n.version)).toEqual([V1, V1, V1, V1]);
  });
});

describe('a node that fails', () => {
  it('stops the rollout; the nodes already moved go back; the rest are untouched; exit 1', async () => {
    const fleet = memoryFleet({ a: on(V1), b: { ...on(V1), fails: ['deploy'] }, c: on(V1), d: on(V1) });
    const { result } = await roll(fleet, deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })));
    expect(outcomes(result)).toEqual([
      ['a', 'reverted', 'reverted to ' + V1 + ' after b failed'],
      [
        'b',
        'failed',
        `image for ${V2} not found: image for ${V2} not found on b (the previous version was left running)`,
      ],
      ['c', 'untouched', 'not started: the rollout stopped after b failed'],
      ['d', 'untouched', 'not started: the rollout stopped after b failed'],
    ]);
    expect(fleet.log.filter((l) => /^(start|end|fail)/.test(l))).toEqual([
      `start deploy a ${V2}`,
      `end deploy a ${V2}`,
      `start deploy b ${V2}`,
      'fail deploy b',
      `start rollback a ${V1}`,
      `end rollback a ${V1}`,
    ]);
    expect(result.stopped).toMatchObject({ reason: 'failed', node: 'b' });
    expect(result.reverted).toEqual(['a']);
    expect(result.nodes.map(versionAfter)).toEqual([V1, V1, V1, V1]);
    expect(rolloutExitCode(result)).toBe(1);
    // The fleet ends on one version.
    expect(new Set(Object.values(fleet.nodes).map((n) => n.version))).toEqual(new Set([V1]));
  });

  it('in a wide wave: no further node of the wave is started, the ones in flight finish and go back', async () => {
    const fleet = memoryFleet(
      { a: { ...on(V1), fails: ['deploy'] }, b: on(V1), c: on(V1), d: on(V1), e: on(V1) },
      2,
    );
    const { result } = await roll(fleet, deployOperation(withImage('web:2', { maxParallel: { nodes: 5 } })));
    expect(outcomes(result).map(([n, o]) => [n, o])).toEqual([
      ['a', 'failed'],
      ['b', 'reverted'],
      ['c', 'untouched'],
      ['d', 'untouched'],
      ['e', 'untouched'],
    ]);
    expect(fleet.nodes['c']!.version).toBe(V1);
  });

  it('with auto_revert false the moved nodes stay where they are (and the summary says so)', async () => {
    const fleet = memoryFleet({ a: on(V1), b: { ...on(V1), fails: ['deploy'] }, c: on(V1) });
    const { result } = await roll(
      fleet,
      deployOperation(withImage('web:2', { maxParallel: { nodes: 1 }, autoRevert: false })),
    );
    expect(outcomes(result).map(([n, o]) => [n, o])).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'untouched'],
    ]);
    expect(fleet.log.some((l) => l.startsWith('start rollback'))).toBe(false);
    expect(rolloutExitCode(result)).toBe(1);
  });

  it('a revert that fails says so and does not stop the other reverts', async () => {
    const fleet = memoryFleet({
      a: { ...on(V1), fails: ['rollback'] },
      b: on(V1),
      c: { ...on(V1), fails: ['deploy'] },
    });
    const { result } = await roll(fleet, deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })));
    expect(outcomes(result)).toEqual([
      ['a', 'failed', expect.stringMatching(new RegExp(`^the revert to ${V1} failed: `))],
      ['b', 'reverted', `reverted to ${V1} after c failed`],
      ['c', 'failed', expect.any(String)],
    ]);
    expect(result.nodes[0]!.revert?.value?.ok).toBe(false);
    expect(versionAfter(result.nodes[0]!)).toBe(V2);
  });

  it('a rollback that fails stops there but is not undone (it is the way out of a bad version)', async () => {
    const fleet = memoryFleet({ a: on(V2), b: { ...on(V2), fails: ['rollback'] }, c: on(V2) });
    const { result } = await roll(fleet, rollbackOperation('web', V1, { maxParallel: { nodes: 1 } }));
    expect(outcomes(result).map(([n, o]) => [n, o])).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'untouched'],
    ]);
    expect(fleet.log.filter((l) => l.startsWith('start deploy'))).toEqual([]);
    expect(fleet.nodes['a']!.version).toBe(V1);
    expect(rolloutExitCode(result)).toBe(1);
  });

  it('a node that was fresh has nothing to go back to: it keeps the version, and says so', async () => {
    const fleet = memoryFleet({ a: on(null), b: { ...on(null), fails: ['deploy'] } });
    const { result } = await roll(fleet, deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })));
    expect(outcomes(result)[0]).toEqual([
      'a',
      'succeeded',
      'Update successful (kept: it ran no earlier version to go back to)',
    ]);
  });
});

describe('Ctrl-C between waves', () => {
  it('starts no further wave and says where every node stands; running again goes on from there', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
    const controller = new AbortController();
    const operation = deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } }));
    const lease = new FleetLease(fleet.cluster, 'web', holder);
    const planned = await planRollout({
      cluster: fleet.cluster,
      job: 'web',
      operation,
      lease,
      signal: controller.signal,
    });
    const result = await planned.execute({
      onNodeDone: (record) => {
        if (record.node.name === 'a') controller.abort();
      },
    });
    await lease.release();
    expect(outcomes(result)).toEqual([
      ['a', 'succeeded', 'Update successful'],
      ['b', 'skipped', 'not carried out: interrupted'],
      ['c', 'skipped', 'not carried out: interrupted'],
    ]);
    expect(result).toMatchObject({ interrupted: true, stopped: { reason: 'interrupted' }, reverted: [] });
    expect(rolloutExitCode(result)).toBe(130);
    expect(result.nodes.map(versionAfter)).toEqual([V2, V1, V1]);
    // Again: a has nothing to do; b and c move.
    const again = await roll(fleet, operation);
    expect(again.planned.schedule.waves).toEqual([['b'], ['c']]);
    expect(outcomes(again.result).map(([n, o]) => [n, o])).toEqual([
      ['a', 'unchanged'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
    ]);
  });
});

describe('canary', () => {
  const canary1 = (image: string) => withImage(image, { canary: { nodes: 1 } });

  it('moves only the first node, marked as a canary; the others are held; exit 0', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
    const { result } = await roll(fleet, deployOperation(canary1('web:2')));
    expect(outcomes(result)).toEqual([
      ['a', 'succeeded', 'Update successful'],
      ['b', 'untouched', `held back: canary of ${V2} on a`],
      ['c', 'untouched', `held back: canary of ${V2} on a`],
    ]);
    expect(fleet.log).toContain(`start deploy a ${V2} canary`);
    expect(fleet.nodes['a']!.canary).toMatchObject({ version: V2, from: V1 });
    expect(result.nodes.map((r) => r.canary)).toEqual([true, false, false]);
    expect(rolloutExitCode(result)).toBe(0);
  });

  it('the same file again does not promote: nothing changes', async () => {
    const fleet = memoryFleet({ a: on(V2, { version: V2, from: V1, since: 't' }), b: on(V1), c: on(V1) });
    for (const spec of [canary1('web:2'), withImage('web:2')]) {
      const { planned, result } = await roll(fleet, deployOperation(spec));
      expect(planned.needsConfirmation).toBe(false);
      expect(planned.schedule.held).toEqual({ nodes: ['b', 'c'], reason: 'canary-out' });
      expect(result.ended).toBe('nothing-to-change');
      expect(rolloutExitCode(result)).toBe(0);
    }
    expect(fleet.log.filter((l) => l.startsWith('start'))).toEqual([]);
  });

  it('promote rolls the rest out in waves, then clears the canary marks', async () => {
    const fleet = memoryFleet({ a: on(V2, { version: V2, from: V1, since: 't' }), b: on(V1), c: on(V1) });
    const { planned, result } = await roll(
      fleet,
      promoteOperation(withImage('web:2', { maxParallel: { nodes: 1 } })),
    );
    expect(planned.schedule.waves).toEqual([['b'], ['c']]);
    expect(outcomes(result)).toEqual([
      ['a', 'succeeded', `Canary of ${V2} promoted`],
      ['b', 'succeeded', 'Update successful'],
      ['c', 'succeeded', 'Update successful'],
    ]);
    expect(result.promoted).toEqual(['a']);
    expect(fleet.log.indexOf('promote a')).toBeGreaterThan(fleet.log.indexOf(`end deploy c ${V2}`));
    expect(Object.values(fleet.nodes).map((n) => [n.version, n.canary])).toEqual([
      [V2, null],
      [V2, null],
      [V2, null],
    ]);
  });

  it('a promote that fails takes every node back, the canaries included', async () => {
    const fleet = memoryFleet({
      a: on(V2, { version: V2, from: V1, since: 't' }),
      b: on(V1),
      c: { ...on(V1), fails: ['deploy'] },
    });
    const { result } = await roll(fleet, promoteOperation(withImage('web:2', { maxParallel: { nodes: 1 } })));
    expect(outcomes(result).map(([n, o]) => [n, o])).toEqual([
      ['a', 'reverted'],
      ['b', 'reverted'],
      ['c', 'failed'],
    ]);
    expect(fleet.log).not.toContain('promote a');
    expect(Object.values(fleet.nodes).map((n) => n.version)).toEqual([V1, V1, V1]);
  });

  it('promote refuses a file of another version than the canary, and a fleet with no canary', async () => {
    const fleet = memoryFleet({ a: on(V2, { version: V2, from: V1, since: 't' }), b: on(V1) });
    const { planned, result } = await roll(fleet, promoteOperation(withImage('web:3')));
    expect(planned.blocked?.message).toMatch(
      `the canary out on a runs ${V2}, but the job file is version ${V3}`,
    );
    expect(result.ended).toBe('blocked');
    expect(rolloutExitCode(result)).toBe(1);
    const none = memoryFleet({ a: on(V1), b: on(V1) });
    expect((await roll(none, promoteOperation(withImage('web:2')))).result.blocked).toMatch(
      /no canary of web is out/,
    );
    expect(fleet.log.concat(none.log).filter((l) => l.startsWith('start'))).toEqual([]);
  });

  it('a changed file during a canary is a new canary of the new version', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V2, { version: V2, from: V1, since: 't' }), c: on(V1) });
    const { result } = await roll(fleet, deployOperation(canary1('web:3')));
    expect(result.schedule.canary).toEqual({ version: V3, nodes: ['b'] });
    expect(fleet.nodes['b']).toMatchObject({ version: V3, canary: { version: V3, from: V1 } });
    expect([fleet.nodes['a']!.version, fleet.nodes['c']!.version]).toEqual([V1, V1]);
  });

  it('rollback during a canary takes only the canaries back, to the version they ran before', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V3, { version: V3, from: V1, since: 't' }), c: on(V1) });
    const { planned, result } = await roll(fleet, rollbackOperation('web'));
    expect(planned.schedule.waves).toEqual([['b']]);
    expect(outcomes(result)).toEqual([
      ['a', 'unchanged', `Not a canary: stays on ${V1}`],
      ['b', 'succeeded', 'Rollback successful'],
      ['c', 'unchanged', `Not a canary: stays on ${V1}`],
    ]);
    expect(fleet.log).toContain(`start rollback b ${V1}`);
    expect(Object.values(fleet.nodes).map((n) => [n.version, n.canary])).toEqual([
      [V1, null],
      [V1, null],
      [V1, null],
    ]);
  });
});

describe('the lease', () => {
  it('is taken on the first node, then with each plan, never after a plan; given back at the end', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
    await roll(fleet);
    // The gate (a) first, alone; then each other node's lease with its plan (one request).
    expect(fleet.log[0]).toBe('lease a');
    for (const name of ['a', 'b', 'c']) {
      expect(fleet.log.indexOf(`plan ${name}`)).toBeGreaterThan(fleet.log.indexOf(`lease ${name}`));
    }
    for (const name of ['b', 'c']) {
      expect(fleet.log.indexOf(`plan ${name}`)).toBe(fleet.log.indexOf(`lease ${name}`) + 1);
    }
    expect(fleet.log.filter((l) => l.startsWith('plan'))).toHaveLength(3);
    expect(fleet.log.slice(-3).sort()).toEqual(['release a', 'release b', 'release c']);
    expect(fleet.leases.size).toBe(0);
  });

  it('agents that take no lease with a plan: the lease route on every node before any plan', async () => {
    const fleet = memoryFleet({ a: { ...on(V1), oldAgent: true }, b: { ...on(V1), oldAgent: true } });
    const { result } = await roll(fleet);
    const first = fleet.log.findIndex((l) => l.startsWith('plan'));
    expect(fleet.log.slice(0, first)).toEqual(['lease a', 'lease b']);
    expect(outcomes(result)).toEqual([
      ['a', 'succeeded', 'Update successful'],
      ['b', 'succeeded', 'Update successful'],
    ]);
    expect(fleet.leases.size).toBe(0);
  });

  it('held by someone else on any node: refused before anything changes, naming the holder', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1), c: { ...on(V1), leaseHeldBy: 'bob@desk' } });
    const { planned, result } = await roll(fleet);
    expect(planned.refused).toMatchObject({ node: { name: 'c' }, message: 'job web is locked by bob@desk' });
    expect(result.ended).toBe('refused');
    expect(outcomes(result)).toEqual([
      ['a', 'untouched', 'not planned: the job is locked (see c)'],
      ['b', 'untouched', 'not planned: the job is locked (see c)'],
      ['c', 'failed', 'job web is locked by bob@desk'],
    ]);
    // Nothing carried out; c (where the lease is held) was not planned; b's plan went with the
    // lease it took (a plan changes nothing), the gate's plan was never asked.
    expect(fleet.log.filter((l) => l.startsWith('start'))).toEqual([]);
    expect(fleet.log.filter((l) => l.startsWith('plan'))).toEqual(['plan b']);
    // What was taken was given back.
    expect(fleet.leases.size).toBe(0);
    expect(rolloutExitCode(result)).toBe(1);
  });

  it('an unreachable node is left out (not planned, not carried out) and reported', async () => {
    const fleet = memoryFleet({ a: { ...on(V1), offline: true }, b: on(V1) });
    const { result } = await roll(fleet);
    expect(outcomes(result)).toEqual([
      ['a', 'offline', 'connect ECONNREFUSED'],
      ['b', 'succeeded', 'Update successful'],
    ]);
    expect(rolloutExitCode(result)).toBe(3);
  });

  describe('given back with each node’s last request when nothing follows the rollout', () => {
    const releases = (log: string[]) => log.filter((l) => /^(release|given back) /.test(l));

    it('a fresh deploy: each deploy gives its lease back at its end, the gate’s goes back last', async () => {
      const fleet = memoryFleet({ a: on(null), b: on(null), c: on(null) });
      const { result } = await roll(fleet, undefined, undefined, true);
      expect(result.nodes.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      for (const name of ['b', 'c']) {
        expect(fleet.log.indexOf(`given back ${name}`)).toBeGreaterThan(
          fleet.log.indexOf(`end deploy ${name}`),
        );
      }
      // One release request, the gate's, after every node is done.
      expect(releases(fleet.log).sort()).toEqual(['given back b', 'given back c', 'release a']);
      expect(fleet.log.at(-1)).toBe('release a');
      expect(fleet.leases.size).toBe(0);
    });

    it('an update that may be reverted keeps every lease to the end; without auto_revert it does not', async () => {
      const update = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
      await roll(update, undefined, undefined, true);
      expect(releases(update.log).sort()).toEqual(['release a', 'release b', 'release c']);
      const noRevert = memoryFleet({ a: on(V1), b: on(V1), c: on(V1) });
      await roll(noRevert, deployOperation(withImage('web:2', { autoRevert: false })), undefined, true);
      expect(releases(noRevert.log).sort()).toEqual(['given back b', 'given back c', 'release a']);
    });

    it('a failure takes back the moved nodes under the lease; the fresh ones were given back', async () => {
      const fleet = memoryFleet({
        g: on(V1),
        x: on(V1),
        y: on(null),
        z: { ...on(V1), fails: ['deploy'] },
      });
      const { result } = await roll(
        fleet,
        deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })),
        undefined,
        true,
      );
      expect(outcomes(result)).toEqual([
        ['g', 'reverted', 'reverted to ' + V1 + ' after z failed'],
        ['x', 'reverted', 'reverted to ' + V1 + ' after z failed'],
        ['y', 'succeeded', 'Update successful (kept: it ran no earlier version to go back to)'],
        [
          'z',
          'failed',
          `image for ${V2} not found: image for ${V2} not found on z (the previous version was left running)`,
        ],
      ]);
      expect(releases(fleet.log).sort()).toEqual(['given back y', 'release g', 'release x', 'release z']);
      expect(fleet.leases.size).toBe(0);
    });

    it('stop and rollback: every node’s change is its last', async () => {
      const stop = memoryFleet({ a: on(V1), b: on(V1) });
      await roll(stop, stopOperation('web', false), undefined, true);
      expect(releases(stop.log).sort()).toEqual(['given back b', 'release a']);
      const back = memoryFleet({ a: on(V2), b: on(V2) });
      await roll(back, rollbackOperation('web', V1), undefined, true);
      expect(releases(back.log).sort()).toEqual(['given back b', 'release a']);
    });

    it('not by agents that cannot (they are given it back at the end), nor under --promote-after', async () => {
      const old = memoryFleet({ a: { ...on(null), oldAgent: true }, b: { ...on(null), oldAgent: true } });
      await roll(old, undefined, undefined, true);
      expect(releases(old.log).sort()).toEqual(['release a', 'release b']);
      const kept = memoryFleet({ a: on(null), b: on(null) });
      await roll(kept, undefined, undefined, false);
      expect(releases(kept.log).sort()).toEqual(['release a', 'release b']);
      expect(kept.leases.size).toBe(0);
    });

    it('a request answered after the lease went back with its operation does not count as a lost lease', async () => {
      const fleet = memoryFleet({ a: on(null), b: on(null) });
      const lease = new FleetLease(fleet.cluster, 'web', holder);
      await lease.acquire(fleet.cluster.nodes);
      const [a, b] = fleet.cluster.nodes as [InventoryNode, InventoryNode];
      expect(lease.lastRequestFor(a).releaseLeaseAtEnd).toBeUndefined();
      const last = lease.lastRequestFor(b);
      expect(last.releaseLeaseAtEnd).toBe(true);
      last.onLeaseReleaseAtEnd!();
      // A renewal (or any request) that reached b after its operation ended hears `lost`.
      lease.requestFor(b).onLeaseState!('lost');
      expect(lease.lost()).toBeNull();
      lease.operationEnded(b);
      expect(lease.nodes.map((n) => n.name)).toEqual(['a']);
      // Elsewhere `lost` still means lost.
      lease.requestFor(a).onLeaseState!('lost');
      expect(lease.lost()).toMatchObject({ node: 'a' });
      await lease.release();
      expect(releases(fleet.log)).toEqual(['release a']);
    });
  });

  it('lost mid-rollout (broken by another operator): no further wave starts; exit 1', async () => {
    const fleet = memoryFleet({ a: on(V1), b: on(V1) });
    const lease = new FleetLease(fleet.cluster, 'web', holder);
    const planned = await planRollout({
      cluster: fleet.cluster,
      job: 'web',
      operation: deployOperation(withImage('web:2', { maxParallel: { nodes: 1 } })),
      lease,
    });
    // The renewal found the lease gone on b.
    (lease as unknown as { lostOn: Map<string, string> }).lostOn.set('b', 'released by bob@desk');
    const result = await planned.execute();
    await lease.release();
    expect(result.stopped).toMatchObject({ reason: 'lease-lost', node: 'b' });
    expect(outcomes(result)).toEqual([
      ['a', 'untouched', 'not started: the lease on b was lost (released by bob@desk)'],
      ['b', 'untouched', 'not started: the lease on b was lost (released by bob@desk)'],
    ]);
    expect(rolloutExitCode(result)).toBe(1);
  });
});

describe('two operators at once (the real agent code, in the simulator)', () => {
  let sim: Simulator;
  afterEach(async () => sim?.stop());

  it('one gets every node, the other is refused at the first one; nobody deadlocks', async () => {
    sim = await startSimulator({ nodes: 6 });
    const clusters = [0, 1].map(() => {
      const c = new Cluster(sim.inventory().nodes, { concurrency: 3 });
      cleanups.push(() => c.close());
      return c;
    });
    for (let round = 0; round < 5; round++) {
      const leases = clusters.map((c, i) => new FleetLease(c, 'web', { ...holder, operator: `op${i}` }));
      const taken = await Promise.all(leases.map((l) => l.acquire(sim.nodes)));
      const winners = taken.filter((t) => t.refused === null);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.held.map((n) => n.name)).toEqual(sim.nodes.map((n) => n.name));
      const loser = taken.find((t) => t.refused !== null)!;
      // Refused at the first node (the gate), having taken nothing.
      expect(loser.refused!.node.name).toBe(sim.nodes[0]!.name);
      expect(loser.refused!.message).toMatch(/job web is locked by op[01]@laptop \(run job web\.yaml\)/);
      expect(loser.held).toEqual([]);
      await Promise.all(leases.map((l) => l.release()));
    }
    // Everything was given back: a third operator gets it at once.
    const third = new FleetLease(clusters[0]!, 'web', holder);
    expect((await third.acquire(sim.nodes)).refused).toBeNull();
    await third.release();
  });

  it('taken with the plans: one operator plans every node, the other is refused at the first, nothing changed', async () => {
    sim = await startSimulator({ nodes: 6 });
    const clusters = [0, 1].map(() => {
      const c = new Cluster(sim.inventory().nodes, { concurrency: 3 });
      cleanups.push(() => c.close());
      return c;
    });
    for (let round = 0; round < 3; round++) {
      const leases = clusters.map((c, i) => new FleetLease(c, 'web', { ...holder, operator: `op${i}` }));
      const planned = await Promise.all(
        clusters.map((cluster, i) =>
          planRollout({
            cluster,
            job: 'web',
            operation: deployOperation(withImage('web:2')),
            lease: leases[i]!,
          }),
        ),
      );
      const winners = planned.filter((p) => p.refused === null);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.nodes.map((r) => [r.node.name, r.plan.status])).toEqual(
        sim.nodes.map((n) => [n.name, 'online']),
      );
      expect(winners[0]!.acquisition!.held).toHaveLength(6);
      const loser = planned.find((p) => p.refused !== null)!;
      expect(loser.refused!.node.name).toBe(sim.nodes[0]!.name);
      expect(loser.nodes.every((r) => r.plan.status === 'skipped')).toBe(true);
      // The winner's lease is on every node, under its id.
      const winner = leases[planned.indexOf(winners[0]!)]!;
      for (const n of sim.nodes) {
        expect(await clusters[0]!.client(n).lease('web', { lease: winner.id })).toMatchObject({ held: true });
      }
      await Promise.all(leases.map((l) => l.release()));
    }
  });
});
