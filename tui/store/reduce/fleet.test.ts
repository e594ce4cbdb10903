import { describe, expect, it } from 'vitest';
import type { FeedConnectionState } from '../../../src/client/feeds/session.js';
import type { FeedEvent } from '../../../src/protocol/feeds.js';
import type { Action } from '../actions.js';
import { flashText } from '../overlays.js';
import { containerUsage, scopedContainerRows } from '../panels/containers.js';
import { nodeRows } from '../panels/nodes.js';
import { reduce } from '../reducer.js';
import { headerSummary } from '../select/header.js';
import {
  appendHistory,
  EMPTY_HISTORY,
  historyPoints,
  initialState,
  SPARK_MAX_POINTS,
  type TuiState,
} from '../state.js';
import {
  apply,
  container,
  containerStats,
  fleet,
  jobStatus,
  logLine,
  press,
  probed,
  run,
  T0,
} from '../store.fixture.js';
import { deriveConn } from './fleet.js';

function feed(node: string, state: FeedConnectionState, error: string | null = null, at = T0 + 1): Action {
  return { type: 'feedState', node, state, error, at };
}

describe('deriveConn: one place decides a node’s connection', () => {
  const node = (conn: TuiState['nodes'][string]['conn'], feed: TuiState['nodes'][string]['feed']) => ({
    conn,
    feed,
  });
  it('an open feed or an answered request means online', () => {
    expect(
      deriveConn(node('offline', 'reconnecting'), { source: 'feed', state: 'open', error: null }),
    ).toEqual({
      conn: 'online',
      error: null,
    });
    expect(
      deriveConn(node('reconnecting', 'reconnecting'), { source: 'http', status: 'online', error: null }),
    ).toEqual({
      conn: 'online',
      error: null,
    });
  });
  it('a refused key is unauthorized, from either source', () => {
    expect(
      deriveConn(node('online', 'open'), { source: 'http', status: 'unauthorized', error: 'wrong key' }),
    ).toEqual({ conn: 'unauthorized', error: 'wrong key' });
    expect(
      deriveConn(node('connecting', 'connecting'), { source: 'feed', state: 'unauthorized', error: 'no' }),
    ).toEqual({ conn: 'unauthorized', error: 'no' });
  });
  it('a certificate that is not the trusted one is untrusted, from either source, and stays so', () => {
    expect(
      deriveConn(node('online', 'open'), {
        source: 'http',
        status: 'untrusted',
        error: 'certificate mismatch',
      }),
    ).toEqual({ conn: 'untrusted', error: 'certificate mismatch' });
    expect(
      deriveConn(node('connecting', 'connecting'), { source: 'feed', state: 'untrusted', error: 'mismatch' }),
    ).toEqual({ conn: 'untrusted', error: 'mismatch' });
    const reconnecting = { source: 'feed', state: 'reconnecting', error: 'socket closed' } as const;
    expect(deriveConn(node('untrusted', 'untrusted'), reconnecting)).toBeNull();
  });
  it('HTTP says offline unless the feed is open; a feed giving up leaves it to HTTP', () => {
    const down = { source: 'http', status: 'offline', error: 'ECONNREFUSED' } as const;
    expect(deriveConn(node('online', 'open'), down)).toBeNull();
    expect(deriveConn(node('reconnecting', 'reconnecting'), down)).toEqual({
      conn: 'offline',
      error: 'ECONNREFUSED',
    });
    expect(
      deriveConn(node('reconnecting', 'offline'), { source: 'feed', state: 'offline', error: 'x' }),
    ).toBeNull();
    expect(deriveConn(node('online', 'closed'), { source: 'feed', state: 'closed', error: null })).toBeNull();
  });
  it('retries say nothing new about a node already judged', () => {
    const connecting = { source: 'feed', state: 'connecting', error: 'refused' } as const;
    expect(deriveConn(node('connecting', 'connecting'), connecting)).toEqual({
      conn: 'connecting',
      error: 'refused',
    });
    expect(deriveConn(node('offline', 'connecting'), connecting)).toBeNull();
    const reconnecting = { source: 'feed', state: 'reconnecting', error: 'socket closed' } as const;
    expect(deriveConn(node('online', 'open'), reconnecting)).toEqual({
      conn: 'reconnecting',
      error: 'socket closed',
    });
    expect(deriveConn(node('offline', 'offline'), reconnecting)).toBeNull();
    expect(deriveConn(node('unauthorized', 'unauthorized'), reconnecting)).toBeNull();
  });
  it('a node that answers but cannot work keeps its connection (it is a problem, not a state)', () => {
    expect(
      deriveConn(node('online', 'open'), { source: 'http', status: 'error', error: 'Docker down' }),
    ).toBeNull();
  });
});

