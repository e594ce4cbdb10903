import { describe, expect, it } from 'vitest';
import { apply, container, fleet, jobStatus, press, probed } from '../store.fixture.js';
import { plainLine, selectedJob, selectedRow, selection, tableView } from './table.js';

describe('tables', () => {
  it('fits the containers table to 80 columns by dropping columns, and builds only visible rows', () => {
    const many = Array.from({ length: 200 }, (_, i) => container('web', i));
    const s = apply(fleet({ width: 80, height: 24 }), probed('lab1', [jobStatus('web', many)]));
    const view = tableView(s, 'containers')!;
    const ids = view.columns.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['node', 'name', 'state', 'cpu', 'mem']));
    expect(ids).not.toContain('memSpark');
    expect(view.lines.length).toBeLessThan(20);
    expect(view.count).toBe(202);
    for (const line of view.lines) expect(plainLine(line, view.columns).length).toBeLessThanOrEqual(78);
    expect(view.header.length).toBeLessThanOrEqual(78);
  });
  it('shows what an agent sends as text: escapes in names and images visible, measured as shown', () => {
    const hostile = container('web', 1, { name: 'web-1\u001b]0;pwned\u0007', image: 'web:v1\u001b[2J' });
    const s = press(
      apply(fleet({ width: 120, height: 30 }), probed('lab1', [jobStatus('web', [hostile])])),
      '3',
    );
    const view = tableView(s, 'containers')!;
    const texts = view.lines.flatMap((l) => l.cells.map((c) => c.text));
    expect(texts).toContain('web-1\\x1b]0;pwned\\x07');
    expect(texts.join('')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    for (const line of view.lines) expect(plainLine(line, view.columns).length).toBeLessThanOrEqual(118);
  });
  it('keeps the selection on screen when moving past the page', () => {
    const many = Array.from({ length: 200 }, (_, i) => container('web', i));
    let s = apply(fleet({ width: 160, height: 48 }), probed('lab1', [jobStatus('web', many)]));
    s = press(s, '3');
    for (let i = 0; i < 50; i++) s = press(s, 'j');
    const view = tableView(s, 'containers')!;
    expect(view.lines.some((l) => l.selected)).toBe(true);
    expect(view.top).toBeGreaterThan(0);
    s = press(s, 'pagedown', 'G');
    expect(tableView(s, 'containers')!.lines.at(-1)!.selected).toBe(true);
  });
  it('titles each panel with its number, count and filter, and says why it is empty', () => {
    const s = fleet();
    expect(tableView(s, 'nodes')!.title).toBe('[1] Nodes (3)');
    expect(tableView(s, 'jobs')!.title).toBe('[2] Jobs (2)');
    const filtered = press(s, '2', '/', 'z', 'z', 'z', 'enter');
    expect(tableView(filtered, 'jobs')).toMatchObject({
      title: '[2] Jobs (0/2) /zzz',
      empty: 'no match for /zzz',
    });
    const bare = apply(s, probed('lab1', []), probed('lab2', []));
    expect(tableView(bare, 'jobs')!.empty).toBe('no jobs yet — press d to deploy a job file');
  });
  it('selects in the panel focused last, and names the job the operation keys act on', () => {
    let s = fleet();
    expect(selection(s)).toMatchObject({ panel: 'nodes', row: { name: 'lab1' } });
    expect(selectedJob(s)).toBeNull();
    s = press(s, '2', 'j');
    expect(selectedRow(s, 'jobs')!.job).toBe('web');
    expect(selectedJob(s)).toBe('web');
    // A container's job; inside a job's containers, that job even when the filter hides every row.
    s = press(s, '3');
    expect(selectedJob(s)).toBe(selectedRow(s, 'containers')!.job);
    s = press(s, '2', 'enter', '/', 'z', 'z', 'z', 'enter');
    expect(selectedRow(s, 'containers')).toBeNull();
    expect(selectedJob(s)).toBe('web');
  });
});
