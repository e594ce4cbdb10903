import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../protocol/job.js';
import { commitKind, committedState, unchangedPlanCommits } from './commit.js';
import { recordDeploy, recordRollback } from './history.js';
import type { ObservedContainer } from './planner.js';
import { testSpec } from './spec.fixture.js';

const spec = (image: string, count = 2): JobSpec => testSpec({ image }, { count });
const deployed = (...vs: [string, JobSpec][]) =>
  vs.reduce(
    (s, [v, sp], i) => recordDeploy(s, sp, v, `t${i}`),
    null as ReturnType<typeof recordDeploy> | null,
  )!;

const container = (version: string | null): ObservedContainer => ({
  id: `id-${version}`,
  name: `demo-${version}`,
  version,
  entry: null,
  replica: null,
  state: 'running',
  health: 'none',
  imageId: 'sha256:x',
  createdAt: 1,
});

describe('committedState: which history record an operation commits', () => {
  it('a deploy of a new version appends it and points at it', () => {
    const stored = deployed(['aaaaaaa', spec('a')]);
    const input = {
      operation: 'deploy' as const,
      stored,
      planned: stored,
      spec: spec('b'),
      version: 'bbbbbbb',
      at: 'now',
    };
    expect(commitKind(input)).toBe('deploy');
    const next = committedState(input);
    expect(next.current).toBe('bbbbbbb');
    expect(next.entries.map((e) => [e.version, e.deployedAt])).toEqual([
      ['aaaaaaa', 't0'],
      ['bbbbbbb', 'now'],
    ]);
  });

  it('a first deploy (no history) starts one', () => {
    const input = {
      operation: 'deploy' as const,
      stored: null,
      planned: null,
      spec: spec('a'),
      version: 'aaaaaaa',
      at: 'now',
    };
    expect(commitKind(input)).toBe('deploy');
    expect(committedState(input)).toEqual({
      schema: 1,
      job: 'demo',
      current: 'aaaaaaa',
      entries: [{ version: 'aaaaaaa', spec: spec('a'), deployedAt: 'now' }],
    });
  });

  it('a deploy of the current version is a scale: the entry keeps its place and time, takes the new count', () => {
    const stored = deployed(['aaaaaaa', spec('a')], ['bbbbbbb', spec('b', 2)]);
    const input = {
      operation: 'deploy' as const,
      stored,
      planned: stored,
      spec: spec('b', 5),
      version: 'bbbbbbb',
      at: 'now',
    };
    expect(commitKind(input)).toBe('scale');
    const next = committedState(input);
    expect(next.current).toBe('bbbbbbb');
    expect(next.entries.map((e) => [e.version, e.spec.count, e.deployedAt])).toEqual([
      ['aaaaaaa', 2, 't0'],
      ['bbbbbbb', 5, 't1'],
    ]);
  });

  it('a deploy of an older version (not a rollback) forgets the versions after the current one and appends', () => {
    const stored = recordRollback(deployed(['aaaaaaa', spec('a')], ['bbbbbbb', spec('b')]), 'aaaaaaa', 't2');
    const input = {
      operation: 'deploy' as const,
      stored,
      planned: stored,
      spec: spec('c'),
      version: 'ccccccc',
      at: 'now',
    };
    expect(committedState(input).entries.map((e) => e.version)).toEqual(['aaaaaaa', 'ccccccc']);
  });

  it('a rollback moves the pointer back and keeps every entry', () => {
    const stored = deployed(['aaaaaaa', spec('a')], ['bbbbbbb', spec('b')]);
    const input = {
      operation: 'rollback' as const,
      stored,
      planned: stored,
      spec: spec('a'),
      version: 'aaaaaaa',
      at: 'now',
    };
    expect(commitKind(input)).toBe('rollback');
    const next = committedState(input);
    expect(next.current).toBe('aaaaaaa');
    expect(next.entries.map((e) => [e.version, e.deployedAt])).toEqual([
      ['aaaaaaa', 'now'],
      ['bbbbbbb', 't1'],
    ]);
  });

  it('a rollback whose stored history went missing commits from the history it was planned on', () => {
    const planned = deployed(['aaaaaaa', spec('a')], ['bbbbbbb', spec('b')]);
    const input = {
      operation: 'rollback' as const,
      stored: null,
      planned,
      spec: spec('a'),
      version: 'aaaaaaa',
      at: 'now',
    };
    expect(commitKind(input)).toBe('rollback');
    expect(committedState(input).current).toBe('aaaaaaa');
    expect(committedState(input).entries).toHaveLength(2);
  });
});

describe('unchangedPlanCommits: a plan with nothing to change still commits', () => {
  it('when the containers run a version the history does not name as current', () => {
    const state = deployed(['aaaaaaa', spec('a')]);
    expect(
      unchangedPlanCommits({ job: 'demo', state, containers: [container('bbbbbbb')] }, spec('b'), 'bbbbbbb'),
    ).toBe(true);
    // History lost (a new data directory): the running version is recorded.
    expect(
      unchangedPlanCommits(
        { job: 'demo', state: null, containers: [container('aaaaaaa')] },
        spec('a'),
        'aaaaaaa',
      ),
    ).toBe(true);
  });

  it('when the current record holds another count (a crash after a scale, before its commit) or update policy', () => {
    const state = deployed(['aaaaaaa', spec('a', 2)]);
    const running = [container('aaaaaaa')];
    expect(unchangedPlanCommits({ job: 'demo', state, containers: running }, spec('a', 4), 'aaaaaaa')).toBe(
      true,
    );
    const slower = { ...spec('a', 2), update: { healthyDeadlineMs: 1, minHealthyMs: 0 } };
    expect(unchangedPlanCommits({ job: 'demo', state, containers: running }, slower, 'aaaaaaa')).toBe(true);
  });

  it('not when the history already records exactly this, nor when there is nothing on the node', () => {
    const state = deployed(['aaaaaaa', spec('a')]);
    expect(
      unchangedPlanCommits({ job: 'demo', state, containers: [container('aaaaaaa')] }, spec('a'), 'aaaaaaa'),
    ).toBe(false);
    expect(unchangedPlanCommits({ job: 'demo', state: null, containers: [] }, spec('a'), 'aaaaaaa')).toBe(
      false,
    );
  });
});
