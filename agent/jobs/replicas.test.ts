/**
 * Jobs with several containers (entries), on the job engine without Docker: a real JobEngine on
 * the fake runtime with a fake clock. A replica is one container of every entry; every operation
 * acts on whole replicas. Each test names the rule it proves.
 */
import { describe, expect, it } from 'vitest';
import { LABEL_ENTRY, LABEL_REPLICA, LABEL_VERSION } from '../../src/core/labels.js';
import { testEntry, testJob } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import { type EngineRig, engineRigs, type Ran, type RigContainer } from '../../test/fakes/engine-rig.js';

const rig = engineRigs();

/** An HTTP server (`web`) and a sidecar (`side`) on the user network `app`. */
function pair(
  images: { web?: string; side?: string } = {},
  count = 2,
  more: { web?: Partial<ContainerSpec>; side?: Partial<ContainerSpec> } = {},
): JobSpec {
  return testJob(
    [
      testEntry({
        name: 'web',
        image: images.web ?? 'web:v1',
        ports: [{ in: 8000, protocol: 'tcp', out: null }],
        networks: ['app'],
        ...more.web,
      }),
      testEntry({ name: 'side', image: images.side ?? 'side:v1', networks: ['app'], ...more.side }),
    ],
    { count, update: { healthyDeadlineMs: 20_000, minHealthyMs: 1000 } },
  );
}

const phases = (ran: Ran) => ran.lines.map((l) => l.phase).filter((p, i, all) => p !== all[i - 1]);

/** Every replica of the rig: one container of each entry, one version, one replica label. */
function expectWholeReplicas(r: EngineRig, spec: JobSpec): void {
  const replicas = r.replicas();
  expect(replicas).toHaveLength(spec.count);
  for (const replica of replicas) {
    expect(replica.map((c) => c.entry).sort()).toEqual(spec.container.map((e) => e.name).sort());
    expect(new Set(replica.map((c) => c.version))).toEqual(new Set([specVersion(spec)]));
    expect(replica.every((c) => c.state === 'running')).toBe(true);
  }
}

/** No replica label groups containers of two versions (checked after every runtime call). */
function neverMixed(r: EngineRig): () => void {
  const broken: string[] = [];
  r.runtime.afterCall = () => {
    for (const replica of r.replicas()) {
      const versions = new Set(replica.map((c) => c.version));
      if (versions.size > 1) broken.push(replica.map((c) => `${c.entry}@${c.version}`).join(' '));
    }
  };
  return () => {
    r.runtime.afterCall = null;
    expect(broken).toEqual([]);
  };
}

const ids = (cs: RigContainer[]) => cs.map((c) => c.id).sort();

