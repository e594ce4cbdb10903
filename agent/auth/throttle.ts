/**
 * Failed-key throttling per remote address: a key guesser gets a handful of tries per minute,
 * and each refused try costs the agent nothing (no scrypt).
 */
export interface ThrottleOptions {
  /** Failures within `windowMs` that trigger a block. */
  maxFailures: number;
  windowMs: number;
  /** How long an address is refused once blocked. */
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
  /** Times of recent failures, oldest first. */
  failures: number[];
  blockedUntil: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly options: ThrottleOptions;

  constructor(options: Partial<ThrottleOptions> = {}) {
    this.options = { ...DEFAULT_THROTTLE, ...options };
  }

  /** Milliseconds until `address` may try again; 0 when it is not blocked. */
  blockedFor(address: string): number {
    const entry = this.entries.get(address);
    if (!entry) return 0;
    const left = entry.blockedUntil - this.options.now();
    return Math.max(left, 0);
  }

  recordFailure(address: string): void {
    const now = this.options.now();
    const entry = this.entries.get(address) ?? { failures: [], blockedUntil: 0 };
    entry.failures = entry.failures.filter((at) => now - at < this.options.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.options.maxFailures) {
      entry.blockedUntil = now + this.options.blockMs;
      entry.failures = [];
    }
    // Re-insert so Map order is least-recently-failed first.
    this.entries.delete(address);
    this.entries.set(address, entry);
    this.prune(now);
  }

  recordSuccess(address: string): void {
    const entry = this.entries.get(address);
    if (entry && entry.blockedUntil <= this.options.now()) this.entries.delete(address);
  }

  /** Number of addresses currently tracked (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    if (this.entries.size <= this.options.maxAddresses) return;
    for (const [address, entry] of this.entries) {
      const stale =
        entry.blockedUntil <= now && entry.failures.every((at) => now - at >= this.options.windowMs);
      if (stale) this.entries.delete(address);
    }
    for (const address of this.entries.keys()) {
      if (this.entries.size <= this.options.maxAddresses) break;
      this.entries.delete(address);
    }
  }
}
