/**
 * The feeds controller between fake feed sessions and the real store: it only reports what the
 * sessions say, and keeps the open subscriptions equal to what the state wants.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FEED_PING_MAX_MS } from '../../src/protocol/feeds.js';
import { agentInfo, container, containerStats, jobStatus } from '../../test/sim/agent-values.js';
import { flashText } from '../store/overlays.js';
import type { Store } from '../store/store.js';
import { FakeFeedSession, inventoryNode, storeFor, until } from './controllers.fixture.js';
import {
  agentPingIntervalMs,
  FeedsController,
  heartbeatIntervalMs,
  LARGE_FLEET,
  summaryIntervalMs,
} from './feeds.js';

const T = 1_700_000_100_000;
const nodes = [inventoryNode('lab1', 9001), inventoryNode('lab2', 9002)];
const controllers: FeedsController[] = [];

afterEach(() => {
  for (const c of controllers.splice(0)) c.close();
});

function setup(logWindowMs = 10) {
  const { store, effects } = storeFor(nodes, T);
  const sessions = new Map(nodes.map((n) => [n.name, new FakeFeedSession(n.name)]));
  let clock = T;
  const feeds = new FeedsController(store, nodes, {
    makeSession: (node) => sessions.get(node.name)!.asSession(),
    now: () => ++clock,
    logWindowMs,
  });
  controllers.push(feeds);
  return { store, effects, feeds, lab1: sessions.get('lab1')!, lab2: sessions.get('lab2')! };
}

/** Both nodes answered HTTP: lab1 runs web 1 and 2, lab2 runs web 3. */
function listed(store: Store): void {
  for (const [node, ids] of [
    ['lab1', [1, 2]],
    ['lab2', [3]],
  ] as const) {
    store.dispatch({
      type: 'nodeProbed',
      node,
      at: T,
      info: agentInfo({ hostname: node }),
      latencyMs: 1,
      jobs: [
        jobStatus(
          'web',
          ids.map((i) => container('web', i)),
        ),
      ],
    });
  }
}

