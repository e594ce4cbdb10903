import { describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { leaseTtlOf } from './operation.js';

describe('leaseTtlOf', () => {
  it('defaults to 30 s, and to 20 ms a node on fleets of over 1,500 nodes', () => {
    expect(leaseTtlOf({})).toBe(30_000);
    expect(leaseTtlOf({}, 20)).toBe(30_000);
    expect(leaseTtlOf({ DOKKUP_LEASE_TTL: ' ' }, 10_000)).toBe(200_000);
  });

  it('takes DOKKUP_LEASE_TTL over the fleet-sized default', () => {
    expect(leaseTtlOf({ DOKKUP_LEASE_TTL: '45s' }, 10_000)).toBe(45_000);
    expect(leaseTtlOf({ DOKKUP_LEASE_TTL: '2m' }, 3)).toBe(120_000);
  });

  it('refuses what is not a duration from 1s to 10m', () => {
    expect(() => leaseTtlOf({ DOKKUP_LEASE_TTL: 'soon' })).toThrow(UsageError);
    expect(() => leaseTtlOf({ DOKKUP_LEASE_TTL: '11m' })).toThrow(/from 1s to 10m/);
    expect(() => leaseTtlOf({ DOKKUP_LEASE_TTL: '500ms' })).toThrow(/from 1s to 10m/);
  });
});
