import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol/feeds.js';
import { LogCursor } from './log-cursor.js';

function line(containerId: string, ts: string, text = ts, stream: 'stdout' | 'stderr' = 'stdout'): LogLine {
  return { containerId, containerName: `web-${containerId}`, stream, ts, at: Date.parse(ts), text };
}

const T = (s: string) => `2026-01-01T10:00:${s}Z`;

describe('LogCursor', () => {
  it('asks for the params as given until a line was delivered', () => {
    const cursor = new LogCursor();
    const params = { job: 'web', tail: 100, follow: true };
    expect(cursor.subscribeParams(params)).toBe(params);
    expect(cursor.accept([])).toEqual([]);
    expect(cursor.subscribeParams(params)).toBe(params);
  });

  it('resumes a millisecond before the earliest container’s last line, without the tail', () => {
    const cursor = new LogCursor();
    cursor.accept([line('a', T('05.123456789')), line('b', T('03.500000000')), line('a', T('06.000000000'))]);
    const resumed = cursor.subscribeParams({ job: 'web', tail: 100, follow: true });
    expect(resumed).toEqual({ job: 'web', follow: true, since: Date.parse(T('03.5')) / 1000 - 0.001 });
    // A later `since` asked for at first wins.
    const later = Date.parse(T('30')) / 1000;
    expect(cursor.subscribeParams({ job: 'web', since: later, follow: true })).toMatchObject({
      since: later,
    });
  });

  it('after a resubscribe, skips the lines delivered already, per container, then lets everything through', () => {
    const cursor = new LogCursor();
    expect(
      cursor.accept([line('a', T('01')), line('a', T('02')), line('b', T('01'))]).map((l) => l.text),
    ).toEqual([T('01'), T('02'), T('01')]);
    cursor.subscribeParams({ job: 'web', follow: true });
    const again = [
      line('a', T('01.999999999')),
      line('a', T('02')),
      line('b', T('01')),
      line('a', T('02.000000001'), 'new a'),
      line('b', T('05'), 'new b'),
      // Once past the repeats, an out-of-order stderr line is not a repeat.
      line('a', T('01.5'), 'late stderr', 'stderr'),
    ];
    expect(cursor.accept(again).map((l) => l.text)).toEqual(['new a', 'new b', 'late stderr']);
  });

  it('passes lines without a readable timestamp through without moving the cursor', () => {
    const cursor = new LogCursor();
    const odd = { ...line('a', T('01')), ts: 'yesterday' };
    expect(cursor.accept([odd])).toEqual([odd]);
    expect(cursor.subscribeParams({ job: 'web' })).toEqual({ job: 'web' });
  });
});
