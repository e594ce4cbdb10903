/**
 * One Docker stats stream per running dokkup container, shared by every stats subscriber and
 * held only while there is one. The latest sample of each container is kept for the
 * subscribers' batches. The pool follows containers as they start and die (`track`, fed with
 * the Docker events) and re-lists the running ones now and then to catch what an event missed.
 */
import type { ContainerEvent, ContainerStats } from '../../src/protocol/feeds.js';
import type { Closer, FeedContainer, FeedRuntime, StatsSample } from '../docker/feed-runtime.js';
import type { FeedLogger } from './logger.js';

export interface StatsSnapshot {
  containers: ContainerStats[];
  /** Every watched container has reported a CPU figure (Docker needs two readings for one). */
  complete: boolean;
}

interface StatsEntry {
  container: FeedContainer;
  closer: Closer | null;
  sample: StatsSample | null;
  /** Set when the entry was removed while its stream was still opening. */
  removed: boolean;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** After a stream ends on its own: how soon to look at the running containers again. */
const RESYNC_AFTER_END_MS = 1000;

export class StatsPool {
  private users = 0;
  private readonly entries = new Map<string, StatsEntry>();
  private resyncTimer: NodeJS.Timeout | null = null;
  private synced: Promise<void> | null = null;
  private resyncScheduled: NodeJS.Timeout | null = null;

  constructor(
    private readonly runtime: FeedRuntime,
    private readonly logger: FeedLogger,
    /** Re-list running containers this often while in use (catches missed events). */
    private readonly resyncMs: number,
  ) {}

  /** Stats streams open right now. */
  get openStreams(): number {
    let open = 0;
    for (const entry of this.entries.values()) if (entry.closer) open++;
    return open;
  }

  /** Starts (or joins) the streams. Returns the release function; call it once. */
  acquire(): () => void {
    this.users++;
    if (this.users === 1) {
      this.resync();
      this.resyncTimer = setInterval(() => this.resync(), this.resyncMs);
      this.resyncTimer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users--;
      if (this.users === 0) this.stop();
    };
  }

  /** Resolves once the latest listing of running containers is done and their streams requested. */
  async whenReady(): Promise<void> {
    await this.synced;
  }

  /** Looks at the running containers again (while in use). */
  resync(): void {
    if (this.users > 0) this.synced = this.syncWithRunning();
  }

  /** The latest reading of every watched container (of one job, when given). */
  snapshot(job?: string): StatsSnapshot {
    const containers: ContainerStats[] = [];
    let complete = true;
    for (const entry of this.entries.values()) {
      if (job !== undefined && entry.container.job !== job) continue;
      const sample = entry.sample;
      if (!sample || sample.cpuPercent === null) complete = false;
      if (!sample) continue;
      containers.push({ ...sample, cpuPercent: sample.cpuPercent ?? 0 });
    }
    containers.sort((a, b) => a.containerName.localeCompare(b.containerName));
    return { containers, complete };
  }

  /** Follows a Docker event: a started container gets a stream, a dead one loses it. */
  track(event: ContainerEvent): void {
    if (this.users === 0) return;
    const existing = this.entries.get(event.containerId);
    switch (event.action) {
      case 'start':
      case 'restart':
      case 'unpause':
        if (!existing) {
          this.watch({
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
        if (existing) this.unwatch(event.containerId);
        break;
      case 'rename':
        if (existing) existing.container = { ...existing.container, name: event.containerName };
        break;
      default:
        break;
    }
  }

  /** Closes every stream, whoever still holds the pool. */
  close(): void {
    this.users = 0;
    this.stop();
  }

  private stop(): void {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
    if (this.resyncScheduled) clearTimeout(this.resyncScheduled);
    this.resyncScheduled = null;
    for (const id of [...this.entries.keys()]) this.unwatch(id);
    this.synced = null;
  }

  private async syncWithRunning(): Promise<void> {
    let running: FeedContainer[];
    try {
      running = await this.runtime.listContainers({ runningOnly: true });
    } catch (error) {
      this.logger.warn({ error: describe(error) }, 'cannot list containers for stats');
      return;
    }
    if (this.users === 0) return;
    const seen = new Set<string>();
    for (const container of running) {
      seen.add(container.id);
      if (!this.entries.has(container.id)) this.watch(container);
    }
    for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.unwatch(id);
  }

  private scheduleResync(delayMs: number): void {
    if (this.resyncScheduled || this.users === 0) return;
    this.resyncScheduled = setTimeout(() => {
      this.resyncScheduled = null;
      this.resync();
    }, delayMs);
    this.resyncScheduled.unref();
  }

  private watch(container: FeedContainer): void {
    const entry: StatsEntry = { container, closer: null, sample: null, removed: false };
    this.entries.set(container.id, entry);
    const forget = () => {
      entry.removed = true;
      entry.closer = null;
      if (this.entries.get(container.id) === entry) this.entries.delete(container.id);
    };
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
          forget();
          // It may have died (an event follows) or the stream broke: look again soon.
          this.scheduleResync(RESYNC_AFTER_END_MS);
        },
      })
      .then(
        (closer) => {
          if (entry.removed) closer.close();
          else entry.closer = closer;
        },
        (error: unknown) => {
          if (entry.removed) return;
          forget();
          this.logger.debug({ container: container.id, error: describe(error) }, 'cannot open stats stream');
        },
      );
  }

  private unwatch(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.removed = true;
    entry.closer?.close();
    entry.closer = null;
  }
}
