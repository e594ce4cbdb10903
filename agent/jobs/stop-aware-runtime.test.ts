/**
 * A container list that lags behind stops (Docker 26: right after a stop returned its list can
 * still say `running` while inspect says `exited`), on the job engine without Docker: the fake
 * runtime's `lagListAfterStop` lists each stopped container as it was before its stop. Results,
 * statuses and the next plan must say what really is (the fake's own record, `r.containers()`).
 */
import { describe, expect, it } from 'vitest';
import { LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import { FakeRuntime } from '../../test/fakes/container-runtime.js';
import { type EngineRig, engineRigs } from '../../test/fakes/engine-rig.js';
import { StopAwareRuntime } from './stop-aware-runtime.js';

const rig = engineRigs();

const web = (image: string, count: number, container: Partial<ContainerSpec> = {}): JobSpec =>
  testSpec(
    { image, ports: [{ in: 8000, protocol: 'tcp', out: null }], ...container },
    { count, update: { healthyDeadlineMs: 20_000, minHealthyMs: 1000 } },
  );
const fixedPort = (image: string): JobSpec =>
  web(image, 1, { ports: [{ in: 8000, protocol: 'tcp', out: 8080 }] });

/** What the fake's (lagging) list itself says runs: proof the test runs against a stale list. */
async function listedRunning(r: EngineRig): Promise<number> {
  const listed = await r.runtime.listContainers({ [LABEL_JOB]: 'demo' });
  return listed.filter((c) => c.state === 'running').length;
}

describe('a list that still says running after a stop', () => {
  it("a stop's result, the job status and the job list right after it count the stopped containers as not running", async () => {
    const r = rig();
    await r.deploy(web('web:v1', 2));
    r.runtime.lagListAfterStop();
    const ran = await r.stop('demo');
    expect(r.ids({ state: 'running' })).toEqual([]);
    expect(await listedRunning(r)).toBe(2);
    expect(ran.result).toMatchObject({ ok: true, action: 'stop', running: 0, total: 2 });
    const status = await r.engine.status('demo');
    expect(status).toMatchObject({ running: 0, total: 2 });
    expect(status.containers.map((c) => [c.state, c.health, c.status])).toEqual([
      ['exited', 'none', 'Exited (0)'],
      ['exited', 'none', 'Exited (0)'],
    ]);
    expect((await r.engine.listJobs()).jobs).toMatchObject([{ name: 'demo', running: 0, total: 2 }]);
    expect((await r.engine.info()).containers).toEqual({ running: 0, total: 2 });
  });

  it('run right after a stop starts the containers (the plan is not "already up to date")', async () => {
    const r = rig();
    const spec = web('web:v1', 2);
    await r.deploy(spec);
    const ids = r.ids();
    r.runtime.lagListAfterStop();
    await r.stop('demo');
    expect(await listedRunning(r)).toBe(2);
    const plan = await r.engine.plan('demo', { operation: 'deploy', spec });
    expect(plan).toMatchObject({ action: 'start', running: 0, changes: true });
    const ran = await r.deploy(spec);
    expect(ran.result).toMatchObject({ ok: true, action: 'start', running: 2, total: 2 });
    expect(r.ids({ state: 'running' })).toEqual(ids);
  });

  it('a scale-down right after a stop starts the one it keeps, and its result says what runs', async () => {
    const r = rig();
    await r.deploy(web('web:v1', 3));
    r.runtime.lagListAfterStop();
    await r.stop('demo');
    const ran = await r.deploy(web('web:v1', 1));
    expect(ran.result).toMatchObject({ ok: true, action: 'scale', running: 1, total: 1 });
    expect(r.containers().map((c) => c.state)).toEqual(['running']);
  });

  it('a failed stop-first update right after a stop leaves the stopped job stopped (the restore does not start it)', async () => {
    const r = rig();
    const v1 = fixedPort('web:v1');
    await r.deploy(v1);
    const old = r.ids();
    r.runtime.lagListAfterStop();
    await r.stop('demo');
    r.runtime.scriptImage('web:bad', { kind: 'exits', afterMs: 200, code: 3 });
    const ran = await r.deploy(fixedPort('web:bad'));
    expect(ran.result).toMatchObject({ ok: false, action: 'update', running: 0, total: 1 });
    expect(r.ids()).toEqual(old);
    expect(r.ids({ state: 'running' })).toEqual([]);
    expect((await r.engine.history('demo')).current).toBe(specVersion(v1));
  });

  it('a stop-first update whose restore fails counts the old containers it stopped as not running', async () => {
    const r = rig();
    const v1 = fixedPort('web:v1');
    await r.deploy(v1);
    r.runtime.lagListAfterStop();
    r.runtime.scriptImage('web:bad', { kind: 'exits', afterMs: 200, code: 3 });
    r.runtime.fault({
      op: 'start',
      when: (c) => c.container?.labels[LABEL_VERSION] === specVersion(v1),
    });
    const ran = await r.deploy(fixedPort('web:bad'));
    expect(r.ids({ state: 'running' })).toEqual([]);
    expect(await listedRunning(r)).toBe(1);
    expect(ran.result).toMatchObject({ ok: false, restored: false, running: 0, total: 1 });
  });
});

describe('StopAwareRuntime: the list, checked against inspect only for the containers it stopped', () => {
  async function stoppedOne(): Promise<{ fake: FakeRuntime; runtime: StopAwareRuntime; id: string }> {
    const fake = new FakeRuntime();
    const runtime = new StopAwareRuntime(fake);
    const id = await runtime.createContainer({
      name: 'c1',
      spec: testSpec().container[0]!,
      labels: { a: '1' },
    });
    await runtime.startContainer(id);
    return { fake, runtime, id };
  }
  const inspects = (fake: FakeRuntime, calls: string[]) => {
    fake.afterCall = (call) => calls.push(call.op);
  };

  it('no inspect while the list is right (an engine whose list does not lag costs nothing more)', async () => {
    const { fake, runtime, id } = await stoppedOne();
    await runtime.stopContainer(id, 10);
    const calls: string[] = [];
    inspects(fake, calls);
    expect((await runtime.listContainers({ a: '1' })).map((c) => c.state)).toEqual(['exited']);
    expect(calls).toEqual(['list']);
  });

  it('once the list caught up, its containers are no longer inspected', async () => {
    const { fake, runtime, id } = await stoppedOne();
    fake.lagListAfterStop();
    await runtime.stopContainer(id, 10);
    const calls: string[] = [];
    inspects(fake, calls);
    expect((await runtime.listContainers({ a: '1' })).map((c) => c.state)).toEqual(['exited']);
    expect(calls).toEqual(['list', 'inspect']);
    fake.catchUpList();
    await runtime.listContainers({ a: '1' });
    await runtime.listContainers({ a: '1' });
    expect(calls).toEqual(['list', 'inspect', 'list', 'list']);
  });

  it('a container started again after its stop, by someone else, is listed running', async () => {
    const { fake, runtime, id } = await stoppedOne();
    fake.lagListAfterStop();
    await runtime.stopContainer(id, 10);
    await fake.startContainer(id); // `docker start` by hand, not through the agent
    expect((await runtime.listContainers({ a: '1' })).map((c) => c.state)).toEqual(['running']);
  });

  it('a container removed between the list and its inspect is left out; Docker failing fails the list', async () => {
    const { fake, runtime, id } = await stoppedOne();
    fake.lagListAfterStop();
    await runtime.stopContainer(id, 10);
    fake.fault({ op: 'inspect', when: (c) => c.id === id });
    await expect(runtime.listContainers({ a: '1' })).rejects.toThrow(/injected fault/);
    // `docker rm` by hand, right after the list answered (the fake removes it synchronously).
    fake.afterCall = (call) => {
      if (call.op === 'list') void fake.removeContainer(id);
    };
    expect(await runtime.listContainers({ a: '1' })).toEqual([]);
    expect(fake.all()).toEqual([]);
  });
});
