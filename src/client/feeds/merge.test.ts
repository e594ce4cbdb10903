import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol/feeds.js';
import { LogMerger, type NodeLogLine, sortLogLines } from './merge.js';

function line(at: number, text: string, containerId = 'c1'): LogLine {
  return { containerId, containerName: containerId, stream: 'stdout', ts: '', at, text };
}

function manualMerger(windowMs: number) {
  let now = 1000;
  const out: NodeLogLine[][] = [];
  const merger = new LogMerger({ windowMs, onLines: (lines) => out.push(lines), now: () => now });
  return {
    merger,
    out,
    advance(ms: number) {
      now += ms;
      merger.tick();
    },
    texts: () => out.flat().map((l) => `${l.node}:${l.text}`),
  };
}

describe('sortLogLines', () => {
  it('orders by time and keeps arrival order for equal times', () => {
    const sorted = sortLogLines([line(3, 'c'), line(1, 'a1'), line(2, 'b'), line(1, 'a2')]);
    expect(sorted.map((l) => l.text)).toEqual(['a1', 'a2', 'b', 'c']);
  });
});

describe('LogMerger', () => {
  it('holds lines for the window and releases lines of several nodes in time order', () => {
    const m = manualMerger(300);
    m.merger.push('n2', [line(105, 'n2 first'), line(130, 'n2 second')]);
    m.advance(100);
    // Older lines of another node arrive later, but within the window.
    m.merger.push('n1', [line(100, 'n1 first'), line(120, 'n1 second')]);
    expect(m.out).toHaveLength(0);
    m.advance(250);
    expect(m.texts()).toEqual(['n1:n1 first', 'n2:n2 first', 'n1:n1 second', 'n2:n2 second']);
  });

  it('releases a due line together with every held line that is not newer', () => {
    const m = manualMerger(300);
    m.merger.push('a', [line(200, 'a200')]);
    m.advance(200);
    m.merger.push('b', [line(100, 'b100'), line(300, 'b300')]);
    m.advance(150);
    // a200 is due; b100 is older so it goes first; b300 stays for its own window.
    expect(m.texts()).toEqual(['b:b100', 'a:a200']);
    m.advance(200);
    expect(m.texts()).toEqual(['b:b100', 'a:a200', 'b:b300']);
  });

  it('lets a line that comes later than the window out at once (late, not lost)', () => {
    const m = manualMerger(100);
    m.merger.push('a', [line(500, 'a500')]);
    m.advance(150);
    m.merger.push('b', [line(10, 'b10')]);
    m.advance(150);
    expect(m.texts()).toEqual(['a:a500', 'b:b10']);
  });

  it('bounds what it holds: beyond maxHeld the oldest are released early', () => {
    const out: NodeLogLine[] = [];
    const merger = new LogMerger({
      windowMs: 10_000,
      maxHeld: 10,
      onLines: (l) => out.push(...l),
      now: () => 0,
    });
    merger.push(
      'a',
      Array.from({ length: 25 }, (_, i) => line(i, `l${i}`)),
    );
    expect(merger.heldCount).toBe(10);
    expect(out.map((l) => l.text)).toEqual(Array.from({ length: 15 }, (_, i) => `l${i}`));
    merger.close();
    expect(out).toHaveLength(25);
  });

  it('flushes everything in order on close and ignores pushes afterwards', () => {
    const m = manualMerger(1000);
    m.merger.push('a', [line(3, 'x3'), line(1, 'x1')]);
    m.merger.push('b', [line(2, 'y2')]);
    m.merger.close();
    m.merger.push('a', [line(0, 'late')]);
    expect(m.texts()).toEqual(['a:x1', 'b:y2', 'a:x3']);
  });
});
