/**
 * The job engine end to end without Docker: a real JobEngine (real locks, the real file store on
 * a temp dir) on the fake runtime (test/fakes) with a fake clock, so the health gate's waiting is
 * fake time and every scenario runs in milliseconds. Each test names the safety rule it proves.
 */
import { describe, expect, it, vi } from 'vitest';
import { LABEL_VERSION } from '../../src/core/labels.js';
import { DEFAULT_POLICY } from '../../src/core/policy.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import type { RuntimeCall } from '../../test/fakes/container-runtime.js';
import { type EngineRig, engineRigs, type Ran } from '../../test/fakes/engine-rig.js';
import { silentLogger } from '../logger.js';
import { JobEngine } from './engine.js';

const rig = engineRigs();

const web = (
  image: string,
  count = 3,
  container: Partial<ContainerSpec> = {},
  minHealthyMs = 1000,
): JobSpec =>
  testSpec(
    { image, ports: [{ in: 8000, protocol: 'tcp', out: null }], ...container },
    { count, update: { healthyDeadlineMs: 20_000, minHealthyMs } },
  );
const fixedPort = (image: string, count = 1): JobSpec =>
  web(image, count, { ports: [{ in: 8000, protocol: 'tcp', out: 8080 }] });

const phases = (ran: Ran) => ran.lines.map((l) => l.phase).filter((p, i, all) => p !== all[i - 1]);

const versionOf = (call: RuntimeCall) => call.container?.labels[LABEL_VERSION];

describe('start-first update', () => {
  it('new containers come up and pass the gate beside the old ones; the old ones go only after the commit', async () => {
    const r = rig();
    const v1 = web('web:v1');
    const v2 = web('web:v2');
    expect((await r.deploy(v1)).result).toMatchObject({ ok: true, action: 'fresh', running: 3 });
    const old = r.ids();
    // At every call: the running containers of each version, and whether v2 was committed yet.
    const seen: { op: string; v1: number; v2: number; committed: boolean }[] = [];
    r.runtime.afterCall = (call) => {
      const running = r.containers().filter((c) => c.state === 'running');
      seen.push({
        op: `${call.op}:${versionOf(call) === specVersion(v1) ? 'old' : 'new'}`,
        v1: running.filter((c) => c.version === specVersion(v1)).length,
        v2: running.filter((c) => c.version === specVersion(v2)).length,
        committed: r.store.writes.at(-1)?.current === specVersion(v2),
      });
    };
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({
      ok: true,
      action: 'update',
      message: 'Update successful',
      versionFrom: specVersion(v1),
      versionTo: specVersion(v2),
      running: 3,
      total: 3,
    });
    expect(phases(ran)).toEqual(['pull', 'start', 'health', 'stop', 'remove']);
    // Never fewer than 3 running of one version; nothing old touched before the commit.
    expect(seen.length).toBeGreaterThan(10);
    for (const s of seen) expect(Math.max(s.v1, s.v2)).toBeGreaterThanOrEqual(3);
    const firstOldTouched = seen.findIndex((s) => s.op === 'stop:old' || s.op === 'remove:old');
    expect(firstOldTouched).toBeGreaterThan(0);
    expect(seen[firstOldTouched]!.committed).toBe(true);
    expect(seen.slice(0, firstOldTouched).every((s) => s.v1 === 3)).toBe(true);
    expect(r.ids({ version: specVersion(v2), state: 'running' })).toHaveLength(3);
    expect(r.ids().some((id) => old.includes(id))).toBe(false);
    expect((await r.engine.history('demo')).current).toBe(specVersion(v2));
  });
});

