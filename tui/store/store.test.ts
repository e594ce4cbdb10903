import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/protocol/index.js';
import type { Action } from './actions.js';
import { fitColumns } from './columns.js';
import { compileFilter } from './filter.js';
import { agentInfo, container, jobStatus } from './fixtures.js';
import { formatBytes, formatDuration, formatPorts, sparkline } from './format.js';
import { BINDINGS, footerHints, helpSections, keyNameOf, resolveKey } from './keymap.js';
import { computeLayout, detailContentSize, layoutOf } from './layout.js';
import { flashText } from './overlays.js';
import { containerUsage, scopedContainerRows } from './panels/containers.js';
import { driftText, jobRows, versionText } from './panels/jobs.js';
import { nodeRows } from './panels/nodes.js';
import { parseCount, reduce } from './reducer.js';
import { eventLines, infoLines, statsSeries } from './select/detail.js';
import { headerSegments, headerSummary } from './select/header.js';
import { highlight, logView } from './select/logs.js';
import { subscriptions } from './select/subscriptions.js';
import { plainLine, selectedJob, selectedRow, tableView } from './select/table.js';
import {
  appendHistory,
  EMPTY_HISTORY,
  historyPoints,
  initialState,
  type NodePlan,
  type OperationRequest,
  SPARK_MAX_POINTS,
  type TuiState,
} from './state.js';

const T0 = 1_700_000_100_000;

function apply(state: TuiState, ...actions: Action[]): TuiState {
  return actions.reduce(reduce, state);
}

/** Presses keys the way the keys controller does: keymap, then reducer. */
function press(state: TuiState, ...keys: string[]): TuiState {
  let s = state;
  for (const key of keys) {
    const resolved = resolveKey(s, key);
    if (resolved) s = reduce(s, { type: 'command', command: resolved.command, char: resolved.char });
  }
  return s;
}

function type(state: TuiState, text: string): TuiState {
  return press(state, ...Array.from(text).map((c) => (c === ' ' ? 'space' : c)));
}

/** Three nodes: lab1 and lab2 run web (v aaaaaaa), lab2 also runs api; lab3 is offline. */
function fleet(size = { width: 160, height: 48 }): TuiState {
  let s = initialState(
    [
      { name: 'lab1', location: '10.0.0.1:8080' },
      { name: 'lab2', location: '10.0.0.2:8080' },
      { name: 'lab3', location: '10.0.0.3:8080' },
    ],
    { inventoryName: 'inventory.yaml', inventoryPath: 'inventory.yaml' },
    T0,
    size,
  );
  s = apply(
    s,
    { type: 'nodeConn', node: 'lab1', conn: 'online', at: T0 },
    { type: 'nodeConn', node: 'lab2', conn: 'online', at: T0 },
    { type: 'nodeConn', node: 'lab3', conn: 'offline', error: 'connect ECONNREFUSED', at: T0 },
    { type: 'nodeInfo', node: 'lab1', info: agentInfo(), latencyMs: 3, at: T0 },
    { type: 'nodeInfo', node: 'lab2', info: agentInfo({ dockerVersion: '27.0.1' }), latencyMs: 12, at: T0 },
    {
      type: 'nodeJobs',
      node: 'lab1',
      at: T0,
      jobs: [jobStatus('web', [container('web', 1), container('web', 2)])],
    },
    {
      type: 'nodeJobs',
      node: 'lab2',
      at: T0,
      jobs: [
        jobStatus('web', [container('web', 3)], { desired: 2 }),
        jobStatus('api', [container('api', 1, { version: 'bbbbbbb' })]),
      ],
    },
  );
  return s;
}

function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    job: 'web',
    operation: 'deploy',
    action: 'scale',
    changes: true,
    fresh: false,
    versionFrom: 'aaaaaaa',
    versionTo: 'aaaaaaa',
    running: 2,
    total: 2,
    desired: 5,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...overrides,
  };
}

describe('format', () => {
  it('draws sparklines scaled to the largest value, padded to the width', () => {
    expect(sparkline([0, 50, 100], 3)).toBe('▁▅█');
    expect(sparkline([100], 4)).toBe('   █');
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toBe('▆▇█');
    // Idle stays flat instead of scaling noise up to full bars.
    expect(sparkline([0.1, 0.2], 2)).toBe('▂▂');
  });
  it('formats sizes, durations and ports', () => {
    expect(formatBytes(512)).toBe('512B');
    expect(formatBytes(1536)).toBe('1.5KiB');
    expect(formatBytes(340 * 1024 * 1024)).toBe('340MiB');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(3 * 3600_000 + 12 * 60_000)).toBe('3h12m');
    expect(formatDuration(2 * 86400_000)).toBe('2d');
    expect(
      formatPorts([
        { privatePort: 8000, publicPort: 32768, protocol: 'tcp', ip: '0.0.0.0' },
        { privatePort: 8000, publicPort: 32768, protocol: 'tcp', ip: '::' },
        { privatePort: 53, publicPort: null, protocol: 'udp', ip: null },
      ]),
    ).toBe('32768->8000/tcp,53/udp');
  });
});