describe('connection facts', () => {
  it('records connection changes as events, and keeps the last error', () => {
    let s = apply(fleet(), feed('lab1', 'open', null, T0));
    s = apply(s, feed('lab1', 'reconnecting', 'socket closed'));
    expect(s.nodes.lab1!.error).toBe('socket closed');
    expect(s.events.at(-1)).toMatchObject({
      node: 'lab1',
      kind: 'connection',
      text: 'node reconnecting: socket closed',
    });
    s = apply(s, feed('lab1', 'open', null, T0 + 2));
    expect(s.nodes.lab1!.error).toBeNull();
    expect(s.events.at(-1)!.text).toBe('node online');
    // No change, no new state.
    expect(reduce(s, feed('lab1', 'open', null, T0 + 3)).state).toBe(s);
  });
  it('asks for a refresh when the feed of an agent without summaries opens, or a feed gives up, and only then', () => {
    const s = fleet();
    // An agent with summaries sends its job list on the feed: nothing to ask over HTTP.
    expect(run(s, feed('lab1', 'open')).effects).toEqual([]);
    const old = apply(s, { type: 'summaryUnsupported', node: 'lab1', at: T0 });
    expect(run(old, feed('lab1', 'open')).effects).toEqual([{ kind: 'refresh', node: 'lab1' }]);
    const gaveUp = run(s, feed('lab1', 'offline', 'timed out'));
    expect(gaveUp.effects).toEqual([{ kind: 'refresh', node: 'lab1' }]);
    // Giving up is not "offline": HTTP decides that.
    expect(gaveUp.state.nodes.lab1!.conn).toBe('online');
    expect(run(s, feed('lab1', 'reconnecting', 'closed')).effects).toEqual([]);
  });
  it('keeps a node online while its feed is open, whatever a failed request says', () => {
    let s = apply(fleet(), feed('lab1', 'open'));
    const down = {
      type: 'nodeProbeFailed',
      node: 'lab1',
      at: T0 + 2,
      failure: 'offline',
      error: 'timeout',
    } as const;
    expect(apply(s, down).nodes.lab1!.conn).toBe('online');
    s = apply(s, feed('lab1', 'reconnecting', 'closed'), down);
    expect(s.nodes.lab1).toMatchObject({ conn: 'offline', error: 'timeout' });
    expect(s.events.at(-1)).toMatchObject({ text: 'node offline: timeout', level: 'error' });
  });
  it('a node answering HTTP is online before its feed connects; a refused key is unauthorized', () => {
    const s = initialState([{ name: 'a', location: 'x' }], { inventoryName: 'i' }, T0);
    const up = apply(s, probed('a', []));
    expect(up.nodes.a!.conn).toBe('online');
    // connecting → online is the normal start, not an event.
    expect(up.events).toEqual([]);
    const refused = apply(up, {
      type: 'nodeProbeFailed',
      node: 'a',
      at: T0,
      failure: 'unauthorized',
      error: 'bad key',
    });
    expect(refused.nodes.a).toMatchObject({ conn: 'unauthorized', error: 'bad key' });
  });
  it('a request that fails on a reachable node is its problem (status ERROR), flashed, until one succeeds', () => {
    let s = apply(fleet(), {
      type: 'nodeProbeFailed',
      node: 'lab1',
      at: T0,
      failure: 'error',
      error: 'Docker down',
    });
    expect(s.nodes.lab1).toMatchObject({ conn: 'online', problem: 'Docker down' });
    expect(flashText(s)).toMatchObject({ level: 'error', text: 'lab1: Docker down' });
    s = apply(s, probed('lab1', []));
    expect(s.nodes.lab1!.problem).toBeNull();
  });
});