describe('stop-first update (fixed host port)', () => {
  it('stops the old container first, then the new one takes the port', async () => {
    const r = rig();
    await r.deploy(fixedPort('web:v1'));
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec: fixedPort('web:v2') });
    expect(plan.strategy).toBe('stop-first');
    const ran = await r.deploy(fixedPort('web:v2'));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 1, total: 1 });
    // The image is pulled before anything old is stopped.
    expect(phases(ran)).toEqual(['pull', 'stop', 'start', 'health', 'stop', 'remove']);
  });

  it('a new version that crashes is removed and the old container is started again (same ID)', async () => {
    const r = rig();
    await r.deploy(fixedPort('web:v1'));
    const before = r.ids();
    r.runtime.scriptImage('web:bad', { kind: 'exits', afterMs: 200, code: 3 });
    const ran = await r.deploy(fixedPort('web:bad'));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'start_failed' } });
    expect(ran.result.message).toMatch(/exited with code 3/);
    expect(phases(ran)).toEqual(['pull', 'stop', 'start', 'health', 'cleanup', 'restore']);
    expect(r.ids({ state: 'running' })).toEqual(before);
    expect(r.ids()).toEqual(before);
    expect((await r.engine.history('demo')).current).toBe(specVersion(fixedPort('web:v1')));
  });

  it('when stopping one of the old containers fails, the ones already stopped are started again', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 3));
    const before = r.ids();
    r.runtime.fault({ op: 'stop', nth: 3 });
    const ran = await r.deploy(fixedPort('web:v2'));
    expect(ran.result).toMatchObject({ ok: false, action: 'update', restored: true, running: 3, total: 3 });
    expect(phases(ran)).toEqual(['pull', 'stop', 'restore']);
    expect(r.ids({ state: 'running' })).toEqual(before);
  });

  it('a restore that itself fails says so: restored false, nothing running', async () => {
    const r = rig();
    const v1 = fixedPort('web:v1');
    await r.deploy(v1);
    const before = r.ids();
    r.runtime.scriptImage('web:bad', { kind: 'exits', afterMs: 200, code: 3 });
    r.runtime.fault({ op: 'start', when: (c) => versionOf(c) === specVersion(v1) });
    const ran = await r.deploy(fixedPort('web:bad'));
    expect(ran.result).toMatchObject({ ok: false, restored: false, running: 0, total: 1 });
    expect(ran.result.error?.message).toMatch(/injected fault/);
    expect(r.ids()).toEqual(before);
    expect(r.ids({ state: 'running' })).toEqual([]);
    // The next deploy of the old version starts it again.
    expect((await r.deploy(v1)).result).toMatchObject({ ok: true, action: 'start', running: 1 });
    expect(r.ids({ state: 'running' })).toEqual(before);
  });
});

describe('a failed update leaves the old version running with the same IDs and removes every new container', () => {
  const cases: [string, (r: EngineRig) => void, string, RegExp][] = [
    ['the 3rd of 4 creates fails', (r) => r.runtime.failCreate(3), 'create_failed', /create: injected fault/],
    [
      'the start of the 2nd new container fails',
      (r) => r.runtime.failStartOfCreated(2),
      'start_failed',
      /start/,
    ],
    [
      'a new container crashes during the gate',
      (r) => r.runtime.scriptImage('web:v2', { kind: 'exits', afterMs: 200, code: 3 }),
      'start_failed',
      /exited with code 3/,
    ],
    [
      'a new container crashes and Docker restarts it',
      (r) => r.runtime.scriptCreate(2, { kind: 'restarts', afterMs: 600 }),
      'start_failed',
      /crashed and was restarted/,
    ],
  ];
  for (const [what, inject, code, message] of cases) {
    it(what, async () => {
      const r = rig();
      const v1 = web('web:v1', 2);
      await r.deploy(v1);
      const before = r.ids();
      const history = await r.engine.history('demo');
      inject(r);
      const ran = await r.deploy(web('web:v2', 4));
      expect(ran.result).toMatchObject({ ok: false, action: 'update', restored: true, running: 2, total: 2 });
      expect(ran.result.error?.code).toBe(code);
      expect(ran.result.message).toMatch(message);
      expect(r.ids({ state: 'running' })).toEqual(before);
      expect(r.ids()).toEqual(before);
      expect(await r.engine.history('demo')).toEqual(history);
      expect(
        ran.lines.some((l) => l.phase === 'cleanup' && /removing the new containers/.test(l.message)),
      ).toBe(true);
    });
  }
});

describe('a failed rollback', () => {
  it('goes through the same gate: the version rolled back to crashes, the current one keeps running', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 2));
    await r.deploy(web('web:v2', 2));
    const before = r.ids();
    const history = await r.engine.history('demo');
    r.runtime.scriptImage('web:v1', { kind: 'exits', afterMs: 200, code: 3 });
    const ran = await r.rollback('demo');
    expect(ran.result).toMatchObject({
      ok: false,
      action: 'rollback',
      restored: true,
      versionTo: specVersion(web('web:v1')),
      running: 2,
    });
    expect(ran.result.message).toMatch(/exited with code 3/);
    expect(r.ids({ state: 'running' })).toEqual(before);
    expect(await r.engine.history('demo')).toEqual(history);
  });
});

