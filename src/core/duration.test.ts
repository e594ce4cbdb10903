import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.js';
import { InputError } from './errors.js';

describe('parseDurationMs', () => {
  it.each([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['0s', 0],
    ['10', 10_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('reads plain numbers as seconds', () => {
    expect(parseDurationMs(5)).toBe(5000);
    expect(parseDurationMs(0.25)).toBe(250);
    expect(parseDurationMs(0)).toBe(0);
  });

  it.each(['', 'abc', '5 minutes', '10x', 's', '1m30', '-1s', '1.s'])('rejects %j', (text) => {
    expect(() => parseDurationMs(text)).toThrow(InputError);
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => parseDurationMs(-1)).toThrow(InputError);
    expect(() => parseDurationMs(Number.NaN)).toThrow(InputError);
    expect(() => parseDurationMs(Number.POSITIVE_INFINITY)).toThrow(InputError);
  });

  it('formats milliseconds back with units', () => {
    expect(formatDurationMs(90_000)).toBe('1m30s');
    expect(formatDurationMs(3_723_004)).toBe('1h2m3s4ms');
    expect(formatDurationMs(0)).toBe('0s');
  });
});
