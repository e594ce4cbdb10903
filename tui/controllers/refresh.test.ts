/**
 * The refresh controller between scripted agents (behind a real `Cluster`) and the real store:
 * it reports what the requests answered; the store decides what that means for the node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentInfo, container, jobStatus } from '../../test/sim/agent-values.js';
import { flashText } from '../store/overlays.js';
import { type AgentScript, inventoryNode, scriptedCluster, storeFor, until } from './controllers.fixture.js';
import { RefreshController } from './refresh.js';

const T = 1_700_000_100_000;
const nodes = [inventoryNode('lab1', 9001), inventoryNode('lab2', 9002)];
const controllers: RefreshController[] = [];

afterEach(() => {
  for (const c of controllers.splice(0)) c.stop();
});

function setup(scripts: Record<string, AgentScript>) {
  const { store, effects } = storeFor(nodes, T);
  const { cluster, calls } = scriptedCluster(nodes, scripts);
  let elapsed = 0;
  const refresh = new RefreshController(store, cluster, nodes, {
    debounceMs: 5,
    now: () => T + 1000,
    // Each reading of the stopwatch is 4 ms later: the info request takes 4 ms.
    elapsed: () => (elapsed += 4),
  });
  controllers.push(refresh);
  return { store, effects, refresh, calls };
}

describe('RefreshController', () => {
  it('reports info, round trip, jobs and the other containers; the node is online', async () => {
    const mine = container('', 9, { name: 'my-db', version: null });
    const { store, refresh } = setup({
      lab1: { jobs: [jobStatus('web', [container('web', 1)])], containers: [container('web', 1), mine] },
    });
    await refresh.refresh('lab1');
    expect(store.state.nodes.lab1).toMatchObject({
      conn: 'online',
      latencyMs: 4,
      jobsAt: T + 1000,
      info: { hostname: 'lab1' },
    });
    expect(Object.keys(store.state.nodes.lab1!.jobs)).toEqual(['web']);
    // Only what dokkup does not manage goes to `others`.
    expect(store.state.nodes.lab1!.others.map((c) => c.name)).toEqual(['my-db']);
  });

  it('keeps the known other containers when the agent is too old to list them', async () => {
    const mine = container('', 9, { name: 'my-db', version: null });
    const scripts: Record<string, AgentScript> = { lab1: { containers: [mine] } };
    const { store, refresh } = setup(scripts);
    await refresh.refresh('lab1');
    scripts.lab1 = {
      containers: () => {
        throw new Error('404 not found');
      },
    };
    await refresh.refresh('lab1');
    expect(store.state.nodes.lab1!.others.map((c) => c.name)).toEqual(['my-db']);
  });

  it('an unreachable node is offline unless its feed is open; a refused key is unauthorized', async () => {
    const { store, refresh } = setup({ lab1: { reach: 'offline' }, lab2: { reach: 'unauthorized' } });
    await refresh.refresh('lab1');
    await refresh.refresh('lab2');
    expect(store.state.nodes.lab1).toMatchObject({
      conn: 'offline',
      error: 'lab1: connect ECONNREFUSED',
    });
    expect(store.state.nodes.lab2).toMatchObject({ conn: 'unauthorized', error: 'lab2: wrong key' });
    // The same failure while lab1's feed is open changes nothing: the store knows the feed.
    store.dispatch({ type: 'feedState', node: 'lab1', state: 'open', error: null, at: T });
    await refresh.refresh('lab1');
    expect(store.state.nodes.lab1!.conn).toBe('online');
  });

  it('a node that answers but fails (Docker down) shows its problem, flashed', async () => {
    const { store, refresh } = setup({
      lab1: {
        info: () => Promise.reject(new Error('Docker engine unreachable')),
      },
    });
    await refresh.refresh('lab1');
    expect(store.state.nodes.lab1).toMatchObject({
      conn: 'connecting',
      problem: 'Docker engine unreachable',
    });
    expect(flashText(store.state)!.text).toBe('lab1: Docker engine unreachable');
  });

  it('folds a burst of refresh requests into one, and runs once more for a request made meanwhile', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { refresh, calls } = setup({
      lab1: {
        info: async () => {
          await gate;
          return agentInfo();
        },
      },
    });
    for (let i = 0; i < 10; i++) refresh.soon('lab1');
    await until(() => calls.length > 0, 'the first request');
    // A request while one is in flight is not sent at once…
    void refresh.refresh('lab1');
    expect(calls.filter((c) => c.method === 'info')).toHaveLength(1);
    release();
    // …but once it is done.
    await until(() => calls.filter((c) => c.method === 'info').length === 2, 'the second request');
    await until(() => calls.filter((c) => c.method === 'listJobs').length === 2, 'the second job list');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.filter((c) => c.method === 'info')).toHaveLength(2);
  });

  it('refreshes every node on refreshAll, and nothing after stop', async () => {
    const { store, refresh, calls } = setup({ lab1: {}, lab2: {} });
    refresh.refreshAll();
    await until(() => store.state.nodes.lab2!.conn === 'online' && store.state.nodes.lab1!.conn === 'online');
    refresh.stop();
    const before = calls.length;
    refresh.refreshAll();
    refresh.soon('lab1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.length).toBe(before);
  });
});
