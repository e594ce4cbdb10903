import { describe, expect, it } from 'vitest';
import { ConnectScheduler, type SchedulerClock } from './connect-scheduler.js';

/** A clock the test moves by hand; timers fire in due order. */
class ManualClock implements SchedulerClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

function setup(maxConcurrent: number, holdLimitMs = 1_000) {
  const clock = new ManualClock();
  const scheduler = new ConnectScheduler({ maxConcurrent, holdLimitMs, clock });
  const started: string[] = [];
  const ask = (name: string, delayMs = 0) => scheduler.request(delayMs, () => started.push(name));
  return { clock, scheduler, started, ask };
}

describe('ConnectScheduler', () => {
  it('keeps at most maxConcurrent attempts in flight; a finished one lets the next start', () => {
    const { scheduler, started, ask } = setup(3);
    const tickets = Array.from({ length: 10 }, (_, i) => ask(`n${i}`));
    expect(started).toEqual(['n0', 'n1', 'n2']);
    expect(scheduler.stats).toMatchObject({ inFlight: 3, waiting: 7 });
    tickets[1]!.done();
    expect(started).toEqual(['n0', 'n1', 'n2', 'n3']);
    // done twice gives back one slot, not two.
    tickets[1]!.done();
    expect(started).toHaveLength(4);
    for (const t of tickets) t.done();
    expect(started).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(scheduler.stats).toMatchObject({ inFlight: 0, waiting: 0, started: 10, peakInFlight: 3 });
  });

  it('starts nothing before its delay, and due attempts in the order they fell due', () => {
    const { clock, started, ask } = setup(10);
    ask('late', 300);
    ask('early', 100);
    ask('middle', 200);
    clock.advance(99);
    expect(started).toEqual([]);
    clock.advance(1);
    expect(started).toEqual(['early']);
    clock.advance(500);
    expect(started).toEqual(['early', 'middle', 'late']);
  });

  it('a blip that drops everything at once: attempts spread by their jitter, then metered by the limit', () => {
    const { clock, scheduler, started, ask } = setup(4, 1_000);
    // 40 sessions reconnect after jittered delays between 0 and 390 ms; none ever finishes.
    for (let i = 0; i < 40; i++) ask(`n${i}`, (i * 37) % 400);
    clock.advance(400);
    // The limit held: four at a time, each keeping its slot until the hold limit.
    expect(scheduler.stats.peakInFlight).toBe(4);
    expect(started).toHaveLength(4);
    // A slow attempt stops counting after the hold limit, so dead hosts do not stall the rest.
    clock.advance(1_000);
    expect(started).toHaveLength(8);
    clock.advance(9_000);
    expect(started).toHaveLength(40);
    expect(scheduler.stats.peakInFlight).toBe(4);
  });

  it('a cancelled attempt never starts, and a running one cancelled gives its slot back', () => {
    const { clock, scheduler, started, ask } = setup(1);
    const a = ask('a');
    const b = ask('b');
    const c = ask('c', 50);
    b.cancel();
    a.cancel();
    expect(started).toEqual(['a']);
    clock.advance(50);
    expect(started).toEqual(['a', 'c']);
    c.done();
    expect(scheduler.stats).toMatchObject({ inFlight: 0, waiting: 0 });
    // Nothing left waiting: no timer left either.
    expect(clock.pending).toBe(0);
  });

  it('keeps one timer for the waiting attempts, however many there are', () => {
    const { clock, ask } = setup(1, 60_000);
    ask('first');
    for (let i = 0; i < 1_000; i++) ask(`n${i}`, 10 + i);
    // The first attempt's hold timer, and one for the waiting ones (none of which can start).
    expect(clock.pending).toBeLessThanOrEqual(2);
  });

  it('refuses a limit below one', () => {
    expect(() => new ConnectScheduler({ maxConcurrent: 0 })).toThrow(/at least 1/);
  });
});
