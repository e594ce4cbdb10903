/**
 * Log lines of several nodes merged into one stream in time order.
 *
 * Lines of one container arrive in order, but lines of different nodes (and of different
 * containers on one node) arrive interleaved by the network. While following, the merger holds
 * each line for a short reorder window and releases lines in timestamp order; a line that
 * arrives later than the window with an older timestamp is released at once (late, not lost).
 * For a finite read (`follow: false`), everything is sorted once every node has finished.
 */
import type { LogLine, LogsParams } from '../../protocol/feeds.js';
import type { FeedSession, FeedSubscriptionError, Unsubscribe } from './session.js';

/** A log line with the node it came from. */
export interface NodeLogLine extends LogLine {
  node: string;
}

interface Held {
  line: NodeLogLine;
  arrival: number;
  seq: number;
}

export interface LogMergerOptions {
  /** How long a line is held for lines of other sources to catch up. Default 300 ms. */
  windowMs?: number;
  /** More lines than this held at once are released early, oldest first (memory bound). Default 20,000. */
  maxHeld?: number;
  onLines(lines: NodeLogLine[]): void;
  /** For tests. */
  now?: () => number;
}

/** Stable sort by timestamp (lines with equal timestamps keep their arrival order). */
export function sortLogLines<T extends Pick<LogLine, 'at'>>(lines: readonly T[]): T[] {
  return lines
    .map((line, index) => ({ line, index }))
    .sort((a, b) => a.line.at - b.line.at || a.index - b.index)
    .map((x) => x.line);
}

export class LogMerger {
  private held: Held[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly windowMs: number;
  private readonly maxHeld: number;
  private readonly now: () => number;

  constructor(private readonly options: LogMergerOptions) {
    this.windowMs = options.windowMs ?? 300;
    this.maxHeld = options.maxHeld ?? 20_000;
    this.now = options.now ?? Date.now;
  }

  get heldCount(): number {
    return this.held.length;
  }

  push(node: string, lines: readonly LogLine[]): void {
    if (this.closed || lines.length === 0) return;
    const arrival = this.now();
    for (const line of lines) this.held.push({ line: { ...line, node }, arrival, seq: this.seq++ });
    if (this.held.length > this.maxHeld) this.release(this.held.length - this.maxHeld);
    this.schedule();
  }

  /**
   * Releases every line held longer than the window, together with every held line that is not
   * newer than the newest of those (so what comes out is in order).
   */
  tick(): void {
    if (this.held.length === 0) return;
    const due = this.now() - this.windowMs;
    let cutoff = Number.NEGATIVE_INFINITY;
    for (const h of this.held) if (h.arrival <= due && h.line.at > cutoff) cutoff = h.line.at;
    if (cutoff === Number.NEGATIVE_INFINITY) return;
    const out: Held[] = [];
    const keep: Held[] = [];
    for (const h of this.held) (h.line.at <= cutoff ? out : keep).push(h);
    this.held = keep;
    this.emit(out);
  }

  /** Releases everything held, in order. */
  flush(): void {
    const out = this.held;
    this.held = [];
    this.emit(out);
  }

  close(): void {
    this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private release(count: number): void {
    this.held.sort(compareHeld);
    this.emit(this.held.splice(0, count));
  }

  private emit(items: Held[]): void {
    if (items.length === 0) return;
    items.sort(compareHeld);
    this.options.onLines(items.map((h) => h.line));
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.tick();
        if (this.held.length > 0) this.schedule();
      },
      Math.max(this.windowMs / 3, 20),
    );
  }
}

function compareHeld(a: Held, b: Held): number {
  return a.line.at - b.line.at || a.seq - b.seq;
}

// ---------------------------------------------------------------------------------------------

export type NodeLogsOutcome =
  | { node: string; status: 'ended' }
  | { node: string; status: 'error'; error: FeedSubscriptionError }
  | { node: string; status: 'offline' | 'unauthorized' | 'untrusted' | 'closed'; message: string };

export interface MergedLogsOptions {
  onLines(lines: NodeLogLine[]): void;
  onDropped?(node: string, count: number): void;
  /** A node's subscription failed, or its session gave up (finite reads only end on these). */
  onNodeDone?(outcome: NodeLogsOutcome): void;
  windowMs?: number;
}

export interface MergedLogs {
  /** Stops every subscription (and flushes what is held). */
  stop: Unsubscribe;
  /** Finite reads: resolves when every node ended or gave up. Following: when stopped. */
  done: Promise<NodeLogsOutcome[]>;
}

/**
 * Subscribes to the same logs on every session and merges them. Without `follow`, lines are
 * collected and handed over sorted once every node is done (an offline, unauthorized or untrusted node
 * counts as done); with `follow`, they flow through a `LogMerger` until `stop()`.
 */
export function subscribeMergedLogs(
  sessions: readonly FeedSession[],
  params: LogsParams,
  options: MergedLogsOptions,
): MergedLogs {
  const follow = params.follow === true;
  const collected: NodeLogLine[] = [];
  const merger = follow ? new LogMerger({ windowMs: options.windowMs, onLines: options.onLines }) : null;
  const outcomes = new Map<string, NodeLogsOutcome>();
  const cleanups: Unsubscribe[] = [];
  let resolveDone!: (outcomes: NodeLogsOutcome[]) => void;
  const done = new Promise<NodeLogsOutcome[]>((resolve) => {
    resolveDone = resolve;
  });
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    for (const cleanup of cleanups.splice(0)) cleanup();
    if (merger) merger.close();
    else if (collected.length > 0) options.onLines(sortLogLines(collected));
    resolveDone(
      sessions.map((s) => outcomes.get(s.node) ?? { node: s.node, status: 'closed', message: 'stopped' }),
    );
  };

  const settle = (outcome: NodeLogsOutcome) => {
    if (outcomes.has(outcome.node)) return;
    outcomes.set(outcome.node, outcome);
    options.onNodeDone?.(outcome);
    if (!follow && outcomes.size === sessions.length) finish();
  };

  for (const session of sessions) {
    const node = session.node;
    cleanups.push(
      session.subscribeLogs(
        params,
        (lines) => {
          if (merger) merger.push(node, lines);
          else for (const line of lines) collected.push({ ...line, node });
        },
        {
          onDropped: (count) => options.onDropped?.(node, count),
          onEnd: () => settle({ node, status: 'ended' }),
          onError: (error) => settle({ node, status: 'error', error }),
        },
      ),
    );
    cleanups.push(
      session.onState((change) => {
        if (
          change.state === 'offline' ||
          change.state === 'unauthorized' ||
          change.state === 'untrusted' ||
          change.state === 'closed'
        ) {
          if (!follow || change.state !== 'offline') {
            settle({ node, status: change.state, message: change.error ?? change.state });
          }
        }
      }),
    );
  }
  if (sessions.length === 0) finish();
  return { stop: finish, done };
}
