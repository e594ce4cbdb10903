/**
 * `logs`: the log lines of one container or of every container of a job on this node.
 *
 * Memory stays bounded whatever the client does:
 * - history (lines written before the subscription began, and everything without `follow`) is
 *   never dropped: when the queue is full the Docker streams are paused until it drains, so
 *   Docker waits, not the agent's heap;
 * - live lines (following) that do not fit are dropped and counted, and the client gets a
 *   `dropped {count}` frame at the place they were lost.
 *
 * While following a job, containers that start later are picked up; a container that restarts
 * is re-attached from its last line (lines seen already are skipped by their exact timestamp).
 */
import { NotFoundError } from '../../src/core/errors.js';
import type { AgentFrame, ContainerEvent, LogLine } from '../../src/protocol/feeds.js';
import {
  dockerTimestampNanos,
  type FeedContainer,
  type LogStreamControl,
  type RawLogLine,
} from '../docker/feed-runtime.js';
import { type FeedLimits, Subscription } from './subscription.js';

export interface LogsSubscriptionParams {
  job?: string | undefined;
  container?: string | undefined;
  tail?: number | undefined;
  since?: number | undefined;
  follow: boolean;
}

interface TrackedStream {
  container: FeedContainer;
  control: LogStreamControl | null;
  /** A Docker stream is open or opening for this container. */
  open: boolean;
  /** Exact time of the latest line passed on. */
  lastNanos: bigint | null;
  /**
   * After a re-attach: lines at or before this time were passed on already and are skipped,
   * until the first later one. (Only then: Docker's stdout and stderr lines are not strictly
   * ordered by timestamp, so a general "older than the last" filter would lose lines.)
   */
  skipUntilAfter: bigint | null;
  /** It started again while its previous stream was still ending: re-attach on end. */
  reopen: boolean;
  paused: boolean;
}

/** Bytes a line is charged in the queue: its text plus the fields around it. */
function lineBytes(line: LogLine): number {
  return line.text.length + line.containerName.length + line.ts.length + 120;
}

export class LogsSubscription extends Subscription<LogLine, LogsSubscriptionParams> {
  readonly topic = 'logs';
  private readonly streams = new Map<string, TrackedStream>();
  /** Unix ms when the subscription began: lines older than this are history. */
  private readonly startedAt = Date.now();
  private pausedStreams = 0;
  private initialised = false;

  protected queueLimits(limits: FeedLimits) {
    return limits.logQueue;
  }

  async start(): Promise<void> {
    const { runtime, hub } = this.ctx;
    let targets: FeedContainer[];
    let single: FeedContainer | null = null;
    if (this.params.container !== undefined) {
      single = await runtime.findContainer(this.params.container);
      if (!single) throw new NotFoundError(`no dokkup container "${this.params.container}" on this node`);
      targets = [single];
    } else {
      targets = [];
    }
    if (this.params.follow) {
      // Listen before listing: a container starting in between is then seen either way.
      this.hold(hub.onContainerEvent((event) => this.onContainerEvent(event, single)));
      await this.whenDockerEventsReady();
    }
    if (this.params.job !== undefined) {
      targets = await runtime.listContainers({ job: this.params.job, runningOnly: false });
      // Oldest first, so a non-following reader gets a stable order before sorting by time.
      targets.sort((a, b) => a.name.localeCompare(b.name));
    }
    if (this.stopped) return;
    this.ack();
    for (const container of targets) {
      if (!this.streams.has(container.id))
        this.attach(container, { tail: this.params.tail, since: this.params.since });
    }
    this.initialised = true;
    this.checkDone();
  }

  private onContainerEvent(event: ContainerEvent, single: FeedContainer | null): void {
    if (this.stopped) return;
    if (single ? event.containerId !== single.id : event.job !== this.params.job) return;
    if (event.action === 'destroy') {
      this.streams.get(event.containerId)?.control?.close();
      this.streams.delete(event.containerId);
      if (single) this.end();
      return;
    }
    if (event.action !== 'start' && event.action !== 'restart') return;
    const tracked = this.streams.get(event.containerId);
    if (tracked?.open) {
      tracked.reopen = true;
      return;
    }
    const container: FeedContainer = tracked?.container ?? {
      id: event.containerId,
      name: event.containerName,
      job: event.job,
      version: event.version,
      running: true,
    };
    this.attach(container, { since: this.resumeSince(tracked) });
  }

  /** Where to pick a container up again: just before its last line, else when we began. */
  private resumeSince(tracked: TrackedStream | undefined): number {
    const floor = Math.max(this.params.since ?? 0, (this.startedAt - 1000) / 1000);
    if (!tracked || tracked.lastNanos === null) return floor;
    // A millisecond early: the repeats are skipped by exact timestamp.
    return Math.max(Number(tracked.lastNanos / 1000n) / 1e6 - 0.001, this.params.since ?? 0);
  }

