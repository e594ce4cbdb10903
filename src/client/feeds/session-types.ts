/**
 * What a feed session tells its users: its connection states, its options, and how a
 * subscription ends (the session itself is in session.ts).
 */
import type { ConnectGate } from './connect-scheduler.js';

export type FeedConnectionState =
  | 'connecting'
  | 'open'
  | 'reconnecting'
  | 'offline'
  | 'unauthorized'
  | 'untrusted'
  | 'closed';

export interface FeedStateChange {
  node: string;
  state: FeedConnectionState;
  /** Failed connection attempts since the connection was last open. */
  attempts: number;
  /** Why the last attempt failed or the connection dropped. */
  error?: string;
  /** Unix ms when the connection was lost (null while open or before the first open). */
  lostAt: number | null;
  /** While not open: the delay before the next attempt. */
  retryInMs?: number;
}

export interface FeedSessionOptions {
  /** The node's name (inventory), for state reports and log prefixes. */
  name: string;
  /** `http(s)://host:port` (or an inventory `location`). */
  baseUrl: string;
  key: string;
  /** For wss: the agent's pinned certificate (`SHA256:<hex>`), else `ca`, else this machine's CAs. */
  fingerprint?: string;
  /** For wss: a CA file the agent's certificate must chain to. */
  ca?: string;
  /** TCP + WebSocket handshake deadline. Default 5 s. */
  connectTimeoutMs?: number;
  /** The client pings this often; no answer by the next ping means the node is gone. Default 10 s. */
  heartbeatMs?: number;
  /**
   * Asks the agent to ping this client only after hearing nothing from it this long (`?ping=`);
   * default: the agent's own tick (15 s).
   */
  agentPingMs?: number;
  /** Reconnect delays: initial, factor and cap, with ±`jitter` (fraction) randomness. */
  backoff?: { initialMs?: number; factor?: number; maxMs?: number; jitter?: number };
  /** Reported `offline` after this many failed attempts in a row… Default 5. */
  offlineAfterAttempts?: number;
  /** …or this long after the connection was lost. Default 15 s. */
  offlineAfterMs?: number;
  /** Start connecting at once (default) or at the first subscription. */
  lazy?: boolean;
  /** For tests: the randomness of the jitter. */
  random?: () => number;
  /**
   * Where connection attempts wait for their turn (a fleet's sessions share one, so that
   * thousands of them never connect at the same instant); default: each attempt at once.
   */
  gate?: ConnectGate;
  /** For tests: the clock (Unix ms) behind `lostAt` and the offline time limit. */
  now?: () => number;
}

/** An agent's refusal of one subscription (the subscription is over). */
export class FeedSubscriptionError extends Error {
  override readonly name = 'FeedSubscriptionError';
  constructor(
    readonly node: string,
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export interface SubscriptionHandlers {
  /** The agent acknowledged the subscription (again after every reconnect). */
  onSubscribed?(): void;
  /** The agent dropped this many items because this client did not keep up. */
  onDropped?(count: number): void;
  /** A finite subscription (logs without follow) delivered everything; it is over. */
  onEnd?(): void;
  /** The agent refused or ended the subscription with an error; it is over. */
  onError?(error: FeedSubscriptionError): void;
}

export type Unsubscribe = () => void;
