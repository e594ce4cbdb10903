import { describe, expect, it } from 'vitest';
import { compileFilter } from './filter.js';

describe('filter', () => {
  it('matches a case-insensitive regex', () => {
    const f = compileFilter('^web-\\d')!;
    expect(f.test('WEB-1 lab1')).toBe(true);
    expect(f.test('api-1 lab1')).toBe(false);
  });
  it('inverts with a leading !', () => {
    const f = compileFilter('!lab2')!;
    expect(f.inverse).toBe(true);
    expect(f.test('web lab1')).toBe(true);
    expect(f.test('web lab2')).toBe(false);
  });
  it('matches invalid regex text literally instead of throwing', () => {
    const f = compileFilter('web(')!;
    expect(f.literal).toBe(true);
    expect(f.test('a web( b')).toBe(true);
    expect(f.test('web')).toBe(false);
  });
  it('treats empty and a lone ! as no filter', () => {
    expect(compileFilter('  ')).toBeNull();
    expect(compileFilter('!')).toBeNull();
  });
});
