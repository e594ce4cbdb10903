import { describe, expect, it } from 'vitest';
import { fleet, press, type } from '../store.fixture.js';
import { subscriptions } from './subscriptions.js';

describe('subscriptions', () => {
  it('subscribes to logs only while the logs tab is visible, and to stats of online nodes', () => {
    let s = fleet();
    // The containers table shows lab1's and lab2's containers (lab3 is offline).
    expect(subscriptions(s)).toEqual({
      stats: [
        { node: 'lab1', intervalMs: 2000 },
        { node: 'lab2', intervalMs: 2000 },
      ],
      logs: null,
    });
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
});
