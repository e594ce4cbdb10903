import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';
import { DEFAULT_STOP_GRACE_MS, parseStopGracePeriodMs, parseStopSignal, stopGraceMs } from './stop.js';

describe('parseStopSignal', () => {
  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['sigquit', 'SIGQUIT'],
    ['INT', 'SIGINT'],
    [' SIGUSR1 ', 'SIGUSR1'],
    ['SIGIOT', 'SIGABRT'],
    [15, 'SIGTERM'],
    ['3', 'SIGQUIT'],
    [1, 'SIGHUP'],
    [64, '64'],
    ['32', '32'],
    ['SIGRTMIN', '34'],
    ['SIGRTMIN+3', '37'],
    ['RTMAX-1', '63'],
    ['SIGRTMAX', '64'],
  ] as const)('%j → %j (one spelling per signal, so one version)', (input, normalised) => {
    expect(parseStopSignal(input)).toBe(normalised);
  });

  it.each([99, 0, 65, '99', 'SIGFOO', 'TERMINATE', 'SIGRTMIN+40', 'SIGRTMAX+1', '-15', '1.5'])(
    '%j is refused with what a signal looks like',
    (input) => {
      expect(() => parseStopSignal(input)).toThrow(InputError);
      expect(() => parseStopSignal(input)).toThrow(/signal name like SIGTERM.*or a number from 1 to 64/);
    },
  );
});

describe('parseStopGracePeriodMs', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    [30, 30_000],
    ['0s', 0],
    ['10m', 600_000],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseStopGracePeriodMs(input)).toBe(ms);
  });

  it('refuses what Docker cannot take or an update could not wait for', () => {
    expect(() => parseStopGracePeriodMs('forever')).toThrow(/must be a duration like 30s/);
    expect(() => parseStopGracePeriodMs('1500ms')).toThrow(/whole number of seconds/);
    expect(() => parseStopGracePeriodMs('11m')).toThrow(/at most 10m/);
  });

  it('defaults to Docker’s 10 s when the job sets none', () => {
    expect(stopGraceMs({})).toBe(DEFAULT_STOP_GRACE_MS);
    expect(DEFAULT_STOP_GRACE_MS).toBe(10_000);
    expect(stopGraceMs({ stopGracePeriodMs: 0 })).toBe(0);
  });
});
