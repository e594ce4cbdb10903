/**
 * Jobs served through the node proxy, on the job engine without Docker: a real JobEngine and a
 * real ProxyManager over the in-memory FakeProxy (which reads the Caddy configuration the manager
 * loads) and the fake runtime. The invariant every test checks: no container is stopped or
 * removed while a loaded route still sends it requests (`violations`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testEntry, testJob, testRoute, testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ProxySpec } from '../../src/protocol/job.js';
import { EngineRig } from '../../test/fakes/engine-rig.js';
import type { FakeProxy } from '../../test/fakes/proxy.js';

const rigs: EngineRig[] = [];
function rig(opts: ConstructorParameters<typeof EngineRig>[0] = {}): EngineRig & { proxy: FakeProxy } {
  const r = new EngineRig({ proxy: true, ...opts });
  rigs.push(r);
  return r as EngineRig & { proxy: FakeProxy };
}
afterEach(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

const route = (p: Partial<ProxySpec> = {}): ProxySpec => testRoute({ drainMs: 5000, ...p });
const shop = (image = 'web:v1', count = 2, p: Partial<ProxySpec> = {}, name = 'shop') =>
  testSpec(
    { image },
    { name, count, proxy: route(p), update: { healthyDeadlineMs: 10_000, minHealthyMs: 1000 } },
  );

const running = (r: EngineRig, version?: string) =>
  r
    .containers()
    .filter((c) => c.state === 'running' && (version === undefined || c.version === version))
    .map((c) => c.name)
    .sort();

describe('the switch through the node proxy', () => {
  it('fresh: the proxy starts, publishes the port and serves the new containers once it reaches them', async () => {
    const r = rig();
    const ran = await r.deploy(shop());
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    expect(r.proxy.ports).toEqual([80]);
    expect(r.proxy.routed().sort()).toEqual(running(r));
    const ev = r.proxy.events;
    const firstProbe = ev.findIndex((e) => e.startsWith('probe '));
    const served = ev.findIndex((e) => e.startsWith('load ') && e !== 'load ');
    expect(ev[0]).toBe('ensure 80');
    expect(firstProbe).toBeGreaterThan(0);
    expect(served).toBeGreaterThan(firstProbe);
    const status = await r.engine.status('shop');
    expect(status.route).toMatchObject({ route: ':80 shop.example.com → 8000', port: 80, targetPort: 8000 });
    expect(status.route?.upstreams.map((u) => u.healthy)).toEqual([true, true]);
    expect(status.route?.upstreams.map((u) => u.address).sort()).toEqual(running(r).map((n) => `${n}:8000`));
  });

  it('update: gate → the proxy reaches the new → route → commit → drain (until no request in flight) → stop', async () => {
    const r = rig();
    const v1 = shop('web:v1');
    await r.deploy(v1);
    const old = running(r);
    for (const name of old) r.proxy.inFlight.set(`${name}:8000`, 3);
    r.proxy.events.length = 0;
    const ran = await r.deploy(shop('web:v2'));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 2, total: 2 });
    const fresh = running(r);
    expect(fresh.some((n) => old.includes(n))).toBe(false);
    expect(r.proxy.routed().sort()).toEqual(fresh);
    expect(r.proxy.violations).toEqual([]);
    const ev = r.proxy.events;
    const probes = ev.flatMap((e, i) => (e.startsWith('probe ') ? [i] : []));
    const switched = ev.findIndex(
      (e) => e.startsWith('load ') && e.slice(5).split(',').sort().join(',') === fresh.join(','),
    );
    const polls = ev.flatMap((e, i) => (e === 'drain-poll' ? [i] : []));
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...probes)).toBeLessThan(switched);
    // Three requests in flight to each old container: polled until they finished (the old
    // containers stay named in the configuration, on the probe listener, until then), then
    // forgotten by one more load.
    expect(polls.length).toBe(4);
    expect(Math.min(...polls)).toBeGreaterThan(switched);
    expect(ev.slice(switched + 1).filter((e) => e.startsWith('load '))).toHaveLength(1);
    expect(ev.lastIndexOf(`load ${ev[switched]!.slice(5)}`)).toBeGreaterThan(Math.max(...polls));
    const messages = ran.lines.map((l) => l.message);
    const at = (prefix: string) => messages.findIndex((m) => m.startsWith(prefix));
    expect(at('Checking 2 new containers through the proxy')).toBeLessThan(
      at('Proxy: :80 shop.example.com → 8000 switched'),
    );
    expect(at('Proxy: :80 shop.example.com → 8000 switched')).toBeLessThan(at('Draining 2 old containers'));
    expect(at('Draining 2 old containers')).toBeLessThan(at('Stopping old containers'));
  });

  it('a drain waits no longer than the route’s drain time', async () => {
    const r = rig();
    await r.deploy(shop('web:v1'));
    for (const name of running(r)) r.proxy.inFlight.set(`${name}:8000`, 1_000_000);
    const before = r.clock.now();
    const ran = await r.deploy(shop('web:v2'));
    expect(ran.result.ok).toBe(true);
    expect(ran.lines.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^Drain time over: \d+ requests still in flight$/),
    );
    const drainAt = ran.at[ran.lines.findIndex((l) => l.message.startsWith('Draining'))]!;
    const stopAt = ran.at[ran.lines.findIndex((l) => l.message.startsWith('Stopping old containers'))]!;
    expect(stopAt - drainAt).toBeGreaterThanOrEqual(5000);
    expect(stopAt - before).toBeLessThan(60_000);
    expect(r.proxy.violations).toEqual([]);
  });

  it('an unhealthy update never touches the route', async () => {
    const r = rig({ runtime: { healthcheckImages: new Set(['web:bad']) } });
    r.runtime.scriptImage('web:bad', { kind: 'unhealthy', afterMs: 250 });
    await r.deploy(shop('web:v1'));
    const old = running(r);
    const loads = r.proxy.loads;
    const ran = await r.deploy(shop('web:bad'));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'unhealthy' } });
    expect(r.proxy.loads).toBe(loads);
    expect(r.proxy.routed().sort()).toEqual(old);
    expect(running(r)).toEqual(old);
    expect(r.proxy.violations).toEqual([]);
  });

  it('a new container the proxy cannot reach healthy fails the update: route unchanged, probe-only entries gone', async () => {
    const r = rig();
    await r.deploy(shop('web:v1'));
    const old = running(r);
    // Every container not running yet answers 503 on /up through the proxy.
    const status = r.proxy.probeStatus;
    const origProbe = r.proxy.probe.bind(r.proxy);
    r.proxy.probe = async (name: string) => (old.includes(name) ? origProbe(name) : 503);
    const ran = await r.deploy(shop('web:v2'));
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'unhealthy' } });
    expect(ran.result.message).toMatch(
      /the proxy could not reach 2 new containers healthy \(.* answered 503 on \/up\)/,
    );
    expect(r.proxy.routed().sort()).toEqual(old);
    expect(running(r)).toEqual(old);
    expect(status.size).toBe(0);
    expect(r.proxy.violations).toEqual([]);
  });

  it('a proxy refusing the new routes fails the update with the old route serving', async () => {
    const r = rig();
    await r.deploy(shop('web:v1'));
    const old = running(r);
    // The probe-only load passes, the switch is refused.
    const load = r.proxy.load.bind(r.proxy);
    let n = 0;
    r.proxy.load = async (config) => {
      if (++n === 2) throw new Error('refused (fake)');
      return load(config);
    };
    const ran = await r.deploy(shop('web:v2'));
    expect(ran.result).toMatchObject({ ok: false, restored: true });
    expect(ran.result.message).toContain('configuring dokkup-proxy: refused (fake)');
    expect(r.proxy.routed().sort()).toEqual(old);
    expect(running(r)).toEqual(old);
    expect(r.proxy.violations).toEqual([]);
  });

  it('scale 2 → 4 → 1 and rollback: the route follows, containers leave it before they stop', async () => {
    const r = rig();
    const v1 = shop('web:v1');
    await r.deploy(v1);
    expect((await r.deploy(shop('web:v1', 4))).result).toMatchObject({
      ok: true,
      action: 'scale',
      running: 4,
    });
    expect(r.proxy.routed().sort()).toEqual(running(r));
    expect(r.proxy.routed()).toHaveLength(4);
    expect((await r.deploy(shop('web:v1', 1))).result).toMatchObject({
      ok: true,
      action: 'scale',
      running: 1,
    });
    expect(r.proxy.routed()).toEqual(running(r));
    await r.deploy(shop('web:v2', 1));
    expect((await r.rollback('shop')).result).toMatchObject({
      ok: true,
      action: 'rollback',
      versionTo: specVersion(v1),
    });
    expect(r.proxy.routed()).toEqual(running(r, specVersion(v1)));
    expect(r.proxy.violations).toEqual([]);
  });

  it('stop and purge: the route goes first, requests drain, then the containers stop', async () => {
    const r = rig();
    await r.deploy(shop());
    const ran = await r.stop('shop');
    expect(ran.result).toMatchObject({ ok: true, action: 'stop' });
    expect(r.proxy.routed()).toEqual([]);
    expect((await r.engine.status('shop')).route).toBeUndefined();
    expect(r.proxy.violations).toEqual([]);
    // Started again (same version): the route comes back to the started containers.
    const again = await r.deploy(shop());
    expect(again.result).toMatchObject({ ok: true, action: 'start' });
    expect(r.proxy.routed().sort()).toEqual(running(r));
    expect((await r.stop('shop', true)).result).toMatchObject({ ok: true, action: 'purge', total: 0 });
    expect(r.proxy.routed()).toEqual([]);
    expect(r.proxy.violations).toEqual([]);
  });

  it('two jobs share a port by host; the same route for a third is refused naming its owner, before anything runs', async () => {
    const r = rig();
    await r.deploy(shop('web:v1', 1, { host: 'a.example.com' }, 'a'));
    await r.deploy(shop('web:v2', 1, { host: 'b.example.com' }, 'b'));
    expect(r.proxy.routed()).toHaveLength(2);
    const c = shop('web:v1', 1, { host: 'a.example.com' }, 'c');
    await expect(r.engine.plan('c', { operation: 'deploy', spec: c })).rejects.toThrow(
      'port 80 host a.example.com is already routed to job "a" on this node',
    );
    const ran = await r.deploy(c);
    expect(ran.result).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(r.containers().filter((x) => x.name.startsWith('c-'))).toEqual([]);
    expect(r.proxy.routed()).toHaveLength(2);
  });

  it('a job without a proxy: block never touches the proxy', async () => {
    const r = rig();
    await r.deploy(testSpec({ image: 'web:v1' }, { name: 'plain', count: 2 }));
    await r.deploy(testSpec({ image: 'web:v2' }, { name: 'plain', count: 2 }));
    await r.stop('plain', true);
    expect(r.proxy.events).toEqual([]);
  });

  it('with several entries only the target entry joins the proxy network and the route', async () => {
    const r = rig();
    const spec = testJob([testEntry({ name: 'web' }), testEntry({ name: 'side', image: 'side:v1' })], {
      name: 'duo',
      count: 2,
      proxy: route({ entry: 'web' }),
    });
    expect((await r.deploy(spec)).result).toMatchObject({ ok: true, running: 4 });
    expect(r.proxy.routed().sort()).toEqual(
      r
        .containers()
        .filter((c) => c.entry === 'web')
        .map((c) => c.name)
        .sort(),
    );
  });

  it('a restarted agent reconciles the routes from its state: an update it died in is not routed', async () => {
    const r = rig();
    await r.deploy(shop('web:v1'));
    const old = running(r);
    // The agent dies at the commit: the route had switched to the new containers already.
    r.store.dieAtNextWrite('before');
    const ran = await r.deploy(shop('web:v2')).catch((e: Error) => e);
    expect(ran).toBeDefined();
    expect(r.proxy.routed().some((n) => !old.includes(n))).toBe(true);
    r.restart();
    await r.engine.reconcileRoutes();
    expect(r.proxy.routed().sort()).toEqual(old);
    // The next run finishes the update through the same switch.
    const done = await r.deploy(shop('web:v2'));
    expect(done.result).toMatchObject({ ok: true, action: 'update', running: 2, total: 2 });
    expect(r.proxy.routed().sort()).toEqual(running(r));
    expect(r.proxy.violations).toEqual([]);
  });
});

describe('the proxy container', () => {
  it('publishes a new port by restarting (the plan warns), and keeps the ports it had', async () => {
    const r = rig();
    await r.deploy(shop('web:v1', 1, {}, 'a'));
    expect(r.proxy.ports).toEqual([80]);
    const b = shop('web:v1', 1, { port: 8080, host: null }, 'b');
    const plan = await r.engine.plan('b', { operation: 'deploy', spec: b });
    expect(plan.warnings).toContain(
      "the node's proxy restarts to publish port 8080: its other ports (:80) do not answer for a moment",
    );
    expect((await r.deploy(b)).result.ok).toBe(true);
    expect(r.proxy.ports).toEqual([80, 8080]);
    expect(r.proxy.events.filter((e) => e.startsWith('ensure '))).toEqual(['ensure 80', 'ensure 80,8080']);
    // A route on a port it publishes already needs no restart.
    const c = shop('web:v1', 1, { host: 'c.example.com' }, 'c');
    expect((await r.engine.plan('c', { operation: 'deploy', spec: c })).warnings).toEqual([]);
    await r.deploy(c);
    await r.stop('b', true);
    expect(r.proxy.ports).toEqual([80, 8080]);
    expect(r.proxy.events.filter((e) => e.startsWith('ensure '))).toHaveLength(2);
    expect((await r.engine.info()).proxy).toEqual({
      image: 'caddy:test',
      state: 'running',
      ports: [80, 8080],
      routes: 2,
    });
  });
});
