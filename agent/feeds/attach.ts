/**
 * Puts the feeds WebSocket on the agent's HTTP server: `routes.feeds`, taken over from the
 * server's `upgrade` event (ws in noServer mode). The key is checked before the upgrade; a
 * request without the right key gets a plain HTTP 401 and never becomes a WebSocket.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ErrorBody, ErrorCode } from '../../src/protocol/api.js';
import { routes } from '../../src/protocol/api.js';
import {
  FEED_KEEPALIVE_MS,
  FEED_MAX_CLIENT_FRAME_BYTES,
  FEED_PING_QUERY,
  FeedPingMsSchema,
} from '../../src/protocol/feeds.js';
import type { AuthOutcome } from '../auth/verifier.js';
import type { FeedRuntime } from '../docker/feed-runtime.js';
import { createDockerFeedRuntime, type DockerClient } from '../docker/feeds-docker.js';
import { FeedHub, type HubOptions, type OperationSource } from './hub.js';
import type { FeedLogger } from './logger.js';
import { AgentFeedSession } from './session.js';
import { DEFAULT_FEED_LIMITS, type FeedLimits } from './subscription.js';
import type { SummarySource } from './summary.js';

/** The key check (`KeyVerifier` from agent/auth). */
export interface FeedAuthorizer {
  authorize(req: IncomingMessage): Promise<AuthOutcome>;
  /** Present on a verifier that follows rotations: sessions opened with a replaced key are closed. */
  isCurrent?(keyId: string): boolean;
  onKeyChange?(listener: () => void): () => void;
}

/** Close code for a session whose key no longer opens the agent (the client reconnects and gets 401). */
export const KEY_ROTATED_CLOSE_CODE = 1008;

export interface AttachFeedsOptions {
  verifier: FeedAuthorizer;
  /** The agent's dockerode client. Either this or `runtime`. */
  docker?: DockerClient;
  /** A feed runtime of one's own (tests, simulations); wins over `docker`. */
  runtime?: FeedRuntime;
  /** The job engine, for operation events; without it only Docker events are sent. */
  engine?: OperationSource;
  /** The job engine's info and lists, for `summary` subscriptions; without it the topic is refused. */
  summary?: SummarySource;
  logger: FeedLogger;
  /**
   * The heartbeat's tick, default 15 s: a client heard nothing from for its ping interval (the
   * tick, or longer when it asked with `?ping=`) is pinged; one that has not answered by the
   * next tick is cut off.
   */
  heartbeatMs?: number;
  /** Concurrent sessions; more get HTTP 503. Default 128. */
  maxSessions?: number;
  limits?: Partial<FeedLimits>;
  hub?: HubOptions;
}

export interface FeedsDiagnostics {
  sessions: number;
  subscriptions: number;
  /** Bytes waiting in subscription queues (bounded per subscription). */
  queuedBytes: number;
  /** Bytes handed to sockets but not yet written to the kernel (bounded by the high-water mark). */
  socketBufferedBytes: number;
  /** Docker streams held right now (none when nobody subscribes). */
  openStreams: { events: boolean; stats: number };
}

export interface FeedsHandle {
  /** Open sessions. */
  readonly sessions: number;
  /** Docker streams held right now (none when nobody subscribes). */
  readonly openStreams: { events: boolean; stats: number };
  /** Memory and stream figures, for tests and the agent's own logs. */
  diagnostics(): FeedsDiagnostics;
  /** Closes every session (code 1001, going away) and releases every Docker stream. */
  close(): Promise<void>;
}

/** What the heartbeat knows of one client. */
interface Liveness {
  /** The client's ping interval. */
  intervalMs: number;
  /** Last time anything (a frame, a ping, a pong) came from the client. */
  heardAt: number;
  /** When the unanswered ping went out, or null. */
  pingedAt: number | null;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extraHeaders,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  if (socket.writable)
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
  else socket.destroy();
}

