/**
 * The "settle once" promise that waiting code keeps writing by hand: several callbacks may end
 * the wait (an event, an error, a state change, a deadline), only the first counts, and the
 * listeners are removed as soon as it has. No timers of its own: a deadline is an
 * `AbortSignal.timeout(ms)` passed in by the caller.
 */

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export interface SettleOptions {
  /** Ends the wait when it aborts (`AbortSignal.timeout(ms)` for a deadline). */
  signal?: AbortSignal | undefined;
  /** The error to reject with when `signal` aborts; by default the signal's reason. */
  onAbort?: () => unknown;
}

/**
 * A promise settled by the first of the callbacks `start` wires up, or by `signal`. The cleanup
 * `start` returns runs exactly once, right after the promise settles (also when `start` settled
 * it before returning, as a listener that reports the current state at once does).
 */
export function settleOnce<T>(
  start: (settle: Settle<T>) => (() => void) | undefined,
  options: SettleOptions = {},
): Promise<T> {
  const { signal } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cleanup: (() => void) | undefined;
    const finish = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      cleanup?.();
      done();
    };
    const onAbort = () => finish(() => reject(options.onAbort ? options.onAbort() : signal?.reason));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      cleanup = start({
        resolve: (value) => finish(() => resolve(value)),
        reject: (error) => finish(() => reject(error)),
      });
    } catch (error) {
      finish(() => reject(error));
    }
    // Settled while `start` ran: its cleanup was not known yet.
    if (settled) cleanup?.();
  });
}
