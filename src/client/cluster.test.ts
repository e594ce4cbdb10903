/**
 * Fan-out: against the simulator (the real agent HTTP code and job engine over a fake container
 * runtime, one loopback listener per node) and small fake servers where a test needs to count
 * or stall requests.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../test/sim/simulator.js';
import { PACE_FLOOR, PACE_START } from '../core/fan-out-pace.js';
import type { JobSpec } from '../protocol/job.js';
import { Cluster, DEFAULT_CONCURRENCY, type NodeResult } from './cluster.js';
import { AgentUnauthorizedError, AgentUnreachableError } from './errors.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const sim = await startSimulator(options);
  cleanups.push(() => sim.stop());
  return sim;
}

function cluster(...args: ConstructorParameters<typeof Cluster>): Cluster {
  const c = new Cluster(...args);
  cleanups.push(() => c.close());
  return c;
}

/** Nodes no task here connects to (the tests' tasks ignore the client). */
const taskOnlyNodes = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    name: `n${i}`,
    location: '127.0.0.1:1',
    baseUrl: 'http://127.0.0.1:1',
    key: 'k',
  }));

const spec = (image: string, count = 2): JobSpec => ({
  name: 'web',
  count,
  target: { kind: 'group', group: 'all' },
  update: { healthyDeadlineMs: 10_000, minHealthyMs: 0 },
  container: [
    {
      image,
      command: null,
      entrypoint: null,
      ports: [{ in: 8000, protocol: 'tcp', out: null }],
      restart: 'always',
      labels: {},
      environment: { MODE: 'test' },
      volumes: [],
      networks: ['bridge'],
      healthcheck: null,
      resources: { nanoCpus: null, memoryBytes: null },
      pull: 'missing',
    },
  ],
});

describe('Cluster against the simulator', () => {
  it('plans and deploys on every node, streaming progress, one result per node in order', async () => {
    const sim = await simulator({ nodes: 5 });
    const c = cluster(sim.inventory().nodes, { concurrency: 2 });
    const plans = await c.run((client) => client.plan('web', { operation: 'deploy', spec: spec('web:1') }));
    expect(plans.results.map((r) => [r.node.name, r.status, r.value?.action])).toEqual(
      sim.nodes.map((n) => [n.name, 'online', 'fresh']),
    );
    const progress = new Map<string, string[]>();
    const deployed = await c.run((client, node) =>
      client.deploy(spec('web:1'), (line) =>
        progress.set(node.name, [...(progress.get(node.name) ?? []), line.message]),
      ),
    );
    for (const result of deployed.results) {
      expect(result.status).toBe('online');
      expect(result.value).toMatchObject({
        ok: true,
        action: 'fresh',
        message: 'Deployment successful',
        running: 2,
      });
      expect(progress.get(result.node.name)).toContain('Starting container (2/2)');
    }
    for (const node of sim.nodes) expect(node.runtime!.counts()).toEqual({ running: 2, total: 2 });
    expect(deployed.interrupted).toBe(false);
  });

  it('classifies OFFLINE, UNAUTHORIZED and timed-out nodes without stopping the others', async () => {
    const sim = await simulator({ nodes: 6, offline: [1], wrongKey: [3], hanging: [4] });
    const c = cluster(sim.inventory().nodes, { concurrency: 3, client: { requestTimeoutMs: 500 } });
    const run = await c.run((client) => client.info());
    expect(run.results.map((r) => r.status)).toEqual([
      'online',
      'offline',
      'online',
      'unauthorized',
      'offline',
      'online',
    ]);
    expect(run.results[1]!.error).toBeInstanceOf(AgentUnreachableError);
    expect((run.results[1]!.error as AgentUnreachableError).reason).toBe('ECONNREFUSED');
    expect(run.results[3]!.error).toBeInstanceOf(AgentUnauthorizedError);
    expect((run.results[4]!.error as AgentUnreachableError).reason).toBe('REQUEST_TIMEOUT');
  });

  it('a hanging node does not hold up the others: they all settle before it times out', async () => {
    const sim = await simulator({ nodes: 8, hanging: [0] });
    const c = cluster(sim.inventory().nodes, { concurrency: 2, client: { requestTimeoutMs: 1_500 } });
    const settled: string[] = [];
    const run = await c.run((client) => client.info(), { onSettled: (r) => settled.push(r.node.name) });
    // n1 hangs and was dispatched first, yet every other node went through the second slot.
    expect(settled.at(-1)).toBe(sim.nodes[0]!.name);
    expect(settled.slice(0, -1).sort()).toEqual(sim.nodes.slice(1).map((n) => n.name));
    expect(run.results[0]!.status).toBe('offline');
    expect(run.results.slice(1).every((r) => r.status === 'online')).toBe(true);
  });

  it('aborting stops dispatching; nodes in flight finish; the rest are skipped', async () => {
    const sim = await simulator({ nodes: 10 });
    const c = cluster(sim.inventory().nodes, { concurrency: 2 });
    const controller = new AbortController();
    let dispatched = 0;
    const run = await c.run(
      async (client) => {
        dispatched++;
        if (dispatched === 3) controller.abort();
        return client.info();
      },
      { signal: controller.signal },
    );
    expect(run.interrupted).toBe(true);
    const statuses = run.results.map((r) => r.status);
    // The two in flight when the signal fired (and the one that fired it) finished normally.
    expect(statuses.filter((s) => s === 'online').length).toBe(3);
    expect(statuses.filter((s) => s === 'skipped').length).toBe(7);
    expect(statuses.slice(3).every((s) => s === 'skipped')).toBe(true);
  });
});