describe('filter', () => {
  it('matches a case-insensitive regex', () => {
    const f = compileFilter('^web-\\d')!;
    expect(f.test('WEB-1 lab1')).toBe(true);
    expect(f.test('api-1 lab1')).toBe(false);
  });
  it('inverts with a leading !', () => {
    const f = compileFilter('!lab2')!;
    expect(f.inverse).toBe(true);
    expect(f.test('web lab1')).toBe(true);
    expect(f.test('web lab2')).toBe(false);
  });
  it('matches invalid regex text literally instead of throwing', () => {
    const f = compileFilter('web(')!;
    expect(f.literal).toBe(true);
    expect(f.test('a web( b')).toBe(true);
    expect(f.test('web')).toBe(false);
  });
  it('treats empty and a lone ! as no filter', () => {
    expect(compileFilter('  ')).toBeNull();
    expect(compileFilter('!')).toBeNull();
  });
});

describe('columns', () => {
  const cols = [
    { id: 'a', title: 'A', min: 10, priority: 0 },
    { id: 'b', title: 'B', min: 10, max: 30, priority: 1 },
    { id: 'c', title: 'C', min: 10, priority: 2 },
  ];
  it('drops the least important columns first until the rest fit', () => {
    expect(fitColumns(cols, 100).map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(fitColumns(cols, 25).map((c) => c.id)).toEqual(['a', 'b']);
    expect(fitColumns(cols, 15).map((c) => c.id)).toEqual(['a']);
  });
  it('gives spare width to columns that can grow, never past the width', () => {
    const fitted = fitColumns(cols, 60);
    expect(fitted.find((c) => c.id === 'b')!.width).toBe(30);
    const used = fitted.reduce((s, c) => s + c.width, 0) + 2 * (fitted.length - 1);
    expect(used).toBeLessThanOrEqual(60);
    const tight = fitColumns([{ id: 'x', title: 'X', min: 50, priority: 0 }], 20);
    expect(tight[0]!.width).toBe(20);
  });
});

describe('nodes', () => {
  it('counts online / offline / unauthorized in the header', () => {
    let s = fleet();
    s = reduce(s, { type: 'nodeConn', node: 'lab2', conn: 'unauthorized', error: 'wrong key', at: T0 });
    const h = headerSummary(s);
    expect(h).toMatchObject({ inventory: 'inventory.yaml', online: 1, offline: 1, unauthorized: 1 });
  });
  it('shows versions, latency and container counts; greys offline nodes', () => {
    const rows = nodeRows(fleet());
    expect(rows.map((r) => [r.name, r.conn, r.dockerVersion, r.latency, r.containers, r.dim])).toEqual([
      ['lab1', 'online', '28.2.2', '3.0ms', '2/2', false],
      ['lab2', 'online', '27.0.1', '12ms', '2/2', false],
      ['lab3', 'offline', '-', '-', '-', true],
    ]);
  });
  it('records connection changes as events, and keeps the last error', () => {
    let s = fleet();
    s = reduce(s, {
      type: 'nodeConn',
      node: 'lab1',
      conn: 'reconnecting',
      error: 'socket closed',
      at: T0 + 1,
    });
    expect(s.nodes.lab1!.error).toBe('socket closed');
    expect(s.events.at(-1)).toMatchObject({
      node: 'lab1',
      kind: 'connection',
      text: 'node reconnecting: socket closed',
    });
    s = reduce(s, { type: 'nodeConn', node: 'lab1', conn: 'online', at: T0 + 2 });
    expect(s.nodes.lab1!.error).toBeNull();
    expect(s.events.at(-1)!.text).toBe('node online');
    // No change, no new state.
    expect(reduce(s, { type: 'nodeConn', node: 'lab1', conn: 'online', at: T0 + 3 })).toBe(s);
  });
});

describe('jobs', () => {
  it('sums running/desired across nodes and shows drift per node', () => {
    const web = jobRows(fleet()).find((j) => j.job === 'web')!;
    expect(web.running).toBe(3);
    expect(web.desired).toBe(4);
    expect(web.drift).toBe('-1 lab2');
    expect(web.healthy).toBe(false);
    const api = jobRows(fleet()).find((j) => j.job === 'api')!;
    expect(api.drift).toBe('in sync');
    expect(api.healthy).toBe(true);
    expect(headerSummary(fleet())).toMatchObject({ jobsHealthy: 1, jobsTotal: 2 });
  });
  it('shows the version per node where nodes disagree', () => {
    expect(
      versionText([
        { node: 'a', version: 'aaaaaaa', running: 1, desired: 1, online: true },
        { node: 'b', version: 'aaaaaaa', running: 1, desired: 1, online: true },
        { node: 'c', version: 'ccccccc', running: 1, desired: 1, online: true },
      ]),
    ).toBe('aaaaaaa ccccccc@c');
    let s = fleet();
    s = reduce(s, {
      type: 'nodeJobs',
      node: 'lab2',
      at: T0,
      jobs: [
        jobStatus('web', [container('web', 3, { version: 'ccccccc' })], { version: 'ccccccc', desired: 1 }),
      ],
    });
    const web = jobRows(s).find((j) => j.job === 'web')!;
    expect(web.version).toBe('aaaaaaa ccccccc@lab2');
    // In sync on counts, but two versions is not healthy.
    expect(web.drift).toBe('in sync');
    expect(web.healthy).toBe(false);
  });
  it('reports extra containers and unknown (offline) nodes in drift', () => {
    expect(
      driftText([
        { node: 'a', version: 'x', running: 3, desired: 2, online: true },
        { node: 'b', version: 'x', running: 0, desired: 2, online: false },
      ]),
    ).toBe('+1 a ? b');
  });
});

describe('containers and stats', () => {
  it('lists containers of every node with a NODE column, offline ones greyed', () => {
    let s = fleet();
    s = reduce(s, {
      type: 'nodeJobs',
      node: 'lab3',
      at: T0,
      jobs: [jobStatus('web', [container('web', 9)])],
    });
    const rows = scopedContainerRows(s);
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
  it('shows a reachable node whose refresh fails (Docker down) as ERROR until a refresh succeeds', () => {
    let s = fleet();
    const status = () => plainLine(tableView(s, 'nodes')!.lines[0]!, tableView(s, 'nodes')!.columns);
    expect(status()).toMatch(/ONLINE/);
    s = reduce(s, {
      type: 'nodeProblem',
      node: 'lab1',
      problem: 'Docker engine unreachable: connect ENOENT',
    });
    expect(status()).toMatch(/ERROR/);
    expect(infoLines(s).join('\n')).toMatch(/Docker engine unreachable/);
    s = reduce(s, { type: 'nodeInfo', node: 'lab1', info: agentInfo(), latencyMs: 3, at: T0 });
    expect(status()).toMatch(/ONLINE/);
  });
  it("lists the node's unmanaged containers after dokkup's, and keeps them until the next full list", () => {
    let s = fleet();
    const mine = container('', 7, { name: 'my-postgres', version: null });
    s = reduce(s, {
      type: 'nodeJobs',
      node: 'lab1',
      at: T0,
      jobs: [jobStatus('web', [container('web', 1)])],
      others: [mine],
    });
    const names = () =>
      scopedContainerRows(s)
        .filter((r) => r.node === 'lab1')
        .map((r) => `${r.job || '-'}:${r.name}`);
    expect(names()).toEqual([`web:${container('web', 1).name}`, '-:my-postgres']);
    // A refresh without the list (an older agent) keeps what is known; an empty list clears it.
    s = reduce(s, { type: 'nodeJobs', node: 'lab1', at: T0, jobs: [] });
    expect(names()).toEqual(['-:my-postgres']);
    s = reduce(s, { type: 'nodeJobs', node: 'lab1', at: T0, jobs: [], others: [] });
    expect(names()).toEqual([]);
  });
  it('keeps a bounded sparkline history of the last minute', () => {
    let s = fleet();
    const id = container('web', 1).id;
    for (let i = 0; i < 100; i++) {
      s = reduce(s, {
        type: 'tick',
        now: T0 + i * 1000,
      });
      s = reduce(s, {
        type: 'statsBatch',
        node: 'lab1',
        at: T0 + i * 1000,
        samples: [
          {
            id,
            cpuPercent: i,
            memBytes: 1000 + i,
            memLimit: 1e9,
            netRx: 0,
            netTx: 0,
            blockRead: 0,
            blockWrite: 0,
          },
        ],
      });
    }
    const stats = s.stats['lab1']![id]!;
    const points = historyPoints(stats.history);
    expect(points.length).toBeLessThanOrEqual(SPARK_MAX_POINTS);
    expect(points[0]!.at).toBeGreaterThan(T0 + 99_000 - 60_000);
    // The array behind the window does not grow without bound either.
    expect(stats.history.points.length).toBeLessThanOrEqual(3 * SPARK_MAX_POINTS);
    expect(stats.latest.cpuPercent).toBe(99);
    const row = containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!);
    expect(row.cpu).toBe(99);
    expect(row.cpuHistory.at(-1)).toBe(99);
    // Node and header totals come from the same samples.
    expect(nodeRows(s)[0]!.cpu).toBe('99.0%');
    expect(headerSummary(s).cpu).toBe('99.0%');
  });
  it('keeps histories of older states intact when two states grow from the same one', () => {
    const base = appendHistory(EMPTY_HISTORY, { at: 1, cpu: 1, mem: 1 }, 0);
    const a = appendHistory(base, { at: 2, cpu: 2, mem: 2 }, 0);
    const b = appendHistory(base, { at: 2, cpu: 9, mem: 9 }, 0);
    expect(historyPoints(base).map((p) => p.cpu)).toEqual([1]);
    expect(historyPoints(a).map((p) => p.cpu)).toEqual([1, 2]);
    expect(historyPoints(b).map((p) => p.cpu)).toEqual([1, 9]);
    const a2 = appendHistory(a, { at: 70_000, cpu: 3, mem: 3 }, 70_000 - 60_000);
    expect(historyPoints(a2).map((p) => p.cpu)).toEqual([3]);
    expect(historyPoints(a).map((p) => p.cpu)).toEqual([1, 2]);
  });
  it('stops showing usage once the stats go stale', () => {
    let s = fleet();
    const id = container('web', 1).id;
    s = reduce(s, {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      samples: [
        { id, cpuPercent: 7, memBytes: 5, memLimit: 10, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0 },
      ],
    });
    expect(containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!).cpu).toBe(7);
    s = reduce(s, { type: 'tick', now: T0 + 60_000 });
    expect(containerUsage(s, scopedContainerRows(s).find((r) => r.id === id)!).cpu).toBeNull();
  });
  it('applies container events: die, start, health, destroy (pruning stats)', () => {
    let s = fleet();
    const id = container('web', 1).id;
    s = reduce(s, {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      samples: [
        { id, cpuPercent: 1, memBytes: 1, memLimit: 1, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0 },
      ],
    });
    s = reduce(s, {
      type: 'containerEvent',
      node: 'lab1',
      at: T0,
      id,
      job: 'web',
      name: 'web-1',
      action: 'die',
      exitCode: 137,
    });
    expect(s.nodes.lab1!.jobs.web!.running).toBe(1);
    expect(s.events.at(-1)).toMatchObject({ text: 'web-1 die (exit 137)', level: 'warn' });
    s = reduce(s, {
      type: 'containerEvent',
      node: 'lab1',
      at: T0 + 5000,
      id,
      job: 'web',
      name: null,
      action: 'start',
    });
    expect(s.nodes.lab1!.jobs.web!.running).toBe(2);
    expect(s.startedAt['lab1']![id]).toBe(T0 + 5000);
    s = reduce(s, {
      type: 'containerEvent',
      node: 'lab1',
      at: T0,
      id,
      job: 'web',
      name: null,
      action: 'health_status',
      health: 'unhealthy',
    });
    expect(s.nodes.lab1!.jobs.web!.containers[0]!.health).toBe('unhealthy');
    s = reduce(s, {
      type: 'containerEvent',
      node: 'lab1',
      at: T0,
      id,
      job: 'web',
      name: null,
      action: 'destroy',
    });
    expect(s.nodes.lab1!.jobs.web!.containers.map((c) => c.id)).not.toContain(id);
    expect(s.nodes.lab1!.jobs.web!.total).toBe(1);
    expect(s.stats['lab1']?.[id]).toBeUndefined();
  });
  it('prunes stats of containers gone from a fresh job list', () => {
    let s = fleet();
    const id = container('web', 2).id;
    s = reduce(s, {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      samples: [
        { id, cpuPercent: 1, memBytes: 1, memLimit: 1, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0 },
      ],
    });
    s = reduce(s, {
      type: 'nodeJobs',
      node: 'lab1',
      at: T0,
      jobs: [jobStatus('web', [container('web', 1)])],
    });
    expect(s.stats['lab1']?.[id]).toBeUndefined();
  });
  it('gives the Stats tab summed series for a job', () => {
    let s = fleet();
    const samples = [1, 3].map((i) => ({
      id: container('web', i).id,
      cpuPercent: 10,
      memBytes: 1024 * 1024,
      memLimit: 0,
      netRx: 0,
      netTx: 0,
      blockRead: 0,
      blockWrite: 0,
    }));
    s = apply(
      s,
      { type: 'statsBatch', node: 'lab1', at: T0, samples: [samples[0]!] },
      { type: 'statsBatch', node: 'lab2', at: T0, samples: [samples[1]!] },
      { type: 'command', command: 'focus.jobs' },
    );
    // Jobs are sorted: api, web.
    s = press(s, 'j');
    const series = statsSeries(s)!;
    expect(series.title).toBe('job web (sum)');
    expect(series.cpu.at(-1)).toBe(20);
    expect(series.memMiB.at(-1)).toBe(2);
  });
});

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
    expect(scopedContainerRows(s).every((r) => r.node === 'lab2')).toBe(true);
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
  it('quits with q and ctrl-c, but q types into a prompt', () => {
    expect(press(fleet(), 'q').quitting).toBe(true);
    const prompt = press(fleet(), '/', 'q');
    expect(prompt.quitting).toBe(false);
    expect(prompt.modal).toMatchObject({ input: 'q' });
    expect(press(prompt, 'C-c').quitting).toBe(true);
  });
});

