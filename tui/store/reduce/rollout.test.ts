import { describe, expect, it } from 'vitest';
import { flashText } from '../overlays.js';
import type { NodePlan } from '../state.js';
import {
  apply,
  changing,
  fleet,
  keys,
  planned,
  press,
  request,
  run,
  T0,
  type,
  unchanged,
  unreachable,
  withPlan,
} from '../store.fixture.js';

describe('operation keys', () => {
  it('d lists the job files, and the chosen one is planned', () => {
    expect(keys(fleet(), 'd').effects).toEqual([{ kind: 'listJobFiles' }]);
    let s = apply(fleet(), { type: 'jobFilesListed', files: ['web.yaml', 'api.yaml'] });
    expect(s.modal).toMatchObject({ kind: 'chooseFile', selected: 0 });
    s = press(s, 'j', 'j');
    expect(s.modal).toMatchObject({ selected: 1 });
    const chosen = keys(s, 'enter');
    expect(chosen.state.modal).toBeNull();
    expect(chosen.effects).toEqual([{ kind: 'plan', intent: { op: 'deploy', file: 'api.yaml' } }]);
    expect(keys(s, 'escape')).toMatchObject({ state: { modal: null }, effects: [] });
  });
  it('says so when there is no job file to offer', () => {
    const s = apply(fleet(), { type: 'jobFilesListed', files: [] });
    expect(s.modal).toBeNull();
    expect(flashText(s)).toMatchObject({ level: 'error', text: expect.stringContaining('No job files') });
  });
  it('r, x and p plan the selected job with the nodes that report it', () => {
    const s = press(fleet(), '2', 'j');
    expect(keys(s, 'r').effects).toEqual([
      {
        kind: 'plan',
        intent: { op: 'rollback', job: 'web', reporting: ['lab1', 'lab2'], image: '127.0.0.1:5000/web:v1' },
      },
    ]);
    expect(keys(s, 'x').effects[0]).toMatchObject({ intent: { op: 'stop', job: 'web' } });
    // From a container row: its job.
    expect(keys(press(s, '3', 'j', 'j'), 'p').effects[0]).toMatchObject({
      intent: { op: 'purge', job: 'api' },
    });
    const none = keys(fleet(), 'r');
    expect(none.effects).toEqual([]);
    expect(flashText(none.state)!.text).toMatch(/Select a job/);
  });
});

