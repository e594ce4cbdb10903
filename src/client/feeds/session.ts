/**
 * One node's live feeds: a WebSocket to the agent's `routes.feeds` that stays up. It reconnects
 * with exponential backoff and jitter, re-subscribes everything (logs resume after the last line
 * seen, with repeats skipped), pings to notice a vanished node, and reports its connection state
 * so a UI can show it per node:
 *
 *   connecting → open → reconnecting → (after N failed attempts or T ms) offline
 *   unauthorized: the agent refused the key (no retry); untrusted: its TLS certificate is not
 *   the one the inventory trusts, nothing was sent (no retry); closed: `close()` was called.
 *
 * ```ts
 * const session = new FeedSession({ name: 'lab1', baseUrl: 'http://10.0.0.5:8080', key });
 * session.onState(({ state }) => console.log(state));
 * const stop = session.subscribeLogs({ job: 'web', tail: 100, follow: true }, (lines) => …);
 * stop(); session.close();
 * ```
 */
import WebSocket from 'ws';
import { type BackoffPolicy, backoffDelay } from '../../core/backoff.js';
import { settleOnce } from '../../core/settle.js';
import {
  type AgentFrame,
  AgentFrameSchema,
  type EventsParams,
  FEED_KEEPALIVE_MS,
  FEED_MAX_AGENT_FRAME_BYTES,
  type FeedEvent,
  type FeedTopic,
  type LogLine,
  type LogsParams,
  type NodeSummary,
  type StatsBatch,
  type StatsParams,
  type SubscribeFrameInput,
  type SummaryParams,
} from '../../protocol/feeds.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import { NotTlsError, TlsTrustError, trustOf } from '../transport.js';
import { notTlsError } from '../transport-errors.js';
import type { ConnectGate, ConnectTicket } from './connect-scheduler.js';
import { feedConnection, feedsUrlOf } from './feed-connection.js';
import { Heartbeat } from './heartbeat.js';
import { LogCursor } from './log-cursor.js';
import {
  type FeedConnectionState,
  type FeedSessionOptions,
  type FeedStateChange,
  FeedSubscriptionError,
  type SubscriptionHandlers,
  type Unsubscribe,
} from './session-types.js';

export {
  type FeedConnectionState,
  type FeedSessionOptions,
  type FeedStateChange,
  FeedSubscriptionError,
  type SubscriptionHandlers,
  type Unsubscribe,
};

interface ClientSubscription {
  id: string;
  topic: FeedTopic;
  params: Record<string, unknown>;
  handlers: SubscriptionHandlers;
  onEvent?: (event: FeedEvent) => void;
  onBatch?: (batch: StatsBatch) => void;
  onLines?: (lines: LogLine[]) => void;
  onSummary?: (summary: NodeSummary) => void;
  /** Logs: where to resume after a reconnect, and which repeats to skip. */
  cursor?: LogCursor;
  /** The agent acknowledged it on the current connection. */
  acknowledged: boolean;
}

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  heartbeatMs: 10_000,
  offlineAfterAttempts: 5,
  offlineAfterMs: 15_000,
};
const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, factor: 2, maxMs: 10_000, jitter: 0.3 };

export class FeedSession {
  readonly node: string;
  private readonly url: string;
  private readonly key: string;
  private readonly trust: ReturnType<typeof trustOf>;
  private readonly opts: typeof DEFAULTS;
  private readonly gate: ConnectGate | undefined;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly now: () => number;

  private ws: WebSocket | null = null;
  private currentState: FeedConnectionState = 'connecting';
  private attempts = 0;
  /** Reconnects scheduled since the connection was last open (the backoff exponent). */
  private retries = 0;
  private lostAt: number | null = null;
  private lastError: string | undefined;
  private everOpened = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** The attempt waiting for (or holding) its turn at the gate. */
  private ticket: ConnectTicket | null = null;
  private readonly heartbeat: Heartbeat;
  private started = false;
  private closedByUser = false;
  private nextId = 1;

  private readonly subscriptions = new Map<string, ClientSubscription>();
  private readonly stateListeners = new Set<(change: FeedStateChange) => void>();
  private readonly sessionErrorListeners = new Set<(error: FeedSubscriptionError) => void>();
  /** Agent frames that failed validation (ignored), for diagnostics. */
  invalidFrames = 0;

