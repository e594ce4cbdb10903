import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/protocol/audit.js';
import { eventLines } from '../select/detail.js';
import { apply, fleet, press, run, T0, type } from '../store.fixture.js';
import { AUDIT_REFRESH_MS } from './audit.js';

function entry(at: string, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at,
    remote: '10.0.0.9',
    keyId: 'a1b2c3d4e5f6',
    operation: 'deploy',
    job: 'web',
    action: 'update',
    versionFrom: 'aaaaaaa',
    versionTo: 'bbbbbbb',
    countFrom: 2,
    countTo: 3,
    result: 'ok',
    durationMs: 1500,
    ...overrides,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('the audit logs in the Events tab', () => {
  it('are read while the tab is shown, from where the last read ended, every 15 s and after a rollout', () => {
    let s = fleet();
    expect(run(s, { type: 'tick', now: T0 + 1000 }).effects).toEqual([]); // Info tab: nothing
    s = press(type(press(s, ':'), 'events'), 'enter');
    expect(s.detail.tab).toBe('events');
    const first = run(s, { type: 'tick', now: T0 + 2000 });
    expect(first.effects).toEqual([{ kind: 'readAudit', since: { lab1: null, lab2: null, lab3: null } }]);
    s = apply(first.state, { type: 'auditRead', node: 'lab1', entries: [entry(iso(T0 - 60_000))] });
    expect(run(s, { type: 'tick', now: T0 + 3000 }).effects).toEqual([]);
    const again = run(s, { type: 'tick', now: T0 + 2000 + AUDIT_REFRESH_MS });
    expect(again.effects).toEqual([
      // From when the newest entry's operation ended (it took 1.5 s).
      { kind: 'readAudit', since: { lab1: iso(T0 - 60_000 + 1500), lab2: null, lab3: null } },
    ]);
    // A finished rollout makes the logs due at once.
    s = apply(again.state, { type: 'rolloutFinished', at: T0 + 2500 + AUDIT_REFRESH_MS });
    expect(run(s, { type: 'tick', now: T0 + 3000 + AUDIT_REFRESH_MS }).effects).toHaveLength(1);
  });

  it('join the events at their own time, once, marked by how they ended, escapes neutralised', () => {
    let s = fleet();
    s = apply(s, { type: 'feedState', node: 'lab1', state: 'open', error: null, at: T0 + 10 });
    const live = s.events.length;
    const older = entry(iso(T0 - 5_000), {
      job: 'web\u001b[2J',
      result: 'failed',
      error: { code: 'create_failed', message: 'no\u0007' },
    });
    const refused = entry(iso(T0 - 4_000), { operation: 'plan', result: 'refused', action: null });
    s = apply(s, { type: 'auditRead', node: 'lab2', entries: [older, refused] });
    s = apply(s, { type: 'auditRead', node: 'lab2', entries: [refused] }); // read again: no twin
    const audit = s.events.filter((e) => e.kind === 'audit');
    expect(audit.map((e) => [e.node, e.level])).toEqual([
      ['lab2', 'error'],
      ['lab2', 'warn'],
    ]);
    expect(s.events.length).toBe(live + 2);
    // In time order: the audit entries (older) come before the live event.
    expect(s.events.map((e) => e.at)).toEqual([...s.events.map((e) => e.at)].sort((a, b) => a - b));
    expect(audit[0]!.text).toBe(
      'audit: deploy web\\x1b[2J (update, aaaaaaa -> bbbbbbb, 2 -> 3) failed: create_failed: no\\x07 — key a1b2c3d4e5f6 from 10.0.0.9 1.5s',
    );
    expect(s.audit.since['lab2']).toBe(iso(T0 - 4_000 + 1500));
    const shown = eventLines(s, 10).map((row) => row.map((seg) => seg.text).join(''));
    expect(shown.some((line) => line.includes('audit: plan web (aaaaaaa -> bbbbbbb, 2 -> 3) refused'))).toBe(
      true,
    );
  });
});
