import { describe, expect, it } from 'vitest';
import { apply, container, containerStats, fleet, press, T0 } from '../store.fixture.js';
import { eventLines, infoLines, statsSeries } from './detail.js';

describe('detail pane', () => {
  it('lists events newest first', () => {
    const s = apply(
      fleet(),
      {
        type: 'feedEvent',
        node: 'lab1',
        at: T0,
        event: { type: 'operation-start', job: 'web', operation: 'deploy', at: T0 },
      },
      {
        type: 'feedEvent',
        node: 'lab2',
        at: T0,
        event: {
          type: 'operation-progress',
          job: 'web',
          line: { type: 'progress', phase: 'start', message: 'deploy done' },
          at: T0,
        },
      },
    );
    const rows = eventLines(s, 10).map((r) => r.map((x) => x.text).join(''));
    expect(rows[0]).toContain('deploy done');
    expect(rows[1]).toContain('web: deploy started');
  });
  it('gives the Stats tab summed series for a job', () => {
    const sample = (i: number) =>
      containerStats(container('web', i).id, { cpuPercent: 10, memoryUsage: 1024 * 1024 });
    let s = apply(
      fleet(),
      { type: 'statsBatch', node: 'lab1', at: T0, containers: [sample(1)] },
      { type: 'statsBatch', node: 'lab2', at: T0, containers: [sample(3)] },
      { type: 'command', command: 'focus.jobs' },
    );
    // Jobs are sorted: api, web.
    s = press(s, 'j');
    const series = statsSeries(s)!;
    expect(series.title).toBe('job web (sum)');
    expect(series.cpu.at(-1)).toBe(20);
    expect(series.memMiB.at(-1)).toBe(2);
  });
  it('shows the Info of whatever the selected row is', () => {
    const s = fleet();
    expect(infoLines(s)[0]).toBe('Node        lab1');
    expect(infoLines(press(s, '2'))[0]).toBe('Job         api');
    expect(infoLines(press(s, '3'))[0]).toMatch(/^Container {3}web-/);
    expect(statsSeries(press(s, '1'))!.title).toBe('node lab1 (sum)');
  });
});