describe('the health gate, on the fake clock', () => {
  it('an unhealthy verdict fails the update with the check output', async () => {
    const r = rig({ runtime: { healthcheckImages: new Set(['web:v1', 'web:v2']) } });
    await r.deploy(web('web:v1', 2));
    const before = r.ids();
    r.runtime.scriptImage('web:v2', { kind: 'unhealthy', afterMs: 1500 });
    const ran = await r.deploy(web('web:v2', 2));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'unhealthy' } });
    expect(ran.result.message).toMatch(/is unhealthy: injected: health check failed/);
    expect(r.ids()).toEqual(before);
  });

  it('the deadline expires while a health check stays starting', async () => {
    const r = rig({ runtime: { healthcheckImages: new Set(['web:v1', 'web:v2']) } });
    await r.deploy(web('web:v1', 2));
    r.runtime.scriptImage('web:v2', { kind: 'healthy', afterMs: Number.POSITIVE_INFINITY });
    const began = r.clock.now();
    const ran = await r.deploy(web('web:v2', 2));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'unhealthy' } });
    expect(ran.result.message).toBe('2 new container(s) not healthy within 20s');
    // The gate waited the deadline out in fake time, and gave up at the first poll past it.
    expect(r.clock.now() - began).toBeGreaterThan(20_000);
    expect(r.clock.now() - began).toBeLessThanOrEqual(20_250);
    expect(r.ids({ version: specVersion(web('web:v2', 2)) })).toEqual([]);
  });

  it('a health check that turns healthy late still passes within the deadline', async () => {
    const r = rig({ runtime: { healthcheckImages: new Set(['web:v2']) } });
    r.runtime.scriptImage('web:v2', { kind: 'healthy', afterMs: 5000 });
    const ran = await r.deploy(web('web:v2', 2));
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    expect(ran.lines.at(-1)?.message).toBe('Waiting for containers to be healthy (2/2)');
    expect(ran.at.at(-1)! - ran.at[ran.lines.findIndex((l) => l.phase === 'health')]!).toBe(5000);
  });

  it('min_healthy_time: just under does not pass yet, at or over passes', async () => {
    const r = rig({ pollMs: 300 });
    const ran = await r.deploy(web('web:v1', 1, {}, 1000));
    expect(ran.result.ok).toBe(true);
    const gateAt = ran.at[ran.lines.findIndex((l) => l.phase === 'health')]!;
    const passed = ran.lines.findIndex((l) => l.message === 'Waiting for containers to be running (1/1)');
    // Polls at 0, 300, 600, 900 (just under: not yet), then wakes when the window ends, at
    // 1000 (not at the next poll, 1200): it passes there, and not a moment before.
    expect(r.clock.slept).toEqual([300, 300, 300, 100]);
    expect(ran.at[passed]! - gateAt).toBe(1000);
    expect(ran.lines.slice(0, passed).some((l) => l.phase === 'health' && l.current === 1)).toBe(false);
    const exact = rig({ pollMs: 250 });
    const ran2 = await exact.deploy(web('web:v1', 1, {}, 1000));
    const gate2 = ran2.at[ran2.lines.findIndex((l) => l.phase === 'health')]!;
    expect(ran2.at.at(-1)! - gate2).toBe(1000);
  });

  it('a window that ends while the inspections are in flight is judged again at once, not a poll later', async () => {
    const r = rig({ pollMs: 300 });
    // A busy engine: every inspection takes 150 ms (those of one poll at the same time).
    const inspect = r.runtime.inspectContainer.bind(r.runtime);
    r.runtime.inspectContainer = async (id) => {
      await r.clock.sleep(150);
      return inspect(id);
    };
    const ran = await r.deploy(web('web:v1', 1, {}, 1000));
    expect(ran.result.ok).toBe(true);
    const gateAt = ran.at[ran.lines.findIndex((l) => l.phase === 'health')]!;
    const passed = ran.lines.findIndex((l) => l.message === 'Waiting for containers to be running (1/1)');
    // Polls sent at 0, 450 and 900 (each answered 150 ms later); the window ends at 1000, while
    // the third one is in flight: judged at 900, not yet. The next one goes at once (1050) and
    // passes when answered, at 1200 — not after another full poll (1350, answered at 1500).
    expect(r.clock.slept.filter((ms) => ms !== 150)).toEqual([300, 300, 0]);
    expect(ran.at[passed]! - gateAt).toBe(1200);
    expect(ran.lines.slice(0, passed).some((l) => l.phase === 'health' && l.current === 1)).toBe(false);
  });

  /** Every create takes `ms` of fake time (with `concurrency: 1`, the starts are spread out). */
  const slowCreates = (r: EngineRig, ms: number) => {
    const create = r.runtime.createContainer.bind(r.runtime);
    r.runtime.createContainer = async (req) => {
      await r.clock.sleep(ms);
      return create(req);
    };
  };
  const healthLines = (ran: Ran) =>
    ran.lines.flatMap((l, i) => (l.phase === 'health' ? [{ done: l.current, at: ran.at[i]! }] : []));

  it("each new container's min_healthy_time runs from its own start, while the others are still created", async () => {
    const r = rig({ concurrency: 1 });
    slowCreates(r, 600);
    const ran = await r.deploy(web('web:v1', 3));
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 3 });
    // Started at 600, 1200 and 1800: the gate opens at 1800 with the first one through its
    // window already, then passes each one at its own start + 1000.
    const t0 = ran.at[ran.lines.findIndex((l) => l.phase === 'start')]! - 600;
    expect(healthLines(ran).map((h) => ({ ...h, at: h.at - t0 }))).toEqual([
      { done: 0, at: 1800 },
      { done: 1, at: 1800 },
      { done: 2, at: 2200 },
      { done: 3, at: 2800 },
    ]);
  });

  it('with windows overlapping the creates, no old container is stopped before every new one passed its own', async () => {
    const r = rig({ concurrency: 1 });
    const v1 = web('web:v1');
    const v2 = web('web:v2');
    await r.deploy(v1);
    const old = r.ids();
    slowCreates(r, 600);
    const startedAt = new Map<string, number>();
    let firstOldStop: number | null = null;
    let committedAtFirstOldStop = false;
    r.runtime.afterCall = (call) => {
      if (call.op === 'start' && versionOf(call) === specVersion(v2)) startedAt.set(call.id!, r.clock.now());
      if (call.op === 'stop' && old.includes(call.id!) && firstOldStop === null) {
        firstOldStop = r.clock.now();
        committedAtFirstOldStop = r.store.writes.at(-1)?.current === specVersion(v2);
      }
    };
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 3 });
    expect(startedAt.size).toBe(3);
    const lastWindowEnd = Math.max(...[...startedAt.values()].map((t) => t + 1000));
    // The stop call is recorded when it returns; it began no earlier than the last window's end.
    const stopBegan = Math.min(...r.runtime.stops.filter((s) => old.includes(s.id)).map((s) => s.startedAt));
    expect(stopBegan).toBeGreaterThanOrEqual(lastWindowEnd);
    expect(firstOldStop).not.toBeNull();
    expect(committedAtFirstOldStop).toBe(true);
  });

  it('a new container that dies after its own window passed, while a later one is still in its window, fails the update and touches nothing old', async () => {
    const r = rig({ concurrency: 1 });
    await r.deploy(web('web:v1'));
    const old = r.ids();
    slowCreates(r, 600);
    // Each v2 container exits 1500 ms after its start: the first one is through its window when
    // the gate opens, and dies before the last one is through its own.
    r.runtime.scriptImage('web:v2', { kind: 'exits', afterMs: 1500, code: 1 });
    const ran = await r.deploy(web('web:v2'));
    expect(ran.result).toMatchObject({ ok: false, restored: true });
    expect(ran.result.message).toMatch(/exited with code 1/);
    // The first one had passed its window before the gate saw it dead.
    expect(healthLines(ran).map((h) => h.done)).toContain(1);
    expect(r.runtime.stops.filter((s) => old.includes(s.id))).toEqual([]);
    expect(r.ids({ state: 'running' }).sort()).toEqual([...old].sort());
    expect(r.ids()).toHaveLength(3);
  });

  it('a container that dies inside min_healthy_time never passes; one that outlives it does', async () => {
    const dies = rig();
    dies.runtime.scriptImage('web:v1', { kind: 'exits', afterMs: 999, code: 1 });
    expect((await dies.deploy(web('web:v1', 1))).result).toMatchObject({ ok: false, restored: true });
    expect(dies.containers()).toEqual([]);
    const lives = rig();
    lives.runtime.scriptImage('web:v1', { kind: 'exits', afterMs: 1001, code: 1 });
    expect((await lives.deploy(web('web:v1', 1))).result).toMatchObject({ ok: true, action: 'fresh' });
  });

  it('waits only in fake time: no real timer runs', async () => {
    const r = rig();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const ran = await r.deploy(web('web:v1', 3, {}, 15_000));
      expect(ran.result).toMatchObject({ ok: true, running: 3 });
      expect(ran.at.at(-1)! - ran.at[0]!).toBe(15_000);
      expect(r.clock.slept).toEqual(Array.from({ length: 60 }, () => 250));
      expect(timers.mock.calls.filter(([, ms]) => (ms ?? 0) > 0)).toEqual([]);
    } finally {
      timers.mockRestore();
    }
  });
});

