/**
 * What every subscription shares: an id, a bounded outgoing queue, and a way to tell the session
 * that something is ready to send. Subtypes fill the queue from the hub or from Docker.
 */
import { DokkupError } from '../../src/core/errors.js';
import type { AgentFrame, FeedTopic } from '../../src/protocol/feeds.js';
import type { FeedRuntime } from '../docker/feed-runtime.js';
import type { FeedHub } from './hub.js';
import type { FeedLogger } from './logger.js';
import { BoundedQueue, type QueueLimits } from './queue.js';
import type { SummarySource } from './summary.js';

export interface FeedLimits {
  /** Stop sending to a WebSocket whose unsent bytes exceed this (a slow client). */
  highWaterBytes: number;
  /** Per logs subscription. */
  logQueue: QueueLimits;
  /** Per events subscription. */
  eventQueue: QueueLimits;
  /** Lines per `logs` frame. */
  maxLinesPerFrame: number;
  /** Approximate bytes per `logs` frame. */
  maxLogFrameBytes: number;
  /** How long a subscription waits for the Docker events stream before failing. */
  dockerReadyTimeoutMs: number;
  /** How long a stats subscription waits for complete CPU figures before its first batch. */
  firstStatsMaxWaitMs: number;
}

export const DEFAULT_FEED_LIMITS: FeedLimits = {
  highWaterBytes: 1024 * 1024,
  logQueue: { maxItems: 5000, maxBytes: 1024 * 1024 },
  eventQueue: { maxItems: 1000, maxBytes: 1024 * 1024 },
  maxLinesPerFrame: 500,
  maxLogFrameBytes: 256 * 1024,
  dockerReadyTimeoutMs: 10_000,
  firstStatsMaxWaitMs: 3000,
};

export interface SubscriptionContext {
  hub: FeedHub;
  runtime: FeedRuntime;
  logger: FeedLogger;
  limits: FeedLimits;
  /** The job engine's answers for `summary` subscriptions; without it the topic is refused. */
  summary?: SummarySource | undefined;
  /** Something was queued (or room was made): the session should try to send. */
  wake(): void;
}

export abstract class Subscription<T, P = unknown> {
  abstract readonly topic: FeedTopic;
  /** Nothing more will be queued: once the queue is empty the subscription is over. */
  finished = false;
  protected stopped = false;
  readonly queue: BoundedQueue<T>;
  /** Undone on stop: hub listeners, shared streams held. */
  private readonly holds: (() => void)[] = [];

  constructor(
    readonly id: string,
    protected readonly ctx: SubscriptionContext,
    protected readonly params: P,
  ) {
    this.queue = new BoundedQueue<T>(this.queueLimits(ctx.limits));
  }

  /** The bounds of this subscription's own queue (called once, while constructing). */
  protected abstract queueLimits(limits: FeedLimits): QueueLimits;

  /** Opens the subscription's sources; throws a DokkupError to refuse it. Queues the ack itself. */
  abstract start(): Promise<void>;

  /** Releases the sources (unsubscribe, session closed, or finished). Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const undo of this.holds.splice(0)) undo();
    this.release();
  }

  /** Keeps `undo` (an unsubscribe or a release) to run when the subscription stops. */
  protected hold(undo: () => void): void {
    if (this.stopped) undo();
    else this.holds.push(undo);
  }

  /** Whatever else the subscription holds, released on stop (after the holds). */
  protected release(): void {}

  /**
   * Waits for the hub's Docker events stream, so that whatever happens after the ack is seen;
   * a Docker engine that does not answer refuses the subscription.
   */
  protected async whenDockerEventsReady(): Promise<void> {
    try {
      await this.ctx.hub.whenEventsReady(this.ctx.limits.dockerReadyTimeoutMs);
    } catch (error) {
      throw new DokkupError('docker_unavailable', (error as Error).message);
    }
  }

  /** Turns one queued item into its frame. */
  protected abstract itemFrame(value: T): AgentFrame;

  /** The next frame to send, or null when nothing is ready. */
  nextFrame(): AgentFrame | null {
    const entry = this.queue.shift();
    if (!entry) return null;
    const frame =
      entry.kind === 'control'
        ? entry.frame
        : entry.kind === 'gap'
          ? ({ type: 'dropped', id: this.id, count: entry.count } as const)
          : this.itemFrame(entry.value);
    this.afterDequeue();
    return frame;
  }

  /** Called after an entry left the queue (logs resume paused Docker streams here). */
  protected afterDequeue(): void {}

  protected ack(): void {
    this.queue.pushControl({ type: 'subscribed', id: this.id, topic: this.topic });
    this.ctx.wake();
  }

  /** Ends the subscription after what is queued: an `end` frame, then nothing. */
  protected end(): void {
    if (this.finished) return;
    this.queue.pushControl({ type: 'end', id: this.id });
    this.finished = true;
    this.stop();
    this.ctx.wake();
  }

  /** Ends the subscription with an error frame (after what is queued). */
  fail(error: unknown): void {
    if (this.finished) return;
    const code = error instanceof DokkupError ? error.code : 'internal';
    const message = error instanceof Error ? error.message : String(error);
    this.queue.pushControl({ type: 'error', id: this.id, code, message });
    this.finished = true;
    this.stop();
    this.ctx.wake();
  }
}

/** Approximate wire size of a value, for queue budgets (not exact, never zero). */
export function approximateBytes(value: unknown): number {
  return JSON.stringify(value).length + 16;
}
