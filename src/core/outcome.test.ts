import { describe, expect, it } from 'vitest';
import { updateResult } from '../../test/sim/agent-values.js';
import { CliNodeStatusSchema, CliOutcomeSchema } from '../protocol/cli-json.js';
import {
  ExitCode,
  exitCodeFor,
  exitCodeForStatuses,
  NODE_STATUSES,
  nodeLabel,
  OUTCOMES,
  type Outcome,
  outcomeLabel,
  outcomeOfResult,
  outcomeOfStatus,
  planExitCode,
  toneOfLabel,
} from './outcome.js';

const of = (...outcomes: Outcome[]) => outcomes.map((outcome) => ({ outcome }));

describe('node statuses and outcomes', () => {
  it('every status of the JSON contract has a label, and the label is the status in capitals', () => {
    expect(Object.keys(NODE_STATUSES).sort()).toEqual([...CliNodeStatusSchema.options].sort());
    for (const status of CliNodeStatusSchema.options) expect(nodeLabel(status)).toBe(status.toUpperCase());
  });

  it('every outcome of the JSON contract has a RESULT label', () => {
    expect(Object.keys(OUTCOMES)).toEqual([...CliOutcomeSchema.options]);
    expect(CliOutcomeSchema.options.map(outcomeLabel)).toEqual([
      'OK',
      'OK',
      'FAILED',
      'REVERTED',
      'UNTOUCHED',
      'OFFLINE',
      'UNAUTHORIZED',
      'UNTRUSTED',
      'SKIPPED',
      'DECLINED',
    ]);
  });

  it('an UNTRUSTED node (certificate not the pinned one) is red and exits 3 like an unreachable one', () => {
    expect(toneOfLabel('UNTRUSTED')).toBe('bad');
    expect(outcomeOfStatus('untrusted', 'certificate mismatch')).toEqual({
      outcome: 'untrusted',
      message: 'certificate mismatch',
    });
    expect(exitCodeForStatuses(['online', 'untrusted'])).toBe(3);
    expect(exitCodeFor([{ outcome: 'succeeded' }, { outcome: 'untrusted' }])).toBe(3);
    expect(exitCodeFor([{ outcome: 'failed' }, { outcome: 'untrusted' }])).toBe(1);
    expect(planExitCode([{ outcome: 'untrusted', changes: false }])).toBe(3);
  });

  it('colours a STATUS cell from its text', () => {
    expect(toneOfLabel('ONLINE')).toBe('good');
    expect(toneOfLabel('UNAUTHORIZED')).toBe('warn');
    expect(toneOfLabel('OFFLINE')).toBe('bad');
    expect(toneOfLabel('ERROR')).toBe('bad');
    expect(toneOfLabel('SKIPPED')).toBe('muted');
    expect(toneOfLabel('web')).toBe('muted');
  });

  it('a node that could not work has the outcome of its status', () => {
    expect(outcomeOfStatus('offline', 'connect ECONNREFUSED')).toEqual({
      outcome: 'offline',
      message: 'connect ECONNREFUSED',
    });
    expect(outcomeOfStatus('unauthorized', 'wrong key')).toEqual({
      outcome: 'unauthorized',
      message: 'wrong key',
    });
    expect(outcomeOfStatus('error', 'job_busy')).toEqual({ outcome: 'failed', message: 'job_busy' });
    expect(outcomeOfStatus('skipped', 'whatever')).toEqual({
      outcome: 'skipped',
      message: 'not contacted: interrupted',
    });
  });
});

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
    expect(exitCodeFor(of('offline', 'failed'))).toBe(1);
    expect(exitCodeFor(of('declined', 'succeeded'))).toBe(1);
  });
  it('130 when interrupted, whatever else happened', () => {
    expect(exitCodeFor(of('failed', 'succeeded'), true)).toBe(130);
    expect(exitCodeFor(of('succeeded', 'skipped'))).toBe(130);
    expect(exitCodeFor(of('failed', 'skipped', 'offline'))).toBe(130);
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

describe('exitCodeForStatuses (reads: show, history, top, logs, events)', () => {
  it('follows the same precedence as the outcomes', () => {
    expect(exitCodeForStatuses(['online', 'online'])).toBe(0);
    expect(exitCodeForStatuses(['online', 'offline'])).toBe(3);
    expect(exitCodeForStatuses(['unauthorized', 'online'])).toBe(3);
    expect(exitCodeForStatuses(['offline', 'error'])).toBe(1);
    expect(exitCodeForStatuses(['error', 'skipped'])).toBe(130);
    expect(exitCodeForStatuses(['online'], true)).toBe(130);
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
    expect(planExitCode([{ outcome: 'skipped', changes: false }])).toBe(130);
  });
});

const result = updateResult;

describe('outcomeOfResult', () => {
  it('a change is succeeded, a no-op unchanged', () => {
    expect(outcomeOfResult(result({}))).toEqual({ outcome: 'succeeded', message: 'Update successful' });
    expect(outcomeOfResult(result({ action: 'noop', message: 'Already up to date' }))).toEqual({
      outcome: 'unchanged',
      message: 'Already up to date',
    });
  });
  it('says what a failure left on the node', () => {
    const failed = { ok: false, message: 'new container 0123456789ab exited with code 3' };
    expect(outcomeOfResult(result({ ...failed, restored: true })).message).toBe(
      'new container 0123456789ab exited with code 3 (the previous version was left running)',
    );
    expect(outcomeOfResult(result({ ...failed, action: 'fresh', restored: true })).message).toBe(
      'new container 0123456789ab exited with code 3 (the new containers were removed)',
    );
    expect(outcomeOfResult(result({ ...failed, restored: false })).message).toMatch(/nothing was restored/);
    expect(outcomeOfResult(result({ ...failed, restored: false })).outcome).toBe('failed');
    expect(outcomeOfResult(result(failed)).message).toBe('new container 0123456789ab exited with code 3');
    // Committed: the new version runs, and the agent's message says so; nothing to add.
    const late = 'version bbbbbbb is running, but 1 old container could not be removed: conflict';
    expect(outcomeOfResult(result({ ok: false, message: late, restored: false, committed: true }))).toEqual({
      outcome: 'failed',
      message: late,
    });
  });
  it('adds the error when the message does not already say it', () => {
    const error = { code: 'pull_failed' as const, message: 'manifest unknown' };
    expect(outcomeOfResult(result({ ok: false, message: 'Update failed', error, restored: true }))).toEqual({
      outcome: 'failed',
      message: 'Update failed: manifest unknown (the previous version was left running)',
    });
    expect(
      outcomeOfResult(result({ ok: false, message: 'pull failed: manifest unknown', error })).message,
    ).toBe('pull failed: manifest unknown');
  });
});
