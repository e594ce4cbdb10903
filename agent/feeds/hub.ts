/**
 * The agent's shared Docker streams, held only while someone needs them:
 * - one Docker events stream (dokkup containers only) while there is an events subscriber or a
 *   stats subscriber (stats follow containers as they start and die);
 * - one Docker stats stream per running dokkup container while there is a stats subscriber,
 *   shared by all of them; the latest sample of each is kept for the subscribers' batches;
 * - the job engine's operation events while there is an events subscriber.
 * With nobody subscribed the agent holds no Docker stream at all.
 */
import type { ContainerEvent, ContainerStats } from '../../src/protocol/feeds.js';
import type { Closer, FeedContainer, FeedRuntime, StatsSample } from '../docker/feed-runtime.js';
import type { OperationEvent, OperationListener } from '../jobs/service.js';

/** What the hub needs from the job engine. */
export interface OperationSource {
  onOperation(listener: OperationListener): () => void;
}

/** pino-compatible. */
export interface FeedLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface HubOptions {
  /** Re-list running containers this often while stats are watched (catches missed events). */
  statsResyncMs?: number;
  /** Backoff bounds for re-opening a broken Docker events stream. */
  eventsRetryMinMs?: number;
  eventsRetryMaxMs?: number;
}

type Listener<T> = (value: T) => void;

interface StatsEntry {
  container: FeedContainer;
  closer: Closer | null;
  sample: StatsSample | null;
  /** Set when the entry was removed while its stream was still opening. */
  removed: boolean;
}

export interface StatsSnapshot {
  containers: ContainerStats[];
  /** Every watched container has reported a CPU figure (Docker needs two readings for one). */
  complete: boolean;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class FeedHub {
  private readonly containerListeners = new Set<Listener<ContainerEvent>>();
  private readonly operationListeners = new Set<Listener<OperationEvent>>();
  private statsUsers = 0;

  private eventsCloser: Closer | null = null;
  private eventsOpening: Promise<void> | null = null;
  private eventsRetryTimer: NodeJS.Timeout | null = null;
  private eventsRetryMs: number;
  private eventsReadyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private eventsLastError: Error | null = null;
  /** Bumped whenever the events stream is torn down, so late callbacks of an old stream are ignored. */
  private eventsGeneration = 0;

  private readonly stats = new Map<string, StatsEntry>();
  private statsResyncTimer: NodeJS.Timeout | null = null;
  private statsSynced: Promise<void> | null = null;
  private resyncScheduled: NodeJS.Timeout | null = null;

  private unsubscribeOperations: (() => void) | null = null;
  private closed = false;

  private readonly statsResyncMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly runtime: FeedRuntime,
    private readonly operations: OperationSource | undefined,
    private readonly logger: FeedLogger,
    options: HubOptions = {},
  ) {
    this.statsResyncMs = options.statsResyncMs ?? 30_000;
    this.retryMinMs = options.eventsRetryMinMs ?? 500;
    this.retryMaxMs = options.eventsRetryMaxMs ?? 15_000;
    this.eventsRetryMs = this.retryMinMs;
  }

