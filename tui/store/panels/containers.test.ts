import { describe, expect, it } from 'vitest';
import { apply, container, containerStats, fleet, jobStatus, probed, T0 } from '../store.fixture.js';
import { containerUsage, scopedContainerRows } from './containers.js';

describe('containers panel', () => {
  it('lists containers of every node with a NODE column, offline ones greyed', () => {
    // lab3 listed its containers, then went offline: what it listed stays, greyed.
    const listed = apply(fleet(), probed('lab3', [jobStatus('web', [container('web', 9)])]), {
      type: 'nodeProbeFailed',
      node: 'lab3',
      at: T0,
      failure: 'offline',
      error: 'connect ECONNREFUSED',
    });
    const rows = scopedContainerRows(listed);
    expect(rows.map((r) => `${r.node}:${r.job}`)).toEqual([
      'lab1:web',
      'lab1:web',
      'lab2:api',
      'lab2:web',
      'lab3:web',
    ]);
    expect(rows.at(-1)!.dim).toBe(true);
    expect(rows[0]!.dim).toBe(false);
  });
  it("lists the node's unmanaged containers after dokkup's, and keeps them until the next full list", () => {
    let s = fleet();
    const mine = container('', 7, { name: 'my-postgres', version: null });
    s = apply(s, probed('lab1', [jobStatus('web', [container('web', 1)])], { others: [mine] }));
    const names = () =>
      scopedContainerRows(s)
        .filter((r) => r.node === 'lab1')
        .map((r) => `${r.job || '-'}:${r.name}`);
    expect(names()).toEqual([`web:${container('web', 1).name}`, '-:my-postgres']);
    // A refresh without the list (an older agent) keeps what is known; an empty list clears it.
    s = apply(s, probed('lab1', []));
    expect(names()).toEqual(['-:my-postgres']);
    s = apply(s, probed('lab1', [], { others: [] }));
    expect(names()).toEqual([]);
  });
  it('stops showing usage once the stats go stale', () => {
    let s = fleet();
    const id = container('web', 1).id;
    s = apply(s, {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      containers: [containerStats(id, { cpuPercent: 7, memoryUsage: 5, memoryLimit: 10 })],
    });
    expect(containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!).cpu).toBe(7);
    s = apply(s, { type: 'tick', now: T0 + 60_000 });
    expect(containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!).cpu).toBeNull();
  });
});
