import { describe, expect, it } from 'vitest';
import { detailContentSize } from '../layout.js';
import type { TuiState } from '../state.js';
import { apply, fleet, logLine, press, type } from '../store.fixture.js';
import { highlight, logView } from './logs.js';

function logsOf(s: TuiState): TuiState {
  return press(s, '3', 'l');
}

function lines(s: TuiState, from: number, to: number, text = (i: number) => `line ${i}`): TuiState {
  const target = s.logs.target!;
  const batch = [];
  for (let i = from; i <= to; i++) {
    batch.push(
      logLine('lab1', 'web-1', text(i), {
        ts: `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.000000000Z`,
        at: 1_704_067_200_000 + (i % 60) * 1000,
      }),
    );
  }
  return apply(s, { type: 'logLines', target, lines: batch });
}

function shown(s: TuiState, width = 80, height = 5): string[] {
  return logView(s, width, height).rows.map((r) => r.map((seg) => seg.text).join(''));
}

describe('logs tab', () => {
  it('opens the logs of the selected container and follows the end', () => {
    let s = logsOf(fleet());
    expect(s.focus).toBe('detail');
    expect(s.logs.target).toMatchObject({ kind: 'container', node: 'lab1' });
    s = lines(s, 1, 20);
    expect(shown(s)).toEqual(['line 16', 'line 17', 'line 18', 'line 19', 'line 20']);
    s = lines(s, 21, 22);
    expect(shown(s).at(-1)).toBe('line 22');
  });
  it('pauses when scrolled up, stays put as lines arrive, and F resumes', () => {
    let s = lines(logsOf(fleet()), 1, 50);
    s = press(s, 'up');
    expect(s.logs.follow).toBe(false);
    const pane = detailContentSize(s);
    const before = shown(s, pane.width, pane.height);
    expect(before.at(-1)).toBe('line 49');
    s = lines(s, 51, 60);
    expect(shown(s, pane.width, pane.height)).toEqual(before);
    expect(logView(s, 80, 5).status).toContain('paused');
    s = press(s, 'F');
    expect(s.logs.follow).toBe(true);
    expect(shown(s).at(-1)).toBe('line 60');
  });
  it('searches with highlight and jumps between matches', () => {
    let s = lines(logsOf(fleet()), 1, 40, (i) => (i % 10 === 0 ? `ERROR number ${i}` : `ok ${i}`));
    s = press(s, '/');
    s = type(s, 'error');
    s = press(s, 'enter');
    expect(s.logs.search).toBe('error');
    const view = logView(s, 80, 40);
    expect(view.matches).toBe(4);
    const hit = view.rows.find((r) => r.some((seg) => seg.match))!;
    expect(hit.find((seg) => seg.match)!.text).toBe('ERROR');
    s = press(s, 'g', 'n');
    expect(s.logs.follow).toBe(false);
    expect(shown(s, 80, 1)).toEqual(['ERROR number 10']);
    s = press(s, 'n');
    expect(shown(s, 80, 1)).toEqual(['ERROR number 20']);
    s = press(s, 'N');
    expect(shown(s, 80, 1)).toEqual(['ERROR number 10']);
    expect(highlight('a.b', /\./gi).map((x) => x.text)).toEqual(['a', '.', 'b']);
  });
  it('toggles timestamps and wrap', () => {
    let s = lines(logsOf(fleet()), 1, 1, () => 'x'.repeat(30));
    expect(shown(s, 10, 5)).toEqual(['xxxxxxxxxx']);
    s = press(s, 'w');
    expect(shown(s, 10, 5)).toEqual(['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx']);
    s = press(s, 't', 'w');
    expect(shown(s, 80, 5)[0]).toMatch(/^2024-01-01 00:00:01Z x+$/);
  });
  it('prefixes merged job logs with node/container', () => {
    let s = press(fleet(), '2', 'j', 'l');
    expect(s.logs.target).toEqual({ kind: 'job', job: 'web' });
    s = apply(s, {
      type: 'logLines',
      target: { kind: 'job', job: 'web' },
      lines: [
        logLine('lab2', 'web-1b2c3d4e-1111-2222-3333-444455556666', 'boom', { stream: 'stderr' }),
        logLine('lab1', 'web-00000001-1111-2222-3333-444455556666', 'long', { truncated: true }),
      ],
    });
    const rows = logView(s, 80, 5).rows;
    expect(rows[0]!.map((r) => r.text).join('')).toBe('lab2/web-1b2c3d4e boom');
    expect(rows[0]!.at(-1)!.tone).toBe('warn');
    // A line the agent cut says so.
    expect(rows[1]!.map((r) => r.text).join('')).toBe('lab1/web-00000001 long…');
  });
});
