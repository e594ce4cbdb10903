/**
 * `--promote-after`: the watch over the canaries, with their status answered from memory, their
 * live events pushed by the test, and a clock the test moves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerInfo, JobStatus } from '../protocol/api.js';
import type { FeedEvent } from '../protocol/feeds.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient } from './agent-client.js';
import { watchCanaries } from './canary-watch.js';
import { Cluster } from './cluster.js';

const clusters: Cluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.close();
});

const node = (name: string): InventoryNode => ({
  name,
  location: `${name}:1`,
  baseUrl: `http://${name}:1`,
  key: 'k',
});

function container(id: string, overrides: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id,
    name: `web-${id}`,
    job: 'web',
    version: 'bbbbbbb',
    image: 'web:2',
    imageId: 'sha256:2',
    state: 'running',
    status: 'Up 1 minute',
    health: 'none',
    ports: [],
    createdAt: 1,
    ...overrides,
  };
}

function status(containers: ContainerInfo[]): JobStatus {
  return {
    name: 'web',
    version: 'bbbbbbb',
    image: 'web:2',
    desired: containers.length,
    running: containers.length,
    total: containers.length,
    containers,
    canary: { version: 'bbbbbbb', from: 'aaaaaaa', since: 't' },
  };
}

/** Canary nodes whose status the test sets; a clock that moves only when the watch sleeps. */
function setup(statuses: Record<string, () => JobStatus>) {
  const listeners = new Map<string, (event: FeedEvent) => void>();
  const cluster = new Cluster(Object.keys(statuses).map(node), {
    clientFactory: (n) =>
      ({ status: async () => statuses[n.name]!(), close: () => {} }) as unknown as AgentClient,
  });
  clusters.push(cluster);
  let now = 0;
  const slept: number[] = [];
  const polls = { count: 0 };
  return {
    cluster,
    listeners,
    slept,
    polls,
    options: {
      cluster,
      job: 'web',
      version: 'bbbbbbb',
      nodes: Object.keys(statuses).map(node),
      durationMs: 10_000,
      pollMs: 2_000,
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms);
        now += ms;
      },
      events: (n: InventoryNode, onEvent: (event: FeedEvent) => void) => {
        listeners.set(n.name, onEvent);
        return () => listeners.delete(n.name);
      },
      onTick: () => {
        polls.count++;
      },
    },
  };
}

describe('watching a canary', () => {
  it('healthy all the while: promoted once the time is up, after polling every node every 2 s', async () => {
    const { options, slept, polls, listeners } = setup({
      a: () => status([container('c1')]),
      b: () => status([container('c2')]),
    });
    expect(await watchCanaries(options)).toEqual({ kind: 'healthy' });
    expect(slept).toEqual([2000, 2000, 2000, 2000, 2000]);
    expect(polls.count).toBe(6);
    // The event subscriptions are gone.
    expect(listeners.size).toBe(0);
  });

  it('a container that died between two polls is seen on the events, and named', async () => {
    const { options, listeners } = setup({ a: () => status([container('c1')]) });
    const sleep = options.sleep;
    let slept = 0;
    const verdict = await watchCanaries({
      ...options,
      sleep: async (ms) => {
        if (++slept === 2) {
          listeners.get('a')!({
            type: 'container',
            action: 'die',
            containerId: 'c1c1c1c1c1c1c1',
            containerName: 'web-c1',
            job: 'web',
            version: 'bbbbbbb',
            image: 'web:2',
            exitCode: 3,
            at: 1,
          });
        }
        await sleep(ms);
      },
    });
    expect(verdict).toEqual({ kind: 'unhealthy', node: 'a', reason: 'container c1c1c1c1c1c1 died (exit 3)' });
  });

  it('a container replaced (restarted by hand, or by another rollout) is not the canary that was watched', async () => {
    let calls = 0;
    const { options } = setup({ a: () => status([container(++calls > 2 ? 'c9' : 'c1')]) });
    expect(await watchCanaries(options)).toEqual({
      kind: 'unhealthy',
      node: 'a',
      reason: 'container c9 replaced one that was running',
    });
  });

  it('a node that stops answering is not healthy', async () => {
    let calls = 0;
    const { options } = setup({
      a: () => {
        if (++calls > 1) throw new Error('socket hang up');
        return status([container('c1')]);
      },
    });
    expect(await watchCanaries(options)).toMatchObject({
      kind: 'unhealthy',
      node: 'a',
      reason: /did not answer: socket hang up/,
    });
  });

  it('Ctrl-C stops the watch', async () => {
    const controller = new AbortController();
    const { options } = setup({ a: () => status([container('c1')]) });
    const verdict = await watchCanaries({
      ...options,
      signal: controller.signal,
      sleep: async () => controller.abort(),
    });
    expect(verdict).toEqual({ kind: 'interrupted' });
  });
});
