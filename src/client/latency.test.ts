/**
 * The simulator's network latency (test/sim, used by `npm run bench:fanout --rtt`): what it
 * models, checked through the real client. Lower bounds only: a simulated round trip can only
 * make a request slower, never faster, so these cannot flake on a busy machine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requestDelayMs, type Simulator, startSimulator } from '../../test/sim/simulator.js';
import { Cluster } from './cluster.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const sim = await startSimulator(options);
  cleanups.push(() => sim.stop());
  return sim;
}

describe('requestDelayMs', () => {
  it('one round trip per request, two on a new connection (the handshake), with uniform jitter', () => {
    const fixed = (x: number) => ({ rttMs: 100, jitterMs: 20, random: () => x });
    expect(requestDelayMs(fixed(0.5), false)).toBe(100);
    expect(requestDelayMs(fixed(0.5), true)).toBe(200);
    expect(requestDelayMs(fixed(0), false)).toBe(80);
    expect(requestDelayMs(fixed(0.999_999), false)).toBeCloseTo(120, 3);
    expect(requestDelayMs({ rttMs: 5, jitterMs: 50, random: () => 0 }, false)).toBe(0);
  });
});

describe('simulated latency through the real client', () => {
  it('a request on a new connection takes at least two round trips, a kept-alive one at least one', async () => {
    const sim = await simulator({ nodes: 4, latency: { rttMs: 60, jitterMs: 0 } });
    const cluster = new Cluster(sim.inventory().nodes, { concurrency: 4, keepConnections: true });
    cleanups.push(() => cluster.close());
    const first = await cluster.run((client) => client.info());
    const second = await cluster.run((client) => client.info());
    for (const r of first.results) expect(r.latencyMs).toBeGreaterThanOrEqual(119);
    for (const r of second.results) expect(r.latencyMs).toBeGreaterThanOrEqual(59);
    for (const node of sim.nodes) expect(node.latency).toEqual({ requests: 2, newConnections: 1 });
  });

  it('one-shot connections (large inventories) pay the handshake on every request', async () => {
    const sim = await simulator({ nodes: 3, latency: { rttMs: 40, jitterMs: 0 } });
    const cluster = new Cluster(sim.inventory().nodes, { concurrency: 3, keepConnections: false });
    cleanups.push(() => cluster.close());
    await cluster.run((client) => client.info());
    const again = await cluster.run((client) => client.info());
    for (const r of again.results) expect(r.latencyMs).toBeGreaterThanOrEqual(79);
    for (const node of sim.nodes) expect(node.latency).toEqual({ requests: 2, newConnections: 2 });
  });
});