describe('keymap', () => {
  it('generates the help from every binding and command', () => {
    const text = helpSections()
      .flatMap((s) => s.rows.map((r) => `${r.keys} ${r.label}`))
      .join('\n');
    for (const b of BINDINGS) expect(text).toContain(b.label);
    for (const c of [':nodes', ':jobs', ':containers', ':events', ':q']) expect(text).toContain(c);
  });
  it('gives footer hints for the focused panel', () => {
    const s = fleet();
    const nodes = footerHints(s).map((h) => h.label);
    expect(nodes).toContain('containers of node');
    expect(nodes).toContain('deploy');
    const logs = footerHints(press(press(s, '3'), 'l')).map((h) => h.label);
    expect(logs).toContain('follow (resume)');
    expect(logs).toContain('search');
    expect(logs).not.toContain('filter (regex, !inverse)');
  });
  it('resolves the same key differently by context', () => {
    const s = fleet();
    expect(resolveKey(s, '/')?.command).toBe('filter.open');
    expect(resolveKey(press(s, '3', 'l'), '/')?.command).toBe('logs.search');
    expect(resolveKey(s, 'enter')?.command).toBe('drill');
  });
});

function withPlan(s: TuiState, op: OperationRequest['op'], nodes: NodePlan[]): TuiState {
  const request: OperationRequest = {
    id: 7,
    op,
    job: 'web',
    nodes: nodes.map((n) => n.node),
    spec: null,
    file: 'web.yaml',
    count: 5,
  };
  return apply(
    s,
    { type: 'planStarted', request, title: `${op} web` },
    {
      type: 'planReady',
      request,
      title: `${op} web`,
      summary: ['Node statuses:', '', 'NAME     STATUS     CONTAINERS'],
      nodes,
      command: 'dokkup run job -i inventory.yaml web.yaml',
    },
  );
}

