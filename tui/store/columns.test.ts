import { describe, expect, it } from 'vitest';
import { fitColumns } from './columns.js';

describe('columns', () => {
  const cols = [
    { id: 'a', title: 'A', min: 10, priority: 0 },
    { id: 'b', title: 'B', min: 10, max: 30, priority: 1 },
    { id: 'c', title: 'C', min: 10, priority: 2 },
  ];
  it('drops the least important columns first until the rest fit', () => {
    expect(fitColumns(cols, 100).map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(fitColumns(cols, 25).map((c) => c.id)).toEqual(['a', 'b']);
    expect(fitColumns(cols, 15).map((c) => c.id)).toEqual(['a']);
  });
  it('gives spare width to columns that can grow, never past the width', () => {
    const fitted = fitColumns(cols, 60);
    expect(fitted.find((c) => c.id === 'b')!.width).toBe(30);
    const used = fitted.reduce((s, c) => s + c.width, 0) + 2 * (fitted.length - 1);
    expect(used).toBeLessThanOrEqual(60);
    const tight = fitColumns([{ id: 'x', title: 'X', min: 50, priority: 0 }], 20);
    expect(tight[0]!.width).toBe(20);
  });
});