describe('draining for a shutdown, on the fake clock', () => {
  it('waits for the running operation, or gives up at its deadline, without a real timer', async () => {
    // Two sleepers share the fake clock here; with real file I/O in between, the drain's polls
    // would spin fake time ahead while the disk works. The history is kept in memory instead.
    const r = rig({ memoryStore: true });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const slow = r.deploy(web('web:v1', 1, {}, 15_000));
      expect(r.engine.busy).toBe(1);
      expect(await r.engine.drain(1000)).toBe(false);
      expect(await r.engine.drain(60_000)).toBe(true);
      expect(r.engine.busy).toBe(0);
      expect((await slow).result.ok).toBe(true);
      expect(timers.mock.calls.filter(([, ms]) => (ms ?? 0) > 0)).toEqual([]);
    } finally {
      timers.mockRestore();
    }
  });
});

describe('a kill -9 of the agent, then a fresh engine on the same engine and data dir', () => {
  async function midUpdate(kill: (r: EngineRig) => void) {
    const r = rig();
    const v1 = web('web:v1');
    const v2 = web('web:v2');
    await r.deploy(v1);
    const old = r.ids();
    kill(r);
    const died = await r.deploy(v2);
    expect(died.result.ok).toBe(false);
    expect(r.runtime.died).not.toBeNull();
    const fresh = r.restart();
    return { r, v1, v2, old, fresh };
  }

  it('dying during the gate (before the commit): status and plan say v1 with debris; one deploy converges', async () => {
    const { r, v1, v2, old, fresh } = await midUpdate((r) => r.runtime.dieAt('inspect', 2));
    expect(r.ids({ version: specVersion(v1), state: 'running' })).toEqual(old);
    const status = await fresh.status('demo');
    expect(status).toMatchObject({ version: specVersion(v1), desired: 3, running: 6, total: 6 });
    const plan = await fresh.plan('demo', { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({
      action: 'update',
      changes: true,
      versionFrom: specVersion(v1),
      versionTo: specVersion(v2),
    });
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 3, total: 3 });
    expect(phases(ran)[0]).toBe('cleanup'); // the debris of the dead update goes first
    expect(r.ids({ version: specVersion(v2), state: 'running' })).toHaveLength(3);
    expect(r.ids()).toHaveLength(3);
  });

  it('dying at the commit, before it is written: the same, nothing committed', async () => {
    const { r, v1, v2, fresh } = await midUpdate((r) => r.store.dieAtNextWrite('before'));
    expect((await fresh.history('demo')).current).toBe(specVersion(v1));
    expect((await fresh.status('demo')).version).toBe(specVersion(v1));
    expect((await r.deploy(v2)).result).toMatchObject({ ok: true, action: 'update', running: 3 });
    expect(r.ids()).toHaveLength(3);
  });

  it('dying right after the commit: status says v2; the plan only removes the old ones, keeping the new IDs', async () => {
    const { r, v1, v2, old, fresh } = await midUpdate((r) => r.store.dieAtNextWrite('after'));
    const committed = r.ids({ version: specVersion(v2) });
    expect(committed).toHaveLength(3);
    expect(r.ids({ version: specVersion(v1) })).toEqual(old);
    expect(await fresh.status('demo')).toMatchObject({ version: specVersion(v2), running: 6, total: 6 });
    const plan = await fresh.plan('demo', { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({ action: 'scale', changes: true, versionFrom: specVersion(v2) });
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({ ok: true, running: 3, total: 3 });
    expect(r.ids()).toEqual(committed);
  });

  it('dying while removing the old ones: the same convergence, no second rollout', async () => {
    const { r, v1, v2, fresh } = await midUpdate((r) =>
      r.runtime.dieAt('stop', 2, (c) => c.container?.labels[LABEL_VERSION] === specVersion(web('web:v1'))),
    );
    const committed = r.ids({ version: specVersion(v2) });
    expect(r.ids({ version: specVersion(v1) }).length).toBeGreaterThan(0);
    expect((await fresh.status('demo')).version).toBe(specVersion(v2));
    expect((await r.deploy(v2)).result).toMatchObject({ ok: true, running: 3, total: 3 });
    expect(r.ids()).toEqual(committed);
  });

  it('dying before the commit of a scale: the re-run is "Already up to date" and records the new count', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 2));
    r.store.dieAtNextWrite('before');
    expect((await r.deploy(web('web:v1', 4))).result.ok).toBe(false);
    const fresh = r.restart();
    // Four run, the history still says two: status must not hide that.
    expect(await fresh.status('demo')).toMatchObject({ desired: 2, running: 4 });
    const ran = await r.deploy(web('web:v1', 4));
    expect(ran.result).toMatchObject({ ok: true, action: 'noop', running: 4 });
    expect(await fresh.status('demo')).toMatchObject({ desired: 4, running: 4 });
    expect((await fresh.history('demo')).entries.map((e) => e.count)).toEqual([4]);
  });

  it('a history lost with the data dir: the running version is adopted without touching a container', async () => {
    const r = rig();
    const v1 = web('web:v1');
    await r.deploy(v1);
    const before = r.ids();
    const other = rig();
    // Same Docker engine, new (empty) data directory.
    const engine = new JobEngine({
      runtime: r.runtime,
      store: other.store,
      logger: silentLogger(),
      agentVersion: 'test',
      now: r.clock.now,
      sleep: r.clock.sleep,
    });
    expect((await engine.status('demo')).version).toBe(specVersion(v1));
    const result = await engine.deploy(v1, () => {});
    expect(result).toMatchObject({ ok: true, action: 'noop', message: 'Already up to date' });
    expect((await engine.history('demo')).current).toBe(specVersion(v1));
    expect(r.ids()).toEqual(before);
  });
});