const planned: NodePlan[] = [
  { node: 'lab1', outcome: 'ok', plan: plan(), error: null },
  { node: 'lab2', outcome: 'ok', plan: plan({ running: 1, total: 1 }), error: null },
  { node: 'lab3', outcome: 'offline', plan: null, error: 'connect ECONNREFUSED' },
];

describe('confirmation', () => {
  it('opens with focus on Cancel; enter on Cancel aborts and changes nothing', () => {
    const s = withPlan(fleet(), 'scale', planned);
    expect(s.modal).toMatchObject({ kind: 'confirm', focus: 'cancel', typeToConfirm: null });
    const after = press(s, 'enter');
    expect(after.modal).toBeNull();
    expect(after.rollout).toBeNull();
    expect(flashText(after)!.text).toMatch(/Cancelled/);
  });
  it('aborts on n and esc', () => {
    const s = withPlan(fleet(), 'scale', planned);
    expect(press(s, 'n').rollout).toBeNull();
    expect(press(s, 'escape').rollout).toBeNull();
    expect(press(s, 'escape').modal).toBeNull();
  });
  it('y confirms into a rollout board; offline nodes are marked, not run', () => {
    const s = press(withPlan(fleet(), 'scale', planned), 'y');
    expect(s.modal).toBeNull();
    expect(s.rollout!.nodes.map((n) => [n.node, n.status])).toEqual([
      ['lab1', 'waiting'],
      ['lab2', 'waiting'],
      ['lab3', 'offline'],
    ]);
  });
  it('enter confirms only when the focus was moved to the confirm button', () => {
    const s = press(withPlan(fleet(), 'deploy', planned), 'right', 'enter');
    expect(s.rollout).not.toBeNull();
  });
  it('purge needs the job name typed; y is just a letter there', () => {
    let s = withPlan(fleet(), 'purge', planned);
    expect(s.modal).toMatchObject({ typeToConfirm: 'web' });
    s = press(s, 'y', 'enter');
    expect(s.rollout).toBeNull();
    expect(s.modal).toMatchObject({ typed: 'y', error: expect.stringContaining('Type web') });
    s = press(s, 'backspace');
    s = type(s, 'web');
    s = press(s, 'enter');
    expect(s.modal).toBeNull();
    expect(s.rollout!.request.op).toBe('purge');
  });
  it('ignores a plan answer for a request that was cancelled', () => {
    const request: OperationRequest = {
      id: 1,
      op: 'stop',
      job: 'web',
      nodes: ['lab1'],
      spec: null,
      file: null,
      count: null,
    };
    let s = reduce(fleet(), { type: 'planStarted', request, title: 'stop web' });
    s = press(s, 'escape');
    s = reduce(s, { type: 'planReady', request, title: 'x', summary: [], nodes: planned, command: '' });
    expect(s.modal).toBeNull();
  });
  it('validates the scale count before planning', () => {
    expect(parseCount('5')).toBe(5);
    expect(parseCount('0')).toBeNull();
    expect(parseCount('1001')).toBeNull();
    expect(parseCount('3x')).toBeNull();
    let s = press(fleet(), '2', 'j', 's');
    expect(s.modal).toMatchObject({ kind: 'prompt', purpose: 'scale', job: 'web' });
    s = type(s, 'abc');
    s = press(s, 'enter');
    expect(s.modal).toMatchObject({ error: expect.stringContaining('whole number') });
    s = press(s, 'C-u');
    s = type(s, '4');
    s = press(s, 'enter');
    expect(s.modal).toBeNull();
  });
  it('scale without a job selected says so', () => {
    expect(flashText(press(fleet(), 's'))!.text).toMatch(/Select a job/);
  });
});