describe('a two-entry job: each replica runs one container of every entry', () => {
  it('fresh: count replicas, named <job>-<entry>-<replica>, labelled with entry and replica, aliased by entry', async () => {
    const r = rig();
    const spec = pair({}, 2);
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec });
    expect(plan).toMatchObject({ action: 'fresh', desired: 4, versionTo: specVersion(spec) });
    const ran = await r.deploy(spec);
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 4, total: 4 });
    expectWholeReplicas(r, spec);
    for (const c of r.runtime.all()) {
      const entry = c.labels[LABEL_ENTRY]!;
      const replica = c.labels[LABEL_REPLICA]!;
      expect(replica).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(c.name).toBe(`demo-${entry}-${replica}`);
      expect(c.labels[LABEL_VERSION]).toBe(specVersion(spec));
      expect(c.aliases).toEqual([entry]);
    }
    // Both images were pulled, once each.
    expect(ran.lines.filter((l) => /^Pulled /.test(l.message)).map((l) => l.message)).toEqual([
      'Pulled web:v1',
      'Pulled side:v1',
    ]);
    expect(ran.lines.some((l) => l.message === 'Starting container (4/4)')).toBe(true);
    const status = await r.engine.status('demo');
    expect(status).toMatchObject({ version: specVersion(spec), desired: 4, running: 4, total: 4 });
    expect(status.entries).toEqual([
      { name: 'web', image: 'web:v1', desired: 2, running: 2, total: 2 },
      { name: 'side', image: 'side:v1', desired: 2, running: 2, total: 2 },
    ]);
    expect(status.containers.map((c) => c.entry).sort()).toEqual(['side', 'side', 'web', 'web']);
    expect((await r.deploy(spec)).result).toMatchObject({ ok: true, action: 'noop' });
  });

  it('a one-entry job keeps the 0.3 shape: <job>-<uuid>, no entry or replica label, no alias', async () => {
    const r = rig();
    const spec = testJob([testEntry({ image: 'web:v1', networks: ['app'] })], { count: 2 });
    await r.deploy(spec);
    for (const c of r.runtime.all()) {
      expect(c.name).toMatch(/^demo-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Object.keys(c.labels).sort()).toEqual([LABEL_VERSION, 'dokkup.job.name'].sort());
      expect(c.aliases).toEqual([]);
    }
    expect((await r.engine.status('demo')).entries).toBeUndefined();
  });

  it('updating one entry replaces whole replicas start-first: never a replica of two versions, never fewer than count whole', async () => {
    const r = rig();
    const v1 = pair({}, 2);
    const v2 = pair({ side: 'side:v2' }, 2);
    await r.deploy(v1);
    const old = ids(r.containers());
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({ action: 'update', strategy: 'start-first', desired: 4 });
    expect(plan.diff?.entries).toEqual([
      {
        name: 'side',
        change: 'changed',
        image: 'side:v2',
        diff: {
          image: { from: 'side:v1', to: 'side:v2' },
          environment: { added: [], removed: [], changed: [] },
          labels: { added: [], removed: [], changed: [] },
          other: [],
        },
      },
    ]);
    const check = neverMixed(r);
    // And at every call, some version has both replicas whole and running.
    let floor = Number.POSITIVE_INFINITY;
    const mixedCheck = r.runtime.afterCall!;
    r.runtime.afterCall = (call) => {
      mixedCheck(call);
      const whole = new Map<string, number>();
      for (const replica of r.replicas()) {
        if (replica.length === 2 && replica.every((c) => c.state === 'running'))
          whole.set(replica[0]!.version!, (whole.get(replica[0]!.version!) ?? 0) + 1);
      }
      floor = Math.min(floor, Math.max(0, ...whole.values()));
    };
    const ran = await r.deploy(v2);
    check();
    expect(floor).toBe(2);
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 4, total: 4 });
    expect(phases(ran)).toEqual(['pull', 'start', 'health', 'stop', 'remove']);
    expectWholeReplicas(r, v2);
    expect(ids(r.containers()).some((id) => old.includes(id))).toBe(false);
  });

  it('a failure in the sidecar only removes every new container; the old replicas keep running with the same IDs', async () => {
    const r = rig();
    const v1 = pair({}, 2);
    await r.deploy(v1);
    const before = ids(r.containers());
    const history = await r.engine.history('demo');
    r.runtime.scriptImage('side:bad', { kind: 'exits', afterMs: 300, code: 7 });
    const ran = await r.deploy(pair({ side: 'side:bad' }, 2));
    expect(ran.result).toMatchObject({ ok: false, action: 'update', restored: true, running: 4, total: 4 });
    expect(ran.result.message).toMatch(/^new container [0-9a-f]{12} \(side\) exited with code 7$/);
    expect(ids(r.containers())).toEqual(before);
    expect(r.containers().every((c) => c.state === 'running' && c.version === specVersion(v1))).toBe(true);
    expect(await r.engine.history('demo')).toEqual(history);
  });

  it('the gate keeps watching a container that passed: a server healthy at once that dies while the sidecar still waits fails the update', async () => {
    const r = rig({ runtime: { healthcheckImages: new Set(['web:v2']) } });
    await r.deploy(pair({}, 1));
    const before = ids(r.containers());
    // web:v2 is healthy at its first inspection, then exits at 300 ms; the sidecar (no health
    // check) needs 1 s running: the gate is still open when the server dies.
    r.runtime.scriptImage('web:v2', { kind: 'exits', afterMs: 300, code: 1 });
    const ran = await r.deploy(pair({ web: 'web:v2' }, 1));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'start_failed' } });
    expect(ran.result.message).toMatch(/\(web\) exited with code 1/);
    expect(ran.lines.some((l) => l.message === 'Waiting for containers to be healthy (1/2)')).toBe(true);
    expect(ids(r.containers())).toEqual(before);
  });

  it('a create failing for one entry of the third replica removes the other new containers, the web ones too', async () => {
    const r = rig();
    await r.deploy(pair({}, 2));
    const before = ids(r.containers());
    // The 6th create is the sidecar of the third new replica (creates run in replica order).
    r.runtime.failCreate(6);
    const ran = await r.deploy(pair({ web: 'web:v2' }, 3));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'create_failed' } });
    expect(ids(r.containers())).toEqual(before);
  });

  it('scale up adds whole replicas beside the kept ones; scale down removes whole replicas, newest first', async () => {
    const r = rig();
    await r.deploy(pair({}, 2));
    const first = ids(r.containers());
    const up = await r.deploy(pair({}, 3));
    expect(up.result).toMatchObject({ ok: true, action: 'scale', running: 6, total: 6 });
    expectWholeReplicas(r, pair({}, 3));
    expect(first.every((id) => ids(r.containers()).includes(id))).toBe(true);
    const down = await r.deploy(pair({}, 1));
    expect(down.result).toMatchObject({ ok: true, action: 'scale', running: 2, total: 2 });
    expectWholeReplicas(r, pair({}, 1));
    // The oldest replica stays.
    expect(first).toEqual(expect.arrayContaining(ids(r.containers())));
  });

  it('a replica with one stopped container: the next run starts just that container', async () => {
    const r = rig();
    const spec = pair({}, 2);
    await r.deploy(spec);
    const side = r.containers().find((c) => c.entry === 'side')!;
    await r.runtime.stopContainer(side.id, 0);
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec });
    expect(plan).toMatchObject({ action: 'start', running: 3, desired: 4 });
    const before = ids(r.containers());
    expect((await r.deploy(spec)).result).toMatchObject({ ok: true, action: 'start', running: 4 });
    expect(ids(r.containers())).toEqual(before);
  });

  it('rollback brings every entry of the earlier version back, in whole replicas', async () => {
    const r = rig();
    const v1 = pair({}, 2);
    const v2 = pair({ web: 'web:v2', side: 'side:v2' }, 2);
    await r.deploy(v1);
    await r.deploy(v2);
    const history = await r.engine.history('demo');
    expect(history.entries.map((e) => e.entries)).toEqual([
      [
        { name: 'web', image: 'web:v1' },
        { name: 'side', image: 'side:v1' },
      ],
      [
        { name: 'web', image: 'web:v2' },
        { name: 'side', image: 'side:v2' },
      ],
    ]);
    const check = neverMixed(r);
    const ran = await r.rollback('demo');
    check();
    expect(ran.result).toMatchObject({
      ok: true,
      action: 'rollback',
      versionTo: specVersion(v1),
      running: 4,
    });
    expectWholeReplicas(r, v1);
    expect(new Set(r.runtime.all().map((c) => c.image))).toEqual(new Set(['web:v1', 'side:v1']));
  });

  it('stop keeps every container of every entry, each stopped with its own entry grace period; purge removes them all', async () => {
    const r = rig();
    const spec = pair({}, 2, { side: { stopGracePeriodMs: 2000 } });
    await r.deploy(spec);
    const ran = await r.stop('demo');
    expect(ran.result).toMatchObject({ ok: true, action: 'stop', running: 0, total: 4 });
    const graceOf = new Map(r.runtime.all().map((c) => [c.id, c.labels[LABEL_ENTRY]]));
    const stops = r.runtime.stops.map((s) => [graceOf.get(s.id), s.timeoutSec]).sort();
    expect(stops).toEqual([
      ['side', 2],
      ['side', 2],
      ['web', 10],
      ['web', 10],
    ]);
    expect(ran.lines[0]?.message).toBe('Stopping containers (0/4, grace 2s to 10s)');
    const purged = await r.stop('demo', true);
    expect(purged.result).toMatchObject({ ok: true, action: 'purge', total: 0 });
    expect(r.containers()).toEqual([]);
  });
});

