/**
 * The pool of Docker stats streams on its own (the whole path through a WebSocket is in
 * session.test.ts): what it keeps of each sample, and how it finds containers again.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ContainerEvent } from '../../src/protocol/feeds.js';
import type { StatsSample } from '../docker/feed-runtime.js';
import { silentLogger } from '../logger.js';
import { MemoryFeedRuntime } from './memory-runtime.fixture.js';
import { StatsPool } from './stats-pool.js';

function sample(id: string, cpuPercent: number | null, memoryUsage = 100): StatsSample {
  return {
    containerId: id,
    containerName: `docker-name-${id}`,
    job: 'web',
    version: 'abc1234',
    cpuPercent,
    memoryUsage,
    memoryLimit: 1000,
    memoryPercent: memoryUsage / 10,
    networkRx: 0,
    networkTx: 0,
    blockRead: 0,
    blockWrite: 0,
    pids: 1,
    readAt: 1,
  };
}

function started(id: string, job = 'web'): ContainerEvent {
  return {
    type: 'container',
    action: 'start',
    containerId: id,
    containerName: `${job}-${id}`,
    job,
    version: null,
    image: null,
    at: 1,
  };
}

/** Waits until the pool holds `count` streams. */
async function streams(pool: StatsPool, count: number): Promise<void> {
  await vi.waitFor(() => expect(pool.openStreams).toBe(count), { timeout: 3000 });
}

describe('StatsPool', () => {
  it('keeps the last CPU figure over a reading without one, and is complete only when all have one', async () => {
    const runtime = new MemoryFeedRuntime();
    runtime.addContainer({ id: 'c1', job: 'web', name: 'web-1' });
    runtime.addContainer({ id: 'c2', job: 'api', name: 'api-1' });
    const pool = new StatsPool(runtime, silentLogger(), 60_000);
    const release = pool.acquire();
    await pool.whenReady();
    await streams(pool, 2);
    expect(pool.snapshot()).toEqual({ containers: [], complete: false });

    runtime.emitStats(sample('c1', 40));
    runtime.emitStats(sample('c2', null, 7));
    expect(pool.snapshot().complete).toBe(false);
    // A reading without a CPU figure shows 0 until there is one.
    expect(pool.snapshot('api').containers.map((c) => c.cpuPercent)).toEqual([0]);
    runtime.emitStats(sample('c2', 5));
    runtime.emitStats(sample('c1', null, 300));
    const snapshot = pool.snapshot();
    expect(snapshot.complete).toBe(true);
    // Sorted by name, named as the pool knows the container, CPU carried over.
    expect(snapshot.containers.map((c) => [c.containerName, c.cpuPercent, c.memoryUsage])).toEqual([
      ['api-1', 5, 100],
      ['web-1', 40, 300],
    ]);
    expect(pool.snapshot('web').containers.map((c) => c.containerId)).toEqual(['c1']);
    release();
    expect(pool.openStreams).toBe(0);
  });

  it('looks at the running containers again soon after a stream ends on its own', async () => {
    const runtime = new MemoryFeedRuntime();
    runtime.addContainer({ id: 'c1', job: 'web' });
    const pool = new StatsPool(runtime, silentLogger(), 60_000);
    pool.acquire();
    await pool.whenReady();
    await streams(pool, 1);
    for (const watcher of runtime.statsWatchers.get('c1') ?? []) watcher.onEnd(new Error('broken pipe'));
    expect(pool.openStreams).toBe(0);
    // Still running, so the resync (a second later, not the 60 s interval) opens it again.
    await streams(pool, 1);
    expect(runtime.opened.stats).toBe(2);
    pool.close();
  });

  it('follows events only while in use', async () => {
    const runtime = new MemoryFeedRuntime();
    const pool = new StatsPool(runtime, silentLogger(), 60_000);
    pool.track(started('c1'));
    expect(runtime.opened.stats).toBe(0);
    const release = pool.acquire();
    await pool.whenReady();
    pool.track(started('c2'));
    await streams(pool, 1);
    pool.track({ ...started('c2'), action: 'die' });
    expect(pool.openStreams).toBe(0);
    release();
  });
});