describe('rollout board', () => {
  it('tracks progress lines per node (bounded) and outcomes; stays until dismissed', () => {
    let s = press(withPlan(fleet(), 'scale', planned), 'y');
    for (let i = 1; i <= 6; i++) {
      s = reduce(s, {
        type: 'rolloutProgress',
        node: 'lab1',
        message: `Starting container (${i}/6)`,
        current: i,
        total: 6,
      });
    }
    const lab1 = s.rollout!.nodes[0]!;
    expect(lab1.status).toBe('running');
    expect(lab1.lines.length).toBe(4);
    expect(lab1.lines.at(-1)).toBe('Starting container (6/6)');
    expect(lab1.current).toBe(6);
    // Cannot dismiss while running.
    s = press(s, 'escape');
    expect(s.rollout).not.toBeNull();
    s = apply(
      s,
      { type: 'rolloutNode', node: 'lab1', status: 'ok', message: 'Update successful' },
      { type: 'rolloutNode', node: 'lab2', status: 'failed', message: 'pull failed: not found' },
      { type: 'rolloutFinished', at: T0 + 10 },
    );
    expect(s.rollout!.nodes.map((n) => n.message)).toEqual([
      'Update successful',
      'pull failed: not found',
      'connect ECONNREFUSED',
    ]);
    expect(flashText(s)).toMatchObject({ level: 'error', text: 'scale web: 1 node ok, 2 not' });
    s = press(s, 'j');
    expect(s.rollout).not.toBeNull();
    s = press(s, 'enter');
    expect(s.rollout).toBeNull();
  });
  it('does not run nodes whose plan changes nothing', () => {
    const s = press(
      withPlan(fleet(), 'deploy', [
        { node: 'lab1', outcome: 'ok', plan: plan({ changes: false, action: 'noop' }), error: null },
        { node: 'lab2', outcome: 'ok', plan: plan(), error: null },
      ]),
      'y',
    );
    expect(s.rollout!.nodes.map((n) => [n.status, n.message])).toEqual([
      ['ok', 'Nothing to change'],
      ['waiting', null],
    ]);
    const none = press(
      withPlan(fleet(), 'deploy', [
        { node: 'lab1', outcome: 'ok', plan: plan({ changes: false }), error: null },
      ]),
      'y',
    );
    expect(none.rollout!.finishedAt).not.toBeNull();
    expect(flashText(none)!.text).toBe('Nothing to change on any reachable node');
  });
  it('finishes at once when no node can be reached', () => {
    const s = press(
      withPlan(fleet(), 'stop', [{ node: 'lab3', outcome: 'offline', plan: null, error: 'down' }]),
      'y',
    );
    expect(s.rollout!.finishedAt).not.toBeNull();
    expect(flashText(s)!.text).toMatch(/nothing was changed/);
  });
});

