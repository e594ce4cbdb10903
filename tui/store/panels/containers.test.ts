import { describe, expect, it } from 'vitest';
import { fitColumns } from '../columns.js';
import { apply, container, containerStats, fleet, jobStatus, probed, T0 } from '../store.fixture.js';
import { containersPanel, containerUsage, scopedContainerRows } from './containers.js';

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
  it('an ENTRY column names the entry a container runs, a dimmed dash for the others; the filter finds it', () => {
    const side = container('shop', 3, { name: 'shop-side-1', entry: 'side', replica: 'r1' });
    const s = apply(fleet(), probed('lab1', [jobStatus('shop', [side])]));
    const rows = scopedContainerRows(s);
    const row = rows.find((r) => r.id === side.id)!;
    const columns = fitColumns(containersPanel.columns, 160);
    const at = columns.findIndex((c) => c.id === 'entry');
    expect(columns[at]!.title).toBe('ENTRY');
    expect(containersPanel.cells(row, columns, s)[at]).toEqual({ text: 'side', tone: 'normal' });
    const plain = rows.find((r) => r.job === 'web')!;
    expect(containersPanel.cells(plain, columns, s)[at]).toEqual({ text: '-', tone: 'dim' });
    expect(row.search).toContain(' side ');
    expect(containersPanel.info(row, s)).toContain('Entry       side');
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
