import { describe, expect, it } from 'vitest';
import type { CanaryMark } from '../protocol/api.js';
import {
  checkPromote,
  nodeList,
  planSchedule,
  type ScheduleNode,
  scheduleLines,
  shareCount,
  splitIntoWaves,
} from './waves.js';

/** A node that updates from `from` (changes), unless told otherwise. */
function node(name: string, overrides: Partial<ScheduleNode> = {}): ScheduleNode {
  return { name, changes: true, action: 'update', versionFrom: 'aaaaaaa', canary: null, ...overrides };
}
const fresh = (name: string) => node(name, { action: 'fresh', versionFrom: null });
const unchanged = (name: string, version = 'bbbbbbb') =>
  node(name, { changes: false, action: 'noop', versionFrom: version });
const offline = (name: string) => node(name, { changes: false, action: null, versionFrom: null });
const mark = (version: string, from = 'aaaaaaa'): CanaryMark => ({
  version,
  from,
  since: '2026-11-02T10:00:00Z',
});
const fleet = (n: number) => Array.from({ length: n }, (_, i) => node(`n${i + 1}`));
const ways = { promote: 'dokkup promote job web.yaml', rollback: 'dokkup rollback job web.yaml' };

describe('shares: a number of nodes or a percentage of the target', () => {
  it.each([
    [{ nodes: 3 }, 10, 3],
    [{ nodes: 30 }, 10, 30],
    [{ percent: 25 }, 4, 1],
    [{ percent: 25 }, 3, 1],
    [{ percent: 25 }, 5, 2],
    [{ percent: 25 }, 1000, 250],
    [{ percent: 10 }, 1000, 100],
    [{ percent: 10 }, 1001, 101],
    [{ percent: 33.3 }, 3, 1],
    [{ percent: 12.5 }, 8, 1],
    [{ percent: 100 }, 7, 7],
    [{ percent: 1 }, 1, 1],
    [{ percent: 1 }, 0, 1],
  ])('%j of %i nodes is %i (rounded up, never below 1)', (share, total, expected) => {
    expect(shareCount(share, total)).toBe(expected);
  });

  it('cuts a list into consecutive waves, the last one smaller', () => {
    expect(splitIntoWaves(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(splitIntoWaves(['a'], 5)).toEqual([['a']]);
    expect(splitIntoWaves([], 3)).toEqual([]);
  });
});

describe('the schedule of a deploy', () => {
  it('by default: a quarter of the target per wave, in target order, only the nodes that change', () => {
    const nodes = [
      node('a'),
      unchanged('b'),
      node('c'),
      offline('d'),
      node('e'),
      node('f'),
      node('g'),
      node('h'),
    ];
    const schedule = planSchedule({ mode: 'deploy', nodes, version: 'bbbbbbb' });
    expect(schedule.waveSize).toBe(2);
    expect(schedule.waves).toEqual([
      ['a', 'c'],
      ['e', 'f'],
      ['g', 'h'],
    ]);
    expect(schedule.canary).toBeNull();
    expect(schedule.held).toBeNull();
  });

  it('tiny fleets go one node at a time; max_parallel as a number is taken as it is', () => {
    expect(planSchedule({ mode: 'deploy', nodes: fleet(3), version: 'b' }).waves).toEqual([
      ['n1'],
      ['n2'],
      ['n3'],
    ]);
    expect(planSchedule({ mode: 'deploy', nodes: fleet(1), version: 'b' }).waves).toEqual([['n1']]);
    const three = planSchedule({
      mode: 'deploy',
      nodes: fleet(7),
      version: 'b',
      policy: { maxParallel: { nodes: 3 } },
    });
    expect(three.waves).toEqual([['n1', 'n2', 'n3'], ['n4', 'n5', 'n6'], ['n7']]);
  });

  it('a thousand nodes at 10%: ten waves of a hundred', () => {
    const schedule = planSchedule({
      mode: 'deploy',
      nodes: fleet(1000),
      version: 'b',
      policy: { maxParallel: { percent: 10 } },
    });
    expect(schedule.waves.map((w) => w.length)).toEqual(Array(10).fill(100));
    expect(schedule.waves[9]![99]).toBe('n1000');
  });

  it('canary: N moves only the first N nodes that update; the rest are held', () => {
    const schedule = planSchedule({
      mode: 'deploy',
      nodes: [unchanged('a'), node('b'), node('c'), node('d')],
      version: 'bbbbbbb',
      policy: { canary: { nodes: 1 } },
    });
    expect(schedule.waves).toEqual([['b']]);
    expect(schedule.canary).toEqual({ version: 'bbbbbbb', nodes: ['b'] });
    expect(schedule.held).toEqual({ nodes: ['c', 'd'], reason: 'canary' });
  });

  it('a percentage canary rounds up; its canaries go in waves of max_parallel too', () => {
    const schedule = planSchedule({
      mode: 'deploy',
      nodes: fleet(10),
      version: 'b',
      policy: { canary: { percent: 25 }, maxParallel: { nodes: 2 } },
    });
    expect(schedule.canary!.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(schedule.waves).toEqual([['n1', 'n2'], ['n3']]);
    expect(schedule.held!.nodes).toHaveLength(7);
  });

  it('a first deploy has no canary (nothing to compare with): it goes out in waves, and says so', () => {
    const schedule = planSchedule({
      mode: 'deploy',
      nodes: [fresh('a'), fresh('b'), fresh('c')],
      version: 'b',
      policy: { canary: { nodes: 1 } },
    });
    expect(schedule.canary).toBeNull();
    expect(schedule.waves).toEqual([['a'], ['b'], ['c']]);
    expect(schedule.canaryNotApplied).toBe(true);
    expect(scheduleLines(schedule, ways).join('\n')).toContain('No canary: this is the job’s first version');
    // A fresh node joining a fleet that runs the job waits behind the canary like the others.
    const joining = planSchedule({
      mode: 'deploy',
      nodes: [node('a'), fresh('b')],
      version: 'b',
      policy: { canary: { nodes: 1 } },
    });
    expect(joining.waves).toEqual([['a']]);
    expect(joining.held!.nodes).toEqual(['b']);
  });

  it('while a canary of the same version is out, nothing else moves: only promote rolls it out', () => {
    const nodes = [unchanged('a', 'bbbbbbb'), node('b'), node('c')].map((n, i) =>
      i === 0 ? { ...n, canary: mark('bbbbbbb') } : n,
    );
    // Whether or not the file still asks for a canary.
    for (const policy of [{ canary: { nodes: 1 } }, {}]) {
      const schedule = planSchedule({ mode: 'deploy', nodes, version: 'bbbbbbb', policy });
      expect(schedule.waves).toEqual([]);
      expect(schedule.held).toEqual({ nodes: ['b', 'c'], reason: 'canary-out' });
      expect(scheduleLines(schedule, ways)).toEqual([
        'A canary of bbbbbbb is out on a; b, c wait for it to be promoted.',
        'Promote it with `dokkup promote job web.yaml`, or take it back with `dokkup rollback job web.yaml`.',
      ]);
    }
  });

  it('a canary whose own containers need repair is repaired, and the rest still waits', () => {
    const nodes = [
      node('a', { action: 'start', versionFrom: 'bbbbbbb', canary: mark('bbbbbbb') }),
      node('b'),
    ];
    const schedule = planSchedule({
      mode: 'deploy',
      nodes,
      version: 'bbbbbbb',
      policy: { canary: { nodes: 1 } },
    });
    expect(schedule.waves).toEqual([['a']]);
    expect(schedule.held).toEqual({ nodes: ['b'], reason: 'canary' });
  });

  it('a changed file during a canary is a new canary of the new version, on the same nodes', () => {
    const nodes = [node('a'), node('b', { versionFrom: 'bbbbbbb', canary: mark('bbbbbbb') }), node('c')];
    const schedule = planSchedule({
      mode: 'deploy',
      nodes,
      version: 'ccccccc',
      policy: { canary: { nodes: 1 } },
    });
    expect(schedule.canary).toEqual({ version: 'ccccccc', nodes: ['b'] });
    expect(schedule.waves).toEqual([['b']]);
    expect(schedule.held!.nodes).toEqual(['a', 'c']);
  });

  it('an interrupted canary is filled up to its count on the next run', () => {
    const nodes = [unchanged('a', 'bbbbbbb'), node('b'), node('c'), node('d')].map((n, i) =>
      i === 0 ? { ...n, canary: mark('bbbbbbb') } : n,
    );
    const schedule = planSchedule({
      mode: 'deploy',
      nodes,
      version: 'bbbbbbb',
      policy: { canary: { nodes: 2 } },
    });
    expect(schedule.canary!.nodes).toEqual(['a', 'b']);
    expect(schedule.waves).toEqual([['b']]);
    expect(schedule.held).toEqual({ nodes: ['c', 'd'], reason: 'canary' });
  });
});

describe('the schedule of promote, rollback and stop', () => {
  it('promote: every node that changes, in waves; the canaries (already on the version) stay put', () => {
    const nodes = [unchanged('a', 'bbbbbbb'), node('b'), node('c'), node('d')];
    nodes[0] = { ...nodes[0]!, canary: mark('bbbbbbb') };
    const schedule = planSchedule({
      mode: 'promote',
      nodes,
      version: 'bbbbbbb',
      policy: { maxParallel: { nodes: 2 } },
    });
    expect(schedule.waves).toEqual([['b', 'c'], ['d']]);
    expect(schedule.canary).toBeNull();
    expect(checkPromote('web', nodes, 'bbbbbbb')).toEqual({ ok: true });
  });

  it('promote refuses another version than the canary’s, and a fleet with no canary', () => {
    const nodes = [node('a', { versionFrom: 'bbbbbbb', canary: mark('bbbbbbb') }), node('b')];
    expect(checkPromote('web', nodes, 'ccccccc')).toMatchObject({
      ok: false,
      nothing: false,
      message: expect.stringContaining(
        'the canary out on a runs bbbbbbb, but the job file is version ccccccc',
      ),
    });
    expect(checkPromote('web', [node('a'), node('b')], 'bbbbbbb')).toMatchObject({
      ok: false,
      nothing: false,
      message: expect.stringContaining('no canary of web is out'),
    });
    // Promoted already (or never a canary, and everything runs the version): nothing to do.
    expect(checkPromote('web', [unchanged('a'), unchanged('b'), offline('c')], 'bbbbbbb')).toMatchObject({
      ok: false,
      nothing: true,
    });
  });

  it('rollback and stop honour max_parallel', () => {
    for (const mode of ['rollback', 'stop'] as const) {
      const schedule = planSchedule({ mode, nodes: fleet(4), policy: { maxParallel: { nodes: 3 } } });
      expect(schedule.waves).toEqual([['n1', 'n2', 'n3'], ['n4']]);
    }
  });
});

describe('what the schedule says', () => {
  it('waves on one line when short, one per line when long, long lists abbreviated', () => {
    const short = planSchedule({
      mode: 'deploy',
      nodes: [node('lab1'), node('lab2'), node('lab3')],
      version: 'b',
      policy: { maxParallel: { nodes: 2 } },
    });
    expect(scheduleLines(short, ways)).toEqual([
      'Waves (update.max_parallel 2: 2 nodes at a time):',
      '  wave 1: lab1, lab2 · wave 2: lab3',
    ]);
    const long = planSchedule({
      mode: 'deploy',
      nodes: fleet(1000),
      version: 'b',
      policy: { maxParallel: { percent: 10 } },
    });
    const lines = scheduleLines(long, ways);
    expect(lines[0]).toBe('Waves (update.max_parallel 10%: 100 nodes at a time):');
    expect(lines[1]).toBe('  wave 1: n1, n2, n3, … n100 (100 nodes)');
    expect(lines).toHaveLength(11);
    expect(nodeList(['a', 'b', 'c', 'd'])).toBe('a, b, c, d');
  });

  it('a canary says which nodes move and which wait for promote', () => {
    const schedule = planSchedule({
      mode: 'deploy',
      nodes: [node('lab1'), node('lab2'), node('lab3')],
      version: '9470cdc',
      policy: { canary: { nodes: 1 } },
    });
    expect(scheduleLines(schedule, ways)).toEqual([
      'Waves (update.max_parallel 25%: 1 node at a time):',
      '  wave 1: lab1',
      'Canary: lab1 moves to 9470cdc, then the rollout stops; lab2, lab3 wait for `dokkup promote job web.yaml`.',
    ]);
  });
});
