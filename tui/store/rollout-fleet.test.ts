/**
 * Fleet rollouts in the TUI's model: a canary and a lease on the job row, P (promote) only where a
 * canary is out, and a board that follows waves, reverts and what the rollout came to.
 */
import { describe, expect, it } from 'vitest';
import { overlayView } from './overlays.js';
import { jobRows } from './panels/jobs.js';
import {
  apply,
  changing,
  container,
  fleet,
  jobStatus,
  keys,
  plan,
  probed,
  T0,
  unchanged,
  withPlan,
} from './store.fixture.js';

const mark = { version: 'bbbbbbb', from: 'aaaaaaa', since: '2026-11-02T10:00:00Z' };
const lease = {
  operator: 'bob',
  host: 'desk',
  command: 'run job web.yaml',
  acquiredAt: '2026-11-02T10:00:00.000Z',
  renewedAt: '2026-11-02T10:00:10.000Z',
  expiresAt: '2026-11-02T10:00:40.000Z',
};

/** lab1 runs web as a canary of bbbbbbb; lab2 still runs aaaaaaa. */
function withCanary() {
  return apply(
    fleet(),
    probed('lab1', [
      jobStatus('web', [container('web', 1, { version: 'bbbbbbb' })], { version: 'bbbbbbb', canary: mark }),
    ]),
  );
}

const boardText = (s: ReturnType<typeof fleet>) =>
  overlayView(s)!
    .rows.map((r) => r.map((seg) => seg.text).join(''))
    .join('\n');

describe('the job row', () => {
  it('says a canary is out, on how many of the job’s nodes', () => {
    const web = jobRows(withCanary()).find((j) => j.job === 'web')!;
    expect(web.canary).toEqual({ version: 'bbbbbbb', nodes: 1, of: 2 });
    expect(web.rollout).toBe('canary 1/2');
    expect(jobRows(fleet()).find((j) => j.job === 'web')!.rollout).toBe('');
  });

  it('says who holds the job’s lease', () => {
    const s = apply(withCanary(), probed('lab2', [jobStatus('web', [container('web', 3)], { lease })]));
    const web = jobRows(s).find((j) => j.job === 'web')!;
    expect(web.lease).toEqual(lease);
    expect(web.rollout).toBe('canary 1/2 · locked bob@desk');
  });
});

describe('P (promote)', () => {
  it('plans a promotion of the selected job when a canary of it is out', () => {
    // The jobs table is sorted: api first, which has no canary.
    const onApi = keys(withCanary(), '2', 'P');
    expect(onApi.effects).toEqual([]);
    expect(onApi.state.flash?.text).toBe('No canary of api is out: nothing to promote');
    const onWeb = keys(withCanary(), '2', 'j', 'P');
    expect(onWeb.effects).toEqual([{ kind: 'plan', intent: { op: 'promote', job: 'web' } }]);
  });

  it('says there is nothing to promote when no canary is out, and plans nothing', () => {
    const step = keys(fleet(), '2', 'j', 'P');
    expect(step.effects).toEqual([]);
    expect(step.state.flash?.text).toBe('No canary of web is out: nothing to promote');
  });
});

describe('the rollout board', () => {
  it('follows the waves, a revert, and says what the rollout came to', () => {
    const pane = withPlan(fleet(), 'deploy', [
      { ...changing('lab1'), wave: 1 },
      { ...changing('lab2', plan({ running: 1, total: 1 })), wave: 2 },
      unchanged('lab3'),
    ]);
    let s = keys(pane, 'y').state;
    expect(s.rollout).toMatchObject({ waves: 2, wave: null });
    expect(boardText(s)).toContain('2 waves · starting');
    s = apply(
      s,
      { type: 'rolloutWave', index: 0, count: 2, phase: 'rollout' },
      { type: 'rolloutProgress', node: 'lab1', message: 'Starting' },
      { type: 'rolloutNode', node: 'lab1', status: 'succeeded', message: 'Update successful' },
      { type: 'rolloutWave', index: 1, count: 2, phase: 'rollout' },
      {
        type: 'rolloutNode',
        node: 'lab2',
        status: 'failed',
        message: 'Update failed (the previous version was left running)',
      },
    );
    expect(boardText(s)).toContain('2 waves · wave 2/2');
    expect(boardText(s)).toMatch(/lab1 +w1 +OK/);
    s = apply(
      s,
      { type: 'rolloutWave', index: 0, count: 1, phase: 'revert' },
      { type: 'rolloutProgress', node: 'lab1', message: 'Reverting', reverting: true },
    );
    expect(boardText(s)).toContain('reverting: wave 1/1');
    expect(boardText(s)).toMatch(/lab1 +w1 +REVERTING/);
    s = apply(
      s,
      {
        type: 'rolloutNode',
        node: 'lab1',
        status: 'reverted',
        message: 'reverted to aaaaaaa after lab2 failed',
        phase: 'revert',
      },
      {
        type: 'rolloutFinished',
        at: T0 + 5000,
        after: ['Stopped after lab2 failed: no further wave started.', 'Now: aaaaaaa on lab1, lab2.'],
      },
    );
    const text = boardText(s);
    expect(text).toMatch(/↺ lab1 +w1 +REVERTED +reverted to aaaaaaa after lab2 failed/);
    expect(text).toContain(
      'Stopped after lab2 failed: no further wave started.\nNow: aaaaaaa on lab1, lab2.',
    );
  });
});