describe('Cluster concurrency and connections', () => {
  async function countingServer(delayMs: number, nodeCount = 40) {
    let inFlight = 0;
    let peak = 0;
    let connections = 0;
    const server: Server = createServer((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            agentVersion: '1',
            dockerVersion: '1',
            dockerApiVersion: '1',
            hostname: 'h',
            os: 'linux',
            arch: 'x64',
            jobs: 0,
            containers: { running: 0, total: 0 },
          }),
        );
      }, delayMs);
    });
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as AddressInfo;
    const nodes = Array.from({ length: nodeCount }, (_, i) => ({
      name: `n${i}`,
      location: `127.0.0.1:${port}`,
      baseUrl: `http://127.0.0.1:${port}`,
      key: 'k',
    }));
    return { nodes, peak: () => peak, connections: () => connections };
  }

  it('never has more than `concurrency` nodes in flight, and does use that many', async () => {
    const server = await countingServer(30);
    const run = await cluster(server.nodes, { concurrency: 5 }).run((client) => client.info());
    expect(run.results.every((r: NodeResult<unknown>) => r.status === 'online')).toBe(true);
    expect(server.peak()).toBe(5);
  });

  it('starts at 64 at once and goes up to 512 while the nodes are slow to answer', async () => {
    // Each answer waits 3 s: the event loop waits, so the pace goes up every 250 ms, and all 512
    // are in flight at once before the first answers come, even on a loaded machine.
    const server = await countingServer(3000, 520);
    const c = cluster(server.nodes);
    expect(c.concurrency).toBe(DEFAULT_CONCURRENCY);
    expect(DEFAULT_CONCURRENCY).toBe(512);
    const running = c.run((client) => client.info());
    await sleep(100);
    expect(server.peak()).toBe(PACE_START);
    await running;
    expect(server.peak()).toBe(512);
  });

  it('goes down to 32 at once while this process is busy, and `fixed` stays where it is', async () => {
    // Every node costs 2 ms of this process's CPU and waits 20 ms: a busy event loop. The pace
    // is down from 64 to 32 within six samples (1.5 s, later while the busy loop delays its
    // timer): the last quarter of 2,000 nodes starts well after.
    let inFlight = 0;
    let lateHigh = 0;
    let started = 0;
    let late = 1_500;
    const task = async () => {
      inFlight++;
      started++;
      if (started > late) lateHigh = Math.max(lateHigh, inFlight);
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // spinning: CPU work, as TLS handshakes are
      }
      await sleep(20);
      inFlight--;
    };
    const nodes = taskOnlyNodes(2_000);
    await cluster(nodes).run(task);
    expect(lateHigh).toBeGreaterThan(0);
    expect(lateHigh).toBeLessThanOrEqual(PACE_FLOOR);

    lateHigh = 0;
    started = 0;
    late = 300;
    await cluster(nodes.slice(0, 600), { concurrency: 100, pace: 'fixed' }).run(task);
    expect(lateHigh).toBe(100);
  });

  it('runs at once (a lease renewal during a wave) share one limit, and a higher priority goes first', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanups.push(() => void vi.useRealTimers());
    const inFlight = { wave: 0, renewal: 0 };
    const started: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const task = (run: 'wave' | 'renewal') => async () => {
      inFlight[run]++;
      started.push(run);
      await held;
      inFlight[run]--;
    };
    const nodes = taskOnlyNodes(600);
    // An idle event loop with nodes waiting behind a full limit: up by half per sample.
    const c = cluster(nodes, { loadSampler: () => 0.5 });
    const wave = c.run(task('wave'), {}, nodes.slice(0, 400));
    await sleep(10);
    expect(inFlight).toEqual({ wave: PACE_START, renewal: 0 });
    // The renewal's nodes go ahead of the wave's 336 queued ones, within the same limit.
    const renewal = c.run(task('renewal'), { priority: 1 }, nodes.slice(400));
    vi.advanceTimersByTime(250);
    await sleep(10);
    // One step for the cluster (64 → 96 in all); the 32 new slots go to the renewal.
    expect(inFlight).toEqual({ wave: PACE_START, renewal: 32 });
    vi.advanceTimersByTime(250);
    await sleep(10);
    expect(inFlight.wave + inFlight.renewal).toBe(144);
    expect(inFlight.renewal).toBe(80);
    expect(started.slice(PACE_START).every((run) => run === 'renewal')).toBe(true);
    release();
    const [waveRun, renewalRun] = await Promise.all([wave, renewal]);
    expect(inFlight).toEqual({ wave: 0, renewal: 0 });
    expect(waveRun.results.every((r) => r.status === 'online')).toBe(true);
    expect(renewalRun.results).toHaveLength(200);
  });

  it('an aborted run leaves the shared queue to the other runs', async () => {
    const nodes = taskOnlyNodes(300);
    const c = cluster(nodes, { concurrency: 10, pace: 'fixed' });
    const stop = new AbortController();
    let aborted = 0;
    let other = 0;
    const first = c.run(
      async () => {
        aborted++;
        if (aborted === 5) stop.abort();
        await sleep(5);
      },
      { signal: stop.signal },
      nodes.slice(0, 200),
    );
    const second = c.run(
      async () => {
        other++;
        await sleep(5);
      },
      {},
      nodes.slice(200),
    );
    const [firstRun, secondRun] = await Promise.all([first, second]);
    expect(firstRun.interrupted).toBe(true);
    // Nothing of the aborted run started after its abort but the ones already in flight.
    expect(aborted).toBeLessThanOrEqual(10);
    expect(firstRun.results.filter((r) => r.status === 'skipped').length).toBe(200 - aborted);
    expect(other).toBe(100);
    expect(secondRun.interrupted).toBe(false);
  });

  it('small clusters keep each node connection between runs; large ones use one-shot connections', async () => {
    const kept = await countingServer(1);
    const small = cluster(kept.nodes, { concurrency: 8 });
    await small.run((client) => client.info());
    await small.run((client) => client.info());
    expect(kept.connections()).toBe(40);

    const closed = await countingServer(1);
    const large = cluster(closed.nodes, { concurrency: 8, keepConnections: false });
    await large.run(async (client) => {
      await client.info();
      return client.info();
    });
    await large.run((client) => client.info());
    // No per-node pools: every request has its own connection, closed after the answer.
    expect(closed.connections()).toBe(120);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => new Cluster([], { concurrency: 0 })).toThrow(RangeError);
  });
});
