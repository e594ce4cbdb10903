import { describe, expect, it } from 'vitest';
import { computeLayout, layoutOf } from './layout.js';
import { fleet, press } from './store.fixture.js';

describe('layout', () => {
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
});
