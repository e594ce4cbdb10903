import { describe, expect, it } from 'vitest';
import { LEASE_TTL_LIMITS_MS } from '../protocol/api.js';
import { defaultLeaseTtlMs, LEASE_TTL_BASE_MS, LEASE_TTL_PER_NODE_MS } from './lease.js';

describe('defaultLeaseTtlMs', () => {
  it('is the 30 s base for small fleets, up to where 20 ms a node passes it', () => {
    expect(LEASE_TTL_BASE_MS).toBe(30_000);
    for (const nodes of [0, 1, 3, 100, 1_000, 1_500]) expect(defaultLeaseTtlMs(nodes)).toBe(30_000);
  });

  it('grows by 20 ms a node on larger fleets', () => {
    expect(LEASE_TTL_PER_NODE_MS).toBe(20);
    expect(defaultLeaseTtlMs(1_501)).toBe(30_020);
    expect(defaultLeaseTtlMs(5_000)).toBe(100_000);
    expect(defaultLeaseTtlMs(10_000)).toBe(200_000);
  });

  it('never passes what an agent accepts (10 min)', () => {
    expect(defaultLeaseTtlMs(30_000)).toBe(LEASE_TTL_LIMITS_MS.max);
    expect(defaultLeaseTtlMs(1_000_000)).toBe(LEASE_TTL_LIMITS_MS.max);
  });

  it('treats a negative count as an empty fleet', () => {
    expect(defaultLeaseTtlMs(-5)).toBe(30_000);
  });
});
