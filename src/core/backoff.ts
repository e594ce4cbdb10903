/**
 * How long to wait before trying again: the one reconnect schedule of dokkup, used by the
 * client's feed sessions (with jitter, so a fleet of CLIs does not reconnect in step) and by the
 * agent's Docker events stream (without). Pure: the randomness is passed in.
 */

export interface BackoffPolicy {
  /** The first delay. */
  initialMs: number;
  /** Each further delay is this many times the previous one… */
  factor: number;
  /** …up to this cap. */
  maxMs: number;
  /** ± this fraction of randomness around the delay (0 for none). */
  jitter: number;
}

/**
 * The delay before retry number `retry` (0 for the first): `initialMs × factor^retry`, capped at
 * `maxMs`, then spread by ±`jitter` according to `roll` (a number in [0, 1), 0.5 for the middle).
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, roll = 0.5): number {
  const base = Math.min(policy.initialMs * policy.factor ** retry, policy.maxMs);
  return base * (1 - policy.jitter + 2 * policy.jitter * roll);
}