  private attach(
    container: FeedContainer,
    from: { tail?: number | undefined; since?: number | undefined },
  ): void {
    const previous = this.streams.get(container.id);
    const tracked: TrackedStream = {
      container,
      control: null,
      open: true,
      lastNanos: previous?.lastNanos ?? null,
      skipUntilAfter: previous?.lastNanos ?? null,
      reopen: false,
      paused: false,
    };
    this.streams.set(container.id, tracked);
    let ended = false;
    this.ctx.runtime
      .streamLogs(
        container,
        { tail: from.tail, since: from.since, follow: this.params.follow },
        {
          onLine: (raw) => this.onLine(tracked, raw),
          onEnd: (error) => {
            ended = true;
            if (error)
              this.ctx.logger.debug({ container: container.id, error: error.message }, 'log stream ended');
            this.onStreamEnd(tracked);
          },
        },
      )
      .then(
        (control) => {
          if (this.stopped || ended || this.streams.get(container.id) !== tracked) {
            control.close();
            return;
          }
          tracked.control = control;
        },
        (error: unknown) => {
          // Removed between listing and attaching: nothing to read.
          this.ctx.logger.debug({ container: container.id, error: String(error) }, 'cannot open log stream');
          if (this.params.container !== undefined && !this.params.follow) {
            this.fail(new NotFoundError(`container ${container.name} is gone`));
            return;
          }
          this.onStreamEnd(tracked);
        },
      );
  }

  private onStreamEnd(tracked: TrackedStream): void {
    if (tracked.paused) {
      tracked.paused = false;
      this.pausedStreams--;
    }
    tracked.open = false;
    tracked.control = null;
    if (this.stopped) return;
    if (tracked.reopen && this.streams.get(tracked.container.id) === tracked) {
      this.attach(tracked.container, { since: this.resumeSince(tracked) });
      return;
    }
    this.checkDone();
  }

  /** Without follow, the subscription is over once every stream has ended. */
  private checkDone(): void {
    if (this.params.follow || !this.initialised || this.finished) return;
    for (const tracked of this.streams.values()) if (tracked.open) return;
    this.end();
  }

  private onLine(tracked: TrackedStream, raw: RawLogLine): void {
    if (this.stopped) return;
    const nanos = raw.ts ? dockerTimestampNanos(raw.ts) : null;
    if (nanos !== null) {
      if (tracked.skipUntilAfter !== null) {
        if (nanos <= tracked.skipUntilAfter) return;
        tracked.skipUntilAfter = null;
      }
      if (tracked.lastNanos === null || nanos > tracked.lastNanos) tracked.lastNanos = nanos;
    }
    const line: LogLine = {
      containerId: tracked.container.id,
      containerName: tracked.container.name,
      stream: raw.stream,
      ts: raw.ts,
      at: raw.at,
      text: raw.text,
    };
    if (raw.truncated) line.truncated = true;
    const history = !this.params.follow || raw.at < this.startedAt;
    if (history) {
      this.queue.forcePush(line, lineBytes(line));
      if (this.queue.isFull) this.pause(tracked);
    } else {
      this.queue.push(line, lineBytes(line));
    }
    this.ctx.wake();
  }

  private pause(tracked: TrackedStream): void {
    if (tracked.paused || !tracked.control) return;
    tracked.paused = true;
    this.pausedStreams++;
    tracked.control.pause();
  }

  /** Batches consecutive lines into one frame. */
  override nextFrame(): AgentFrame | null {
    const first = this.queue.peek();
    if (first?.kind !== 'item') return super.nextFrame();
    const lines: LogLine[] = [];
    let bytes = 0;
    const { maxLinesPerFrame, maxLogFrameBytes } = this.ctx.limits;
    for (;;) {
      const entry = this.queue.peek();
      if (entry?.kind !== 'item') break;
      if (lines.length >= maxLinesPerFrame || (lines.length > 0 && bytes + entry.bytes > maxLogFrameBytes))
        break;
      this.queue.shift();
      lines.push(entry.value);
      bytes += entry.bytes;
    }
    this.afterDequeue();
    return { type: 'logs', id: this.id, lines };
  }

  protected override afterDequeue(): void {
    if (this.pausedStreams === 0 || this.stopped) return;
    const { maxItems, maxBytes } = this.ctx.limits.logQueue;
    if (this.queue.items > maxItems / 2 || this.queue.bytes > maxBytes / 2) return;
    for (const tracked of this.streams.values()) {
      if (!tracked.paused) continue;
      tracked.paused = false;
      this.pausedStreams--;
      tracked.control?.resume();
    }
  }

  protected itemFrame(line: LogLine): AgentFrame {
    return { type: 'logs', id: this.id, lines: [line] };
  }

  protected override release(): void {
    for (const tracked of this.streams.values()) {
      tracked.control?.close();
      tracked.control = null;
      tracked.open = false;
    }
    this.streams.clear();
    this.pausedStreams = 0;
  }
}
