/**
 * The client FeedSession against a real feeds server that goes away and comes back on the same
 * port: states, backoff, resubscription, and logs resuming without repeats or gaps. (The same
 * with a real agent process and Docker engine is in test/e2e/feeds.test.ts.)
 */
import type { Server } from 'node:http';
import { createServer } from 'node:https';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FeedSession, type FeedStateChange } from '../../src/client/feeds/session.js';
import type { FeedEvent, LogLine } from '../../src/protocol/feeds.js';
import { KeyVerifier } from '../auth/verifier.js';
import { silentLogger } from '../logger.js';
import { type CertificatePair, createSelfSignedCertificate, fingerprintOf } from '../tls/certificate.js';
import { attachFeeds, type FeedsHandle } from './attach.js';
import { MemoryFeedRuntime, memoryLogLine } from './memory-runtime.fixture.js';

const KEY = 'k'.repeat(43);
const verifier = KeyVerifier.forKey(KEY);
/** The agent serves TLS (the default) with the same certificate across its restarts; sessions pin it. */
let certificate: CertificatePair;
let fingerprint: string;
beforeAll(async () => {
  certificate = await createSelfSignedCertificate(['127.0.0.1']);
  fingerprint = fingerprintOf(certificate.cert);
});

interface Agent {
  server: Server;
  feeds: FeedsHandle;
  stop(): Promise<void>;
}

async function startAgent(runtime: MemoryFeedRuntime, port = 0): Promise<Agent & { port: number }> {
  const server = createServer(certificate, (_req, res) => {
    res.statusCode = 404;
    res.end();
  }) as unknown as Server;
  const feeds = attachFeeds(server, { verifier, runtime, logger: silentLogger() });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const stop = async () => {
    await feeds.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, feeds, stop, port: (server.address() as { port: number }).port };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('FeedSession reconnects', () => {
  it('goes reconnecting → offline with growing delays, then open again and resubscribes', async () => {
    const runtime = new MemoryFeedRuntime();
    runtime.addContainer({ id: 'c1', job: 'web' });
    let agent = await startAgent(runtime);
    const port = agent.port;
    const session = new FeedSession({
      name: 'n1',
      baseUrl: `127.0.0.1:${port}`,
      key: KEY,
      fingerprint,
      backoff: { initialMs: 40, factor: 2, maxMs: 1000, jitter: 0 },
      offlineAfterAttempts: 3,
      offlineAfterMs: 60_000,
    });
    cleanups.push(() => session.close());
    const changes: FeedStateChange[] = [];
    session.onState((c) => changes.push(c));
    const events: FeedEvent[] = [];
    let acks = 0;
    session.subscribeEvents((e) => events.push(e), { onSubscribed: () => acks++ });
    const lines: LogLine[] = [];
    session.subscribeLogs({ job: 'web', follow: true, tail: 100 }, (l) => lines.push(...l));
    await until(() => acks === 1 && agent.feeds.diagnostics().subscriptions === 2, 'both subscriptions');
    runtime.writeLog('c1', memoryLogLine('one', 'stdout', Date.now()));
    await until(() => lines.length === 1, 'the first line');

    await agent.stop();
    // Written while the agent is away: must arrive after the reconnect, once.
    runtime.writeLog('c1', memoryLogLine('two', 'stdout', Date.now()));
    await until(() => session.state === 'offline', 'offline');
    const retries = changes.filter((c) => c.retryInMs !== undefined).slice(0, 4);
    // The drop itself is not a failed attempt; the third failed attempt makes it offline.
    expect(retries.map((c) => c.state)).toEqual(['reconnecting', 'reconnecting', 'reconnecting', 'offline']);
    expect(retries.map((c) => c.attempts)).toEqual([0, 1, 2, 3]);
    // The first retry comes after the initial delay; each further one doubles it.
    expect(retries.map((c) => c.retryInMs)).toEqual([40, 80, 160, 320]);
    expect(retries.at(-1)?.lostAt).toBeTypeOf('number');

    agent = await startAgent(runtime, port);
    cleanups.push(() => agent.stop());
    await until(() => session.state === 'open', 'open again', 10_000);
    await until(() => acks === 2 && agent.feeds.diagnostics().subscriptions === 2, 'resubscribed');
    runtime.writeLog('c1', memoryLogLine('three', 'stdout', Date.now()));
    runtime.emitEvent({
      type: 'container',
      action: 'start',
      containerId: 'c9',
      containerName: 'web-9',
      job: 'web',
      version: null,
      image: null,
      at: Date.now(),
    });
    await until(() => lines.length >= 3 && events.length === 1, 'the line and event after the reconnect');
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.map((l) => l.text)).toEqual(['one', 'two', 'three']);
    expect(session.status).toMatchObject({ state: 'open', attempts: 0, lostAt: null });
  });

  it('is offline after the time limit even with few attempts, and keeps trying', async () => {
    const runtime = new MemoryFeedRuntime();
    const agent = await startAgent(runtime);
    const port = agent.port;
    await agent.stop();
    const session = new FeedSession({
      name: 'n1',
      baseUrl: `127.0.0.1:${port}`,
      key: KEY,
      fingerprint,
      backoff: { initialMs: 50, maxMs: 50, jitter: 0 },
      offlineAfterAttempts: 1000,
      offlineAfterMs: 300,
    });
    cleanups.push(() => session.close());
    const states: string[] = [];
    session.onState((c) => states.push(c.state));
    await until(() => session.state === 'offline', 'offline');
    expect(states[0]).toBe('connecting');
    expect(states).not.toContain('reconnecting');
    const again = await startAgent(runtime, port);
    cleanups.push(() => again.stop());
    await until(() => session.state === 'open', 'open once the agent is back');
  });

  it('stops for good on close(): no more attempts, state closed', async () => {
    const runtime = new MemoryFeedRuntime();
    const agent = await startAgent(runtime);
    cleanups.push(() => agent.stop());
    const session = new FeedSession({
      name: 'n1',
      baseUrl: `127.0.0.1:${agent.port}`,
      key: KEY,
      fingerprint,
    });
    await session.waitUntilOpen();
    const stop = session.subscribeEvents(() => {});
    await until(() => agent.feeds.diagnostics().subscriptions === 1, 'the subscription');
    stop();
    await until(() => agent.feeds.diagnostics().subscriptions === 0, 'unsubscribed on the agent');
    session.close();
    expect(session.state).toBe('closed');
    await until(() => agent.feeds.sessions === 0, 'the agent to see the session go');
    expect(() => session.subscribeEvents(() => {})).toThrow(/closed/);
  });
});
