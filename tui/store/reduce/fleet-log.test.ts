import { describe, expect, it } from 'vitest';
import type { FeedEvent, NodeSummary } from '../../../src/protocol/feeds.js';
import type { Action, FeedFact } from '../actions.js';
import { allContainerRows } from '../panels/containers.js';
import { jobRows } from '../panels/jobs.js';
import { allNodeRows } from '../panels/nodes.js';
import { changedSince, fleetMark, initialState, type TuiState } from '../state.js';
import { agentInfo, apply, container, containerStats, fleet, jobStatus, T0 } from '../store.fixture.js';

function summary(node: string, at: number, extra: Partial<NodeSummary> = {}): FeedFact {
  return {
    type: 'nodeSummary',
    node,
    at,
    summary: { at, usage: { cpuPercent: 12.5, memoryUsage: 64 * 1024 * 1024, containers: 1 }, ...extra },
  };
}

const batch = (...facts: FeedFact[]): Action => ({ type: 'feedBatch', facts });

describe('fleet log: selectors rebuild only the nodes that changed, and miss none', () => {
  it('names every node a batch changed, the second and later ones included', () => {
    const before = fleet();
    const mark = fleetMark(before);
    expect(mark).not.toBeNull();
    const after = apply(
      before,
      batch(summary('lab1', T0 + 1), summary('lab3', T0 + 1), summary('lab1', T0 + 2)),
    );
    expect(new Set(changedSince(after, mark))).toEqual(new Set(['lab1', 'lab3']));
    // Nothing changed since the state's own mark.
    expect(changedSince(after, fleetMark(after))).toEqual([]);
  });

  it('keeps one chain when a fact replaces a record an earlier fact of the batch left alone', () => {
    // Inside a batch the state is changed in place: the first fact copies `nodes`, a later one
    // is the first to copy `startedAt` or `stats`. The log must still describe the records as
    // they were before each fact, or a chain starts again and every selector rebuilds all rows.
    const id = container('web', 1).id;
    const start = (node: string, at: number): FeedFact => ({
      type: 'feedEvent',
      node,
      at,
      event: {
        type: 'container',
        action: 'start',
        containerId: id,
        containerName: 'web-1',
        job: 'web',
        version: 'aaaaaaa',
        image: null,
        at,
      } satisfies FeedEvent,
    });
    const stats = (node: string, at: number): FeedFact => ({
      type: 'statsBatch',
      node,
      at,
      containers: [containerStats(id, { cpuPercent: 1, memoryUsage: 1, memoryLimit: 2 })],
    });
    const before = fleet();
    const mark = fleetMark(before);
    const after = apply(before, batch(summary('lab2', T0 + 1), start('lab1', T0 + 2), stats('lab3', T0 + 3)));
    expect(after.startedAt).not.toBe(before.startedAt);
    expect(after.stats).not.toBe(before.stats);
    expect(changedSince(after, mark)).toEqual(['lab3', 'lab1', 'lab2']);
  });

  it('rows built incrementally equal rows built from scratch', () => {
    const before = fleet();
    // Build every table at the old state, so the next calls go the incremental way.
    allNodeRows(before);
    jobRows(before);
    allContainerRows(before);
    const after = apply(
      before,
      batch(
        summary('lab2', T0 + 1),
        summary('lab3', T0 + 1, {
          info: agentInfo(),
          jobs: [jobStatus('db', [container('db', 1)]), jobStatus('web', [container('web', 9)])],
        }),
        summary('lab1', T0 + 1, { jobs: [jobStatus('web', [container('web', 1)])] }),
      ),
    );
    expect(changedSince(after, fleetMark(before))).not.toBeNull();
    const incremental = {
      nodes: allNodeRows(after).map((r) => ({ ...r })),
      jobs: jobRows(after).map((r) => ({ ...r })),
      containers: allContainerRows(after).map((r) => r.key),
    };
    // The same records under a log that cannot describe them: everything is built again.
    const scratch: TuiState = {
      ...after,
      fleetLog: { ...initialState([], { inventoryName: 'x' }, T0).fleetLog },
    };
    expect(fleetMark(scratch)).toBeNull();
    expect(incremental.nodes).toEqual(allNodeRows(scratch).map((r) => ({ ...r })));
    expect(incremental.jobs).toEqual(jobRows(scratch).map((r) => ({ ...r })));
    expect(incremental.containers).toEqual(allContainerRows(scratch).map((r) => r.key));
    // And they did change: lab3 came online with two jobs, lab1 kept one container.
    const lab3 = incremental.nodes.find((r) => r.name === 'lab3')!;
    expect(lab3.conn).toBe('online');
    expect(lab3.containers).toBe('2/2');
    expect(incremental.nodes.find((r) => r.name === 'lab2')!.cpu).not.toBe('-');
    expect(incremental.jobs.map((r) => r.job)).toEqual(['api', 'db', 'web']);
    expect(incremental.containers.length).toBe(1 + 2 + 2);
  });
});
