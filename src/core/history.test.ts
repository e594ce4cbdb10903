import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../protocol/job.js';
import {
  HISTORY_LIMIT,
  previousVersion,
  recordDeploy,
  recordRollback,
  recordScale,
  toJobHistory,
} from './history.js';
import { testSpec } from './spec.fixture.js';

const spec = (image: string, count = 1): JobSpec =>
  testSpec({ image }, { count, update: { healthyDeadlineMs: 1000, minHealthyMs: 0 } });

describe('history', () => {
  it('deploy appends and points at the new version', () => {
    let s = recordDeploy(null, spec('a'), 'aaaaaaa', 't1');
    s = recordDeploy(s, spec('b'), 'bbbbbbb', 't2');
    expect(s.current).toBe('bbbbbbb');
    expect(s.entries.map((e) => e.version)).toEqual(['aaaaaaa', 'bbbbbbb']);
    expect(previousVersion(s)).toBe('aaaaaaa');
  });

  it('rollback moves the pointer; a deploy after it forgets the versions rolled away from', () => {
    let s = recordDeploy(null, spec('a'), 'aaaaaaa', 't1');
    s = recordDeploy(s, spec('b'), 'bbbbbbb', 't2');
    s = recordDeploy(s, spec('c'), 'ccccccc', 't3');
    s = recordRollback(s, 'bbbbbbb', 't4');
    expect(s.current).toBe('bbbbbbb');
    expect(previousVersion(s)).toBe('aaaaaaa');
    s = recordDeploy(s, spec('d'), 'ddddddd', 't5');
    expect(s.entries.map((e) => e.version)).toEqual(['aaaaaaa', 'bbbbbbb', 'ddddddd']);
  });

  it('redeploying a version already in the history moves it to the end', () => {
    let s = recordDeploy(null, spec('a'), 'aaaaaaa', 't1');
    s = recordDeploy(s, spec('b'), 'bbbbbbb', 't2');
    s = recordDeploy(s, spec('a'), 'aaaaaaa', 't3');
    expect(s.entries.map((e) => e.version)).toEqual(['bbbbbbb', 'aaaaaaa']);
  });

  it(`keeps at most ${HISTORY_LIMIT} versions (at least 10)`, () => {
    let s = null as ReturnType<typeof recordDeploy> | null;
    for (let i = 0; i < 30; i++)
      s = recordDeploy(s, spec(`img${i}`), i.toString(16).padStart(7, '0'), `t${i}`);
    expect(HISTORY_LIMIT).toBeGreaterThanOrEqual(10);
    expect(s!.entries).toHaveLength(HISTORY_LIMIT);
    expect(s!.entries.at(-1)?.spec.container[0]?.image).toBe('img29');
  });

  it('scale keeps the version and its place, with the new count', () => {
    let s = recordDeploy(null, spec('a', 2), 'aaaaaaa', 't1');
    s = recordScale(s, spec('a', 5), 'aaaaaaa', 't2');
    expect(s.entries).toHaveLength(1);
    expect(s.entries[0]?.spec.count).toBe(5);
  });

  it('toJobHistory marks the current entry', () => {
    let s = recordDeploy(null, spec('a'), 'aaaaaaa', 't1');
    s = recordDeploy(s, spec('b', 3), 'bbbbbbb', 't2');
    expect(toJobHistory('demo', s).entries).toEqual([
      { version: 'aaaaaaa', image: 'a', count: 1, deployedAt: 't1', current: false },
      { version: 'bbbbbbb', image: 'b', count: 3, deployedAt: 't2', current: true },
    ]);
  });
});