describe('feed events', () => {
  const event = (e: Partial<Extract<FeedEvent, { type: 'container' }>>): FeedEvent => ({
    type: 'container',
    action: 'start',
    containerId: container('web', 1).id,
    containerName: 'web-1',
    job: 'web',
    version: 'aaaaaaa',
    image: null,
    at: T0,
    ...e,
  });
  it('applies container events: die, start, health, destroy (pruning stats)', () => {
    const id = container('web', 1).id;
    let s = apply(fleet(), {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      containers: [containerStats(id, { cpuPercent: 1, memoryUsage: 1, memoryLimit: 1 })],
    });
    s = apply(s, { type: 'feedEvent', node: 'lab1', at: T0, event: event({ action: 'die', exitCode: 137 }) });
    expect(s.nodes.lab1!.jobs.web!.running).toBe(1);
    expect(s.events.at(-1)).toMatchObject({
      text: 'die web-1 (web0001aaaaa): exit code 137, version aaaaaaa',
      level: 'warn',
    });
    s = apply(s, { type: 'feedEvent', node: 'lab1', at: T0 + 5000, event: event({ action: 'start' }) });
    expect(s.nodes.lab1!.jobs.web!.running).toBe(2);
    expect(s.startedAt['lab1']![id]).toBe(T0 + 5000);
    s = apply(s, {
      type: 'feedEvent',
      node: 'lab1',
      at: T0,
      event: event({ action: 'health_status', health: 'unhealthy' }),
    });
    expect(s.nodes.lab1!.jobs.web!.containers[0]!.health).toBe('unhealthy');
    expect(s.events.at(-1)).toMatchObject({
      text: 'health web-1 (web0001aaaaa): unhealthy, version aaaaaaa',
      level: 'warn',
    });
    const destroyed = run(s, {
      type: 'feedEvent',
      node: 'lab1',
      at: T0,
      event: event({ action: 'destroy' }),
    });
    s = destroyed.state;
    expect(s.nodes.lab1!.jobs.web!.containers.map((c) => c.id)).not.toContain(id);
    expect(s.nodes.lab1!.jobs.web!.total).toBe(1);
    expect(s.stats['lab1']?.[id]).toBeUndefined();
    // The job list is asked for again.
    expect(destroyed.effects).toEqual([{ kind: 'refresh', node: 'lab1' }]);
  });
  it('refreshes a node when its container list changes or an operation ends, not on every event', () => {
    const s = fleet();
    const at = (e: FeedEvent) => run(s, { type: 'feedEvent', node: 'lab2', at: T0, event: e }).effects;
    expect(at(event({ action: 'create' }))).toEqual([{ kind: 'refresh', node: 'lab2' }]);
    expect(at(event({ action: 'rename' }))).toEqual([{ kind: 'refresh', node: 'lab2' }]);
    expect(at(event({ action: 'start' }))).toEqual([]);
    const done: FeedEvent = {
      type: 'operation-done',
      job: 'web',
      at: T0,
      result: {
        ok: false,
        action: 'update',
        message: 'Update failed',
        versionFrom: 'aaaaaaa',
        versionTo: 'bbbbbbb',
        running: 1,
        total: 1,
        error: { code: 'unhealthy', message: 'unhealthy' },
      },
    };
    const after = run(s, { type: 'feedEvent', node: 'lab2', at: T0, event: done });
    expect(after.effects).toEqual([{ kind: 'refresh', node: 'lab2' }]);
    expect(after.state.events.at(-1)).toMatchObject({
      kind: 'operation',
      text: 'web: failed: Update failed: unhealthy (aaaaaaa -> bbbbbbb, 1/1 running)',
      level: 'error',
    });
  });
  it('leaves byte-level pull progress out of the Events list', () => {
    const s = fleet();
    const progress = (current?: number, total?: number): FeedEvent => ({
      type: 'operation-progress',
      job: 'web',
      at: T0,
      line: {
        type: 'progress',
        phase: 'pull',
        message: 'Pulling',
        ...(current !== undefined ? { current, total } : {}),
      },
    });
    expect(apply(s, { type: 'feedEvent', node: 'lab1', at: T0, event: progress(10, 40) })).toBe(s);
    expect(
      apply(s, { type: 'feedEvent', node: 'lab1', at: T0, event: progress(40, 40) }).events.at(-1)!.text,
    ).toBe('web: Pulling');
  });
  it('bounds the event list', () => {
    let s = initialState([{ name: 'a', location: 'x' }], { inventoryName: 'i', eventCap: 10 }, T0);
    for (let i = 0; i < 30; i++) {
      s = apply(s, {
        type: 'feedEvent',
        node: 'a',
        at: T0,
        event: {
          type: 'operation-progress',
          job: 'j',
          at: T0,
          line: { type: 'progress', phase: 'start', message: `e${i}` },
        },
      });
    }
    expect(s.events.length).toBe(10);
    expect(s.events[0]!.text).toBe('j: e20');
  });
});