  /** Docker streams currently open, for tests and diagnostics. */
  get openStreams(): { events: boolean; stats: number } {
    let stats = 0;
    for (const entry of this.stats.values()) if (entry.closer) stats++;
    return { events: this.eventsCloser !== null, stats };
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /** Container events of dokkup containers. Returns the unsubscribe function. */
  onContainerEvent(listener: Listener<ContainerEvent>): () => void {
    this.containerListeners.add(listener);
    this.ensureEvents();
    return () => {
      if (this.containerListeners.delete(listener)) this.maybeStopEvents();
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
    if (this.eventsCloser) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventsReadyWaiters = this.eventsReadyWaiters.filter((w) => w !== waiter);
        reject(this.eventsLastError ?? new Error('Docker events stream did not open in time'));
      }, timeoutMs);
      this.eventsReadyWaiters.push(waiter);
    });
  }

  private get eventsNeeded(): boolean {
    return !this.closed && (this.containerListeners.size > 0 || this.statsUsers > 0);
  }

  private ensureEvents(): void {
    if (!this.eventsNeeded || this.eventsCloser || this.eventsOpening || this.eventsRetryTimer) return;
    const generation = this.eventsGeneration;
    this.eventsOpening = this.runtime
      .watchEvents({
        onEvent: (event) => {
          if (generation === this.eventsGeneration) this.dispatchContainerEvent(event);
        },
        onEnd: (error) => {
          if (generation !== this.eventsGeneration) return;
          this.eventsGeneration++;
          this.eventsCloser = null;
          this.logger.warn({ error: error?.message }, 'Docker events stream ended; reopening');
          this.scheduleEventsRetry();
        },
      })
      .then(
        (closer) => {
          this.eventsOpening = null;
          if (generation !== this.eventsGeneration || !this.eventsNeeded) {
            closer.close();
            return;
          }
          this.eventsCloser = closer;
          this.eventsRetryMs = this.retryMinMs;
          this.eventsLastError = null;
          for (const w of this.eventsReadyWaiters.splice(0)) w.resolve();
          // Anything that started while the stream was down was missed: look again.
          if (this.statsUsers > 0) this.statsSynced = this.resyncStats();
        },
        (error: unknown) => {
          this.eventsOpening = null;
          if (generation !== this.eventsGeneration) return;
          this.eventsLastError = new Error(`Docker events unavailable: ${describe(error)}`);
          this.logger.warn({ error: describe(error) }, 'cannot open the Docker events stream');
          this.scheduleEventsRetry();
        },
      );
  }

  private scheduleEventsRetry(): void {
    if (!this.eventsNeeded || this.eventsRetryTimer) return;
    const delay = this.eventsRetryMs;
    this.eventsRetryMs = Math.min(this.eventsRetryMs * 2, this.retryMaxMs);
    this.eventsRetryTimer = setTimeout(() => {
      this.eventsRetryTimer = null;
      this.ensureEvents();
    }, delay);
    this.eventsRetryTimer.unref();
  }

  private maybeStopEvents(): void {
    if (this.eventsNeeded) return;
    this.eventsGeneration++;
    this.eventsCloser?.close();
    this.eventsCloser = null;
    if (this.eventsRetryTimer) clearTimeout(this.eventsRetryTimer);
    this.eventsRetryTimer = null;
    this.eventsRetryMs = this.retryMinMs;
    for (const w of this.eventsReadyWaiters.splice(0)) w.reject(new Error('no longer watching events'));
  }

  private dispatchContainerEvent(event: ContainerEvent): void {
    if (this.statsUsers > 0) this.trackForStats(event);
    for (const l of [...this.containerListeners]) l(event);
  }

  // -------------------------------------------------------------------------------------------
  // Stats

  /** Starts (or joins) the shared stats streams. Returns the release function. */
  acquireStats(): () => void {
    this.statsUsers++;
    if (this.statsUsers === 1) {
      this.ensureEvents();
      this.statsSynced = this.resyncStats();
      this.statsResyncTimer = setInterval(() => {
        this.statsSynced = this.resyncStats();
      }, this.statsResyncMs);
      this.statsResyncTimer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.statsUsers--;
      if (this.statsUsers === 0) this.stopStats();
    };
  }

  /** Resolves once the first listing of running containers is done and their streams requested. */
  async whenStatsReady(): Promise<void> {
    await this.statsSynced;
  }

  /** The latest reading of every watched container (of one job, when given). */
  statsSnapshot(job?: string): StatsSnapshot {
    const containers: ContainerStats[] = [];
    let complete = true;
    for (const entry of this.stats.values()) {
      if (job !== undefined && entry.container.job !== job) continue;
      const sample = entry.sample;
      if (!sample || sample.cpuPercent === null) complete = false;
      if (!sample) continue;
      containers.push({ ...sample, cpuPercent: sample.cpuPercent ?? 0 });
    }
    containers.sort((a, b) => a.containerName.localeCompare(b.containerName));
    return { containers, complete };
  }

  private stopStats(): void {
    if (this.statsResyncTimer) clearInterval(this.statsResyncTimer);
    this.statsResyncTimer = null;
    if (this.resyncScheduled) clearTimeout(this.resyncScheduled);
    this.resyncScheduled = null;
    for (const id of [...this.stats.keys()]) this.unwatchStats(id);
    this.statsSynced = null;
    this.maybeStopEvents();
  }

  private async resyncStats(): Promise<void> {
    let running: FeedContainer[];
    try {
      running = await this.runtime.listContainers({ runningOnly: true });
    } catch (error) {
      this.logger.warn({ error: describe(error) }, 'cannot list containers for stats');
      return;
    }
    if (this.statsUsers === 0) return;
    const seen = new Set<string>();
    for (const container of running) {
      seen.add(container.id);
      if (!this.stats.has(container.id)) this.watchStats(container);
    }
    for (const id of [...this.stats.keys()]) if (!seen.has(id)) this.unwatchStats(id);
  }

  private scheduleResync(delayMs: number): void {
    if (this.resyncScheduled || this.statsUsers === 0) return;
    this.resyncScheduled = setTimeout(() => {
      this.resyncScheduled = null;
      if (this.statsUsers > 0) this.statsSynced = this.resyncStats();
    }, delayMs);
    this.resyncScheduled.unref();
  }

  private trackForStats(event: ContainerEvent): void {
    const existing = this.stats.get(event.containerId);
    switch (event.action) {
      case 'start':
      case 'restart':
      case 'unpause':
        if (!existing) {
          this.watchStats({
            id: event.containerId,
            name: event.containerName,
            job: event.job,
            version: event.version,
            running: true,
          });
        }
        break;
      case 'die':
      case 'stop':
      case 'destroy':
        if (existing) this.unwatchStats(event.containerId);
        break;
      case 'rename':
        if (existing) existing.container = { ...existing.container, name: event.containerName };
        break;
      default:
        break;
    }
  }

  private watchStats(container: FeedContainer): void {
    const entry: StatsEntry = { container, closer: null, sample: null, removed: false };
    this.stats.set(container.id, entry);
    this.runtime
      .watchStats(container, {
        onSample: (sample) => {
          if (entry.removed) return;
          // Docker's first reading of a stream has no CPU figure; keep the last real one instead.
          const cpu = sample.cpuPercent ?? entry.sample?.cpuPercent ?? null;
          entry.sample = { ...sample, containerName: entry.container.name, cpuPercent: cpu };
        },
        onEnd: (error) => {
          if (entry.removed) return;
          this.logger.debug({ container: container.id, error: error?.message }, 'stats stream ended');
          entry.removed = true;
          entry.closer = null;
          if (this.stats.get(container.id) === entry) this.stats.delete(container.id);
          // It may have died (an event follows) or the stream broke: look again soon.
          this.scheduleResync(1000);
        },
      })
      .then(
        (closer) => {
          if (entry.removed) closer.close();
          else entry.closer = closer;
        },
        (error: unknown) => {
          if (entry.removed) return;
          entry.removed = true;
          if (this.stats.get(container.id) === entry) this.stats.delete(container.id);
          this.logger.debug({ container: container.id, error: describe(error) }, 'cannot open stats stream');
        },
      );
  }

  private unwatchStats(id: string): void {
    const entry = this.stats.get(id);
    if (!entry) return;
    this.stats.delete(id);
    entry.removed = true;
    entry.closer?.close();
    entry.closer = null;
  }

  close(): void {
    this.closed = true;
    this.containerListeners.clear();
    this.operationListeners.clear();
    this.unsubscribeOperations?.();
    this.unsubscribeOperations = null;
    this.statsUsers = 0;
    this.stopStats();
    this.maybeStopEvents();
  }
}
