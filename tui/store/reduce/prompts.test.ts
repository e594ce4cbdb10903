import { describe, expect, it } from 'vitest';
import { flashText } from '../overlays.js';
import { scopedContainerRows } from '../panels/containers.js';
import { tableView } from '../select/table.js';
import { fleet, keys, press, type } from '../store.fixture.js';
import { parseCount } from './prompts.js';

describe('prompts', () => {
  it('filters the focused table as the filter is typed; esc restores, enter keeps', () => {
    let s = press(fleet(), '3', '/');
    expect(s.modal).toMatchObject({ kind: 'prompt', purpose: 'filter' });
    s = type(s, 'api');
    expect(scopedContainerRows(s).length).toBe(4);
    expect(tableView(s, 'containers')!.count).toBe(1);
    s = press(s, 'escape');
    expect(tableView(s, 'containers')!.count).toBe(4);
    s = press(s, '/');
    s = type(s, '!lab1');
    s = press(s, 'enter');
    expect(s.modal).toBeNull();
    const view = tableView(s, 'containers')!;
    expect(view.count).toBe(2);
    expect(view.title).toContain('(2/4) /!lab1');
    // esc on a filtered table with nothing else to go back to clears the filter.
    s = press(s, 'escape');
    expect(tableView(s, 'containers')!.count).toBe(4);
  });
  it('runs : commands, and reports unknown ones', () => {
    let s = press(fleet(), ':');
    s = type(s, 'jobs');
    s = press(s, 'enter');
    expect(s.focus).toBe('jobs');
    s = press(s, ':');
    s = type(s, 'events');
    s = press(s, 'enter');
    expect(s.focus).toBe('detail');
    expect(s.detail.tab).toBe('events');
    s = press(s, ':');
    s = type(s, 'nope');
    s = press(s, 'enter');
    expect(flashText(s)).toMatchObject({ level: 'error', text: expect.stringContaining(':nope') });
    s = press(s, ':', 'q', 'enter');
    expect(s.quitting).toBe(true);
  });
  it(':containers shows every container again after a drill-down', () => {
    let s = press(fleet(), 'j', 'enter');
    expect(tableView(s, 'containers')!.count).toBe(2);
    s = press(s, ':');
    s = type(s, 'co');
    s = press(s, 'enter');
    expect(s).toMatchObject({ focus: 'containers', scope: { kind: 'all' }, navStack: [] });
    expect(tableView(s, 'containers')!.count).toBe(4);
  });
  it('validates the scale count, then asks for a plan', () => {
    expect(parseCount('5')).toBe(5);
    expect(parseCount('0')).toBeNull();
    expect(parseCount('1001')).toBeNull();
    expect(parseCount('3x')).toBeNull();
    let s = press(fleet(), '2', 'j', 's');
    expect(s.modal).toMatchObject({ kind: 'prompt', purpose: 'scale', job: 'web' });
    s = type(s, 'abc');
    const refused = keys(s, 'enter');
    expect(refused.state.modal).toMatchObject({ error: expect.stringContaining('whole number') });
    expect(refused.effects).toEqual([]);
    s = press(refused.state, 'C-u');
    s = type(s, '4');
    const submitted = keys(s, 'enter');
    expect(submitted.state.modal).toBeNull();
    expect(submitted.effects).toEqual([{ kind: 'plan', intent: { op: 'scale', job: 'web', count: 4 } }]);
  });
  it('scale without a job selected says so', () => {
    expect(flashText(press(fleet(), 's'))!.text).toMatch(/Select a job/);
  });
  it('a prompt cancelled with esc asks for nothing', () => {
    const s = press(fleet(), '2', 'j', 's');
    expect(keys(type(s, '3'), 'escape')).toMatchObject({ state: { modal: null }, effects: [] });
  });
});
