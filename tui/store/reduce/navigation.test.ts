import { describe, expect, it } from 'vitest';
import { scopedContainerRows } from '../panels/containers.js';
import { infoLines } from '../select/detail.js';
import { selectedJob, selectedRow, tableView } from '../select/table.js';
import { fleet, keys, press } from '../store.fixture.js';

describe('navigation', () => {
  it('cycles focus with tab / shift-tab and jumps with 1 2 3', () => {
    let s = fleet();
    expect(s.focus).toBe('nodes');
    s = press(s, 'tab');
    expect(s.focus).toBe('jobs');
    s = press(s, 'tab', 'tab');
    expect(s.focus).toBe('detail');
    s = press(s, 'tab');
    expect(s.focus).toBe('nodes');
    s = press(s, 'S-tab');
    expect(s.focus).toBe('detail');
    s = press(s, '3');
    expect(s.focus).toBe('containers');
    s = press(s, '1');
    expect(s.focus).toBe('nodes');
  });
  it('moves the selection with arrows and j/k, clamped to the rows', () => {
    let s = fleet();
    s = press(s, 'j');
    expect(selectedRow(s, 'nodes')!.name).toBe('lab2');
    s = press(s, 'down', 'down', 'down');
    expect(selectedRow(s, 'nodes')!.name).toBe('lab3');
    s = press(s, 'k', 'up', 'up');
    expect(selectedRow(s, 'nodes')!.name).toBe('lab1');
    s = press(s, 'G');
    expect(selectedRow(s, 'nodes')!.name).toBe('lab3');
  });
  it('drills down from a node to its containers and back with esc', () => {
    let s = press(fleet(), 'j', 'enter');
    expect(s.focus).toBe('containers');
    expect(s.scope).toEqual({ kind: 'node', node: 'lab2' });
    expect(scopedContainerRows(s).map((r) => r.node)).toEqual(['lab2', 'lab2']);
    expect(tableView(s, 'containers')!.title).toContain('node lab2');
    s = press(s, 'escape');
    expect(s.focus).toBe('nodes');
    expect(s.scope).toEqual({ kind: 'all' });
    expect(selectedRow(s, 'nodes')!.name).toBe('lab2');
  });
  it('drills down from a job to its containers on every node', () => {
    let s = press(fleet(), '2', 'j', 'enter');
    expect(s.scope).toEqual({ kind: 'job', job: 'web' });
    expect(scopedContainerRows(s).map((r) => r.node)).toEqual(['lab1', 'lab1', 'lab2']);
    expect(selectedJob(s)).toBe('web');
    // From a container, enter opens its details; esc comes back to the table, then to the jobs.
    s = press(s, 'enter');
    expect(s.focus).toBe('detail');
    expect(s.detail.tab).toBe('info');
    expect(infoLines(s)[0]).toMatch(/^Container {3}web-/);
    s = press(s, 'escape');
    expect(s.focus).toBe('containers');
    s = press(s, 'escape');
    expect(s.focus).toBe('jobs');
  });
  it('does not drill into an empty table', () => {
    const s = press(fleet(), '2', '/', 'z', 'z', 'enter');
    expect(press(s, 'enter')).toBe(s);
  });
  it('quits with q and ctrl-c, but q types into a prompt', () => {
    expect(press(fleet(), 'q').quitting).toBe(true);
    const prompt = press(fleet(), '/', 'q');
    expect(prompt.quitting).toBe(false);
    expect(prompt.modal).toMatchObject({ input: 'q' });
    expect(press(prompt, 'C-c').quitting).toBe(true);
  });
  it('asks the outside world for nothing', () => {
    expect(
      keys(fleet(), 'tab', 'j', '3', 'enter', ']', 'escape', 'escape', 'l', 't', 'w', 'F').effects,
    ).toEqual([]);
  });
});