describe('fixed host port in one entry: the stop-first path covers every entry', () => {
  const fixed = (side: string) =>
    pair({ side }, 1, { web: { ports: [{ in: 8000, protocol: 'tcp', out: 8080 }] } });

  it('stops the web and the sidecar of the old replica before the new replica starts', async () => {
    const r = rig();
    await r.deploy(fixed('side:v1'));
    const old = ids(r.containers());
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec: fixed('side:v2') });
    expect(plan.strategy).toBe('stop-first');
    const order: string[] = [];
    r.runtime.afterCall = (call) => {
      if (call.op === 'stop' || call.op === 'start')
        order.push(`${call.op}:${old.includes(call.id ?? '') ? 'old' : 'new'}`);
    };
    const ran = await r.deploy(fixed('side:v2'));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 2, total: 2 });
    expect(order.slice(0, 4)).toEqual(['stop:old', 'stop:old', 'start:new', 'start:new']);
  });

  it('a sidecar of the new version that crashes: the new replica goes, both old containers start again', async () => {
    const r = rig();
    await r.deploy(fixed('side:v1'));
    const old = ids(r.containers());
    r.runtime.scriptImage('side:bad', { kind: 'exits', afterMs: 200, code: 3 });
    const ran = await r.deploy(fixed('side:bad'));
    expect(ran.result).toMatchObject({ ok: false, restored: true });
    expect(phases(ran)).toEqual(['pull', 'stop', 'start', 'health', 'cleanup', 'restore']);
    expect(ids(r.containers())).toEqual(old);
    expect(r.containers().every((c) => c.state === 'running')).toBe(true);
  });
});

