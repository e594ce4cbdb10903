import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const doubling = { initialMs: 250, factor: 2, maxMs: 10_000, jitter: 0 };

describe('backoffDelay', () => {
  it('grows by the factor from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, doubling))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 10_000,
    ]);
    expect(backoffDelay(60, doubling)).toBe(10_000);
  });

  it('spreads the delay by ±jitter around it, following the roll', () => {
    const jittered = { ...doubling, jitter: 0.3 };
    expect(backoffDelay(2, jittered, 0)).toBeCloseTo(700);
    expect(backoffDelay(2, jittered, 0.5)).toBeCloseTo(1000);
    expect(backoffDelay(2, jittered, 0.999_999)).toBeCloseTo(1300, 2);
    // The cap applies before the jitter: a capped delay still varies.
    expect(backoffDelay(10, jittered, 0)).toBeCloseTo(7000);
  });

  it('ignores the roll without jitter', () => {
    expect(backoffDelay(1, doubling, 0)).toBe(backoffDelay(1, doubling, 0.9));
  });
});