describe('confirmation', () => {
  it('opens with focus on Cancel; enter on Cancel aborts and changes nothing', () => {
    const s = withPlan(fleet(), 'scale', planned);
    expect(s.modal).toMatchObject({ kind: 'confirm', focus: 'cancel', typeToConfirm: null });
    const after = keys(s, 'enter');
    expect(after.state.modal).toBeNull();
    expect(after.state.rollout).toBeNull();
    // The planned rollout is dropped; nothing is carried out.
    expect(after.effects).toEqual([{ kind: 'decline', request: request('scale', ['lab1', 'lab2', 'lab3']) }]);
    expect(flashText(after.state)!.text).toMatch(/Cancelled/);
  });
  it('aborts on n and esc', () => {
    const s = withPlan(fleet(), 'scale', planned);
    expect(press(s, 'n').rollout).toBeNull();
    expect(press(s, 'escape').rollout).toBeNull();
    expect(press(s, 'escape').modal).toBeNull();
    expect(keys(s, 'n').effects).toMatchObject([{ kind: 'decline' }]);
    expect(keys(s, 'escape').effects).toMatchObject([{ kind: 'decline' }]);
  });
  it('y confirms into a rollout board and carries it out on the nodes that change; offline nodes are marked, not run', () => {
    const confirmed = keys(withPlan(fleet(), 'scale', planned), 'y');
    const s = confirmed.state;
    expect(s.modal).toBeNull();
    expect(s.rollout!.nodes.map((n) => [n.node, n.status])).toEqual([
      ['lab1', 'waiting'],
      ['lab2', 'waiting'],
      ['lab3', 'offline'],
    ]);
    expect(confirmed.effects).toEqual([
      { kind: 'execute', request: request('scale', ['lab1', 'lab2', 'lab3']) },
    ]);
  });
  it('enter confirms only when the focus was moved to the confirm button', () => {
    const s = press(withPlan(fleet(), 'deploy', planned), 'right', 'enter');
    expect(s.rollout).not.toBeNull();
  });
  it('purge needs the job name typed; y is just a letter there', () => {
    let s = withPlan(fleet(), 'purge', planned);
    expect(s.modal).toMatchObject({ typeToConfirm: 'web' });
    const early = keys(s, 'y', 'enter');
    s = early.state;
    expect(early.effects).toEqual([]);
    expect(s.rollout).toBeNull();
    expect(s.modal).toMatchObject({ typed: 'y', error: expect.stringContaining('Type web') });
    s = press(s, 'backspace');
    s = type(s, 'web');
    const done = keys(s, 'enter');
    expect(done.state.modal).toBeNull();
    expect(done.state.rollout!.request.op).toBe('purge');
    expect(done.effects).toMatchObject([{ kind: 'execute', request: { op: 'purge' } }]);
  });
  it('ignores a plan answer for a request that was cancelled', () => {
    const req = request('stop', ['lab1'], 1);
    let s = apply(fleet(), { type: 'planStarted', request: req, title: 'stop web' });
    const esc = keys(s, 'escape');
    expect(esc.effects).toEqual([{ kind: 'decline', request: req }]);
    s = esc.state;
    expect(flashText(s)!.text).toMatch(/Cancelled/);
    s = apply(s, { type: 'planReady', request: req, title: 'x', summary: [], nodes: planned, command: '' });
    expect(s.modal).toBeNull();
    // Nor one for another request than the one being planned.
    const other = apply(fleet(), {
      type: 'planStarted',
      request: request('stop', ['lab1'], 2),
      title: 'stop web',
    });
    expect(apply(other, { type: 'planFailed', request: req, error: 'boom' })).toBe(other);
  });
  it('a failed plan closes the pane and says why', () => {
    const req = request('stop', ['lab1'], 3);
    const s = apply(
      fleet(),
      { type: 'planStarted', request: req, title: 'stop web' },
      { type: 'planFailed', request: req, error: 'web.yaml:3:5 container.image: Required' },
    );
    expect(s.modal).toBeNull();
    expect(flashText(s)).toMatchObject({ level: 'error', text: 'web.yaml:3:5 container.image: Required' });
  });
});

describe('rollout board', () => {
  it('tracks progress lines per node (bounded) and outcomes; stays until dismissed', () => {
    let s = press(withPlan(fleet(), 'scale', planned), 'y');
    for (let i = 1; i <= 6; i++) {
      s = apply(s, {
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
    const settled = run(
      s,
      { type: 'rolloutNode', node: 'lab1', status: 'succeeded', message: 'Update successful' },
      { type: 'rolloutNode', node: 'lab2', status: 'failed', message: 'pull failed: not found' },
      { type: 'rolloutFinished', at: T0 + 10 },
    );
    s = settled.state;
    // Each node that settled is refreshed, to show what it runs now.
    expect(settled.effects).toEqual([
      { kind: 'refresh', node: 'lab1' },
      { kind: 'refresh', node: 'lab2' },
    ]);
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
    const some = keys(withPlan(fleet(), 'deploy', [unchanged('lab1'), changing('lab2')]), 'y');
    expect(some.state.rollout!.nodes.map((n) => [n.status, n.message])).toEqual([
      ['unchanged', 'Already up to date'],
      ['waiting', null],
    ]);
    expect(some.effects).toMatchObject([{ kind: 'execute' }]);
    const none = keys(withPlan(fleet(), 'deploy', [unchanged('lab1')]), 'y');
    expect(none.state.rollout!.finishedAt).not.toBeNull();
    expect(none.effects).toEqual([]);
    expect(flashText(none.state)!.text).toBe('Nothing to change on any reachable node');
  });
  it('finishes at once when no node can be reached', () => {
    const offline: NodePlan[] = [unreachable('lab3', 'down')];
    const s = keys(withPlan(fleet(), 'stop', offline), 'y');
    expect(s.state.rollout!.finishedAt).not.toBeNull();
    expect(s.effects).toEqual([]);
    expect(flashText(s.state)!.text).toMatch(/nothing was changed/);
  });
});

describe('refresh key', () => {
  it('R refreshes every node and says so', () => {
    const s = keys(fleet(), 'R');
    expect(s.effects).toEqual([{ kind: 'refreshAll' }]);
    expect(flashText(s.state)!.text).toBe('Refreshing every node…');
  });
});
