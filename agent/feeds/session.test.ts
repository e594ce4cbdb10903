/**
 * The feeds WebSocket over loopback, with the real HTTP server, auth, sessions, hub and queues,
 * and an in-memory feed runtime in place of Docker (the Docker side is covered by the e2e tests
 * against real engines). Protocol edge cases, subscription lifecycles and memory bounds.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FeedSession,
  type FeedSubscriptionError,
  isUnsupportedTopic,
} from '../../src/client/feeds/session.js';
import type { JobStatus } from '../../src/protocol/api.js';
import type {
  ContainerEvent,
  FeedEvent,
  LogLine,
  NodeSummary,
  StatsBatch,
} from '../../src/protocol/feeds.js';
import { RawFeedClient, type UpgradeRefusal } from '../../test/e2e/feeds-raw-client.js';
import { agentInfo, container, jobStatus, updateResult } from '../../test/sim/agent-values.js';
import { KeyVerifier } from '../auth/verifier.js';
import type { StatsSample } from '../docker/feed-runtime.js';
import type { OperationEvent, OperationListener } from '../jobs/service.js';
import { silentLogger } from '../logger.js';
import { type AttachFeedsOptions, attachFeeds, type FeedsHandle } from './attach.js';
import { MemoryFeedRuntime, memoryLogLine } from './memory-runtime.fixture.js';
import type { SummarySource } from './summary.js';

const KEY = 'k'.repeat(43);

class FakeEngine {
  readonly listeners = new Set<OperationListener>();
  onOperation(listener: OperationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: OperationEvent): void {
    for (const l of this.listeners) l(event);
  }
}

interface Setup {
  server: Server;
  port: number;
  runtime: MemoryFeedRuntime;
  engine: FakeEngine;
  feeds: FeedsHandle;
  session(): FeedSession;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Partial<AttachFeedsOptions> = {}): Promise<Setup> {
  const runtime = new MemoryFeedRuntime();
  const engine = new FakeEngine();
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const feeds = attachFeeds(server, {
    verifier: KeyVerifier.forKey(KEY, { throttle: { maxFailures: 1000 } }),
    runtime,
    engine,
    logger: silentLogger(),
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  cleanups.push(async () => {
    await feeds.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    server,
    port,
    runtime,
    engine,
    feeds,
    session() {
      const s = new FeedSession({ name: 'n1', baseUrl: `http://127.0.0.1:${port}`, key: KEY });
      cleanups.push(() => s.close());
      return s;
    },
  };
}

async function rawClient(port: number, key: string | null = KEY, path?: string): Promise<RawFeedClient> {
  const client = await RawFeedClient.connect(port, key, path);
  if (!(client instanceof RawFeedClient)) throw new Error(`upgrade refused: ${client.status}`);
  cleanups.push(() => client.close());
  return client;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function containerEvent(
  id: string,
  job: string,
  action: ContainerEvent['action'],
  extra: Partial<ContainerEvent> = {},
): ContainerEvent {
  return {
    type: 'container',
    action,
    containerId: id,
    containerName: `${job}-${id}`,
    job,
    version: 'abc1234',
    image: 'img',
    at: Date.now(),
    ...extra,
  };
}

function sample(id: string, job: string, cpuPercent: number | null): StatsSample {
  return {
    containerId: id,
    containerName: `${job}-${id}`,
    job,
    version: null,
    cpuPercent,
    memoryUsage: 1000,
    memoryLimit: 4000,
    memoryPercent: 25,
    networkRx: 1,
    networkTx: 2,
    blockRead: 3,
    blockWrite: 4,
    pids: 1,
    readAt: Date.now(),
  };
}

describe('feeds upgrade', () => {
  it('refuses a missing key and a wrong key with 401 and no upgrade', async () => {
    const { port, feeds } = await setup();
    const none = (await RawFeedClient.connect(port, null)) as UpgradeRefusal;
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({
      error: { code: 'unauthorized', message: expect.stringContaining('missing') },
    });
    const wrong = (await RawFeedClient.connect(port, 'w'.repeat(43))) as UpgradeRefusal;
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.message).toBe('wrong key');
    expect(feeds.sessions).toBe(0);
  });

  it('answers 404 for another WebSocket path and 429 once a client keeps guessing keys (the right key still opens)', async () => {
    const { port } = await setup({
      verifier: KeyVerifier.forKey(KEY, { throttle: { maxFailures: 2, windowMs: 60_000 } }),
    });
    expect(((await RawFeedClient.connect(port, KEY, '/v1/other')) as UpgradeRefusal).status).toBe(404);
    for (let i = 0; i < 2; i++)
      expect(((await RawFeedClient.connect(port, 'bad')) as UpgradeRefusal).status).toBe(401);
    expect(((await RawFeedClient.connect(port, 'bad')) as UpgradeRefusal).status).toBe(429);
    // A correct key is never refused because others failed from the same address.
    const right = await RawFeedClient.connect(port, KEY);
    expect(right).not.toHaveProperty('status');
    (right as RawFeedClient).close();
  });

  it('reports the client session as unauthorized and does not retry', async () => {
    const { port } = await setup();
    const session = new FeedSession({ name: 'n1', baseUrl: `http://127.0.0.1:${port}`, key: 'w'.repeat(43) });
    cleanups.push(() => session.close());
    await expect(session.waitUntilOpen()).rejects.toThrow(/unauthorized/);
    expect(session.state).toBe('unauthorized');
    expect(session.status.error).toContain('401');
  });
});

describe('invalid frames', () => {
  it('answers each bad frame with an error frame and keeps the session working', async () => {
    const { port, runtime } = await setup();
    runtime.addContainer({ id: 'c1', job: 'web' });
    const client = await rawClient(port);
    client.send('not json');
    client.send({ type: 'hello' });
    client.send({ type: 'subscribe', id: 'a', topic: 'weather' });
    client.send({ type: 'subscribe', id: 'b', topic: 'stats', params: { intervalMs: 10 } });
    client.send({ type: 'subscribe', id: 'c', topic: 'logs', params: { follow: true } });
    client.send({ type: 'subscribe', id: 'd', topic: 'logs', params: { job: 'web', container: 'c1' } });
    client.send({ type: 'subscribe', id: 'e', topic: 'events', params: { job: 'web', extra: 1 } });
    client.send({ type: 'subscribe', id: '', topic: 'events' });
    client.sendRaw(Buffer.from([1, 2, 3]), 0x2);
    client.send({ type: 'subscribe', id: 'ok', topic: 'events' });
    client.send({ type: 'subscribe', id: 'ok', topic: 'events' });
    await until(
      () => client.framesOfType('subscribed').length === 1 && client.framesOfType('error').length === 10,
      'answers',
    );
    const errors = client.framesOfType<{ id: string | null; code: string; message: string; path?: string }>(
      'error',
    );
    expect(errors.every((e) => e.code === 'invalid_request')).toBe(true);
    expect(errors.map((e) => e.id)).toEqual([null, null, 'a', 'b', 'c', 'd', 'e', '', null, null]);
    expect(errors[0]?.message).toMatch(/not valid JSON/);
    expect(errors[2]?.path).toBe('topic');
    expect(errors[3]).toMatchObject({ path: 'params.intervalMs', message: 'must be at least 500' });
    expect(errors[4]?.message).toMatch(/exactly one of job or container/);
    expect(errors[6]).toMatchObject({ path: 'params.extra', message: 'unknown key "extra"' });
    expect(errors[8]?.message).toMatch(/binary/);
    expect(errors[9]?.message).toMatch(/already in use/);
    // The session still serves the good subscription.
    runtime.emitEvent(containerEvent('c1', 'web', 'start'));
    await until(() => client.framesOfType('event').length === 1, 'the event');
  });

  it('closes the connection when a frame exceeds the size limit', async () => {
    const { port, feeds } = await setup();
    const client = await rawClient(port);
    const closed = new Promise<void>((resolve) => client.socket.on('close', () => resolve()));
    client.send({ type: 'subscribe', id: 'x', topic: 'events', params: { job: 'j'.repeat(100_000) } });
    await closed;
    await until(() => feeds.sessions === 0, 'session cleanup');
  });
});

describe('events', () => {
  it('forwards container and operation events of the subscribed job only, until unsubscribed', async () => {
    const { runtime, engine, feeds, session } = await setup();
    const s = session();
    const got: FeedEvent[] = [];
    let subscribed = false;
    const stop = s.subscribeEvents((e) => got.push(e), {
      job: 'web',
      onSubscribed: () => (subscribed = true),
    });
    await until(() => subscribed, 'ack');
    expect(feeds.openStreams.events).toBe(true);
    runtime.emitEvent(containerEvent('c1', 'other', 'start'));
    runtime.emitEvent(containerEvent('c1', 'web', 'die', { exitCode: 3 }));
    engine.emit({ type: 'operation-start', job: 'web', operation: 'deploy', at: 1 });
    engine.emit({
      type: 'operation-progress',
      job: 'web',
      line: { type: 'progress', phase: 'start', message: 'Starting container (1/2)' },
      at: 2,
    });
    engine.emit({ type: 'operation-start', job: 'other', operation: 'stop', at: 3 });
    await until(() => got.length === 3, 'three events');
    expect(got.map((e) => e.type)).toEqual(['container', 'operation-start', 'operation-progress']);
    expect(got[0]).toMatchObject({ action: 'die', exitCode: 3 });
    stop();
    await until(
      () => !feeds.openStreams.events && engine.listeners.size === 0,
      'the Docker events stream to close',
    );
  });

  it('fails the subscription with docker_unavailable when Docker events cannot be opened', async () => {
    const { runtime, session } = await setup({ limits: { dockerReadyTimeoutMs: 300 } });
    runtime.eventsError = new Error('connect ENOENT /var/run/docker.sock');
    const s = session();
    const error = await new Promise<{ code: string; message: string }>((resolve) =>
      s.subscribeEvents(() => {}, { onError: (e) => resolve(e) }),
    );
    expect(error.code).toBe('docker_unavailable');
    expect(error.message).toMatch(/ENOENT/);
  });

  it('reopens a broken Docker events stream', async () => {
    const { runtime, session } = await setup({ hub: { eventsRetryMinMs: 20 } });
    const s = session();
    const got: FeedEvent[] = [];
    await new Promise<void>((resolve) => s.subscribeEvents((e) => got.push(e), { onSubscribed: resolve }));
    runtime.breakEvents();
    await until(() => runtime.eventWatchers.size === 1, 'the stream to be reopened');
    runtime.emitEvent(containerEvent('c2', 'web', 'start'));
    await until(() => got.length === 1, 'an event after the reopen');
    expect(runtime.opened.events).toBe(2);
  });
});

describe('stats', () => {
  it('holds Docker stats streams only while subscribed, shared by subscribers, following starts and deaths', async () => {
    const { runtime, feeds, session } = await setup();
    runtime.addContainer({ id: 'c1', job: 'web' });
    runtime.addContainer({ id: 'c2', job: 'api' });
    runtime.addContainer({ id: 'c3', job: 'web', running: false });
    const s = session();
    await s.waitUntilOpen();
    expect(feeds.openStreams).toEqual({ events: false, stats: 0 });

    const batches: StatsBatch[] = [];
    const stopA = s.subscribeStats({ intervalMs: 500, job: 'web' }, (b) => batches.push(b));
    await until(() => feeds.openStreams.stats === 2, 'streams of the two running containers');
    runtime.emitStats(sample('c1', 'web', null));
    runtime.emitStats(sample('c2', 'api', 7));
    runtime.emitStats(sample('c1', 'web', 42.5));
    await until(() => batches.length >= 1, 'a batch');
    expect(batches[0]?.containers.map((c) => [c.containerId, c.cpuPercent])).toEqual([['c1', 42.5]]);

    // A second subscriber shares the streams.
    const all: StatsBatch[] = [];
    const stopB = s.subscribeStats({ intervalMs: 500 }, (b) => all.push(b));
    await until(() => all.length >= 1, 'the second subscriber');
    expect(runtime.opened.stats).toBe(2);
    expect(all[0]?.containers.map((c) => c.containerId).sort()).toEqual(['c1', 'c2']);

    // A container that starts gets a stream; one that dies loses it.
    runtime.addContainer({ id: 'c4', job: 'web' });
    runtime.emitEvent(containerEvent('c4', 'web', 'start'));
    runtime.emitEvent(containerEvent('c2', 'api', 'die', { exitCode: 0 }));
    await until(() => runtime.statsWatchers.has('c4') && !runtime.statsWatchers.has('c2'), 'c4 in, c2 out');

    stopA();
    stopB();
    await until(() => feeds.openStreams.stats === 0 && !feeds.openStreams.events, 'every stream closed');
    expect(runtime.statsWatchers.size).toBe(0);
  });

  it('sends the first batch as soon as every container has a CPU figure, then at the interval', async () => {
    const { runtime, session } = await setup({ limits: { firstStatsMaxWaitMs: 10_000 } });
    runtime.addContainer({ id: 'c1', job: 'web' });
    const s = session();
    const batches: { at: number; received: number; batch: StatsBatch }[] = [];
    s.subscribeStats({ intervalMs: 500 }, (batch) =>
      batches.push({ at: batch.at, received: Date.now(), batch }),
    );
    await until(() => runtime.statsWatchers.has('c1'), 'the stream');
    runtime.emitStats(sample('c1', 'web', null));
    await new Promise((r) => setTimeout(r, 300));
    expect(batches).toHaveLength(0);
    runtime.emitStats(sample('c1', 'web', 12));
    await until(() => batches.length === 1, 'the first batch');
    expect(batches[0]?.batch.containers[0]?.cpuPercent).toBe(12);
    await until(() => batches.length === 3, 'two more batches');
  });
});

describe('logs', () => {
  it('sends the tail of one container marked by stream, then ends', async () => {
    const { runtime, session } = await setup();
    runtime.addContainer({ id: 'c1', job: 'web', name: 'web-1' });
    for (let i = 1; i <= 10; i++)
      runtime.writeLog('c1', memoryLogLine(`line ${i}`, i % 2 ? 'stdout' : 'stderr'));
    const s = session();
    const lines: LogLine[] = [];
    await new Promise<void>((resolve, reject) =>
      s.subscribeLogs({ container: 'web-1', tail: 3 }, (l) => lines.push(...l), {
        onEnd: resolve,
        onError: reject,
      }),
    );
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'line 8'],
      ['stdout', 'line 9'],
      ['stderr', 'line 10'],
    ]);
    expect(lines.every((l) => l.containerId === 'c1' && l.containerName === 'web-1')).toBe(true);
  });

  it('refuses an unknown container with not_found', async () => {
    const { session } = await setup();
    const s = session();
    const error = await new Promise<{ code: string }>((resolve) =>
      s.subscribeLogs({ container: 'nope' }, () => {}, { onError: resolve }),
    );
    expect(error.code).toBe('not_found');
  });

  it('follows a job: new lines, and containers that start later', async () => {
    const { runtime, session } = await setup();
    runtime.addContainer({ id: 'c1', job: 'web' });
    runtime.writeLog('c1', memoryLogLine('old'));
    const s = session();
    const lines: LogLine[] = [];
    await new Promise<void>((resolve) =>
      s.subscribeLogs({ job: 'web', tail: 10, follow: true }, (l) => lines.push(...l), {
        onSubscribed: resolve,
      }),
    );
    await until(() => lines.length === 1, 'the history');
    runtime.writeLog('c1', memoryLogLine('new on c1', 'stdout', Date.now()));
    runtime.addContainer({ id: 'c2', job: 'web' });
    runtime.writeLog('c2', memoryLogLine('c2 early', 'stdout', Date.now()));
    runtime.emitEvent(containerEvent('c2', 'web', 'start'));
    await until(() => lines.length === 3, 'two more lines');
    runtime.writeLog('c2', memoryLogLine('c2 later', 'stderr', Date.now()));
    await until(() => lines.length === 4, 'a live line of c2');
    expect(lines.map((l) => `${l.containerId}:${l.text}`)).toEqual([
      'c1:old',
      'c1:new on c1',
      'c2:c2 early',
      'c2:c2 later',
    ]);
  });

  it('follows one entry of a job: its containers, and only its new ones; lines carry the entry', async () => {
    const { runtime, session } = await setup();
    runtime.addContainer({ id: 'w1', job: 'shop', entry: 'web' });
    runtime.addContainer({ id: 's1', job: 'shop', entry: 'side' });
    runtime.writeLog('w1', memoryLogLine('web old'));
    runtime.writeLog('s1', memoryLogLine('side old'));
    const s = session();
    const lines: LogLine[] = [];
    await new Promise<void>((resolve) =>
      s.subscribeLogs({ job: 'shop', entry: 'side', tail: 10, follow: true }, (l) => lines.push(...l), {
        onSubscribed: resolve,
      }),
    );
    await until(() => lines.length === 1, 'the history of the side entry');
    // A new replica starts: its web container is not followed, its side container is.
    runtime.addContainer({ id: 'w2', job: 'shop', entry: 'web' });
    runtime.addContainer({ id: 's2', job: 'shop', entry: 'side' });
    runtime.writeLog('w2', memoryLogLine('web new', 'stdout', Date.now()));
    runtime.writeLog('s2', memoryLogLine('side new', 'stdout', Date.now()));
    runtime.emitEvent(containerEvent('w2', 'shop', 'start', { entry: 'web' }));
    runtime.emitEvent(containerEvent('s2', 'shop', 'start', { entry: 'side' }));
    await until(() => lines.length === 2, 'the new side container');
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.map((l) => `${l.containerId}/${l.entry}:${l.text}`)).toEqual([
      's1/side:side old',
      's2/side:side new',
    ]);
  });

  it('refuses an entry filter without a job', async () => {
    const { session } = await setup();
    const error = await new Promise<{ code: string; message: string }>((resolve) =>
      session().subscribeLogs({ container: 'c1', entry: 'web' }, () => {}, { onError: resolve }),
    );
    expect(error).toMatchObject({ code: 'invalid_request', message: /entry is a filter of job/ });
  });

  it('re-attaches a restarted container without repeating lines', async () => {
    const { runtime, session } = await setup();
    const c1 = runtime.addContainer({ id: 'c1', job: 'web' });
    const s = session();
    const lines: LogLine[] = [];
    await new Promise<void>((resolve) =>
      s.subscribeLogs({ container: 'c1', follow: true }, (l) => lines.push(...l), { onSubscribed: resolve }),
    );
    runtime.writeLog('c1', memoryLogLine('before stop', 'stdout', Date.now()));
    await until(() => lines.length === 1, 'first line');
    runtime.stopContainer('c1');
    c1.running = true;
    runtime.writeLog('c1', memoryLogLine('after restart', 'stdout', Date.now() + 1));
    runtime.emitEvent(containerEvent('c1', 'web', 'start'));
    await until(() => lines.length === 2, 'the line after the restart');
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.map((l) => l.text)).toEqual(['before stop', 'after restart']);
    expect(runtime.opened.logs).toBe(2);
  });

  it('pauses the Docker stream instead of dropping history when the client is slow', async () => {
    const { port, runtime, feeds } = await setup({
      limits: { highWaterBytes: 16 * 1024, logQueue: { maxItems: 200, maxBytes: 64 * 1024 } },
    });
    runtime.addContainer({ id: 'c1', job: 'web' });
    const text = 'h'.repeat(200);
    for (let i = 0; i < 20_000; i++) runtime.writeLog('c1', memoryLogLine(`${i} ${text}`));
    const client = await rawClient(port);
    client.pause();
    client.send({ type: 'subscribe', id: 'h', topic: 'logs', params: { container: 'c1' } });
    await until(() => runtime.pausedLogStreams === 1, 'the Docker stream to be paused');
    const held = feeds.diagnostics();
    expect(held.queuedBytes).toBeLessThan(200 * 1024);
    expect(held.socketBufferedBytes).toBeLessThan(16 * 1024 + 300 * 1024);
    client.resume();
    await until(() => client.framesOfType('end').length === 1, 'the end', 20_000);
    const received = client.framesOfType<{ lines: LogLine[] }>('logs').flatMap((f) => f.lines);
    expect(received).toHaveLength(20_000);
    expect(received.map((l) => Number(l.text.split(' ')[0]))).toEqual(
      Array.from({ length: 20_000 }, (_, i) => i),
    );
    expect(client.framesOfType('dropped')).toHaveLength(0);
  });

  it('drops live lines for a client that stops reading, counts them, and stays bounded', async () => {
    const { port, runtime, feeds } = await setup({
      limits: { highWaterBytes: 16 * 1024, logQueue: { maxItems: 500, maxBytes: 64 * 1024 } },
    });
    runtime.addContainer({ id: 'c1', job: 'web' });
    const client = await rawClient(port);
    client.send({ type: 'subscribe', id: 'live', topic: 'logs', params: { container: 'c1', follow: true } });
    await until(() => client.framesOfType('subscribed').length === 1, 'ack');
    client.pause();
    const text = 'x'.repeat(500);
    let written = 0;
    // ~40 MB of live lines while nobody reads.
    for (let round = 0; round < 80; round++) {
      for (let i = 0; i < 1000; i++)
        runtime.writeLog('c1', memoryLogLine(`${written++} ${text}`, 'stdout', Date.now()));
      await new Promise((r) => setImmediate(r));
      const d = feeds.diagnostics();
      expect(d.queuedBytes).toBeLessThanOrEqual(64 * 1024 + 1024);
      expect(d.socketBufferedBytes).toBeLessThan(16 * 1024 + 300 * 1024);
    }
    client.resume();
    const received = () => client.framesOfType<{ lines: LogLine[] }>('logs').flatMap((f) => f.lines).length;
    const dropped = () =>
      client.framesOfType<{ count: number }>('dropped').reduce((sum, f) => sum + f.count, 0);
    // Every line written is accounted for, as received or as counted in a dropped frame…
    await until(() => received() + dropped() === written, 'every line received or counted as dropped');
    // …and nothing more is on its way.
    await until(() => feeds.diagnostics().queuedBytes === 0, 'the queue to drain');
    expect(feeds.diagnostics().socketBufferedBytes).toBe(0);
    expect(received() + dropped()).toBe(written);
    expect(dropped()).toBeGreaterThan(0);
    // Only a fraction got through; the rest was counted, not buffered.
    expect(received()).toBeLessThan(written / 2);
  });
});

describe('session lifecycle', () => {
  it('releases every subscription and stream when a client disconnects', async () => {
    const { port, runtime, feeds } = await setup();
    runtime.addContainer({ id: 'c1', job: 'web' });
    const client = await rawClient(port);
    client.send({ type: 'subscribe', id: 's', topic: 'stats', params: {} });
    client.send({ type: 'subscribe', id: 'e', topic: 'events' });
    client.send({ type: 'subscribe', id: 'l', topic: 'logs', params: { job: 'web', follow: true } });
    await until(() => client.framesOfType('subscribed').length === 3, 'three acks');
    expect(feeds.diagnostics()).toMatchObject({
      sessions: 1,
      subscriptions: 3,
      openStreams: { events: true, stats: 1 },
    });
    expect(runtime.logWatchers.size).toBe(1);
    client.close();
    await until(() => feeds.sessions === 0, 'the session to go');
    expect(feeds.openStreams).toEqual({ events: false, stats: 0 });
    expect(runtime.logWatchers.size).toBe(0);
  });

  it('cuts off a client that stops answering pings', async () => {
    const { port, feeds } = await setup({ heartbeatMs: 100 });
    const client = await rawClient(port);
    await until(() => feeds.sessions === 1, 'the session');
    // A paused client never sees the pings, so it never answers them.
    client.pause();
    await until(() => feeds.sessions === 0, 'the server to terminate it', 3000);
  });
});

describe('the heartbeat a client asks for', () => {
  it('pings a client that asked for ?ping= only after hearing nothing from it that long, and still cuts it off when it stops answering', async () => {
    const { port, feeds } = await setup({ heartbeatMs: 50 });
    const usual = await rawClient(port);
    const quiet = await rawClient(port, KEY, '/v1/feeds?ping=3000');
    await until(() => feeds.sessions === 2, 'both sessions');
    // The usual client is pinged at the agent's tick; the quiet one not at all meanwhile.
    await until(() => usual.pings >= 3, 'pings at the tick');
    expect(quiet.pings).toBe(0);
    // Then it is pinged, answers, and stays.
    await until(() => quiet.pings >= 1, 'a ping after its interval', 8000);
    expect(feeds.sessions).toBe(2);
    // A client that asked for a long interval and stops answering is still cut off.
    quiet.pause();
    await until(() => feeds.sessions === 1, 'the quiet client cut off', 6000);
  });

  it('counts anything the client sends as alive: a client that keeps talking is not pinged', async () => {
    const { port, feeds } = await setup({ heartbeatMs: 60 });
    const talker = await rawClient(port, KEY, '/v1/feeds?ping=3000');
    await until(() => feeds.sessions === 1, 'the session');
    const talking = setInterval(() => talker.sendRaw(Buffer.from('hi'), 0x9), 100);
    cleanups.push(() => clearInterval(talking));
    await new Promise((r) => setTimeout(r, 5_000));
    expect(talker.pings).toBe(0);
    expect(feeds.sessions).toBe(1);
  });

  it('refuses a ping interval that is not a number of milliseconds in range, naming the parameter', async () => {
    const { port } = await setup();
    for (const [value, reason] of [
      ['forever', 'must be a number of milliseconds'],
      ['2.5', 'must be a whole number of milliseconds'],
      ['10', 'must be at least 1000'],
      ['86400000', 'must be at most 600000'],
    ]) {
      const refusal = (await RawFeedClient.connect(port, KEY, `/v1/feeds?ping=${value}`)) as UpgradeRefusal;
      expect(refusal.status).toBe(400);
      expect(JSON.parse(refusal.body)).toEqual({
        error: { code: 'invalid_request', message: `query parameter ping: ${reason}` },
      });
    }
  });
});

/** Node `n1`'s info, the job list `jobs.current` says (read at each summary), no other containers. */
function summarySource(jobs: { current: JobStatus[] }): SummarySource {
  return {
    info: async () => agentInfo({ hostname: 'n1' }),
    listJobs: async () => ({ jobs: jobs.current }),
    listContainers: async () => ({ containers: [] }),
  };
}

