import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor, planExitCode } from './exit-codes.js';
import type { Outcome } from './render/tables.js';

const of = (...outcomes: Outcome[]) => outcomes.map((outcome) => ({ outcome }));

describe('exitCodeFor', () => {
  it('0 when everything succeeded or had nothing to do', () => {
    expect(exitCodeFor(of('succeeded', 'unchanged'))).toBe(0);
    expect(exitCodeFor([])).toBe(0);
  });
  it('3 when some nodes were unreachable or unauthorized and nothing failed', () => {
    expect(exitCodeFor(of('succeeded', 'offline'))).toBe(3);
    expect(exitCodeFor(of('unauthorized', 'unchanged'))).toBe(3);
  });
  it('1 when a node failed or the operator declined, even with unreachable nodes', () => {
    expect(exitCodeFor(of('failed', 'offline'))).toBe(1);
    expect(exitCodeFor(of('declined', 'succeeded'))).toBe(1);
  });
  it('130 when interrupted, whatever else happened', () => {
    expect(exitCodeFor(of('failed', 'succeeded'), true)).toBe(130);
    expect(exitCodeFor(of('succeeded', 'skipped'))).toBe(130);
  });
  it('matches the documented constants', () => {
    expect(ExitCode).toEqual({
      ok: 0,
      failed: 1,
      declined: 1,
      invalidInput: 2,
      unreachable: 3,
      interrupted: 130,
    });
  });
});

describe('planExitCode (nomad convention)', () => {
  it('0 no changes, 1 changes, 2 error, 3 unreachable', () => {
    expect(planExitCode([{ outcome: 'unchanged', changes: false }])).toBe(0);
    expect(
      planExitCode([
        { outcome: 'unchanged', changes: false },
        { outcome: 'unchanged', changes: true },
      ]),
    ).toBe(1);
    expect(
      planExitCode([
        { outcome: 'failed', changes: false },
        { outcome: 'unchanged', changes: true },
      ]),
    ).toBe(2);
    expect(
      planExitCode([
        { outcome: 'offline', changes: false },
        { outcome: 'unchanged', changes: true },
      ]),
    ).toBe(3);
    expect(planExitCode([{ outcome: 'unchanged', changes: true }], true)).toBe(130);
  });
});