describe('stats', () => {
  it('keeps the protocol sample as it came, and a bounded sparkline history of the last minute', () => {
    let s = fleet();
    const id = container('web', 1).id;
    let last = containerStats(id);
    for (let i = 0; i < 100; i++) {
      last = containerStats(id, { cpuPercent: i, memoryUsage: 1000 + i, memoryLimit: 1e9 });
      s = apply(
        s,
        { type: 'tick', now: T0 + i * 1000 },
        { type: 'statsBatch', node: 'lab1', at: T0 + i * 1000, containers: [last] },
      );
    }
    const stats = s.stats['lab1']![id]!;
    // No copy, no renaming: the reducer keeps what the wire carried.
    expect(stats.latest).toBe(last);
    const points = historyPoints(stats.history);
    expect(points.length).toBeLessThanOrEqual(SPARK_MAX_POINTS);
    expect(points[0]!.at).toBeGreaterThan(T0 + 99_000 - 60_000);
    // The array behind the window does not grow without bound either.
    expect(stats.history.points.length).toBeLessThanOrEqual(3 * SPARK_MAX_POINTS);
    const row = containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!);
    expect(row.cpu).toBe(99);
    expect(row.cpuHistory.at(-1)).toBe(99);
    // Node and header totals come from the same samples.
    expect(nodeRows(s)[0]!.cpu).toBe('99.0%');
    expect(headerSummary(s).cpu).toBe('99.0%');
  });
  it('keeps histories of older states intact when two states grow from the same one', () => {
    const base = appendHistory(EMPTY_HISTORY, { at: 1, cpu: 1, mem: 1 }, 0);
    const a = appendHistory(base, { at: 2, cpu: 2, mem: 2 }, 0);
    const b = appendHistory(base, { at: 2, cpu: 9, mem: 9 }, 0);
    expect(historyPoints(base).map((p) => p.cpu)).toEqual([1]);
    expect(historyPoints(a).map((p) => p.cpu)).toEqual([1, 2]);
    expect(historyPoints(b).map((p) => p.cpu)).toEqual([1, 9]);
    const a2 = appendHistory(a, { at: 70_000, cpu: 3, mem: 3 }, 70_000 - 60_000);
    expect(historyPoints(a2).map((p) => p.cpu)).toEqual([3]);
    expect(historyPoints(a).map((p) => p.cpu)).toEqual([1, 2]);
  });
  it('prunes stats of containers gone from a fresh job list', () => {
    const id = container('web', 2).id;
    let s = apply(fleet(), { type: 'statsBatch', node: 'lab1', at: T0, containers: [containerStats(id)] });
    expect(s.stats['lab1']?.[id]).toBeDefined();
    s = apply(s, probed('lab1', [jobStatus('web', [container('web', 1)])]));
    expect(s.stats['lab1']?.[id]).toBeUndefined();
  });
});

describe('log lines', () => {
  it('keeps the buffer bounded and counts what it dropped', () => {
    let s = initialState([{ name: 'lab1', location: 'x' }], { inventoryName: 'i', logCap: 100 }, T0);
    s = apply(s, probed('lab1', [jobStatus('web', [container('web', 1)])]));
    s = press(s, '3', 'l');
    const target = s.logs.target!;
    const batch = Array.from({ length: 250 }, (_, i) => logLine('lab1', 'web-1', `line ${i + 1}`));
    s = apply(s, { type: 'logLines', target, lines: batch });
    expect(s.logs.lines.length).toBe(100);
    expect(s.logs.lines[0]!.text).toBe('line 151');
    expect(s.logs.dropped).toBe(150);
    s = apply(s, { type: 'logLines', target, lines: [], dropped: 7 });
    expect(s.logs.dropped).toBe(157);
  });
  it("keeps a container's line as it will be shown: colour codes dropped, every other escape visible", () => {
    let s = apply(fleet(), probed('lab1', [jobStatus('web', [container('web', 1)])]));
    s = press(s, '3', 'l');
    const target = s.logs.target!;
    const hostile = logLine(
      'lab1',
      'web-1\u001b[2J',
      '\u001b[32mok\u001b[0m \u001b]0;pwned\u0007\u001b[2J\rgone\u009b1m',
    );
    s = apply(s, { type: 'logLines', target, lines: [hostile] });
    const line = s.logs.lines.at(-1)!;
    expect(line.text).toBe('ok \\x1b]0;pwned\\x07\\x1b[2J\\x0dgone\\u009b1m');
    expect(line.container).toBe('web-1\\x1b[2J');
    expect(line.text + line.container).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('ignores lines for a target that is no longer shown', () => {
    const s = press(fleet(), '3', 'l');
    const stale = run(s, {
      type: 'logLines',
      target: { kind: 'job', job: 'api' },
      lines: [logLine('lab2', 'api-1', 'other')],
    });
    expect(stale.state).toBe(s);
    expect(stale.effects).toEqual([]);
  });
});
