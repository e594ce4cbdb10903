/**
 * The agent's shared Docker streams, held only while someone needs them — the one place the
 * subscriptions get them from:
 * - one Docker events stream (dokkup containers only) while there is an events subscriber, a
 *   log follower or a stats subscriber (stats follow containers as they start and die):
 *   `events-source.ts`;
 * - one Docker stats stream per running dokkup container while there is a stats subscriber,
 *   shared by all of them: `stats-pool.ts`;
 * - the job engine's operation events while there is an events subscriber (relayed here).
 * With nobody subscribed the agent holds no Docker stream at all.
 */
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import type { FeedRuntime } from '../docker/feed-runtime.js';
import type { OperationEvent, OperationListener } from '../jobs/service.js';
import { EventsSource } from './events-source.js';
import type { FeedLogger } from './logger.js';
import { StatsPool, type StatsSnapshot } from './stats-pool.js';

/** What the hub needs from the job engine. */
export interface OperationSource {
  onOperation(listener: OperationListener): () => void;
}

export interface HubOptions {
  /** Re-list running containers this often while stats are watched (catches missed events). */
  statsResyncMs?: number;
  /** Backoff bounds for re-opening a broken Docker events stream. */
  eventsRetryMinMs?: number;
  eventsRetryMaxMs?: number;
}

type Listener<T> = (value: T) => void;

export class FeedHub {
  private readonly containerListeners = new Set<{ listener: Listener<ContainerEvent> }>();
  private readonly operationListeners = new Set<Listener<OperationEvent>>();
  private unsubscribeOperations: (() => void) | null = null;
  private readonly events: EventsSource;
  private readonly stats: StatsPool;

  constructor(
    runtime: FeedRuntime,
    private readonly operations: OperationSource | undefined,
    logger: FeedLogger,
    options: HubOptions = {},
  ) {
    this.stats = new StatsPool(runtime, logger, options.statsResyncMs ?? 30_000);
    this.events = new EventsSource(runtime, logger, {
      retryMinMs: options.eventsRetryMinMs ?? 500,
      retryMaxMs: options.eventsRetryMaxMs ?? 15_000,
      onEvent: (event) => {
        this.stats.track(event);
        for (const { listener } of [...this.containerListeners]) listener(event);
      },
      // Anything that started while the stream was down was missed: look again.
      onOpen: () => this.stats.resync(),
    });
  }

  /** Docker streams currently open, for tests and diagnostics. */
  get openStreams(): { events: boolean; stats: number } {
    return { events: this.events.isOpen, stats: this.stats.openStreams };
  }

  /** Container events of dokkup containers. Returns the unsubscribe function. */
  onContainerEvent(listener: Listener<ContainerEvent>): () => void {
    const entry = { listener };
    this.containerListeners.add(entry);
    const release = this.events.acquire();
    return () => {
      if (this.containerListeners.delete(entry)) release();
    };
  }

  /** The engine's operation events (no-op without an engine). */
  onOperationEvent(listener: Listener<OperationEvent>): () => void {
    this.operationListeners.add(listener);
    if (!this.unsubscribeOperations && this.operations) {
      this.unsubscribeOperations = this.operations.onOperation((event) => {
        for (const l of [...this.operationListeners]) l(event);
      });
    }
    return () => {
      if (!this.operationListeners.delete(listener)) return;
      if (this.operationListeners.size === 0 && this.unsubscribeOperations) {
        this.unsubscribeOperations();
        this.unsubscribeOperations = null;
      }
    };
  }

  /** Resolves once the Docker events stream is open (rejects after `timeoutMs`). */
  whenEventsReady(timeoutMs: number): Promise<void> {
    return this.events.whenReady(timeoutMs);
  }

  /** Starts (or joins) the shared stats streams (and the events they follow). Returns the release function. */
  acquireStats(): () => void {
    const releaseEvents = this.events.acquire();
    const releaseStats = this.stats.acquire();
    return () => {
      releaseStats();
      releaseEvents();
    };
  }

  /** Resolves once the first listing of running containers is done and their streams requested. */
  whenStatsReady(): Promise<void> {
    return this.stats.whenReady();
  }

  /** The latest reading of every watched container (of one job, when given). */
  statsSnapshot(job?: string): StatsSnapshot {
    return this.stats.snapshot(job);
  }

  close(): void {
    this.containerListeners.clear();
    this.operationListeners.clear();
    this.unsubscribeOperations?.();
    this.unsubscribeOperations = null;
    this.stats.close();
    this.events.close();
  }
}