describe('the job lock and the policy, through the real engine', () => {
  it('a second operation on a busy job is refused at once (job_busy); other jobs are not blocked', async () => {
    const r = rig();
    const first = r.deploy(web('web:v1', 2));
    const second = await r.deploy(web('web:v2', 2));
    expect(second.result).toMatchObject({ ok: false, restored: false, error: { code: 'job_busy' } });
    expect(second.result.message).toMatch(/job demo is busy: a deploy started 0s ago/);
    const other = await r.deploy({ ...web('web:v1', 1), name: 'other' });
    expect(other.result).toMatchObject({ ok: true, action: 'fresh' });
    expect((await first).result).toMatchObject({ ok: true, action: 'fresh' });
    expect(new Set(r.containers().map((c) => c.version))).toEqual(new Set([specVersion(web('web:v1'))]));
    expect((await r.deploy(web('web:v2', 2))).result.ok).toBe(true);
  });

  it('a promotion takes the job lock too: refused (job_busy) while a deploy runs, and holds a drain', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 1));
    const v2 = web('web:v2', 1);
    const canary = await r.engine.deploy(v2, () => {}, { canary: true });
    expect(canary.ok).toBe(true);
    let started!: () => void;
    const progressed = new Promise<void>((resolve) => {
      started = resolve;
    });
    const running = r.engine.deploy(web('web:v3', 1), () => started());
    await progressed;
    await expect(r.engine.promote('demo', specVersion(v2))).rejects.toMatchObject({ code: 'job_busy' });
    await running;
    // The busy promotion changed nothing: a canary of v2 is no longer out (v3 replaced it).
    expect((await r.engine.status('demo')).canary).toBeNull();
    const promoted = r.engine.promote('demo', specVersion(web('web:v3', 1)));
    expect(r.engine.busy).toBe(1);
    await expect(promoted).resolves.toMatchObject({ promoted: false });
    expect(r.engine.busy).toBe(0);
  });

  it('a rollback to a version the tightened policy now refuses creates nothing', async () => {
    const r = rig({ policy: { ...DEFAULT_POLICY, allowHostBinds: true } });
    const risky = web('web:v1', 2, { volumes: ['/var/run/docker.sock:/var/run/docker.sock'] });
    await r.deploy(risky);
    await r.deploy(web('web:v2', 2));
    const before = r.ids();
    const history = await r.engine.history('demo');
    const tight = r.restart(DEFAULT_POLICY);
    const plan = await tight.plan('demo', { operation: 'rollback' });
    expect(plan).toMatchObject({ action: 'rollback', versionTo: specVersion(risky) });
    let created = 0;
    r.runtime.afterCall = (c) => {
      if (c.op === 'create') created++;
    };
    const ran = await r.rollback('demo');
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'invalid_request' } });
    expect(ran.result.message).toMatch(
      /binds a socket.*--allow-host-binds|runtime sockets.*--allow-host-binds/,
    );
    expect(ran.result.error?.path).toBe('container.0.volumes.0');
    expect(created).toBe(0);
    expect(r.ids()).toEqual(before);
    expect(await tight.history('demo')).toEqual(history);
  });
});