describe('FeedsController', () => {
  it('reports each session’s state; the store decides the node’s connection and what to refresh', () => {
    const { store, effects, lab1 } = setup();
    expect(store.state.nodes.lab1).toMatchObject({ conn: 'connecting', feed: 'connecting' });
    lab1.emitState('open');
    expect(store.state.nodes.lab1).toMatchObject({ conn: 'online', feed: 'open' });
    // The summary brings what HTTP used to; an agent that predates it is asked over HTTP.
    expect(effects).toEqual([]);
    lab1.refuseSummary();
    expect(store.state.nodes.lab1!.summary).toBe('unsupported');
    expect(effects).toEqual([{ kind: 'refresh', node: 'lab1' }]);
    lab1.emitState('reconnecting', 'socket hang up');
    expect(store.state.nodes.lab1).toMatchObject({ conn: 'reconnecting', error: 'socket hang up' });
    // Giving up is a question for HTTP, not a verdict.
    lab1.emitState('offline', 'timed out');
    expect(store.state.nodes.lab1!.conn).toBe('reconnecting');
    expect(effects.at(-1)).toEqual({ kind: 'refresh', node: 'lab1' });
    expect(store.state.events.map((e) => e.text)).toEqual(['node reconnecting: socket hang up']);
  });

  it('passes feed events on with our arrival time', () => {
    const { store, effects, lab2 } = setup();
    listed(store);
    lab2.emitEvent({
      type: 'container',
      action: 'die',
      containerId: container('web', 3).id,
      containerName: 'web-3',
      job: 'web',
      version: 'aaaaaaa',
      image: null,
      exitCode: 1,
      at: 1,
    });
    expect(store.state.nodes.lab2!.jobs.web!.running).toBe(0);
    expect(store.state.events.at(-1)).toMatchObject({
      node: 'lab2',
      text: 'die web-3 (web0003aaaaa): exit code 1, version aaaaaaa',
    });
    expect(store.state.events.at(-1)!.at).toBeGreaterThan(T);
    expect(effects).toEqual([]);
  });

  it('subscribes to stats of the online nodes only, and hands the batches over untouched', () => {
    const { store, lab1, lab2 } = setup();
    expect(lab1.activeStats() + lab2.activeStats()).toBe(0);
    listed(store);
    expect([lab1.activeStats(), lab2.activeStats()]).toEqual([1, 1]);
    const sample = containerStats(container('web', 1).id, { cpuPercent: 12.5, memoryUsage: 2048 });
    lab1.emitStats({ at: 5, containers: [sample] });
    const usage = store.state.stats['lab1']![container('web', 1).id]!;
    expect(usage.latest).toBe(sample);
    // Our clock, not the agent's.
    expect(usage.at).toBeGreaterThan(T);
    // lab2 goes down (its feed is not open, HTTP says so): its stats subscription ends.
    store.dispatch({ type: 'nodeProbeFailed', node: 'lab2', at: T, failure: 'offline', error: 'refused' });
    expect([lab1.activeStats(), lab2.activeStats()]).toEqual([1, 0]);
  });

  it('subscribes to the logs the Logs tab shows, and lets go of them when it closes', () => {
    const { store, lab1, lab2 } = setup();
    listed(store);
    store.dispatch({ type: 'command', command: 'focus.containers' });
    store.dispatch({ type: 'command', command: 'logs.open' });
    expect(lab1.activeLogs().map((s) => s.params)).toEqual([
      { container: container('web', 1).id, tail: 500, follow: true },
    ]);
    expect(lab2.activeLogs()).toEqual([]);
    store.dispatch({ type: 'command', command: 'detail.nextTab' });
    expect(lab1.activeLogs()).toEqual([]);
  });

  it('merges a job’s logs from every node in time order', async () => {
    const { store, lab1, lab2 } = setup(30);
    listed(store);
    store.dispatch({ type: 'command', command: 'focus.jobs' });
    store.dispatch({ type: 'command', command: 'logs.open' });
    expect(lab1.activeLogs()[0]!.params).toEqual({ job: 'web', tail: 500, follow: true });
    expect(lab2.activeLogs()).toHaveLength(1);
    const line = (name: string, at: number, text: string) => ({
      containerId: name.padEnd(64, '0'),
      containerName: name,
      stream: 'stdout' as const,
      ts: new Date(at).toISOString(),
      at,
      text,
    });
    // lab2's older line arrives after lab1's newer one.
    lab1.emitLines([line('web-1', 2000, 'second')]);
    lab2.emitLines([line('web-3', 1000, 'first')]);
    await until(() => store.state.logs.lines.length === 2, 'both lines');
    expect(store.state.logs.lines.map((l) => [l.node, l.text])).toEqual([
      ['lab2', 'first'],
      ['lab1', 'second'],
    ]);
  });

  it('flashes a log subscription the agent refused, and counts dropped lines', async () => {
    const { store, lab1 } = setup();
    listed(store);
    store.dispatch({ type: 'command', command: 'focus.containers' });
    store.dispatch({ type: 'command', command: 'logs.open' });
    lab1.activeLogs()[0]!.handlers.onDropped?.(12);
    expect(store.state.logs.dropped).toBe(12);
    lab1.failLogs('no such container');
    expect(flashText(store.state)).toMatchObject({ level: 'error', text: 'lab1: logs: no such container' });
  });

  it('closes every session and reports nothing after close', () => {
    const { store, feeds, lab1, lab2 } = setup();
    listed(store);
    feeds.close();
    expect([lab1.closed, lab2.closed]).toEqual([true, true]);
    const before = store.state;
    lab1.emitState('open');
    lab1.emitStats({ at: 1, containers: [containerStats(container('web', 1).id)] });
    expect(store.state).toBe(before);
  });

  it('asks for a prompt frame for a connection change or a first summary, a routine one for the rest', () => {
    const { store } = storeFor(nodes, T);
    const sessions = new Map(nodes.map((n) => [n.name, new FakeFeedSession(n.name)]));
    const asked: string[] = [];
    const feeds = new FeedsController(store, nodes, {
      makeSession: (node) => sessions.get(node.name)!.asSession(),
      requestFlush: (urgency) => asked.push(urgency),
    });
    controllers.push(feeds);
    const lab1 = sessions.get('lab1')!;
    const lab2 = sessions.get('lab2')!;
    // The sessions' first reports (connecting) are connection facts: one prompt request.
    expect(asked).toEqual(['prompt']);
    feeds.flush();
    asked.length = 0;
    // Routine: round trips, events, later summaries; asked for once, until the next flush.
    lab1.emitRtt(12);
    lab2.emitRtt(13);
    expect(asked).toEqual(['routine']);
    // A node's first summary is prompt (it makes the first screen), even behind routine news.
    lab1.emitSummary({ at: T, usage: null });
    expect(asked).toEqual(['routine', 'prompt']);
    // Nothing more is asked before the flush; lab2's first summary is remembered as seen.
    lab2.emitSummary({ at: T, usage: null });
    lab1.emitState('reconnecting', 'socket hang up');
    expect(asked).toEqual(['routine', 'prompt']);
    feeds.flush();
    expect(store.state.nodes.lab1!.latencyMs).toBe(12);
    asked.length = 0;
    lab1.emitSummary({ at: T + 1, usage: null });
    lab2.emitSummary({ at: T + 1, usage: null });
    expect(asked).toEqual(['routine']);
    feeds.flush();
    asked.length = 0;
    lab2.emitState('reconnecting', 'socket hang up');
    expect(asked).toEqual(['prompt']);
  });

  it('asks a large fleet’s agents not to bring summaries forward for container events (the events come anyway)', () => {
    for (const count of [2, LARGE_FLEET]) {
      const fleetNodes = Array.from({ length: count }, (_, i) => inventoryNode(`n${i}`, 10_000 + i));
      const { store } = storeFor(fleetNodes, T);
      const made: FakeFeedSession[] = [];
      const feeds = new FeedsController(store, fleetNodes, {
        makeSession: (node) => {
          const session = new FakeFeedSession(node.name);
          made.push(session);
          return session.asSession();
        },
      });
      controllers.push(feeds);
      const params = made[0]!.summaries[0]!.params;
      expect(params.intervalMs).toBe(summaryIntervalMs(count));
      expect(params.containerEvents).toBe(count < LARGE_FLEET ? undefined : 'at-interval');
    }
  });

  it('ticks the heartbeat at 10 s for a small inventory, past the summaries’ interval for a large one, and asks large fleets’ agents to ping seldom', () => {
    expect(heartbeatIntervalMs(3)).toBe(10_000);
    expect(heartbeatIntervalMs(999)).toBe(10_000);
    expect(agentPingIntervalMs(999)).toBeUndefined();
    for (const nodes of [1_000, 5_000, 10_000, 100_000]) {
      // A healthy node's summary always comes between two ticks: the client pings only to measure.
      expect(heartbeatIntervalMs(nodes)).toBeGreaterThan(summaryIntervalMs(nodes));
      // The agent pings only a client it heard nothing from for two of the client's ticks.
      expect(agentPingIntervalMs(nodes)).toBe(2 * heartbeatIntervalMs(nodes));
      expect(agentPingIntervalMs(nodes)).toBeLessThanOrEqual(FEED_PING_MAX_MS);
    }
    expect(heartbeatIntervalMs(10_000)).toBe(70_000);
  });
});
