import { describe, expect, it } from 'vitest';
import { apply, fleet, T0 } from '../store.fixture.js';
import { headerSegments, headerSummary } from './header.js';

describe('header', () => {
  it('counts online / offline / unauthorized', () => {
    const s = apply(fleet(), {
      type: 'nodeProbeFailed',
      node: 'lab2',
      at: T0,
      failure: 'unauthorized',
      error: 'wrong key',
    });
    const h = headerSummary(s);
    expect(h).toMatchObject({ inventory: 'inventory.yaml', online: 1, offline: 1, unauthorized: 1 });
  });
  it('counts untrusted nodes, and shows them only when there are any', () => {
    const s = apply(fleet(), {
      type: 'nodeProbeFailed',
      node: 'lab2',
      at: T0,
      failure: 'untrusted',
      error: 'certificate mismatch: the agent presented SHA256:…, the inventory pins SHA256:…',
    });
    expect(headerSummary(s)).toMatchObject({ online: 1, untrusted: 1, unauthorized: 0 });
    expect(
      headerSegments(s)
        .map((c) => c.text)
        .join(''),
    ).toContain('1 untrusted');
    expect(
      headerSegments(fleet())
        .map((c) => c.text)
        .join(''),
    ).not.toContain('untrusted');
    const narrow = headerSegments({ ...s, screen: { ...s.screen, width: 80 } })
      .map((c) => c.text)
      .join('');
    expect(narrow.length).toBeLessThanOrEqual(80);
  });
  it('shows inventory, node states, healthy jobs and totals, and fits 80 columns', () => {
    const wide = headerSegments(fleet())
      .map((c) => c.text)
      .join('');
    expect(wide).toContain('inventory.yaml');
    expect(wide).toContain('2 online');
    expect(wide).toContain('1 offline');
    expect(wide).toContain('0 unauthorized');
    expect(wide).toContain('jobs healthy 1/2');
    expect(wide).toMatch(/CPU .*MEM /);
    const narrow = headerSegments(fleet({ width: 80, height: 24 }))
      .map((c) => c.text)
      .join('');
    expect(narrow.length).toBeLessThanOrEqual(80);
    expect(narrow).toContain('jobs ok 1/2');
  });
});
