import { describe, expect, it } from 'vitest';
import { COLLECT_EVERY_NODES, collectDuringFanOut, collectGarbage, LARGE_FAN_OUT } from './memory.js';

describe('collectGarbage', () => {
  it('really frees unreachable memory', () => {
    let garbage: string[][] | null = Array.from({ length: 200 }, (_, i) =>
      Array.from({ length: 1000 }, (_, j) => `${i}:${j}:${'x'.repeat(200)}`),
    );
    const before = process.memoryUsage().heapUsed;
    expect(garbage.length).toBe(200);
    garbage = null;
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    // ~200k strings of ~210 bytes: tens of MB that only a collection gives back.
    expect(before - after).toBeGreaterThan(20 * 1024 * 1024);
  });
});

describe('collectDuringFanOut', () => {
  it('does nothing for small fan-outs and collects every COLLECT_EVERY_NODES nodes of large ones', () => {
    let smallCollections = 0;
    let largeCollections = 0;
    const small = collectDuringFanOut(LARGE_FAN_OUT - 1, () => smallCollections++);
    const large = collectDuringFanOut(10_000, () => largeCollections++);
    for (let i = 0; i < 10_000; i++) {
      small();
      large();
    }
    expect(smallCollections).toBe(0);
    expect(largeCollections).toBe(Math.floor(10_000 / COLLECT_EVERY_NODES));
  });
});
