import { describe, expect, it } from 'vitest';
import { bigFleet, nodeName } from '../fleet-scale.fixture.js';
import { flashText } from '../overlays.js';
import { nodeRows } from '../panels/nodes.js';
import { headerSegments, headerSummary } from '../select/header.js';
import { selection, visibleRows } from '../select/table.js';
import { press, type } from '../store.fixture.js';

const names = (rows: { name: string }[]) => rows.map((r) => r.name);

describe('nodes table at fleet size', () => {
  const problems = { offline: [700, 20], unauthorized: [400], error: [900] };

  it('S sorts by status, problems first (red, then yellow), stable within a status; again reverses; a third time is inventory order', () => {
    let s = press(bigFleet(1000, problems), '1', 'S');
    const rows = nodeRows(s);
    expect(rows).toHaveLength(1000);
    // The kernel's red statuses (offline, error) in its order, then its yellow one (unauthorized);
    // inventory order within one status.
    const firstFour = rows.slice(0, 4).map((r) => [r.name, r.status]);
    expect(firstFour).toEqual([
      [nodeName(20), 'offline'],
      [nodeName(700), 'offline'],
      [nodeName(900), 'error'],
      [nodeName(400), 'unauthorized'],
    ]);
    expect(rows.slice(4).every((r) => r.status === 'online')).toBe(true);
    expect(names(rows.slice(4, 6))).toEqual([nodeName(1), nodeName(2)]);
    s = press(s, 'S');
    expect(nodeRows(s).at(-1)!.status).toBe('offline');
    s = press(s, 'S');
    expect(names(nodeRows(s).slice(0, 3))).toEqual([nodeName(1), nodeName(2), nodeName(3)]);
  });

  it('C, M and L sort by CPU, memory and round trip, busiest first, unknown figures last', () => {
    const s = bigFleet(300, { offline: [300] });
    const cpu = nodeRows(press(s, '1', 'C'));
    // CPU is the node's number; the offline one shows none and goes last.
    expect(names(cpu.slice(0, 2))).toEqual([nodeName(299), nodeName(298)]);
    expect(cpu.at(-1)!.name).toBe(nodeName(300));
    const mem = nodeRows(press(s, '1', 'M'));
    expect(names(mem.slice(0, 2))).toEqual([nodeName(1), nodeName(2)]);
    expect(nodeRows(press(s, '1', 'L'))).toHaveLength(300);
  });

  it(':group shows one inventory group; the header still counts the whole fleet', () => {
    let s = bigFleet(1000, problems);
    s = press(s, ':');
    s = type(s, 'group us');
    s = press(s, 'enter');
    const rows = visibleRows(s, 'nodes');
    expect(rows).toHaveLength(500);
    expect(rows[0]!.name).toBe(nodeName(501));
    expect(headerSummary(s)).toMatchObject({
      online: 996,
      offline: 2,
      unauthorized: 1,
      error: 1,
      connecting: 0,
    });
    // An unknown group is named back, with the ones there are.
    s = press(s, ':');
    s = type(s, 'group asia');
    s = press(s, 'enter');
    expect(flashText(s)!.text).toBe('No group asia (known: eu, us)');
    expect(visibleRows(s, 'nodes')).toHaveLength(500);
    // :group alone: every node again.
    s = press(s, ':');
    s = type(s, 'group');
    s = press(s, 'enter');
    expect(visibleRows(s, 'nodes')).toHaveLength(1000);
  });

  it('! jumps to the next node that needs a look, wrapping, within the view’s order', () => {
    let s = press(bigFleet(1000, problems), '1');
    const visits: string[] = [];
    for (let i = 0; i < 5; i++) {
      s = press(s, '!');
      visits.push(selection(s)!.row.key);
    }
    expect(visits).toEqual([nodeName(20), nodeName(400), nodeName(700), nodeName(900), nodeName(20)]);
    // With none, it says so and stays.
    let calm = press(bigFleet(50), '1', 'j');
    calm = press(calm, '!');
    expect(selection(calm)!.row.key).toBe(nodeName(2));
    expect(flashText(calm)!.text).toMatch(/No node needs a look/);
  });

  it('the header’s status summary counts every kernel status', () => {
    const s = bigFleet(1000, problems);
    const text = headerSegments(s)
      .map((c) => c.text)
      .join('');
    expect(text).toContain('nodes 996 online · 2 offline · 1 unauthorized · 1 error');
    expect(text).not.toContain('connecting');
  });

  it('an UNTRUSTED node (red in the kernel) sorts with the red ones, is a problem, and is counted only when there is one', () => {
    const withUntrusted = { ...problems, untrusted: [300] };
    let s = press(bigFleet(1000, withUntrusted), '1', 'S');
    // Red in the kernel's order (offline, untrusted, error), then yellow (unauthorized).
    expect(
      nodeRows(s)
        .slice(0, 5)
        .map((r) => [r.name, r.status]),
    ).toEqual([
      [nodeName(20), 'offline'],
      [nodeName(700), 'offline'],
      [nodeName(300), 'untrusted'],
      [nodeName(900), 'error'],
      [nodeName(400), 'unauthorized'],
    ]);
    s = press(s, 'S', 'S', '!', '!');
    expect(selection(s)!.row.key).toBe(nodeName(300));
    const header = (state: typeof s) =>
      headerSegments(state)
        .map((c) => c.text)
        .join('');
    expect(header(s)).toContain('nodes 995 online · 2 offline · 1 unauthorized · 1 untrusted · 1 error');
    expect(header(bigFleet(1000, problems))).not.toContain('untrusted');
    // Small terminals keep it too (in their short word), where a zero count would be left out.
    expect(header(bigFleet(1000, withUntrusted, { width: 80, height: 24 }))).toContain('1 untrust');
  });

  it('the filter over 10,000 rows finds one node by name', () => {
    let s = press(bigFleet(10_000), '1', '/');
    s = type(s, 'n7777');
    expect(names(visibleRows(s, 'nodes'))).toEqual([nodeName(7777)]);
  });
});
