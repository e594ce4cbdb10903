/**
 * How a feed reaches its agent: the WebSocket URL, and the TLS connection under it (pinned or CA
 * trust, checked before the upgrade request and its key are written). The WebSocket itself stays
 * in session.ts, ws's one adapter here.
 */
import type { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { routes } from '../../protocol/api.js';
import { FEED_KEEPALIVE_MS, FEED_PING_QUERY } from '../../protocol/feeds.js';
import { baseUrlOf } from '../agent-client.js';
import { connectTrusted, type NodeTrust } from '../transport.js';

/** The largest TLS record this side sends (OpenSSL's smallest allowed; see `feedConnection`). */
const MAX_SEND_FRAGMENT = 512;

/** `http://host:port/prefix` → `ws://host:port/prefix/v1/feeds` (`?ping=` when asked). */
export function feedsUrlOf(baseUrl: string, agentPingMs?: number): string {
  const url = new URL(baseUrlOf(baseUrl));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${routes.feeds}`;
  if (agentPingMs !== undefined) url.searchParams.set(FEED_PING_QUERY, String(Math.round(agentPingMs)));
  return url.toString();
}

/**
 * A `createConnection` for ws that opens the trusted TLS connection of a feed. `reconnecting`:
 * a reconnection (after a blip, thousands at once) goes over a JS stream: see `overJsStream` for
 * the memory it saves.
 */
export function feedConnection(
  trust: NodeTrust,
  connectTimeoutMs: number,
  reconnecting: boolean,
): typeof createConnection {
  return ((options: { host?: string; port?: number | string }, callback: never) =>
    connectTrusted(
      {
        host: String(options.host),
        port: Number(options.port),
        trust,
        connectTimeoutMs,
        keepAliveMs: FEED_KEEPALIVE_MS,
        overJsStream: reconnecting,
      },
      (error: Error | null, socket?: Duplex) => {
        // What this side sends is small (the upgrade, subscriptions, pings): records of at most
        // 512 bytes let OpenSSL 3.0 (Node 20, 22) keep a small write buffer for the connection's
        // life: 13 KB less per feed, measured. (OpenSSL 3.5, in Node 24, uses the same memory
        // either way.)
        if (socket instanceof TLSSocket) socket.setMaxSendFragment(MAX_SEND_FRAGMENT);
        (callback as (error: Error | null, socket?: Duplex) => void)(error, socket);
      },
    )) as unknown as typeof createConnection;
}