describe('flash', () => {
  it('expires with the clock', () => {
    let s = reduce(fleet(), { type: 'flash', text: 'Deployed', level: 'ok' });
    expect(flashText(s)!.text).toBe('Deployed');
    s = reduce(s, { type: 'tick', now: T0 + 10_000 });
    expect(flashText(s)).toBeNull();
  });
});

describe('logs', () => {
  function logsOf(s: TuiState): TuiState {
    return press(s, '3', 'l');
  }
  function lines(s: TuiState, from: number, to: number, text = (i: number) => `line ${i}`): TuiState {
    const target = s.logs.target!;
    const batch = [];
    for (let i = from; i <= to; i++) {
      batch.push({
        node: 'lab1',
        container: 'web-1',
        stream: 'stdout' as const,
        ts: `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.000000000Z`,
        text: text(i),
      });
    }
    return reduce(s, { type: 'logLines', target, lines: batch });
  }
  function shown(s: TuiState, width = 80, height = 5): string[] {
    return logView(s, width, height).rows.map((r) => r.map((seg) => seg.text).join(''));
  }

  it('opens the logs of the selected container and follows the end', () => {
    let s = logsOf(fleet());
    expect(s.focus).toBe('detail');
    expect(s.logs.target).toMatchObject({ kind: 'container', node: 'lab1' });
    s = lines(s, 1, 20);
    expect(shown(s)).toEqual(['line 16', 'line 17', 'line 18', 'line 19', 'line 20']);
    s = lines(s, 21, 22);
    expect(shown(s).at(-1)).toBe('line 22');
  });
  it('keeps the buffer bounded and counts what it dropped', () => {
    let s = initialState([{ name: 'lab1', location: 'x' }], { inventoryName: 'i', logCap: 100 }, T0);
    s = apply(
      s,
      { type: 'nodeConn', node: 'lab1', conn: 'online', at: T0 },
      {
        type: 'nodeJobs',
        node: 'lab1',
        at: T0,
        jobs: [jobStatus('web', [container('web', 1)])],
      },
    );
    s = logsOf(s);
    s = lines(s, 1, 250);
    expect(s.logs.lines.length).toBe(100);
    expect(s.logs.lines[0]!.text).toBe('line 151');
    expect(s.logs.dropped).toBe(150);
    expect(logView(s, 80, 5).status).toContain('150 dropped');
  });
  it('pauses when scrolled up, stays put as lines arrive, and F resumes', () => {
    let s = lines(logsOf(fleet()), 1, 50);
    s = press(s, 'up');
    expect(s.logs.follow).toBe(false);
    const pane = detailContentSize(s);
    const before = shown(s, pane.width, pane.height);
    expect(before.at(-1)).toBe('line 49');
    s = lines(s, 51, 60);
    expect(shown(s, pane.width, pane.height)).toEqual(before);
    expect(logView(s, 80, 5).status).toContain('paused');
    s = press(s, 'F');
    expect(s.logs.follow).toBe(true);
    expect(shown(s).at(-1)).toBe('line 60');
  });
  it('ignores lines for a target that is no longer shown', () => {
    const s = lines(logsOf(fleet()), 1, 3);
    const stale = reduce(s, {
      type: 'logLines',
      target: { kind: 'job', job: 'api' },
      lines: [{ node: 'lab2', container: 'api-1', stream: 'stdout', ts: null, text: 'other' }],
    });
    expect(stale).toBe(s);
  });
  it('searches with highlight and jumps between matches', () => {
    let s = lines(logsOf(fleet()), 1, 40, (i) => (i % 10 === 0 ? `ERROR number ${i}` : `ok ${i}`));
    s = press(s, '/');
    s = type(s, 'error');
    s = press(s, 'enter');
    expect(s.logs.search).toBe('error');
    const view = logView(s, 80, 40);
    expect(view.matches).toBe(4);
    const hit = view.rows.find((r) => r.some((seg) => seg.match))!;
    expect(hit.find((seg) => seg.match)!.text).toBe('ERROR');
    s = press(s, 'g', 'n');
    expect(s.logs.follow).toBe(false);
    expect(shown(s, 80, 1)).toEqual(['ERROR number 10']);
    s = press(s, 'n');
    expect(shown(s, 80, 1)).toEqual(['ERROR number 20']);
    s = press(s, 'N');
    expect(shown(s, 80, 1)).toEqual(['ERROR number 10']);
    expect(highlight('a.b', /\./gi).map((x) => x.text)).toEqual(['a', '.', 'b']);
  });
  it('toggles timestamps and wrap', () => {
    let s = lines(logsOf(fleet()), 1, 1, () => 'x'.repeat(30));
    expect(shown(s, 10, 5)).toEqual(['xxxxxxxxxx']);
    s = press(s, 'w');
    expect(shown(s, 10, 5)).toEqual(['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx']);
    s = press(s, 't', 'w');
    expect(shown(s, 80, 5)[0]).toMatch(/^2024-01-01 00:00:01Z x+$/);
  });
  it('prefixes merged job logs with node/container', () => {
    let s = press(fleet(), '2', 'j', 'l');
    expect(s.logs.target).toEqual({ kind: 'job', job: 'web' });
    s = reduce(s, {
      type: 'logLines',
      target: { kind: 'job', job: 'web' },
      lines: [{ node: 'lab2', container: 'web-3', stream: 'stderr', ts: null, text: 'boom' }],
    });
    const row = logView(s, 80, 5).rows[0]!;
    expect(row.map((r) => r.text).join('')).toBe('lab2/web-3 boom');
    expect(row.at(-1)!.tone).toBe('warn');
  });
});

