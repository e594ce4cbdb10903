/**
 * The agent's one Docker events stream (dokkup containers only), open while anyone holds it:
 * event subscribers, log followers and the stats pool each `acquire()` it. When Docker's stream
 * breaks or cannot be opened it is tried again with a doubling delay; with nobody holding it,
 * it is closed and nothing is retried.
 */
import { backoffDelay } from '../../src/core/backoff.js';
import { type Settle, settleOnce } from '../../src/core/settle.js';
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import type { Closer, FeedRuntime } from '../docker/feed-runtime.js';
import type { FeedLogger } from './logger.js';

export interface EventsSourceOptions {
  /** Backoff bounds for re-opening a broken stream. */
  retryMinMs: number;
  retryMaxMs: number;
  /** Every event, in Docker's order. */
  onEvent(event: ContainerEvent): void;
  /** The stream is open again: whatever happened while it was down was missed. */
  onOpen(): void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EventsSource {
  private holders = 0;
  private closed = false;
  private closer: Closer | null = null;
  private opening = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Failed opens (or breaks) since the stream was last open: the backoff exponent. */
  private retries = 0;
  private lastError: Error | null = null;
  private readonly readyWaiters = new Set<Settle<void>>();
  /** Bumped whenever the stream is torn down, so late callbacks of an old stream are ignored. */
  private generation = 0;

  constructor(
    private readonly runtime: FeedRuntime,
    private readonly logger: FeedLogger,
    private readonly options: EventsSourceOptions,
  ) {}

  /** Docker's stream is open right now. */
  get isOpen(): boolean {
    return this.closer !== null;
  }

  /** Opens the stream (or joins it). Returns the release function; call it once. */
  acquire(): () => void {
    this.holders++;
    this.ensureOpen();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      this.maybeStop();
    };
  }

  /** Resolves once the stream is open; rejects after `timeoutMs` or when nobody holds it any more. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.closer) return Promise.resolve();
    return settleOnce<void>(
      (settle) => {
        this.readyWaiters.add(settle);
        return () => this.readyWaiters.delete(settle);
      },
      {
        signal: AbortSignal.timeout(timeoutMs),
        onAbort: () => this.lastError ?? new Error('Docker events stream did not open in time'),
      },
    );
  }

  /** Closes the stream for good. */
  close(): void {
    this.closed = true;
    this.maybeStop();
  }

  private get needed(): boolean {
    return !this.closed && this.holders > 0;
  }

  private ensureOpen(): void {
    if (!this.needed || this.closer || this.opening || this.retryTimer) return;
    const generation = this.generation;
    this.opening = true;
    this.runtime
      .watchEvents({
        onEvent: (event) => {
          if (generation === this.generation) this.options.onEvent(event);
        },
        onEnd: (error) => {
          if (generation !== this.generation) return;
          this.generation++;
          this.closer = null;
          this.logger.warn({ error: error?.message }, 'Docker events stream ended; reopening');
          this.scheduleRetry();
        },
      })
      .then(
        (closer) => {
          this.opening = false;
          if (generation !== this.generation || !this.needed) {
            closer.close();
            // Released and taken again while this one was opening: the new holder needs a stream.
            this.ensureOpen();
            return;
          }
          this.closer = closer;
          this.retries = 0;
          this.lastError = null;
          for (const waiter of [...this.readyWaiters]) waiter.resolve();
          this.options.onOpen();
        },
        (error: unknown) => {
          this.opening = false;
          if (generation !== this.generation) {
            this.ensureOpen();
            return;
          }
          this.lastError = new Error(`Docker events unavailable: ${describe(error)}`);
          this.logger.warn({ error: describe(error) }, 'cannot open the Docker events stream');
          this.scheduleRetry();
        },
      );
  }

  private scheduleRetry(): void {
    if (!this.needed || this.retryTimer) return;
    const delay = backoffDelay(this.retries++, {
      initialMs: this.options.retryMinMs,
      factor: 2,
      maxMs: this.options.retryMaxMs,
      jitter: 0,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensureOpen();
    }, delay);
    this.retryTimer.unref();
  }

  private maybeStop(): void {
    if (this.needed) return;
    this.generation++;
    this.closer?.close();
    this.closer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retries = 0;
    for (const waiter of [...this.readyWaiters]) waiter.reject(new Error('no longer watching events'));
  }
}
