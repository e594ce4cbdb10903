/**
 * Test double: an in-memory FeedRuntime for unit tests of the feeds. The test drives it
 * (containers, events, stats samples, log lines) and can see which streams are open. A
 * `.fixture.ts` file, so the build never ships it; the agent uses `feeds-docker.ts`.
 */
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import type {
  Closer,
  FeedContainer,
  FeedRuntime,
  LogRequest,
  LogStreamControl,
  RawLogLine,
  StatsSample,
} from '../docker/feed-runtime.js';

interface LogWatcher {
  container: FeedContainer;
  request: LogRequest;
  onLine(line: RawLogLine): void;
  onEnd(error?: Error): void;
  paused: boolean;
  /** Lines held back while paused (as Docker would keep them unread). */
  backlog: RawLogLine[];
  closed: boolean;
}

export class MemoryFeedRuntime implements FeedRuntime {
  containers: FeedContainer[] = [];
  /** History per container, oldest first. */
  readonly history = new Map<string, RawLogLine[]>();
  readonly eventWatchers = new Set<{ onEvent(e: ContainerEvent): void; onEnd(error?: Error): void }>();
  readonly statsWatchers = new Map<
    string,
    Set<{ onSample(s: StatsSample): void; onEnd(error?: Error): void }>
  >();
  readonly logWatchers = new Set<LogWatcher>();
  /** How many times each kind of stream was opened. */
  readonly opened = { events: 0, stats: 0, logs: 0 };
  /** Set to make `watchEvents` fail (Docker down). */
  eventsError: Error | null = null;

  addContainer(container: Partial<FeedContainer> & { id: string; job: string }): FeedContainer {
    const full: FeedContainer = { name: container.id, version: null, running: true, ...container };
    this.containers.push(full);
    return full;
  }

  async listContainers(filter: { job?: string | undefined; runningOnly: boolean }): Promise<FeedContainer[]> {
    return this.containers.filter(
      (c) => (filter.job === undefined || c.job === filter.job) && (!filter.runningOnly || c.running),
    );
  }

  async findContainer(ref: string): Promise<FeedContainer | null> {
    return this.containers.find((c) => c.id === ref || c.name === ref || c.id.startsWith(ref)) ?? null;
  }

  async watchEvents(handlers: {
    onEvent(e: ContainerEvent): void;
    onEnd(error?: Error): void;
  }): Promise<Closer> {
    if (this.eventsError) throw this.eventsError;
    this.opened.events++;
    this.eventWatchers.add(handlers);
    return { close: () => this.eventWatchers.delete(handlers) };
  }

  async watchStats(
    container: FeedContainer,
    handlers: { onSample(s: StatsSample): void; onEnd(error?: Error): void },
  ): Promise<Closer> {
    this.opened.stats++;
    let set = this.statsWatchers.get(container.id);
    if (!set) {
      set = new Set();
      this.statsWatchers.set(container.id, set);
    }
    set.add(handlers);
    return {
      close: () => {
        set.delete(handlers);
        if (set.size === 0) this.statsWatchers.delete(container.id);
      },
    };
  }

  async streamLogs(
    container: FeedContainer,
    request: LogRequest,
    handlers: { onLine(line: RawLogLine): void; onEnd(error?: Error): void },
  ): Promise<LogStreamControl> {
    this.opened.logs++;
    const watcher: LogWatcher = {
      container,
      request,
      ...handlers,
      paused: false,
      backlog: [],
      closed: false,
    };
    let lines = this.history.get(container.id) ?? [];
    if (request.since !== undefined) lines = lines.filter((l) => l.at >= (request.since as number) * 1000);
    if (request.tail !== undefined) lines = request.tail === 0 ? [] : lines.slice(-request.tail);
    watcher.backlog.push(...lines);
    this.logWatchers.add(watcher);
    // Like a real stream: data comes after the caller got its handle.
    setImmediate(() => {
      this.drain(watcher);
      if (!request.follow || !container.running) this.endLogs(watcher);
    });
    return {
      close: () => {
        watcher.closed = true;
        this.logWatchers.delete(watcher);
      },
      pause: () => {
        watcher.paused = true;
      },
      resume: () => {
        watcher.paused = false;
        this.drain(watcher);
        if (
          watcher.closed === false &&
          (!request.follow || !container.running) &&
          watcher.backlog.length === 0
        ) {
          this.endLogs(watcher);
        }
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Driving it

  emitEvent(event: ContainerEvent): void {
    for (const w of [...this.eventWatchers]) w.onEvent(event);
  }

  /** Breaks the events stream (as when dockerd restarts). */
  breakEvents(): void {
    for (const w of [...this.eventWatchers]) {
      this.eventWatchers.delete(w);
      w.onEnd(new Error('connection reset'));
    }
  }

  emitStats(sample: StatsSample): void {
    for (const w of [...(this.statsWatchers.get(sample.containerId) ?? [])]) w.onSample(sample);
  }

  /** Appends a line to the container's history and to every following stream of it. */
  writeLog(containerId: string, line: RawLogLine): void {
    let list = this.history.get(containerId);
    if (!list) {
      list = [];
      this.history.set(containerId, list);
    }
    list.push(line);
    for (const w of this.logWatchers) {
      if (w.container.id !== containerId || !w.request.follow) continue;
      w.backlog.push(line);
      this.drain(w);
    }
  }

  /** Ends every following log stream of a container (as Docker does when it stops). */
  stopContainer(containerId: string): void {
    const c = this.containers.find((x) => x.id === containerId);
    if (c) c.running = false;
    for (const w of [...this.logWatchers]) if (w.container.id === containerId) this.endLogs(w);
  }

  get pausedLogStreams(): number {
    let n = 0;
    for (const w of this.logWatchers) if (w.paused) n++;
    return n;
  }

  private drain(w: LogWatcher): void {
    while (!w.paused && !w.closed && w.backlog.length > 0) w.onLine(w.backlog.shift() as RawLogLine);
  }

  private endLogs(w: LogWatcher): void {
    if (w.closed || w.paused) return;
    w.closed = true;
    this.logWatchers.delete(w);
    w.onEnd();
  }
}

/** Microseconds since the epoch of the last line made, so every line gets a later time. */
let lastMicros = Date.UTC(2026, 0, 1) * 1000;

/** A log line with a fresh, strictly increasing Docker timestamp (at `atMs` or just after the last one). */
export function memoryLogLine(
  text: string,
  stream: 'stdout' | 'stderr' = 'stdout',
  atMs?: number,
): RawLogLine {
  lastMicros = Math.max(atMs === undefined ? 0 : Math.floor(atMs * 1000), lastMicros + 1);
  const whole = Math.floor(lastMicros / 1000);
  const micros = lastMicros - whole * 1000;
  const ts = `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}000Z`;
  return { stream, ts, at: whole + micros / 1000, text, truncated: false };
}
