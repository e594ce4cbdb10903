import { describe, expect, it } from 'vitest';
import type { Effect } from './effects.js';
import { initialState } from './state.js';
import { T0 } from './store.fixture.js';
import { Store } from './store.js';

describe('Store', () => {
  const fresh = () => new Store(initialState([{ name: 'a', location: 'x' }], { inventoryName: 'i' }, T0));

  it('tells listeners about changes only, with the previous state', () => {
    const store = fresh();
    const calls: [number, number][] = [];
    store.subscribe((state, previous) => calls.push([state.now, previous.now]));
    store.dispatch({ type: 'tick', now: T0 });
    store.dispatch({ type: 'tick', now: T0 + 1 });
    expect(calls).toEqual([[T0 + 1, T0]]);
  });
  it('queues what a listener or an effect dispatches, and runs it after the current action', () => {
    const store = fresh();
    const order: string[] = [];
    store.subscribe((state, _previous, action) => {
      order.push(`listener ${action.type}`);
      if (action.type === 'feedState') store.dispatch({ type: 'tick', now: state.now + 5 });
    });
    store.handleEffects((effect: Effect) => {
      order.push(`effect ${effect.kind}`);
      store.dispatch({ type: 'flash', text: 'from the effect', level: 'info' });
    });
    // A feed that gave up asks HTTP whether the node is down: an effect.
    store.dispatch({ type: 'feedState', node: 'a', state: 'offline', error: null, at: T0 });
    expect(order).toEqual(['listener feedState', 'effect refresh', 'listener tick', 'listener flash']);
    expect(store.state.now).toBe(T0 + 5);
    expect(store.state.flash?.text).toBe('from the effect');
  });
});