describe('a failure after the commit (the new version is what runs)', () => {
  it('is not reported as "the previous version was left running": restored false, committed, and the message says what runs', async () => {
    const r = rig();
    const v1 = web('web:v1');
    const v2 = web('web:v2');
    await r.deploy(v1);
    const old = r.ids();
    r.runtime.fault({ op: 'remove', when: (c) => c.id === old[1] });
    const ran = await r.deploy(v2);
    expect(ran.result).toMatchObject({
      ok: false,
      action: 'update',
      versionTo: specVersion(v2),
      restored: false,
      committed: true,
      running: 3,
      total: 4,
      error: { code: 'internal' },
    });
    expect(ran.result.message).toBe(
      `version ${specVersion(v2)} is running, but 1 old container could not be removed: remove ${old[1]!.slice(0, 12)}: injected fault`,
    );
    expect((await r.engine.history('demo')).current).toBe(specVersion(v2));
    expect(r.ids({ version: specVersion(v2), state: 'running' })).toHaveLength(3);
    // The old container that stayed is stopped, not serving; the next deploy removes it.
    expect(r.ids({ version: specVersion(v1) })).toEqual([old[1]]);
    expect(r.ids({ version: specVersion(v1), state: 'running' })).toEqual([]);
    const again = await r.deploy(v2);
    expect(again.result).toMatchObject({ ok: true, running: 3, total: 3 });
    expect(r.ids({ version: specVersion(v1) })).toEqual([]);
  });

  it('a scale whose final listing fails after the commit says the scaled version runs', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 2));
    // Deploy lists twice: to observe, then (after the commit) to count what runs.
    r.runtime.fault({ op: 'list', nth: 2 });
    const ran = await r.deploy(web('web:v1', 3));
    expect(ran.result).toMatchObject({
      ok: false,
      action: 'scale',
      restored: false,
      committed: true,
      running: 3,
    });
    expect(ran.result.message).toBe(
      `version ${specVersion(web('web:v1'))} is running, but the operation failed after committing it: list: injected fault`,
    );
    expect((await r.engine.history('demo')).entries[0]?.count).toBe(3);
  });

  it('a rollback whose old containers cannot be stopped says the rolled-back version runs', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 2));
    await r.deploy(web('web:v2', 2));
    r.runtime.fault({ op: 'stop', times: 2 });
    const ran = await r.rollback('demo');
    expect(ran.result).toMatchObject({ ok: false, action: 'rollback', restored: false, committed: true });
    expect(ran.result.message).toMatch(
      new RegExp(
        `^version ${specVersion(web('web:v1'))} is running, but 2 old containers could not be removed: stop`,
      ),
    );
    expect((await r.engine.history('demo')).current).toBe(specVersion(web('web:v1')));
  });
});
