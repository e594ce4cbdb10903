import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './queue.js';

describe('BoundedQueue', () => {
  it('keeps items up to the item limit and counts the rest where they were lost', () => {
    const q = new BoundedQueue<number>({ maxItems: 2, maxBytes: 1000 });
    expect(q.push(1, 10)).toBe(true);
    expect(q.push(2, 10)).toBe(true);
    expect(q.push(3, 10)).toBe(false);
    expect(q.push(4, 10)).toBe(false);
    expect(q.dropped).toBe(2);
    expect(q.shift()).toEqual({ kind: 'item', value: 1, bytes: 10 });
    // Room again: the next item lands after the gap, so the gap marks where lines went missing.
    expect(q.push(5, 10)).toBe(true);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([
      { kind: 'item', value: 2, bytes: 10 },
      { kind: 'gap', count: 2 },
      { kind: 'item', value: 5, bytes: 10 },
      undefined,
    ]);
    expect(q.isEmpty).toBe(true);
  });

  it('enforces the byte limit too', () => {
    const q = new BoundedQueue<string>({ maxItems: 100, maxBytes: 25 });
    expect(q.push('a', 20)).toBe(true);
    expect(q.push('b', 20)).toBe(true); // under the limit when pushed
    expect(q.isFull).toBe(true);
    expect(q.push('c', 1)).toBe(false);
    expect(q.bytes).toBe(40);
    q.shift();
    expect(q.bytes).toBe(20);
    expect(q.items).toBe(1);
  });

  it('never drops control frames and lets forcePush exceed the limits (backpressure elsewhere)', () => {
    const q = new BoundedQueue<number>({ maxItems: 1, maxBytes: 10 });
    q.push(1, 1);
    q.pushControl({ type: 'end', id: 's' });
    q.forcePush(2, 1);
    expect(q.items).toBe(2);
    expect([q.shift()?.kind, q.shift()?.kind, q.shift()?.kind]).toEqual(['item', 'control', 'item']);
  });

  it('compacts its storage as it goes without losing order', () => {
    const q = new BoundedQueue<number>({ maxItems: 10_000, maxBytes: 1e9 });
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(i, 1);
      if (i % 2 === 1) {
        const e = q.shift();
        if (e?.kind === 'item') out.push(e.value);
      }
    }
    for (let e = q.shift(); e; e = q.shift()) if (e.kind === 'item') out.push(e.value);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});
