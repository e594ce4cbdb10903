import { describe, expect, it } from 'vitest';
import type { Action } from './actions.js';
import { bigFleet, nodeName } from './fleet-scale.fixture.js';
import { flashText, overlayView } from './overlays.js';
import type { TuiState } from './state.js';
import { apply, changing, fleet, press, T0, unchanged, unreachable, withPlan } from './store.fixture.js';

const lines = (s: TuiState) =>
  overlayView(s)!
    .rows.map((r) => r.map((seg) => seg.text).join(''))
    .join('\n');

describe('flash', () => {
  it('expires with the clock', () => {
    let s = apply(fleet(), { type: 'flash', text: 'Deployed', level: 'ok' });
    expect(flashText(s)!.text).toBe('Deployed');
    s = apply(s, { type: 'tick', now: T0 + 10_000 });
    expect(flashText(s)).toBeNull();
  });
});

describe('confirmation pane and rollout board', () => {
  it('name nodes and outcomes as the CLI does', () => {
    let s = withPlan(fleet(), 'deploy', [changing('lab1'), unchanged('lab2'), unreachable('lab3')]);
    expect(lines(s)).toContain('lab3: OFFLINE — connect ECONNREFUSED (skipped)');
    s = press(s, 'y');
    s = apply(
      s,
      {
        type: 'rolloutNode',
        node: 'lab1',
        status: 'failed',
        message: 'Update failed (nothing was restored)',
      },
      { type: 'rolloutFinished', at: T0 + 1 },
    );
    const board = lines(s);
    expect(board).toMatch(/✖ lab1\s+FAILED\s+Update failed \(nothing was restored\)/);
    expect(board).toMatch(/✔ lab2\s+OK\s+Already up to date/);
    expect(board).toMatch(/○ lab3\s+OFFLINE\s+connect ECONNREFUSED/);
    expect(board).toContain('1 ok, 2 not');
  });
});

describe('rollout board at fleet size', () => {
  it('a deploy to 1,000 nodes shows counts per phase and the failures, not 1,000 lines', () => {
    const size = 1000;
    let s = bigFleet(size);
    const targets = Array.from({ length: size }, (_, i) => changing(nodeName(i + 1)));
    s = press(withPlan(s, 'deploy', targets), 'y');
    expect(s.rollout!.nodes).toHaveLength(size);
    const progress: Action[] = [];
    for (let i = 1; i <= size; i++) {
      const node = nodeName(i);
      if (i <= 300) progress.push({ type: 'rolloutProgress', node, message: 'pulling', phase: 'pull' });
      else if (i <= 500)
        progress.push({ type: 'rolloutProgress', node, message: 'starting', phase: 'start' });
      else if (i <= 560)
        progress.push({
          type: 'rolloutNode',
          node,
          status: 'failed',
          message: `health check failed on ${node}`,
        });
      else if (i <= 900)
        progress.push({ type: 'rolloutNode', node, status: 'succeeded', message: 'Update successful' });
    }
    s = apply(s, ...progress);
    const view = overlayView(s)!;
    // It fits the screen (48 lines) whatever the fleet.
    expect(view.rows.length).toBeLessThanOrEqual(s.screen.height);
    const board = lines(s);
    expect(board).toContain('400/1000 nodes done');
    expect(board).toMatch(/WAITING\s+100/);
    expect(board).toMatch(/RUNNING\s+500\s+pull 300 · start 200/);
    expect(board).toMatch(/FAILED\s+60/);
    expect(board).toMatch(/OK\s+340\s+changed/);
    expect(board).toContain('Nodes that need a look (60)');
    expect(board).toMatch(
      new RegExp(`${nodeName(501)}\\s+FAILED\\s+health check failed on ${nodeName(501)}`),
    );
    // The failures list scrolls: the last one comes into view.
    expect(board).not.toContain(`failed on ${nodeName(560)}`);
    for (let i = 0; i < 60; i++) s = press(s, 'down');
    expect(lines(s)).toContain(`failed on ${nodeName(560)}`);
  });
});
