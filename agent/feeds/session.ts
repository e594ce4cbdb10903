/**
 * One client's WebSocket: parses its frames, holds its subscriptions and sends their frames,
 * round-robin, while the socket keeps up. When the socket's unsent bytes pass the high-water
 * mark nothing more is handed to it; each subscription's own bounded queue then decides what
 * waits (history), what is dropped and counted (live lines, old stats batches).
 */
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { DokkupError } from '../../src/core/errors.js';
import {
  type AgentFrame,
  FEED_MAX_SUBSCRIPTIONS,
  type FeedErrorFrame,
  SubscribeFrameSchema,
  UnsubscribeFrameSchema,
} from '../../src/protocol/feeds.js';
import { parseJson, parseValue } from '../../src/protocol/parse.js';
import { EventsSubscription } from './events.js';
import { LogsSubscription } from './logs.js';
import { StatsSubscription } from './stats.js';
import type { Subscription, SubscriptionContext } from './subscription.js';
import { type SummarySource, SummarySubscription } from './summary.js';

/** Session-level errors waiting to be sent; a client causing more than this is cut off. */
const MAX_PENDING_SESSION_ERRORS = 64;

export class AgentFeedSession {
  private readonly subscriptions = new Map<string, Subscription<unknown>>();
  private readonly sessionErrors: FeedErrorFrame[] = [];
  private order: string[] = [];
  private cursor = 0;
  private pumpScheduled = false;
  private closed = false;
  /** Frames sent, for diagnostics and tests. */
  framesSent = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly base: Omit<SubscriptionContext, 'wake'>,
    private readonly onClose: (session: AgentFeedSession) => void,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[], isBinary));
    ws.on('close', () => this.dispose());
    ws.on('error', (error) => {
      base.logger.debug({ error: error.message }, 'feeds socket error');
      this.dispose();
    });
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Bytes handed to the socket and not yet written to the kernel. */
  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Bytes queued in this session's subscriptions (for diagnostics and tests). */
  get queuedBytes(): number {
    let total = 0;
    for (const sub of this.subscriptions.values()) total += sub.queue.bytes;
    return total;
  }

  private onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.sessionError(null, 'frames must be JSON text, not binary');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString('utf8');
    const json = parseJson(text, z.unknown());
    if (!json.ok) {
      this.sessionError(null, 'frame is not valid JSON');
      return;
    }
    const raw = json.value;
    const id =
      typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string'
        ? ((raw as { id: string }).id.slice(0, 64) ?? null)
        : null;
    const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (type === 'unsubscribe') {
      const parsed = parseValue(raw, UnsubscribeFrameSchema);
      if (!parsed.ok) {
        this.sessionError(id, parsed.problem.message, parsed.problem.path);
        return;
      }
      this.unsubscribe(parsed.value.id);
      return;
    }
    if (type !== 'subscribe') {
      this.sessionError(id, 'type must be "subscribe" or "unsubscribe"', 'type');
      return;
    }
    const topic = (raw as { topic?: unknown }).topic;
    if (topic !== 'events' && topic !== 'stats' && topic !== 'logs' && topic !== 'summary') {
      this.sessionError(id, 'topic must be "events", "stats", "logs" or "summary"', 'topic');
      return;
    }
    if (topic === 'summary' && !this.base.summary) {
      // As an agent without the topic answers: clients fall back to HTTP and the stats topic.
      this.sessionError(id, 'this agent serves no summaries', 'topic');
      return;
    }
    const parsed = parseValue(raw, SubscribeFrameSchema);
    if (!parsed.ok) {
      this.sessionError(id, parsed.problem.message, parsed.problem.path);
      return;
    }
    const frame = parsed.value;
    if (this.subscriptions.has(frame.id)) {
      this.sessionError(null, `subscription id "${frame.id}" is already in use`, 'id');
      return;
    }
    if (this.subscriptions.size >= FEED_MAX_SUBSCRIPTIONS) {
      this.sessionError(frame.id, `at most ${FEED_MAX_SUBSCRIPTIONS} subscriptions per session`);
      return;
    }
    const context: SubscriptionContext = { ...this.base, wake: () => this.schedulePump() };
    let subscription: Subscription<unknown>;
    switch (frame.topic) {
      case 'events':
        subscription = new EventsSubscription(frame.id, context, frame.params) as Subscription<unknown>;
        break;
      case 'stats':
        subscription = new StatsSubscription(frame.id, context, frame.params) as Subscription<unknown>;
        break;
      case 'logs':
        subscription = new LogsSubscription(frame.id, context, frame.params) as Subscription<unknown>;
        break;
      case 'summary':
        subscription = new SummarySubscription(
          frame.id,
          context,
          this.base.summary as SummarySource,
          frame.params,
        ) as Subscription<unknown>;
        break;
    }
    this.subscriptions.set(frame.id, subscription);
    this.order.push(frame.id);
    subscription.start().catch((error: unknown) => {
      if (!(error instanceof DokkupError)) {
        this.base.logger.warn({ topic: frame.topic, error: String(error) }, 'feed subscription failed');
      }
      subscription.fail(error);
    });
  }

  private unsubscribe(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return;
    subscription.stop();
    this.remove(id);
  }

  private remove(id: string): void {
    this.subscriptions.delete(id);
    this.order = this.order.filter((x) => x !== id);
  }

  private sessionError(id: string | null, message: string, path?: string): void {
    if (this.sessionErrors.length >= MAX_PENDING_SESSION_ERRORS) {
      this.ws.close(1008, 'too many invalid frames');
      this.dispose();
      return;
    }
    const frame: FeedErrorFrame = { type: 'error', id, code: 'invalid_request', message };
    if (path) frame.path = path;
    this.sessionErrors.push(frame);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const ws = this.ws;
    const highWater = this.base.limits.highWaterBytes;
    while (!this.closed && ws.readyState === ws.OPEN && ws.bufferedAmount < highWater) {
      const frame = this.sessionErrors.shift() ?? this.nextSubscriptionFrame();
      if (!frame) return;
      this.send(frame);
    }
  }

  /** One frame from the next subscription that has one (round-robin, so none starves). */
  private nextSubscriptionFrame(): AgentFrame | null {
    for (let tried = 0; tried < this.order.length; tried++) {
      if (this.cursor >= this.order.length) this.cursor = 0;
      const id = this.order[this.cursor] as string;
      const subscription = this.subscriptions.get(id);
      this.cursor++;
      if (!subscription) continue;
      const frame = subscription.nextFrame();
      if (subscription.finished && subscription.queue.isEmpty) this.remove(id);
      if (frame) return frame;
    }
    return null;
  }

  private send(frame: AgentFrame): void {
    this.framesSent++;
    // The callback runs once the frame is handed to the kernel: room again, maybe.
    this.ws.send(JSON.stringify(frame), (error) => {
      if (!error) this.schedulePump();
    });
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions.values()) subscription.stop();
    this.subscriptions.clear();
    this.order = [];
    this.sessionErrors.length = 0;
    this.onClose(this);
  }
}