describe('a kill -9 in the middle of making replicas, then a fresh agent', () => {
  it('a half-made replica of the current version (a scale cut short) is debris: removed, and a whole one made', async () => {
    const r = rig();
    const spec = pair({}, 2);
    await r.deploy(spec);
    // Scale to 3: the process dies at the second create (the new replica's sidecar).
    r.runtime.dieAt('create', 2);
    expect((await r.deploy(pair({}, 3))).result.ok).toBe(false);
    const fresh = r.restart();
    const half = r.replicas().filter((replica) => replica.length === 1);
    expect(half).toHaveLength(1);
    expect(half[0]![0]!.entry).toBe('web');
    const plan = await fresh.plan('demo', { operation: 'deploy', spec: pair({}, 3) });
    expect(plan).toMatchObject({ action: 'scale', changes: true, desired: 6 });
    const ran = await r.deploy(pair({}, 3));
    expect(ran.result).toMatchObject({ ok: true, running: 6, total: 6 });
    expect(phases(ran)[0]).toBe('cleanup');
    expect(ids(r.containers())).not.toContain(half[0]![0]!.id);
    expectWholeReplicas(r, pair({}, 3));
  });

  it('dying during an update after the first containers of the new version started: one deploy converges', async () => {
    const r = rig();
    await r.deploy(pair({}, 2));
    r.runtime.dieAt('start', 3);
    expect((await r.deploy(pair({ side: 'side:v2' }, 2))).result.ok).toBe(false);
    r.restart();
    const ran = await r.deploy(pair({ side: 'side:v2' }, 2));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 4, total: 4 });
    expectWholeReplicas(r, pair({ side: 'side:v2' }, 2));
  });
});
