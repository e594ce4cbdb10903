import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeStyle, plainStyle } from './io.js';
import { createProgressReporter } from './progress.js';

function sink(size: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
  const writes: string[] = [];
  return { out: { write: (s: string) => writes.push(s), ...size }, writes, text: () => writes.join('') };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('plain progress (no terminal)', () => {
  it('writes `node: message` lines, batched into few writes, everything flushed on close', () => {
    vi.useFakeTimers();
    const { out, writes, text } = sink();
    const progress = createProgressReporter(out, plainStyle);
    progress.begin('lab1');
    progress.update('lab1', 'Starting container (1/2)');
    progress.update('lab2', 'Pulling web:2');
    progress.finish('lab1', 'Deployment successful', true);
    expect(writes.length).toBe(0);
    vi.advanceTimersByTime(100);
    expect(writes.length).toBe(1);
    progress.finish('lab2', 'pull failed', false);
    progress.close();
    expect(text()).toBe(
      'lab1: Starting container (1/2)\nlab2: Pulling web:2\nlab1: Deployment successful\nlab2: pull failed\n',
    );
  });
});

describe('live progress (terminal)', () => {
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

  it('redraws one line per node in place and keeps finished nodes printed for good', () => {
    vi.useFakeTimers();
    const { out, text } = sink({ isTTY: true, columns: 80, rows: 24 });
    const progress = createProgressReporter(out, plainStyle);
    progress.update('lab1', 'Starting container (1/2)');
    progress.update('lab2', 'Pulling web:2');
    vi.advanceTimersByTime(100);
    expect(text()).toBe('lab1: Starting container (1/2)\nlab2: Pulling web:2\n');
    progress.update('lab1', 'Starting container (2/2)');
    progress.finish('lab2', 'Deployment successful', true);
    vi.advanceTimersByTime(100);
    // Cursor up over the 2 live lines, clear, the finished line, then the live one again.
    expect(
      text().endsWith('\x1b[2F\x1b[Jlab2: Deployment successful\nlab1: Starting container (2/2)\n'),
    ).toBe(true);
    progress.close();
    expect(text().endsWith('\x1b[1F\x1b[J')).toBe(true);
  });

  it('draws only what fits the terminal, counts the rest, and cuts long lines', () => {
    vi.useFakeTimers();
    const { out, text } = sink({ isTTY: true, columns: 30, rows: 6 });
    const progress = createProgressReporter(out, makeStyle(false));
    for (let i = 1; i <= 10; i++)
      progress.update(`node${i}`, 'a rather long progress message for a small terminal');
    vi.advanceTimersByTime(100);
    const lines = strip(text()).split('\n').filter(Boolean);
    expect(lines.length).toBe(4);
    expect(lines[3]).toBe('… and 7 more nodes in progre…');
    expect(lines.every((l) => [...l].length <= 29)).toBe(true);
  });

  it('an unsized terminal (0 columns) is treated as 80x24', () => {
    vi.useFakeTimers();
    const { out, text } = sink({ isTTY: true, columns: 0, rows: 0 });
    const progress = createProgressReporter(out, plainStyle);
    progress.update('lab1', 'Waiting for containers to be running (1/2)');
    vi.advanceTimersByTime(100);
    expect(text()).toBe('lab1: Waiting for containers to be running (1/2)\n');
  });

  it("shows the time spent in a node's phase once it passes a second, ticking while nothing else changes", () => {
    vi.useFakeTimers();
    const { out, text } = sink({ isTTY: true, columns: 80, rows: 24 });
    const progress = createProgressReporter(out, plainStyle);
    progress.update('lab1', 'Waiting for containers to be running (2/2)', 'health');
    vi.advanceTimersByTime(100);
    expect(strip(text())).toBe('lab1: Waiting for containers to be running (2/2)\n');
    progress.update('lab1', 'Stopping old containers (0/20, grace 10s)', 'stop');
    vi.advanceTimersByTime(2000);
    expect(strip(text()).endsWith('lab1: Stopping old containers (0/20, grace 10s) · 1s\n')).toBe(true);
    // No new message for a while: the clock still moves (the stop phase is waiting, not hung).
    vi.advanceTimersByTime(3000);
    expect(strip(text()).endsWith('lab1: Stopping old containers (0/20, grace 10s) · 4s\n')).toBe(true);
    // Progress within the phase keeps its clock; a new phase starts it again.
    progress.update('lab1', 'Stopping old containers (20/20, grace 10s)', 'stop');
    vi.advanceTimersByTime(100);
    expect(strip(text()).endsWith('lab1: Stopping old containers (20/20, grace 10s) · 5s\n')).toBe(true);
    progress.update('lab1', 'Removing old containers (1/20)', 'remove');
    vi.advanceTimersByTime(100);
    expect(strip(text()).endsWith('lab1: Removing old containers (1/20)\n')).toBe(true);
    progress.finish('lab1', 'Update successful', true);
    progress.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