describe('summary subscriptions', () => {
  it('sends everything first, then a changed job list soon after a container event, and usage only when it changed', async () => {
    const jobs = { current: [jobStatus('web', [container('web', 1)])] };
    const source = summarySource(jobs);
    const { runtime, session } = await setup({ summary: source });
    runtime.addContainer({ id: 'c1', job: 'web' });
    const s = session();
    const got: NodeSummary[] = [];
    s.subscribeSummary({ intervalMs: 60_000 }, (summary) => got.push(summary));
    await until(() => got.length === 1, 'the first summary');
    expect(got[0]).toMatchObject({
      info: { hostname: 'n1' },
      jobs: [{ name: 'web' }],
      others: [],
    });
    // A replica more, and the event that says so: the next summary carries the list and the
    // usage the stats now give, not the info that did not change.
    jobs.current = [jobStatus('web', [container('web', 1), container('web', 2)])];
    runtime.emitStats(sample('c1', 'web', 12.5));
    runtime.emitEvent(containerEvent('c2', 'web', 'start'));
    await until(() => got.length === 2, 'the summary after the change', 4000);
    expect(got[1]!.jobs?.[0]?.containers).toHaveLength(2);
    expect(got[1]!.info).toBeUndefined();
    expect(got[1]!.others).toBeUndefined();
    expect(got[1]!.usage).toMatchObject({ cpuPercent: 12.5, containers: 1 });
  });

  it('with containerEvents at-interval, waits for the interval after a container event but not after an operation’s end', async () => {
    const jobs = { current: [jobStatus('web', [container('web', 1)])] };
    const source = summarySource(jobs);
    const { runtime, engine, session } = await setup({ summary: source });
    runtime.addContainer({ id: 'c1', job: 'web' });
    const s = session();
    const got: NodeSummary[] = [];
    s.subscribeSummary({ intervalMs: 60_000, containerEvents: 'at-interval' }, (summary) =>
      got.push(summary),
    );
    await until(() => got.length === 1, 'the first summary');
    // A restart: the client has the event itself; no summary comes for it before the interval
    // (the default would send one a second after it).
    jobs.current = [jobStatus('web', [container('web', 1), container('web', 2)])];
    runtime.emitEvent(containerEvent('c2', 'web', 'start'));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(got).toHaveLength(1);
    // An operation's end still brings it forward, with the lists read again.
    engine.emit({
      type: 'operation-done',
      job: 'web',
      at: 2,
      result: updateResult(),
    });
    await until(() => got.length === 2, 'the summary after the operation', 4000);
    expect(got[1]!.jobs?.[0]?.containers).toHaveLength(2);
  });

  it('refuses a containerEvents value it does not know, naming the field', async () => {
    const { session } = await setup({
      summary: summarySource({ current: [] }),
    });
    const s = session();
    const refused = new Promise<FeedSubscriptionError>((resolve) =>
      s.subscribeSummary({ containerEvents: 'never' as 'soon' }, () => {}, { onError: resolve }),
    );
    const error = await refused;
    expect(isUnsupportedTopic(error)).toBe(false);
    expect(error.code).toBe('invalid_request');
    expect(error.path).toBe('params.containerEvents');
    expect(error.message).toMatch(/"soon", "at-interval"/);
  });

  it('is refused as an unknown topic by an agent without a summary source (what a 0.3 agent answers)', async () => {
    const { session } = await setup();
    const s = session();
    const refused = new Promise<FeedSubscriptionError>((resolve) =>
      s.subscribeSummary({}, () => {}, { onError: resolve }),
    );
    const error = await refused;
    expect(isUnsupportedTopic(error)).toBe(true);
  });
});
