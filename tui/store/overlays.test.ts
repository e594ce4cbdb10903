import { describe, expect, it } from 'vitest';
import { flashText } from './overlays.js';
import { apply, fleet, T0 } from './store.fixture.js';

describe('flash', () => {
  it('expires with the clock', () => {
    let s = apply(fleet(), { type: 'flash', text: 'Deployed', level: 'ok' });
    expect(flashText(s)!.text).toBe('Deployed');
    s = apply(s, { type: 'tick', now: T0 + 10_000 });
    expect(flashText(s)).toBeNull();
  });
});
