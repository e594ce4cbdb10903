import { describe, expect, it } from 'vitest';
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