export function attachFeeds(server: Server, options: AttachFeedsOptions): FeedsHandle {
  const runtime = options.runtime ?? (options.docker ? createDockerFeedRuntime(options.docker) : undefined);
  if (!runtime) throw new Error('attachFeeds needs either `docker` or `runtime`');
  const logger = options.logger;
  const limits: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...options.limits };
  const hub = new FeedHub(runtime, options.engine, logger, options.hub);
  const maxSessions = options.maxSessions ?? 128;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: FEED_MAX_CLIENT_FRAME_BYTES,
    // Frames are small JSON; compression would cost CPU on every stats batch for little gain.
    perMessageDeflate: false,
  });
  const sessions = new Set<AgentFeedSession>();
  const tickMs = options.heartbeatMs ?? 15_000;
  const liveness = new WeakMap<WebSocket, Liveness>();
  /** Which key opened each socket, so a rotation closes exactly the sessions it invalidates. */
  const keyOf = new Map<WebSocket, string>();
  const dropReplacedKeys = () => {
    const { verifier } = options;
    if (!verifier.isCurrent) return;
    for (const [ws, keyId] of keyOf) {
      if (verifier.isCurrent(keyId)) continue;
      keyOf.delete(ws);
      logger.debug({ keyId }, 'feeds session closed: its key was replaced');
      ws.close(KEY_ROTATED_CLOSE_CODE, 'the API key was rotated');
      // A client that does not answer the close handshake is cut off.
      setTimeout(() => ws.terminate(), 500).unref();
    }
  };
  const stopFollowingKeys = options.verifier.onKeyChange?.(dropReplacedKeys) ?? (() => {});
  let closing = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const [path, query] = (req.url ?? '/').split('?', 2);
    if (path !== routes.feeds) {
      refuseUpgrade(socket, 404, 'not_found', `no WebSocket at ${path}; the feeds are at ${routes.feeds}`);
      return;
    }
    const askedPing = new URLSearchParams(query ?? '').get(FEED_PING_QUERY);
    const ping = askedPing === null ? null : FeedPingMsSchema.safeParse(askedPing);
    if (ping && !ping.success) {
      const reason = ping.error.issues[0]?.message ?? 'invalid';
      refuseUpgrade(socket, 400, 'invalid_request', `query parameter ${FEED_PING_QUERY}: ${reason}`);
      return;
    }
    const intervalMs = Math.max(tickMs, ping?.data ?? tickMs);
    options.verifier.authorize(req).then(
      (outcome) => {
        if (!outcome.ok) {
          if (outcome.reason === 'throttled') {
            refuseUpgrade(socket, 429, 'unauthorized', 'too many wrong keys; try again later', {
              'Retry-After': String(outcome.retryAfterSeconds),
            });
          } else {
            refuseUpgrade(
              socket,
              401,
              'unauthorized',
              outcome.reason === 'missing' ? 'missing Authorization: Bearer <key>' : 'wrong key',
            );
          }
          return;
        }
        if (closing) {
          refuseUpgrade(socket, 503, 'interrupted', 'the agent is shutting down');
          return;
        }
        if (sessions.size >= maxSessions) {
          refuseUpgrade(socket, 503, 'internal', `too many feed sessions (at most ${maxSessions})`);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          keyOf.set(ws, outcome.keyId);
          ws.once('close', () => keyOf.delete(ws));
          // The key may have been replaced while the upgrade was under way.
          if (options.verifier.isCurrent && !options.verifier.isCurrent(outcome.keyId)) dropReplacedKeys();
          (socket as Partial<Pick<Socket, 'setKeepAlive'>>).setKeepAlive?.(true, FEED_KEEPALIVE_MS);
          const live: Liveness = { intervalMs, heardAt: performance.now(), pingedAt: null };
          liveness.set(ws, live);
          const heard = () => {
            live.heardAt = performance.now();
            live.pingedAt = null;
          };
          ws.on('pong', heard);
          ws.on('ping', heard);
          ws.on('message', heard);
          const session = new AgentFeedSession(
            ws,
            { hub, runtime, logger, limits, summary: options.summary },
            (s) => sessions.delete(s),
          );
          sessions.add(session);
          logger.debug({ remote: req.socket.remoteAddress, sessions: sessions.size }, 'feeds session opened');
        });
      },
      (error: unknown) => {
        logger.warn({ error: String(error) }, 'feeds key check failed');
        refuseUpgrade(socket, 503, 'internal', 'key check failed');
      },
    );
  };
  server.on('upgrade', onUpgrade);

  const heartbeat = setInterval(() => {
    const now = performance.now();
    for (const ws of wss.clients) {
      const live = liveness.get(ws);
      if (!live) continue;
      if (live.pingedAt !== null) {
        // Pinged at an earlier tick and nothing since: gone.
        if (now - live.pingedAt >= tickMs / 2) ws.terminate();
        continue;
      }
      // Heard from lately (within its interval, less half a tick so that a tick never just
      // misses it): no ping needed.
      if (now - live.heardAt < live.intervalMs - tickMs / 2) continue;
      live.pingedAt = now;
      ws.ping();
    }
  }, tickMs);
  heartbeat.unref();

  return {
    get sessions() {
      return sessions.size;
    },
    get openStreams() {
      return hub.openStreams;
    },
    diagnostics() {
      let subscriptions = 0;
      let queuedBytes = 0;
      let socketBufferedBytes = 0;
      for (const session of sessions) {
        subscriptions += session.subscriptionCount;
        queuedBytes += session.queuedBytes;
        socketBufferedBytes += session.bufferedBytes;
      }
      return {
        sessions: sessions.size,
        subscriptions,
        queuedBytes,
        socketBufferedBytes,
        openStreams: hub.openStreams,
      };
    },
    async close() {
      closing = true;
      stopFollowingKeys();
      clearInterval(heartbeat);
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(1001, 'agent shutting down');
      for (const session of [...sessions]) session.dispose();
      hub.close();
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      // Clients that do not answer the close handshake within a second are cut off.
      const grace = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
      await Promise.race([closed, grace]);
      for (const ws of wss.clients) ws.terminate();
      await closed;
    },
  };
}
