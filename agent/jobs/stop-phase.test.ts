/**
 * Stop phases on the fake runtime and the fake (virtual) clock: old containers are stopped all
 * at once with the job's grace period, so a stop phase takes one grace period whatever the
 * count; removals and creates keep the engine's bound. The fake records how many calls of each
 * kind were in flight at once and when each stop began and ended (fake time).
 */
import { describe, expect, it } from 'vitest';
import { testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import { type EngineRig, engineRigs } from '../../test/fakes/engine-rig.js';

const rig = engineRigs();

const job = (image: string, count: number, container: Partial<ContainerSpec> = {}): JobSpec =>
  testSpec(
    { image, ports: [{ in: 8000, protocol: 'tcp', out: null }], ...container },
    { count, update: { healthyDeadlineMs: 20_000, minHealthyMs: 1000 } },
  );

/** Every stop progress line's message, in order. */
const stopMessages = (lines: { phase: string; message: string }[]) =>
  lines.filter((l) => l.phase === 'stop').map((l) => l.message);

describe('the stop phase of an update', () => {
  it('stops every old container at once: 20 that ignore SIGTERM take one grace period, not 20/4 of them', async () => {
    const r = rig({ concurrency: 4 });
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 20));
    const old = r.ids();
    const ran = await r.deploy(job('web:v2', 20));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 20, total: 20 });
    expect(r.runtime.maxInFlight.stop).toBe(20);
    const stops = r.runtime.stops.filter((s) => old.includes(s.id));
    expect(stops).toHaveLength(20);
    // All began together and each held its call for the 10 s grace (Docker's default).
    const began = new Set(stops.map((s) => s.startedAt));
    expect(began.size).toBe(1);
    for (const s of stops) {
      expect(s.timeoutSec).toBe(10);
      expect(s.endedAt - s.startedAt).toBe(10_000);
    }
    const stopPhase = ran.at.filter((_, i) => ran.lines[i]!.phase === 'stop');
    expect(stopPhase.at(-1)! - stopPhase[0]!).toBe(10_000);
    // Removing them is engine work: it keeps the bound.
    expect(r.runtime.maxInFlight.remove).toBeLessThanOrEqual(4);
    expect(r.runtime.maxInFlight.remove).toBeGreaterThan(1);
  });

  it('names the phase, the count and the grace period as it goes', async () => {
    const r = rig();
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 3));
    const ran = await r.deploy(job('web:v2', 3));
    expect(stopMessages(ran.lines)).toEqual([
      'Stopping old containers (0/3, grace 10s)',
      'Stopping old containers (1/3, grace 10s)',
      'Stopping old containers (2/3, grace 10s)',
      'Stopping old containers (3/3, grace 10s)',
    ]);
    expect(ran.lines.filter((l) => l.phase === 'remove').map((l) => l.message)).toEqual([
      'Removing old containers (1/3)',
      'Removing old containers (2/3)',
      'Removing old containers (3/3)',
    ]);
    const first = ran.lines.find((l) => l.phase === 'stop')!;
    expect(first).toMatchObject({ current: 0, total: 3 });
  });

  it("uses the job's stop_grace_period for every stop call", async () => {
    const r = rig();
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 5));
    const v2 = job('web:v2', 5, { stopGracePeriodMs: 3000 });
    const ran = await r.deploy(v2);
    expect(ran.result.ok).toBe(true);
    expect(r.runtime.stops.map((s) => s.timeoutSec)).toEqual([3, 3, 3, 3, 3]);
    expect(r.runtime.stops.every((s) => s.endedAt - s.startedAt === 3000)).toBe(true);
    expect(stopMessages(ran.lines)[0]).toBe('Stopping old containers (0/5, grace 3s)');
    // `stop job` uses the current version's grace period from the history.
    r.runtime.ignoreStopSignal('web:v2');
    const stopped = await r.stop('demo');
    expect(stopped.result).toMatchObject({ ok: true, action: 'stop', running: 0, total: 5 });
    expect(r.runtime.stops.slice(5).map((s) => s.timeoutSec)).toEqual([3, 3, 3, 3, 3]);
    expect(stopMessages(stopped.lines).at(-1)).toBe('Stopping containers (5/5, grace 3s)');
  });

  it('the result gives the time to cutover (new version healthy and committed) and the total', async () => {
    const r = rig();
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 6));
    const ran = await r.deploy(job('web:v2', 6));
    // Cutover after the 1 s minimum healthy time (plus polling); the total adds one 10 s grace.
    expect(ran.result.cutoverMs).toBeGreaterThanOrEqual(1000);
    expect(ran.result.cutoverMs).toBeLessThan(2000);
    expect(ran.result.durationMs! - ran.result.cutoverMs!).toBe(10_000);
    const stopped = await r.stop('demo');
    expect(stopped.result.cutoverMs).toBeUndefined();
    expect(stopped.result.durationMs).toBe(0);
  });

  it('a failed stop after the commit leaves that container, removes the rest, and says the new version runs', async () => {
    const r = rig();
    await r.deploy(job('web:v1', 4));
    r.runtime.fault({ op: 'stop', nth: 2 });
    const v2 = job('web:v2', 4);
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({ ok: false, committed: true, restored: false });
    expect(ran.result.message).toMatch(/1 old container could not be removed/);
    expect(ran.result.cutoverMs).toBeGreaterThan(0);
    expect(r.ids({ version: specVersion(v2), state: 'running' })).toHaveLength(4);
    expect(r.ids({ version: specVersion(job('web:v1', 4)) })).toHaveLength(1);
  });
});

