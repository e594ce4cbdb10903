/**
 * FeedSession against a hand-made WebSocket peer: one that completes the handshake and then
 * goes silent (a node whose network vanished without closing anything), and one that sends
 * frames the protocol does not allow. The full agent is exercised in agent/feeds/*.test.ts.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { feedsUrlOf } from './feed-connection.js';
import { FeedSession, type FeedStateChange } from './session.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Accepts WebSocket upgrades and then does only what `onOpen` does (by default: nothing). */
async function handmadePeer(
  onOpen: (socket: Socket) => void = () => {},
): Promise<{ port: number; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      onOpen(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as { port: number }).port, server, sockets };
}

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('feedsUrlOf', () => {
  it('turns an agent location into its feeds WebSocket URL', () => {
    expect(feedsUrlOf('10.0.0.5:8080')).toBe('wss://10.0.0.5:8080/v1/feeds');
    expect(feedsUrlOf('http://10.0.0.5:8080')).toBe('ws://10.0.0.5:8080/v1/feeds');
    expect(feedsUrlOf('https://lab1.example:8443/')).toBe('wss://lab1.example:8443/v1/feeds');
    expect(feedsUrlOf('http://lab1:8080/dokkup')).toBe('ws://lab1:8080/dokkup/v1/feeds');
  });

  it('asks for the agent’s ping interval in the query when one is given', () => {
    expect(feedsUrlOf('10.0.0.5:8080', 140_000)).toBe('wss://10.0.0.5:8080/v1/feeds?ping=140000');
  });
});

describe('FeedSession heartbeat', () => {
  it('notices a peer that stops answering pings and reconnects', async () => {
    const peer = await handmadePeer();
    cleanups.push(() => {
      for (const s of peer.sockets) s.destroy();
      peer.server.close();
    });
    const session = new FeedSession({
      name: 'silent',
      baseUrl: `http://127.0.0.1:${peer.port}`,
      key: 'k',
      heartbeatMs: 100,
      backoff: { initialMs: 20, jitter: 0 },
    });
    cleanups.push(() => session.close());
    const changes: FeedStateChange[] = [];
    session.onState((c) => changes.push(c));
    await session.waitUntilOpen();
    await until(() => session.state === 'reconnecting', 'reconnecting');
    const lost = changes.find((c) => c.state === 'reconnecting');
    expect(lost?.error).toMatch(/no answer for 100 ms/);
    // It tried again: a second connection reached the peer.
    await until(() => peer.sockets.length >= 2, 'a second connection');
  });

  it('ignores frames that break the protocol and counts them', async () => {
    const peer = await handmadePeer((socket) => {
      socket.write(textFrame('not json'));
      socket.write(textFrame('{"type":"logs","id":"x"}'));
      socket.write(textFrame('{"type":"error","id":null,"code":"invalid_request","message":"m"}'));
    });
    cleanups.push(() => {
      for (const s of peer.sockets) s.destroy();
      peer.server.close();
    });
    const session = new FeedSession({ name: 'odd', baseUrl: `http://127.0.0.1:${peer.port}`, key: 'k' });
    cleanups.push(() => session.close());
    const sessionErrors: string[] = [];
    session.onSessionError((e) => sessionErrors.push(e.message));
    await until(() => session.invalidFrames === 2 && sessionErrors.length === 1, 'the frames');
    expect(session.state).toBe('open');
  });
});

describe('FeedSession offline rule', () => {
  it('reads the time since the connection was lost from its clock, not from the attempts', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', () => resolve()));
    const port = (gone.address() as { port: number }).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    let clock = 1_000_000;
    const session = new FeedSession({
      name: 'far',
      baseUrl: `127.0.0.1:${port}`,
      key: 'k',
      backoff: { initialMs: 10, maxMs: 10, jitter: 0 },
      offlineAfterAttempts: 1000,
      offlineAfterMs: 60_000,
      now: () => clock,
    });
    cleanups.push(() => session.close());
    const changes: FeedStateChange[] = [];
    session.onState((c) => changes.push(c));
    await until(() => changes.filter((c) => c.retryInMs !== undefined).length >= 3, 'three refused attempts');
    expect(session.state).toBe('connecting');
    expect(changes.at(-1)?.lostAt).toBe(1_000_000);
    clock += 60_000;
    await until(() => session.state === 'offline', 'offline once a minute has passed on its clock');
    expect(changes.at(-1)?.attempts).toBeLessThan(1000);
  });
});
