/**
 * When the feed sessions of a large inventory may connect: one scheduler for all of them, above
 * the transport (it decides *when* an attempt starts; how it connects — ws, wss, pinned
 * certificates — is the session's business).
 *
 * - Bounded: at most `maxConcurrent` attempts are in flight. An attempt holds its slot until it
 *   opens or fails, or for `holdLimitMs` at most: a node that swallows SYNs (a dead host, where
 *   the attempt waits out its whole connect timeout) must not keep the rest of the fleet waiting,
 *   so a slow attempt stops counting after a while, and the limit bounds the rate of new
 *   attempts rather than pinning slots to dead hosts.
 * - Jittered: each session asks for its attempt after its own backoff delay (with jitter), and
 *   due attempts start in the order they fell due. After a network blip drops every socket at
 *   once, the attempts are spread by their jitter and then metered by the limit, so the agents
 *   (and this machine) never see ten thousand handshakes in the same instant.
 *
 * Pure apart from the clock, which is injected (tests drive it by hand). One timer, for the
 * earliest due attempt, however many are waiting.
 */

export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ConnectSchedulerOptions {
  /** Attempts in flight at once. */
  maxConcurrent: number;
  /** The longest an attempt keeps its slot (default 1 s). */
  holdLimitMs?: number;
  clock?: SchedulerClock;
}

/** One attempt asked for: `done` when it opened or failed; `cancel` when it is no longer wanted. */
export interface ConnectTicket {
  done(): void;
  cancel(): void;
}

/** The slice of the scheduler a session uses (tests may pass their own). */
export interface ConnectGate {
  /** Calls `start` after `delayMs`, once a slot is free. */
  request(delayMs: number, start: () => void): ConnectTicket;
}

interface Waiting {
  due: number;
  /** Tie-breaker: the order of requests. */
  seq: number;
  start: () => void;
  state: 'waiting' | 'running' | 'over';
  /** Releases the slot when the hold limit passes first. */
  holdTimer: unknown;
}

export interface SchedulerStats {
  waiting: number;
  inFlight: number;
  /** Attempts started since the scheduler was made. */
  started: number;
  /** The most attempts ever in flight at once. */
  peakInFlight: number;
}

export class ConnectScheduler implements ConnectGate {
  private readonly clock: SchedulerClock;
  private readonly max: number;
  private readonly holdLimitMs: number;
  /** Min-heap by (due, seq). */
  private readonly heap: Waiting[] = [];
  private seq = 0;
  private inFlight = 0;
  private timer: unknown = null;
  private timerDue = Number.POSITIVE_INFINITY;
  private startedCount = 0;
  private peak = 0;

  constructor(options: ConnectSchedulerOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1)
      throw new RangeError(
        `maxConcurrent must be a whole number of at least 1, got ${options.maxConcurrent}`,
      );
    this.max = options.maxConcurrent;
    this.holdLimitMs = options.holdLimitMs ?? 1_000;
    this.clock = options.clock ?? systemClock;
  }

  get stats(): SchedulerStats {
    return {
      waiting: this.heap.filter((w) => w.state === 'waiting').length,
      inFlight: this.inFlight,
      started: this.startedCount,
      peakInFlight: this.peak,
    };
  }

  request(delayMs: number, start: () => void): ConnectTicket {
    const entry: Waiting = {
      due: this.clock.now() + Math.max(0, delayMs),
      seq: this.seq++,
      start,
      state: 'waiting',
      holdTimer: null,
    };
    this.push(entry);
    this.pump();
    return {
      done: () => this.finish(entry),
      cancel: () => {
        if (entry.state === 'waiting') entry.state = 'over';
        else this.finish(entry);
      },
    };
  }

  private finish(entry: Waiting): void {
    if (entry.state === 'running') {
      entry.state = 'over';
      if (entry.holdTimer !== null) this.clock.clearTimeout(entry.holdTimer);
      entry.holdTimer = null;
      this.inFlight--;
      this.pump();
    } else if (entry.state === 'waiting') {
      entry.state = 'over';
    }
  }

  /** Starts what is due while slots are free; arms the timer for the next one. */
  private pump(): void {
    const now = this.clock.now();
    while (this.inFlight < this.max) {
      const next = this.peek();
      if (!next || next.due > now) break;
      this.pop();
      next.state = 'running';
      this.inFlight++;
      this.startedCount++;
      this.peak = Math.max(this.peak, this.inFlight);
      next.holdTimer = this.clock.setTimeout(() => {
        // Still connecting after the hold limit: it keeps trying, but no longer counts.
        next.holdTimer = null;
        if (next.state !== 'running') return;
        next.state = 'over';
        this.inFlight--;
        this.pump();
      }, this.holdLimitMs);
      next.start();
    }
    this.arm();
  }

  private arm(): void {
    const next = this.peek();
    const due = next && this.inFlight < this.max ? next.due : Number.POSITIVE_INFINITY;
    if (due === this.timerDue) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = due;
    if (due === Number.POSITIVE_INFINITY) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.timerDue = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, due - this.clock.now()),
    );
  }

  // A binary heap; cancelled entries are dropped when they reach the top.

  private peek(): Waiting | undefined {
    while (this.heap.length > 0 && this.heap[0]!.state !== 'waiting') this.pop();
    return this.heap[0];
  }

  private push(entry: Waiting): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Waiting | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Waiting, b: Waiting): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