describe('removals follow each stop, not the slowest one', () => {
  /** The fake time each container's remove call returned at. */
  const removalTimes = (r: EngineRig) => {
    const removedAt = new Map<string, number>();
    r.runtime.afterCall = (call) => {
      if (call.op === 'remove') removedAt.set(call.id!, r.clock.now());
    };
    return removedAt;
  };

  it('an old container is removed as soon as its own stop returned, while another still waits out its grace', async () => {
    const r = rig({ concurrency: 2 });
    await r.deploy(job('web:v1', 5));
    const old = r.ids();
    const [slow] = old;
    // One old container ignores its stop signal (held for the 10 s grace); the others exit at once.
    const stop = r.runtime.stopContainer.bind(r.runtime);
    r.runtime.stopContainer = async (id, timeoutSec) => {
      if (id === slow) await r.clock.sleep(timeoutSec * 1000);
      return stop(id, timeoutSec);
    };
    const removedAt = removalTimes(r);
    const ran = await r.deploy(job('web:v2', 5));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 5, total: 5 });
    const stops = new Map(r.runtime.stops.filter((s) => old.includes(s.id)).map((s) => [s.id, s]));
    expect(stops.size).toBe(5);
    const phaseBegan = Math.min(...[...stops.values()].map((s) => s.startedAt));
    // Never removed before its own stop returned.
    for (const id of old) expect(removedAt.get(id)).toBeGreaterThanOrEqual(stops.get(id)!.endedAt);
    // The four quick ones are gone before the slow one's grace is over; it goes when it stopped.
    for (const id of old.slice(1)) expect(removedAt.get(id)).toBe(phaseBegan);
    expect(stops.get(slow!)!.endedAt - phaseBegan).toBe(10_000);
    expect(removedAt.get(slow!)).toBe(phaseBegan + 10_000);
    // Removing is still engine work with the bound.
    expect(r.runtime.maxInFlight.remove).toBeLessThanOrEqual(2);
  });

  it('a container whose stop failed is left in place; the others are removed and the error is reported', async () => {
    const r = rig();
    await r.deploy(job('web:v1', 3));
    const old = r.ids();
    const stop = r.runtime.stopContainer.bind(r.runtime);
    r.runtime.stopContainer = async (id, timeoutSec) => {
      if (id === old[1]) throw Object.assign(new Error('engine said no'), { code: 'internal' });
      return stop(id, timeoutSec);
    };
    const ran = await r.deploy(job('web:v2', 3));
    expect(ran.result).toMatchObject({ ok: false, committed: true, restored: false });
    expect(ran.result.message).toMatch(/1 old container could not be removed/);
    expect(r.ids().filter((id) => old.includes(id))).toEqual([old[1]]);
    expect(r.ids({ state: 'running' })).toContain(old[1]);
  });
});

describe('other stop phases are concurrent too', () => {
  it('scale down stops the extra containers at once', async () => {
    const r = rig({ concurrency: 2 });
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 12));
    const ran = await r.deploy(job('web:v1', 2));
    expect(ran.result).toMatchObject({ ok: true, action: 'scale', running: 2, total: 2 });
    expect(r.runtime.maxInFlight.stop).toBe(10);
    expect(stopMessages(ran.lines).at(-1)).toBe('Stopping extra containers (10/10, grace 10s)');
  });

  it('stop and purge stop every container at once; purge then removes them gracefully stopped', async () => {
    const r = rig({ concurrency: 2 });
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 8));
    const began = r.clock.now();
    const stopped = await r.stop('demo');
    expect(stopped.result).toMatchObject({ ok: true, action: 'stop', running: 0, total: 8 });
    expect(r.runtime.maxInFlight.stop).toBe(8);
    expect(r.clock.now() - began).toBe(10_000);

    await r.deploy(job('web:v1', 8));
    const purged = await r.stop('demo', true);
    expect(purged.result).toMatchObject({ ok: true, action: 'purge', running: 0, total: 0 });
    expect(stopMessages(purged.lines).at(-1)).toBe('Stopping containers (8/8, grace 10s)');
    expect(purged.lines.at(-1)?.message).toBe('Removing containers (8/8)');
    // Every container was stopped (with its grace) before it was removed.
    const removedAfterStop = r.runtime.stops.filter((s) => s.startedAt >= began + 10_000);
    expect(removedAfterStop).toHaveLength(8);
  });

  it('the stop-first stop phase (fixed host port) is concurrent, and its restore is bounded', async () => {
    const r = rig({ concurrency: 1 });
    r.runtime.ignoreStopSignal('web:v1');
    await r.deploy(job('web:v1', 1, { ports: [{ in: 8000, protocol: 'tcp', out: 8080 }] }));
    r.runtime.scriptImage('web:bad', { kind: 'exits', afterMs: 200, code: 3 });
    const ran = await r.deploy(job('web:bad', 1, { ports: [{ in: 8000, protocol: 'tcp', out: 8080 }] }));
    expect(ran.result).toMatchObject({ ok: false, restored: true });
    expect(stopMessages(ran.lines)).toEqual([
      'Stopping old containers (0/1, grace 10s)',
      'Stopping old containers (1/1, grace 10s)',
    ]);
  });
});

describe('creates and starts keep the engine bound', () => {
  it('never more than `concurrency` creates or starts at once', async () => {
    const r = rig({ concurrency: 3 });
    let creating = 0;
    let most = 0;
    const create = r.runtime.createContainer.bind(r.runtime);
    r.runtime.createContainer = async (req) => {
      creating++;
      most = Math.max(most, creating);
      try {
        await r.clock.sleep(5);
        return await create(req);
      } finally {
        creating--;
      }
    };
    const ran = await r.deploy(job('web:v1', 12));
    expect(ran.result).toMatchObject({ ok: true, running: 12 });
    expect(most).toBe(3);
  });
});
