/**
 * Wrong-key throttling per remote address. Every key is checked (a SHA-256 compare costs
 * microseconds), so a correct key is always served, however many wrong ones came from its
 * address: behind a TLS proxy every operator shares one. What the throttle decides is how a
 * wrong key is answered (401, or 429 once an address sent too many), and it bounds memory.
 *
 * An attempt is counted when it starts, before the check, so a burst of parallel guesses is
 * counted in full; a success takes back only its own attempt, never another client's failures.
 */

export interface ThrottleOptions {
  /** Failed attempts within `windowMs` an address may make; the next ones are answered 429. */
  maxFailures: number;
  windowMs: number;
  /** How long a blocked address's wrong keys get 429. */
  blockMs: number;
  /** Addresses tracked at most; beyond it the oldest are forgotten (bounded memory under a flood). */
  maxAddresses: number;
  now: () => number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  blockMs: 60_000,
  maxAddresses: 10_000,
  now: Date.now,
};

interface Entry {
  /** Start times of attempts that did not succeed (in flight or failed), oldest first; at most `maxFailures + 1`. */
  attempts: number[];
  blockedUntil: number;
}

/** One attempt, counted from its start; settle it exactly once. */
export interface Attempt {
  readonly address: string;
  /** Its start time (an entry in the address's attempts until it succeeds). */
  readonly at: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly options: ThrottleOptions;

  constructor(options: Partial<ThrottleOptions> = {}) {
    this.options = { ...DEFAULT_THROTTLE, ...options };
  }

  /** Milliseconds until `address`'s wrong keys stop getting 429; 0 when it is not blocked. */
  blockedFor(address: string): number {
    const entry = this.entries.get(address);
    if (!entry) return 0;
    return Math.max(entry.blockedUntil - this.options.now(), 0);
  }

  /** Counts an attempt from `address` before its key is checked. */
  begin(address: string): Attempt {
    const now = this.options.now();
    const entry = this.entries.get(address) ?? { attempts: [], blockedUntil: 0 };
    entry.attempts = entry.attempts.filter((at) => now - at < this.options.windowMs);
    entry.attempts.push(now);
    // Only "more than the limit" matters: a flood must not make every check longer than the last.
    if (entry.attempts.length > this.options.maxFailures + 1) entry.attempts.shift();
    if (entry.attempts.length > this.options.maxFailures && entry.blockedUntil <= now) {
      entry.blockedUntil = now + this.options.blockMs;
    }
    // Re-insert so Map order is least-recently-tried first.
    this.entries.delete(address);
    this.entries.set(address, entry);
    this.prune(now);
    return { address, at: now };
  }

  /** The attempt presented the right key: it no longer counts (nothing else is forgotten). */
  succeeded(attempt: Attempt): void {
    const entry = this.entries.get(attempt.address);
    if (!entry) return;
    const i = entry.attempts.indexOf(attempt.at);
    if (i >= 0) entry.attempts.splice(i, 1);
    // A block stands until it ends, but this address's own count may now be under the limit.
    if (entry.attempts.length === 0 && entry.blockedUntil <= this.options.now())
      this.entries.delete(attempt.address);
  }

  /** Number of addresses currently tracked (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    if (this.entries.size <= this.options.maxAddresses) return;
    for (const [address, entry] of this.entries) {
      const stale =
        entry.blockedUntil <= now && entry.attempts.every((at) => now - at >= this.options.windowMs);
      if (stale) this.entries.delete(address);
    }
    for (const address of this.entries.keys()) {
      if (this.entries.size <= this.options.maxAddresses) break;
      this.entries.delete(address);
    }
  }
}

/**
 * Bounds work in flight (0.3 scrypt checks, until the key record is migrated): at most
 * `perAddress` from one address and `overall` in total; the rest wait their turn in a queue of
 * bounded length per address, and past that are refused.
 */
export class InFlightLimit {
  private running = 0;
  private readonly perAddressRunning = new Map<string, number>();
  private readonly queue: { address: string; start: () => void }[] = [];

  constructor(
    private readonly overall: number,
    private readonly perAddress: number,
    private readonly maxQueuedPerAddress: number,
  ) {}

  /** Runs `work` when a slot is free; resolves null (refused) when the address's queue is full. */
  async run<T>(address: string, work: () => Promise<T>): Promise<T | null> {
    if (this.canStart(address)) this.reserve(address);
    else {
      const queued = this.queue.filter((q) => q.address === address).length;
      if (queued >= this.maxQueuedPerAddress) return null;
      // `startNext` reserves the slot before waking this one: no one can slip in between.
      await new Promise<void>((start) => this.queue.push({ address, start }));
    }
    try {
      return await work();
    } finally {
      this.running--;
      const left = (this.perAddressRunning.get(address) ?? 1) - 1;
      if (left === 0) this.perAddressRunning.delete(address);
      else this.perAddressRunning.set(address, left);
      this.startNext();
    }
  }

  private reserve(address: string): void {
    this.running++;
    this.perAddressRunning.set(address, (this.perAddressRunning.get(address) ?? 0) + 1);
  }

  private canStart(address: string): boolean {
    return this.running < this.overall && (this.perAddressRunning.get(address) ?? 0) < this.perAddress;
  }

  private startNext(): void {
    const i = this.queue.findIndex((q) => this.canStart(q.address));
    if (i < 0) return;
    const [next] = this.queue.splice(i, 1);
    this.reserve(next!.address);
    next!.start();
  }
}