  constructor(options: FeedSessionOptions) {
    this.node = options.name;
    this.url = feedsUrlOf(options.baseUrl, options.agentPingMs);
    this.key = options.key;
    this.trust = trustOf(options);
    this.random = options.random ?? Math.random;
    this.gate = options.gate;
    this.now = options.now ?? Date.now;
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
      offlineAfterAttempts: options.offlineAfterAttempts ?? DEFAULTS.offlineAfterAttempts,
      offlineAfterMs: options.offlineAfterMs ?? DEFAULTS.offlineAfterMs,
    };
    this.heartbeat = new Heartbeat(this.opts.heartbeatMs, (reason) => {
      this.lastError = reason;
    });
    const backoff = options.backoff ?? {};
    this.backoff = {
      initialMs: backoff.initialMs ?? DEFAULT_BACKOFF.initialMs,
      factor: backoff.factor ?? DEFAULT_BACKOFF.factor,
      maxMs: backoff.maxMs ?? DEFAULT_BACKOFF.maxMs,
      jitter: backoff.jitter ?? DEFAULT_BACKOFF.jitter,
    };
    if (!options.lazy) this.start();
  }

  /** A session for an inventory node. */
  static forNode(
    node: Pick<InventoryNode, 'name' | 'baseUrl' | 'key' | 'fingerprint' | 'ca'>,
    options: Partial<FeedSessionOptions> = {},
  ) {
    return new FeedSession({
      ...options,
      name: node.name,
      baseUrl: node.baseUrl,
      key: node.key,
      ...(node.fingerprint ? { fingerprint: node.fingerprint } : {}),
      ...(node.ca ? { ca: node.ca } : {}),
    });
  }

  get state(): FeedConnectionState {
    return this.currentState;
  }

  /** The current state as a report (what `onState` listeners get). */
  get status(): FeedStateChange {
    const change: FeedStateChange = {
      node: this.node,
      state: this.currentState,
      attempts: this.attempts,
      lostAt: this.lostAt,
    };
    if (this.lastError !== undefined) change.error = this.lastError;
    return change;
  }

  /** Calls `listener` on every state change (and once now, with the current state). */
  onState(listener: (change: FeedStateChange) => void): Unsubscribe {
    this.stateListeners.add(listener);
    listener(this.status);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  /** The last round trip measured on the open connection (a ping and its pong), in ms. */
  get rttMs(): number | null {
    return this.heartbeat.rttMs;
  }

  /** Calls `listener` with each round trip measured (right after opening, then on heartbeats). */
  onRtt(listener: (rttMs: number) => void): Unsubscribe {
    return this.heartbeat.onRtt(listener);
  }

  /** Errors the agent could not tie to a subscription (a bug on one side or the other). */
  onSessionError(listener: (error: FeedSubscriptionError) => void): Unsubscribe {
    this.sessionErrorListeners.add(listener);
    return () => {
      this.sessionErrorListeners.delete(listener);
    };
  }

  /** Resolves once the session is open; rejects if it becomes offline, unauthorized, untrusted or closed first. */
  waitUntilOpen(): Promise<void> {
    return settleOnce<void>((settle) =>
      this.onState((change) => {
        if (change.state === 'open') settle.resolve();
        else if (
          change.state === 'offline' ||
          change.state === 'unauthorized' ||
          change.state === 'untrusted' ||
          change.state === 'closed'
        ) {
          settle.reject(
            new Error(`${this.node}: ${change.state}${change.error ? ` (${change.error})` : ''}`),
          );
        }
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions

  /** Docker events of dokkup containers and the agent's operation events (of one job, if given). */
  subscribeEvents(
    onEvent: (event: FeedEvent) => void,
    options: EventsParams & SubscriptionHandlers = {},
  ): Unsubscribe {
    const { job, ...handlers } = options;
    return this.add('events', job === undefined ? {} : { job }, handlers, { onEvent });
  }

  /** A batch of per-container stats every `intervalMs` (default 2 s, at least 500 ms). */
  subscribeStats(
    params: StatsParams,
    onBatch: (batch: StatsBatch) => void,
    handlers: SubscriptionHandlers = {},
  ): Unsubscribe {
    return this.add('stats', compact({ ...params }), handlers, { onBatch });
  }

  /** Log lines of one container or every container of a job, in batches. */
  subscribeLogs(
    params: LogsParams,
    onLines: (lines: LogLine[]) => void,
    handlers: SubscriptionHandlers = {},
  ): Unsubscribe {
    return this.add('logs', compact({ ...params }), handlers, { onLines, cursor: new LogCursor() });
  }

  /**
   * The node's summary (info, job list, usage) at a low rate: everything first, then what
   * changed. An agent older than the topic refuses it: `onError` gets an `invalid_request` error
   * on `topic` (see `isUnsupportedTopic`).
   */
  subscribeSummary(
    params: SummaryParams,
    onSummary: (summary: NodeSummary) => void,
    handlers: SubscriptionHandlers = {},
  ): Unsubscribe {
    return this.add('summary', compact({ ...params }), handlers, { onSummary });
  }

  private add(
    topic: FeedTopic,
    params: Record<string, unknown>,
    handlers: SubscriptionHandlers,
    extra: Partial<ClientSubscription>,
  ): Unsubscribe {
    if (this.closedByUser) throw new Error(`feed session to ${this.node} is closed`);
    const id = `${topic}-${this.nextId++}`;
    const subscription: ClientSubscription = { id, topic, params, handlers, acknowledged: false, ...extra };
    this.subscriptions.set(id, subscription);
    this.start();
    if (this.currentState === 'open') this.sendSubscribe(subscription);
    return () => {
      if (!this.subscriptions.delete(id)) return;
      if (this.currentState === 'open') this.sendFrame({ type: 'unsubscribe', id });
    };
  }

  /** Logs pick up where they left off after a reconnect (see `LogCursor`). */
  private sendSubscribe(subscription: ClientSubscription): void {
    const frame = {
      type: 'subscribe',
      id: subscription.id,
      topic: subscription.topic,
      params: subscription.cursor?.subscribeParams(subscription.params) ?? subscription.params,
    };
    this.sendFrame(frame as SubscribeFrameInput);
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  private start(): void {
    if (this.started || this.closedByUser) return;
    this.started = true;
    this.connectAfter(0);
  }

  /** The next attempt, after `delayMs` and then its turn at the gate (if there is one). */
  private connectAfter(delayMs: number): void {
    const gate = this.gate;
    if (!gate) {
      if (delayMs <= 0) {
        this.connect();
        return;
      }
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.connect();
      }, delayMs);
      return;
    }
    this.ticket?.cancel();
    this.ticket = gate.request(delayMs, () => this.connect());
  }

  /** The attempt is over (opened or failed): its turn at the gate is given back. */
  private attemptOver(): void {
    this.ticket?.done();
    this.ticket = null;
  }

  /** Tells the listeners; a retry is reported even when the state name stays the same. */
  private setState(state: FeedConnectionState, retryInMs?: number): void {
    if (this.currentState === state && retryInMs === undefined) return;
    this.currentState = state;
    const change = this.status;
    if (retryInMs !== undefined) change.retryInMs = Math.round(retryInMs);
    for (const listener of [...this.stateListeners]) listener(change);
  }

  private connect(): void {
    if (this.closedByUser) return;
    const secure = this.url.startsWith('wss:');
    const ws = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.key}` },
      handshakeTimeout: this.opts.connectTimeoutMs,
      maxPayload: FEED_MAX_AGENT_FRAME_BYTES,
      perMessageDeflate: false,
      // The upgrade request (and its key) is written only once the certificate passed.
      ...(secure
        ? { createConnection: feedConnection(this.trust, this.opts.connectTimeoutMs, this.everOpened) }
        : {}),
    });
    this.ws = ws;
    let refused: { status: number; retryAfterMs?: number } | null = null;
    let untrusted = false;

    ws.on('unexpected-response', (_req, res) => {
      const retryAfter = Number(res.headers['retry-after']);
      refused = { status: res.statusCode ?? 0 };
      if (Number.isFinite(retryAfter) && retryAfter > 0) refused.retryAfterMs = retryAfter * 1000;
      this.lastError = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
      res.resume();
      ws.terminate();
    });
    // Over TLS, `feedConnection` turned it on already.
    if (!secure) ws.on('upgrade', (res) => res.socket.setKeepAlive(true, FEED_KEEPALIVE_MS));
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.attemptOver();
      this.everOpened = true;
      this.attempts = 0;
      this.retries = 0;
      this.lostAt = null;
      this.lastError = undefined;
      this.setState('open');
      // A first round trip right away, for the RTT a view shows; then a tick per interval.
      this.heartbeat.start(ws);
      for (const subscription of this.subscriptions.values()) {
        subscription.acknowledged = false;
        this.sendSubscribe(subscription);
      }
    });
    ws.on('message', (data, isBinary) => {
      this.heartbeat.heardFrom();
      if (!isBinary) this.onFrame(data.toString());
    });
    ws.on('pong', () => this.heartbeat.pong());
    ws.on('ping', () => this.heartbeat.heardFrom());
    ws.on('error', (error) => {
      if (error instanceof TlsTrustError) untrusted = true;
      if (error instanceof NotTlsError) this.lastError = notTlsError(this.node, new URL(this.url)).message;
      else if (!refused) this.lastError = error.message;
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.attemptOver();
      this.ws = null;
      this.heartbeat.stop();
      if (this.closedByUser) return;
      const failure = refused as { status: number; retryAfterMs?: number } | null;
      if (failure?.status === 401) {
        this.setState('unauthorized');
        return;
      }
      if (untrusted) {
        this.setState('untrusted');
        return;
      }
      this.scheduleReconnect(failure?.retryAfterMs);
    });
  }

  private scheduleReconnect(minimumDelayMs = 0): void {
    if (this.lostAt === null) this.lostAt = this.now();
    // A drop of an open connection is not a failed attempt; every failed reconnect is.
    if (this.currentState !== 'open') this.attempts++;
    const delay = Math.max(backoffDelay(this.retries++, this.backoff, this.random()), minimumDelayMs);
    const lostFor = this.now() - this.lostAt;
    const state: FeedConnectionState =
      this.attempts >= this.opts.offlineAfterAttempts || lostFor >= this.opts.offlineAfterMs
        ? 'offline'
        : this.everOpened
          ? 'reconnecting'
          : 'connecting';
    this.setState(state, delay);
    this.connectAfter(delay);
  }

  private sendFrame(frame: SubscribeFrameInput | { type: 'unsubscribe'; id: string }): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  // -------------------------------------------------------------------------------------------
  // Frames from the agent

  private onFrame(text: string): void {
    let parsed: AgentFrame;
    try {
      const result = AgentFrameSchema.safeParse(JSON.parse(text));
      if (!result.success) {
        this.invalidFrames++;
        return;
      }
      parsed = result.data;
    } catch {
      this.invalidFrames++;
      return;
    }
    if (parsed.type === 'error' && parsed.id === null) {
      const error = new FeedSubscriptionError(this.node, parsed.code, parsed.message, parsed.path);
      for (const listener of [...this.sessionErrorListeners]) listener(error);
      return;
    }
    const subscription = this.subscriptions.get(parsed.id as string);
    // Frames of a subscription we already dropped are expected for a moment; ignore them.
    if (!subscription) return;
    switch (parsed.type) {
      case 'subscribed':
        subscription.acknowledged = true;
        subscription.handlers.onSubscribed?.();
        break;
      case 'event':
        subscription.onEvent?.(parsed.event);
        break;
      case 'stats':
        subscription.onBatch?.(parsed.batch);
        break;
      case 'logs': {
        const fresh = subscription.cursor?.accept(parsed.lines) ?? [];
        if (fresh.length > 0) subscription.onLines?.(fresh);
        break;
      }
      case 'summary':
        subscription.onSummary?.(parsed.summary);
        break;
      case 'dropped':
        subscription.handlers.onDropped?.(parsed.count);
        break;
      case 'end':
        this.subscriptions.delete(subscription.id);
        subscription.handlers.onEnd?.();
        break;
      case 'error':
        this.subscriptions.delete(subscription.id);
        subscription.handlers.onError?.(
          new FeedSubscriptionError(this.node, parsed.code, parsed.message, parsed.path),
        );
        break;
    }
  }

  /** Ends the session: no reconnects, every subscription dropped. */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.ticket?.cancel();
    this.ticket = null;
    this.heartbeat.stop();
    this.subscriptions.clear();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closed');
      else ws.terminate();
    }
    this.setState('closed');
  }
}

/** The agent refused a subscription's topic: it predates it (`summary` on a 0.3 agent). */
export function isUnsupportedTopic(error: FeedSubscriptionError): boolean {
  return error.code === 'invalid_request' && error.path === 'topic';
}

function compact(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  return out;
}