describe('views from selectors', () => {
  it('fits the containers table to 80 columns by dropping columns, and builds only visible rows', () => {
    let s = fleet({ width: 80, height: 24 });
    const many = Array.from({ length: 200 }, (_, i) => container('web', i));
    s = reduce(s, { type: 'nodeJobs', node: 'lab1', at: T0, jobs: [jobStatus('web', many)] });
    const view = tableView(s, 'containers')!;
    const ids = view.columns.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['node', 'name', 'state', 'cpu', 'mem']));
    expect(ids).not.toContain('memSpark');
    expect(view.lines.length).toBeLessThan(20);
    expect(view.count).toBe(202);
    for (const line of view.lines) expect(plainLine(line, view.columns).length).toBeLessThanOrEqual(78);
    expect(view.header.length).toBeLessThanOrEqual(78);
  });
  it('keeps the selection on screen when moving past the page', () => {
    let s = fleet({ width: 160, height: 48 });
    const many = Array.from({ length: 200 }, (_, i) => container('web', i));
    s = reduce(s, { type: 'nodeJobs', node: 'lab1', at: T0, jobs: [jobStatus('web', many)] });
    s = press(s, '3');
    for (let i = 0; i < 50; i++) s = press(s, 'j');
    const view = tableView(s, 'containers')!;
    expect(view.lines.some((l) => l.selected)).toBe(true);
    expect(view.top).toBeGreaterThan(0);
    s = press(s, 'pagedown', 'G');
    expect(tableView(s, 'containers')!.lines.at(-1)!.selected).toBe(true);
  });
  it('collapses the detail pane into a tab at 80×24', () => {
    const wide = computeLayout(160, 48, { nodes: 3, jobs: 2 }, false);
    expect(wide.compact).toBe(false);
    expect(wide.detail).not.toBeNull();
    const small = computeLayout(80, 24, { nodes: 3, jobs: 2 }, false);
    expect(small.compact).toBe(true);
    expect(small.detail).toBeNull();
    expect(small.containers!.height).toBeGreaterThanOrEqual(8);
    const open = computeLayout(80, 24, { nodes: 3, jobs: 2 }, true);
    expect(open.detail).toEqual({ left: 0, top: 1, width: 80, height: 21 });
    expect(open.containers).toBeNull();
    // In a small terminal, tab does not stop on the hidden pane, and ] opens it.
    let s = fleet({ width: 80, height: 24 });
    s = press(s, 'tab', 'tab', 'tab');
    expect(s.focus).toBe('nodes');
    s = press(s, ']');
    expect(s.focus).toBe('detail');
    expect(layoutOf(s).containers).toBeNull();
    s = press(s, 'escape');
    expect(layoutOf(s).containers).not.toBeNull();
  });
  it('subscribes to logs only while the logs tab is visible, and to stats of online nodes', () => {
    let s = fleet();
    expect(subscriptions(s)).toEqual({ stats: ['lab1', 'lab2'], logs: null });
    s = press(s, '3', 'l');
    expect(subscriptions(s).logs).toMatchObject({ kind: 'container' });
    s = press(s, ']');
    expect(subscriptions(s).logs).toBeNull();
    // Small terminal, detail open on the events tab: no table, no stats.
    let small = fleet({ width: 80, height: 24 });
    small = press(small, ':');
    small = type(small, 'events');
    small = press(small, 'enter');
    expect(subscriptions(small)).toEqual({ stats: [], logs: null });
  });
  it('lists events newest first', () => {
    let s = fleet();
    s = reduce(s, {
      type: 'operationEvent',
      node: 'lab1',
      at: T0,
      job: 'web',
      text: 'deploy started',
      level: 'info',
    });
    s = reduce(s, {
      type: 'operationEvent',
      node: 'lab2',
      at: T0,
      job: 'web',
      text: 'deploy done',
      level: 'info',
    });
    const rows = eventLines(s, 10).map((r) => r.map((x) => x.text).join(''));
    expect(rows[0]).toContain('deploy done');
    expect(rows[1]).toContain('deploy started');
  });
  it('bounds the event list', () => {
    let s = initialState([{ name: 'a', location: 'x' }], { inventoryName: 'i', eventCap: 10 }, T0);
    for (let i = 0; i < 30; i++) {
      s = reduce(s, { type: 'operationEvent', node: 'a', at: T0, job: null, text: `e${i}`, level: 'info' });
    }
    expect(s.events.length).toBe(10);
    expect(s.events[0]!.text).toBe('e20');
  });
});

describe('raw keys', () => {
  it('names keys the way the keymap spells them', () => {
    expect(keyNameOf('\r', { name: 'return' })).toBeNull();
    expect(keyNameOf(undefined, { name: 'enter' })).toBe('enter');
    expect(keyNameOf('R', { name: 'r', shift: true, full: 'S-r' })).toBe('R');
    expect(keyNameOf('\t', { name: 'tab', shift: true })).toBe('S-tab');
    expect(keyNameOf(undefined, { name: 'c', ctrl: true })).toBe('C-c');
    expect(keyNameOf(' ', { name: 'space' })).toBe('space');
    expect(keyNameOf(':', { name: undefined })).toBe(':');
    expect(keyNameOf('\x1b', { name: 'escape' })).toBe('escape');
  });
});

describe('header', () => {
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
