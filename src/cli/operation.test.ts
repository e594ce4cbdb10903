import { describe, expect, it } from 'vitest';
import type { OperationResult } from '../protocol/api.js';
import { outcomeOfResult } from './operation.js';

const result = (over: Partial<OperationResult>): OperationResult => ({
  ok: true,
  action: 'update',
  message: 'Update successful',
  versionFrom: 'aaaaaaa',
  versionTo: 'bbbbbbb',
  running: 2,
  total: 2,
  ...over,
});

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
  });
});
