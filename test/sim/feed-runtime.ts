/**
 * SIMULATION: the live-feed side of a simulated node — a `FeedRuntime` over the node's fake
 * container runtime (`test/fakes/container-runtime.ts`), so the REAL agent feeds code (hub,
 * sessions, subscriptions, the WebSocket) serves it exactly as it serves Docker.
 *
 * - Containers are the fake runtime's: what the job engine deploys is what the feeds list.
 * - Events: every create / start / stop / remove the engine makes on the fake runtime becomes the
 *   Docker event it would (create, start, die, destroy); on top of that, ambient events at a
 *   chosen rate (a container restarting: `die` then `start`), drawn per node as a Poisson process.
 * - Stats: like Docker, one reading per second per watched container; CPU and memory wander
 *   slowly around a per-container level. All the streams of a process share one timer.
 * - Logs: a short history per container, and a line every few seconds while followed.
 *
 * Nothing here says anything about Docker; it lets a TUI or a CLI talk to thousands of agents.
 */

import type {
  Closer,
  FeedContainer,
  FeedRuntime,
  LogRequest,
  LogStreamControl,
  RawLogLine,
  StatsSample,
} from '../../agent/docker/feed-runtime.js';
import type { RuntimeContainer } from '../../agent/docker/runtime.js';
import { LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import type { FakeRuntime, RuntimeCall } from '../fakes/container-runtime.js';

export interface SimFeedOptions {
  /** Ambient container events per node per minute (default 0.5: one every two minutes). */
  eventsPerMinute?: number;
  /** Random numbers in [0, 1) (default Math.random). */
  random?: () => number;
}

type StatsHandlers = { onSample(s: StatsSample): void; onEnd(error?: Error): void };

/** Docker's stats cadence: all the simulated stats streams of this process tick together. */
const statsStreams = new Set<{ tick(now: number): void }>();
let statsTimer: NodeJS.Timeout | null = null;

function addStatsStream(stream: { tick(now: number): void }): () => void {
  statsStreams.add(stream);
  if (!statsTimer) {
    statsTimer = setInterval(() => {
      const now = Date.now();
      for (const s of statsStreams) s.tick(now);
    }, 1000);
    statsTimer.unref();
  }
  return () => {
    statsStreams.delete(stream);
    if (statsStreams.size === 0 && statsTimer) {
      clearInterval(statsTimer);
      statsTimer = null;
    }
  };
}

/** Docker's RFC 3339 timestamp with nanoseconds, for a time in ms. */
function dockerTs(atMs: number): string {
  const whole = Math.floor(atMs);
  const nanos = Math.floor((atMs - whole) * 1e6);
  return `${new Date(whole).toISOString().slice(0, -1)}${String(nanos).padStart(6, '0')}Z`;
}

export class SimFeedRuntime implements FeedRuntime {
  private readonly eventWatchers = new Set<{
    onEvent(e: ContainerEvent): void;
    onEnd(error?: Error): void;
  }>();
  private readonly random: () => number;
  private readonly eventsPerMinute: number;
  private ambientTimer: NodeJS.Timeout | null = null;
  /** Per container: the level its usage wanders around. */
  private readonly levels = new Map<string, { cpu: number; mem: number }>();
  private stopped = false;

  constructor(
    private readonly runtime: FakeRuntime,
    options: SimFeedOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    this.eventsPerMinute = options.eventsPerMinute ?? 0.5;
    const previous = runtime.afterCall;
    runtime.afterCall = (call) => {
      previous?.(call);
      this.onRuntimeCall(call);
    };
  }

  /** Stops the ambient events (the node is going away). */
  stop(): void {
    this.stopped = true;
    if (this.ambientTimer) clearTimeout(this.ambientTimer);
    this.ambientTimer = null;
  }

  private async dokkupContainers(): Promise<RuntimeContainer[]> {
    return this.runtime.listContainers({ [LABEL_JOB]: true });
  }

  private feedContainer(c: RuntimeContainer): FeedContainer {
    return {
      id: c.id,
      name: c.name,
      job: c.labels[LABEL_JOB] ?? '',
      version: c.labels[LABEL_VERSION] ?? null,
      running: c.state === 'running',
    };
  }

  async listContainers(filter: { job?: string | undefined; runningOnly: boolean }): Promise<FeedContainer[]> {
    return (await this.dokkupContainers())
      .map((c) => this.feedContainer(c))
      .filter(
        (c) => (filter.job === undefined || c.job === filter.job) && (!filter.runningOnly || c.running),
      );
  }

  async findContainer(ref: string): Promise<FeedContainer | null> {
    const all = await this.runtime.listContainers({});
    const found = all.find((c) => c.id === ref || c.name === ref || c.id.startsWith(ref));
    return found ? this.feedContainer(found) : null;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  async watchEvents(handlers: {
    onEvent(e: ContainerEvent): void;
    onEnd(error?: Error): void;
  }): Promise<Closer> {
    this.eventWatchers.add(handlers);
    this.scheduleAmbient();
    return {
      close: () => {
        this.eventWatchers.delete(handlers);
        if (this.eventWatchers.size === 0 && this.ambientTimer) {
          clearTimeout(this.ambientTimer);
          this.ambientTimer = null;
        }
      },
    };
  }

  private emit(event: ContainerEvent): void {
    for (const w of [...this.eventWatchers]) w.onEvent(event);
  }

  private eventOf(c: {
    id: string;
    labels: Record<string, string>;
    image: string;
    name?: string;
  }): Omit<ContainerEvent, 'action'> {
    return {
      type: 'container',
      containerId: c.id,
      containerName: c.name ?? c.id.slice(0, 12),
      job: c.labels[LABEL_JOB] ?? '',
      version: c.labels[LABEL_VERSION] ?? null,
      image: c.image,
      at: Date.now(),
    };
  }

  /** The engine changed the fake runtime: the event Docker would send. */
  private onRuntimeCall(call: RuntimeCall): void {
    if (this.eventWatchers.size === 0 || !call.container) return;
    const id = call.id ?? call.container.id;
    if (!id) return;
    const base = this.eventOf({ ...call.container, id });
    if (!base.job) return;
    switch (call.op) {
      case 'create':
        this.emit({ ...base, action: 'create' });
        break;
      case 'start':
        this.emit({ ...base, action: 'start' });
        break;
      case 'stop':
        this.emit({ ...base, action: 'die', exitCode: 0 });
        break;
      case 'remove':
        this.emit({ ...base, action: 'destroy' });
        break;
    }
  }

  /** The next ambient event after an exponential wait (a Poisson process at the chosen rate). */
  private scheduleAmbient(): void {
    if (this.ambientTimer || this.stopped || this.eventsPerMinute <= 0) return;
    const meanMs = 60_000 / this.eventsPerMinute;
    const wait = -Math.log(1 - this.random()) * meanMs;
    this.ambientTimer = setTimeout(() => {
      this.ambientTimer = null;
      void this.ambient().finally(() => {
        if (this.eventWatchers.size > 0) this.scheduleAmbient();
      });
    }, wait);
    this.ambientTimer.unref();
  }

  /** A running container restarts: `die` (exit 1), then `start` a moment later. */
  private async ambient(): Promise<void> {
    const running = (await this.dokkupContainers()).filter((c) => c.state === 'running');
    const c = running[Math.floor(this.random() * running.length)];
    if (!c || this.stopped) return;
    const base = this.eventOf(c);
    this.emit({ ...base, action: 'die', exitCode: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100).unref());
    this.emit({ ...base, action: 'start', at: Date.now() });
  }

  // -------------------------------------------------------------------------------------------
  // Stats

  async watchStats(container: FeedContainer, handlers: StatsHandlers): Promise<Closer> {
    let level = this.levels.get(container.id);
    if (!level) {
      level = { cpu: 0.5 + this.random() * 20, mem: (20 + this.random() * 200) * 1024 * 1024 };
      this.levels.set(container.id, level);
    }
    const mine = level;
    let readings = 0;
    const remove = addStatsStream({
      tick: (now) => {
        // Wander around the level; Docker needs two readings before it has a CPU figure.
        const cpu = Math.max(0, mine.cpu * (0.7 + 0.6 * this.random()));
        const mem = mine.mem * (0.95 + 0.1 * this.random());
        readings++;
        handlers.onSample({
          containerId: container.id,
          containerName: container.name,
          job: container.job,
          version: container.version,
          cpuPercent: readings < 2 ? null : Math.round(cpu * 100) / 100,
          memoryUsage: Math.round(mem),
          memoryLimit: 2 * 1024 * 1024 * 1024,
          memoryPercent: (100 * mem) / (2 * 1024 * 1024 * 1024),
          networkRx: readings * 1200,
          networkTx: readings * 800,
          blockRead: 0,
          blockWrite: readings * 4096,
          pids: 3,
          readAt: now,
        });
      },
    });
    return { close: remove };
  }

  // -------------------------------------------------------------------------------------------
  // Logs

  async streamLogs(
    container: FeedContainer,
    request: LogRequest,
    handlers: { onLine(line: RawLogLine): void; onEnd(error?: Error): void },
  ): Promise<LogStreamControl> {
    const now = Date.now();
    const line = (at: number, n: number): RawLogLine => ({
      stream: n % 7 === 0 ? 'stderr' : 'stdout',
      ts: dockerTs(at),
      at,
      text: `${container.name}: simulated request ${n} served in ${(n * 37) % 250} ms`,
      truncated: false,
    });
    // A history of 50 lines, one every 6 s up to now.
    let history = Array.from({ length: 50 }, (_, i) => line(now - (50 - i) * 6_000, i));
    if (request.since !== undefined)
      history = history.filter((l) => l.at >= (request.since as number) * 1000);
    if (request.tail !== undefined) history = request.tail === 0 ? [] : history.slice(-request.tail);
    let closed = false;
    let paused = false;
    let n = 50;
    let timer: NodeJS.Timeout | null = null;
    const backlog = [...history];
    const drain = () => {
      while (!closed && !paused && backlog.length > 0) handlers.onLine(backlog.shift() as RawLogLine);
    };
    setImmediate(() => {
      drain();
      if (!request.follow || !container.running) {
        closed = true;
        handlers.onEnd();
        return;
      }
      timer = setInterval(() => {
        backlog.push(line(Date.now(), n++));
        drain();
      }, 3_000);
      timer.unref();
    });
    return {
      close: () => {
        closed = true;
        if (timer) clearInterval(timer);
      },
      pause: () => {
        paused = true;
      },
      resume: () => {
        paused = false;
        drain();
      },
    };
  }
}
