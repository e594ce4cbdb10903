/**
 * The Docker events stream on its own: held while someone holds it, retried on a doubling
 * schedule while Docker refuses it, and never left closed for a holder that arrived while an
 * old stream was still opening. Timers are vitest's fake ones: the schedule is read, not waited.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import { silentLogger } from '../logger.js';
import { EventsSource, type EventsSourceOptions } from './events-source.js';
import { MemoryFeedRuntime } from './memory-runtime.fixture.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A runtime that records when each open was attempted (fake clock). */
class CountingRuntime extends MemoryFeedRuntime {
  readonly attempts: number[] = [];
  override watchEvents(handlers: Parameters<MemoryFeedRuntime['watchEvents']>[0]) {
    this.attempts.push(Date.now());
    return super.watchEvents(handlers);
  }
}

function source(runtime: MemoryFeedRuntime, options: Partial<EventsSourceOptions> = {}) {
  const seen: ContainerEvent[] = [];
  let opens = 0;
  const events = new EventsSource(runtime, silentLogger(), {
    retryMinMs: 100,
    retryMaxMs: 700,
    onEvent: (event) => seen.push(event),
    onOpen: () => opens++,
    ...options,
  });
  return { events, seen, opens: () => opens };
}

const event: ContainerEvent = {
  type: 'container',
  action: 'start',
  containerId: 'c1',
  containerName: 'web-1',
  job: 'web',
  version: null,
  image: null,
  at: 1,
};

describe('EventsSource', () => {
  it('opens for the first holder, shares the stream, and closes when the last one releases', async () => {
    const runtime = new MemoryFeedRuntime();
    const { events, seen } = source(runtime);
    const releaseA = events.acquire();
    const releaseB = events.acquire();
    await events.whenReady(1000);
    expect(events.isOpen).toBe(true);
    expect(runtime.opened.events).toBe(1);
    runtime.emitEvent(event);
    expect(seen).toEqual([event]);
    releaseA();
    releaseA(); // a second call of the same release counts once
    expect(events.isOpen).toBe(true);
    releaseB();
    expect(events.isOpen).toBe(false);
    expect(runtime.eventWatchers.size).toBe(0);
  });

  it('retries a refused stream after 100, 200, 400, 700, 700 ms, and starts over once it opened', async () => {
    const runtime = new CountingRuntime();
    runtime.eventsError = new Error('connect ENOENT /var/run/docker.sock');
    const { events, opens } = source(runtime);
    const start = Date.now();
    events.acquire();
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 700 + 700);
    const gaps = runtime.attempts.map((at, i) => at - (runtime.attempts[i - 1] ?? start));
    expect(gaps).toEqual([0, 100, 200, 400, 700, 700]);
    expect(opens()).toBe(0);

    runtime.eventsError = null;
    await vi.advanceTimersByTimeAsync(700);
    expect(events.isOpen).toBe(true);
    expect(opens()).toBe(1);
    // A break now is retried from the shortest delay again.
    runtime.eventsError = new Error('connection refused');
    runtime.breakEvents();
    const brokeAt = Date.now();
    await vi.advanceTimersByTimeAsync(300);
    expect(runtime.attempts.filter((at) => at > brokeAt).map((at) => at - brokeAt)).toEqual([100, 300]);
  });

  it('tells a waiter why the stream is not there when its deadline passes', async () => {
    const runtime = new MemoryFeedRuntime();
    runtime.eventsError = new Error('connect ENOENT /var/run/docker.sock');
    const { events } = source(runtime);
    events.acquire();
    const waiting = events.whenReady(250);
    const verdict = expect(waiting).rejects.toThrow('Docker events unavailable: connect ENOENT');
    await vi.advanceTimersByTimeAsync(250);
    await verdict;
  });

  it('rejects waiters once nobody holds the stream any more', async () => {
    const runtime = new MemoryFeedRuntime();
    runtime.eventsError = new Error('down');
    const { events } = source(runtime);
    const release = events.acquire();
    const waiting = events.whenReady(10_000);
    release();
    await expect(waiting).rejects.toThrow('no longer watching events');
  });

  it('still opens for a holder that came while a released stream was opening', async () => {
    const runtime = new MemoryFeedRuntime();
    const { events } = source(runtime);
    const release = events.acquire();
    release(); // the open is still in flight
    events.acquire();
    await events.whenReady(1000);
    expect(events.isOpen).toBe(true);
    expect(runtime.eventWatchers.size).toBe(1);
  });

  it('opens nothing after close()', async () => {
    const runtime = new MemoryFeedRuntime();
    const { events } = source(runtime);
    events.close();
    events.acquire();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runtime.opened.events).toBe(0);
  });
});
