/**
 * The rollout flow: against the simulator (the real agent HTTP code and job engine over a fake
 * container runtime) for the whole path, and against agents answering from memory (a test double
 * of the client, below) where a test needs to hold a node mid-operation or make it fail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { updateResult } from '../../test/sim/agent-values.js';
import { type Simulator, startSimulator } from '../../test/sim/simulator.js';
import { testSpec } from '../core/spec.fixture.js';
import type { OperationResult, Plan, ProgressLine } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient } from './agent-client.js';
import { Cluster } from './cluster.js';
import { AgentUnreachableError } from './errors.js';
import {
  type ConfirmAnswer,
  deployOperation,
  type PlannedRollout,
  planRollout,
  type RolloutNode,
  rollbackOperation,
  runRollout,
  stopOperation,
} from './rollout.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function cluster(...args: ConstructorParameters<typeof Cluster>): Cluster {
  const c = new Cluster(...args);
  cleanups.push(() => c.close());
  return c;
}

const spec = testSpec(
  { image: 'sim/web:1' },
  { name: 'web', count: 2, update: { healthyDeadlineMs: 10_000, minHealthyMs: 0 } },
);

describe('a rollout against the simulator', () => {
  it('plans everywhere, asks once, carries out only the nodes that change, and says what happened', async () => {
    const sim: Simulator = await startSimulator({ nodes: 4, offline: [2], wrongKey: [3] });
    cleanups.push(() => sim.stop());
    const c = cluster(sim.inventory().nodes);
    // n1 already runs the version: it has nothing to change.
    await c.run((client) => client.deploy(spec, () => {}), {}, [sim.nodes[1]!]);

    const asked: string[][] = [];
    const progress = new Map<string, string[]>();
    const done: string[] = [];
    const result = await runRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
      confirm: async (planned) => {
        asked.push(planned.changing.map((r) => r.node.name));
        return 'yes';
      },
      onProgress: (node, line) => progress.set(node.name, [...(progress.get(node.name) ?? []), line.message]),
      onNodeDone: (record) => done.push(record.node.name),
    });

    const [n0, n1, n2, n3] = sim.nodes.map((n) => n.name);
    expect(asked).toEqual([[n0]]);
    expect(done).toEqual([n0]);
    expect(progress.get(n0!)).toContain('Starting container (2/2)');
    expect(result).toMatchObject({ ended: 'executed', confirmed: true, interrupted: false });
    expect(
      result.nodes.map((r) => [r.node.name, r.plan.status, r.run?.status ?? null, r.outcome, r.message]),
    ).toEqual([
      [n0, 'online', 'online', 'succeeded', 'Deployment successful'],
      [n1, 'online', null, 'unchanged', 'Already up to date'],
      [n2, 'offline', null, 'offline', expect.stringContaining('refused')],
      [n3, 'unauthorized', null, 'unauthorized', expect.any(String)],
    ]);
    expect(sim.nodes[0]!.runtime!.counts()).toEqual({ running: 2, total: 2 });

    // Again: nothing changes anywhere, so nobody is asked.
    const again = await runRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
      confirm: async () => {
        throw new Error('asked although nothing changes');
      },
    });
    expect(again.ended).toBe('nothing-to-change');
    expect(again.confirmed).toBe(false);
    expect(again.nodes.slice(0, 2).map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);
  });
});

// ---------------------------------------------------------------------------------------------
// Agents answering from memory

const node = (name: string): InventoryNode => ({
  name,
  location: `${name}:8080`,
  baseUrl: `http://${name}:8080`,
  key: 'k',
});

function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    job: 'web',
    operation: 'deploy',
    action: 'update',
    changes: true,
    fresh: false,
    versionFrom: 'aaaaaaa',
    versionTo: 'bbbbbbb',
    running: 2,
    total: 2,
    desired: 2,
    strategy: 'start-first',
    canRollback: true,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...overrides,
  };
}

const success: OperationResult = updateResult();

interface Behaviour {
  plan?: () => Promise<Plan>;
  operate?: (onProgress: (line: ProgressLine) => void) => Promise<OperationResult>;
}

/** A cluster of nodes that answer as told; `calls` records which node was asked what. */
function memoryCluster(behaviours: Record<string, Behaviour>, concurrency = 32) {
  const calls: string[] = [];
  const names = Object.keys(behaviours);
  const operate = (name: string) => (onProgress: (line: ProgressLine) => void) => {
    calls.push(`operate ${name}`);
    return (behaviours[name]!.operate ?? (async () => success))(onProgress);
  };
  const c = cluster(names.map(node), {
    concurrency,
    clientFactory: (n) =>
      ({
        plan: () => {
          calls.push(`plan ${n.name}`);
          return (behaviours[n.name]!.plan ?? (async () => plan()))();
        },
        deploy: (_spec: unknown, onProgress: (line: ProgressLine) => void) => operate(n.name)(onProgress),
        rollback: (_job: string, _to: string | undefined, onProgress: (line: ProgressLine) => void) =>
          operate(n.name)(onProgress),
        stop: (_job: string, _purge: boolean, onProgress: (line: ProgressLine) => void) =>
          operate(n.name)(onProgress),
        close: () => {},
      }) as unknown as AgentClient,
  });
  return { cluster: c, calls };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const summary = (nodes: readonly RolloutNode[]) => nodes.map((r) => [r.node.name, r.outcome, r.message]);

describe('a rollout', () => {
  it('declined: nothing is carried out, the changing nodes say so, the others keep their outcome', async () => {
    const { cluster: c, calls } = memoryCluster({
      a: {},
      b: { plan: async () => plan({ changes: false, action: 'noop' }) },
      c: {
        plan: async () => {
          throw new AgentUnreachableError('c', 'connect ECONNREFUSED', 'ECONNREFUSED');
        },
      },
    });
    const result = await runRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
      confirm: async () => 'no',
    });
    expect(result).toMatchObject({ ended: 'declined', confirmed: false, interrupted: false });
    expect(summary(result.nodes)).toEqual([
      ['a', 'declined', 'declined; nothing was changed'],
      ['b', 'unchanged', 'Already up to date'],
      ['c', 'offline', 'connect ECONNREFUSED'],
    ]);
    expect(calls.filter((call) => call.startsWith('operate'))).toEqual([]);
  });

  it('Ctrl-C at the question: nothing is carried out and the rollout is interrupted', async () => {
    const { cluster: c, calls } = memoryCluster({ a: {}, b: {} });
    const result = await runRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
      confirm: async (): Promise<ConfirmAnswer> => 'interrupted',
    });
    expect(result).toMatchObject({ ended: 'confirm-interrupted', interrupted: true, confirmed: false });
    expect(summary(result.nodes)).toEqual([
      ['a', 'skipped', 'not carried out: interrupted'],
      ['b', 'skipped', 'not carried out: interrupted'],
    ]);
    expect(calls.filter((call) => call.startsWith('operate'))).toEqual([]);
  });

  it('Ctrl-C while carrying out: no further node starts, the one in flight finishes', async () => {
    const holding = deferred();
    const started = deferred();
    const { cluster: c, calls } = memoryCluster(
      {
        a: {
          operate: async (onProgress) => {
            onProgress({ type: 'progress', phase: 'start', message: 'Starting container (1/2)' });
            started.resolve();
            await holding.promise;
            return success;
          },
        },
        b: {},
        c: {},
      },
      1,
    );
    const controller = new AbortController();
    const planned = await planRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
      signal: controller.signal,
    });
    const lines: string[] = [];
    const running = planned.execute({ onProgress: (n, line) => lines.push(`${n.name}: ${line.message}`) });
    await started.promise;
    controller.abort();
    holding.resolve();
    const result = await running;
    expect(result).toMatchObject({ ended: 'executed', confirmed: true, interrupted: true });
    expect(summary(result.nodes)).toEqual([
      ['a', 'succeeded', 'Update successful'],
      ['b', 'skipped', 'not carried out: interrupted'],
      ['c', 'skipped', 'not carried out: interrupted'],
    ]);
    expect(result.nodes[1]!.run?.status).toBe('skipped');
    expect(lines).toEqual(['a: Starting container (1/2)']);
    expect(calls.filter((call) => call.startsWith('operate'))).toEqual(['operate a']);
  });

  it('a failed operation says what it left on the node, as the kernel words it', async () => {
    const { cluster: c } = memoryCluster({
      a: {
        plan: async () => plan({ action: 'fresh', fresh: true, versionFrom: null }),
        operate: async () => ({
          ...success,
          ok: false,
          action: 'fresh',
          message: 'new container 0123456789ab exited with code 3',
          restored: true,
        }),
      },
      b: {
        operate: async () => {
          throw new AgentUnreachableError('b', 'connection lost while reading the answer', 'ECONNRESET');
        },
      },
    });
    // One wave, so that both nodes are under way when the first one fails.
    const oneWave = { ...spec, update: { ...spec.update, maxParallel: { percent: 100 } } };
    const planned = await planRollout({ cluster: c, job: 'web', operation: deployOperation(oneWave) });
    const result = await planned.execute();
    expect(summary(result.nodes)).toEqual([
      ['a', 'failed', 'new container 0123456789ab exited with code 3 (the new containers were removed)'],
      ['b', 'offline', 'connection lost while reading the answer'],
    ]);
  });

  it('carries out waves one after the other, as update.max_parallel cuts them', async () => {
    const order: string[] = [];
    const behaviours: Record<string, Behaviour> = {};
    for (const name of ['a', 'b', 'c', 'd']) {
      behaviours[name] = {
        operate: async () => {
          order.push(`start ${name}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push(`end ${name}`);
          return success;
        },
      };
    }
    behaviours['b']!.plan = async () => plan({ changes: false, action: 'noop' });
    const { cluster: c } = memoryCluster(behaviours);
    const twoAtOnce = { ...spec, update: { ...spec.update, maxParallel: { nodes: 2 } } };
    const planned = await planRollout({ cluster: c, job: 'web', operation: deployOperation(twoAtOnce) });
    // b changes nothing: the changing nodes a, c, d in waves of two, in target order.
    expect(planned.schedule.waves).toEqual([['a', 'c'], ['d']]);
    await planned.execute();
    expect(order.slice(0, 4).sort()).toEqual(['end a', 'end c', 'start a', 'start c']);
    expect(order.slice(4)).toEqual(['start d', 'end d']);
  });

  it('by default, a quarter of the target nodes per wave (at least one); no wave when nothing changes', async () => {
    const eight = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => [n, {}]));
    const { cluster: c } = memoryCluster(eight);
    const planned = await planRollout({ cluster: c, job: 'web', operation: deployOperation(spec) });
    expect(planned.schedule.waves).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
      ['g', 'h'],
    ]);
    expect(planned.nodes.map((r: RolloutNode) => r.wave)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    const { cluster: none } = memoryCluster({
      a: { plan: async () => plan({ changes: false, action: 'noop' }) },
    });
    const nothing = await planRollout({ cluster: none, job: 'web', operation: deployOperation(spec) });
    expect(nothing.schedule.waves).toEqual([]);
    expect(nothing.needsConfirmation).toBe(false);
  });

  it('cannot be answered twice', async () => {
    const { cluster: c } = memoryCluster({ a: {} });
    const planned: PlannedRollout = await planRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec),
    });
    planned.decline();
    await expect(planned.execute()).rejects.toThrow(/already answered/);
  });
});

describe('registry credentials', () => {
  const emptyDiff = {
    environment: { added: [], removed: [], changed: [] },
    labels: { added: [], removed: [], changed: [] },
    other: [],
    imageIdChanged: false,
  };

  /** Nodes whose plans are given; every request's options are recorded. */
  function recordingCluster(plans: Record<string, Plan>) {
    const sent: { node: string; op: string; request?: unknown; options?: unknown }[] = [];
    const c = cluster(Object.keys(plans).map(node), {
      clientFactory: (n) =>
        ({
          plan: async (_job: string, request: unknown) => {
            sent.push({ node: n.name, op: 'plan', request });
            return plans[n.name]!;
          },
          deploy: async (_spec: unknown, _p: unknown, options?: unknown) => {
            sent.push({ node: n.name, op: 'deploy', options });
            return success;
          },
          rollback: async (_job: string, _to: unknown, _p: unknown, options?: unknown) => {
            sent.push({ node: n.name, op: 'rollback', options });
            return { ...success, action: 'rollback' as const };
          },
          close: () => {},
        }) as unknown as AgentClient,
    });
    return { cluster: c, sent };
  }

  it('a deploy sends the credentials with the plan and the deploy of every node', async () => {
    const { cluster: c, sent } = recordingCluster({ a: plan(), b: plan() });
    const registryAuth = [{ server: 'ghcr.io', username: 'u', password: 'p' }];
    await runRollout({
      cluster: c,
      job: 'web',
      operation: deployOperation(spec, registryAuth),
      confirm: async () => 'yes',
    });
    expect(sent.filter((s) => s.op === 'plan').map((s) => s.request)).toEqual([
      { operation: 'deploy', spec, registryAuth },
      { operation: 'deploy', spec, registryAuth },
    ]);
    expect(sent.filter((s) => s.op === 'deploy').map((s) => s.options)).toEqual([
      { registryAuth },
      { registryAuth },
    ]);
    // Without credentials, nothing extra is sent (an older agent would refuse the field).
    const plain = recordingCluster({ a: plan() });
    await runRollout({
      cluster: plain.cluster,
      job: 'web',
      operation: deployOperation(spec),
      confirm: async () => 'yes',
    });
    expect(plain.sent.map((s) => [s.op, s.request ?? s.options])).toEqual([
      ['plan', { operation: 'deploy', spec }],
      ['deploy', undefined],
    ]);
  });

  it('a rollback asks for the credentials of the image each node goes back to (and the job file’s), at run time', async () => {
    const { cluster: c, sent } = recordingCluster({
      a: plan({
        operation: 'rollback',
        action: 'rollback',
        diff: { ...emptyDiff, image: { from: 'ghcr.io/x:2', to: 'quay.io/x:1' } },
      }),
      b: plan({ operation: 'rollback', action: 'rollback', diff: emptyDiff }),
    });
    const asked: string[][] = [];
    const source = {
      forImages: async (images: readonly string[]) => {
        asked.push([...images]);
        return images.includes('quay.io/x:1') ? [{ server: 'quay.io', username: 'q', password: 'qp' }] : [];
      },
    };
    await runRollout({
      cluster: c,
      job: 'web',
      operation: rollbackOperation('web', undefined, {}, { source, images: ['ghcr.io/x:2'] }),
      confirm: async () => 'yes',
    });
    expect(asked.sort()).toEqual([['ghcr.io/x:2'], ['ghcr.io/x:2', 'quay.io/x:1']]);
    expect(sent.filter((s) => s.op === 'rollback')).toEqual([
      {
        node: 'a',
        op: 'rollback',
        options: { registryAuth: [{ server: 'quay.io', username: 'q', password: 'qp' }] },
      },
      { node: 'b', op: 'rollback', options: undefined },
    ]);
  });
});

describe('the operations', () => {
  it('rollback --to a version a node does not have is a failure there, not "nothing to do"', () => {
    const unchanged = plan({ changes: false, action: 'noop', versionFrom: 'aaaaaaa', warnings: [] });
    expect(rollbackOperation('web', 'ccccccc').unchanged(unchanged, node('a'))).toEqual({
      outcome: 'failed',
      message: "version ccccccc is not in this node's history",
    });
    expect(
      rollbackOperation('web').unchanged({ ...unchanged, warnings: ['no earlier version'] }, node('a')),
    ).toEqual({
      outcome: 'unchanged',
      message: 'no earlier version',
    });
    expect(rollbackOperation('web').unchanged(unchanged, node('a')).message).toBe('Nothing to roll back');
  });

  it('say what "nothing to change" means for each', () => {
    const unchanged = plan({ changes: false });
    expect(deployOperation(spec).unchanged(unchanged, node('a')).message).toBe('Already up to date');
    expect(stopOperation('web', false).unchanged(unchanged, node('a')).message).toBe('Already stopped');
    expect(stopOperation('web', true).unchanged(unchanged, node('a')).message).toBe('Nothing to purge');
    expect(stopOperation('web', true).planRequest).toEqual({ operation: 'stop', purge: true });
  });
});
