/**
 * The planner over jobs with several entries: count is a number of replicas (one container of
 * every entry each), kept, started, created and removed whole. Pure: observations in, steps out.
 */
import { describe, expect, it } from 'vitest';
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import { recordDeploy } from './history.js';
import { type Observation, type ObservedContainer, planDeploy, planStop } from './planner.js';
import { groupReplicas, isWhole } from './replicas.js';
import { testEntry, testJob } from './spec.fixture.js';

const entries = (side: Partial<ContainerSpec> = {}, web: Partial<ContainerSpec> = {}) => [
  testEntry({ name: 'web', image: 'web:v1', ...web }),
  testEntry({ name: 'side', image: 'side:v1', ...side }),
];
const job = (count = 2, side: Partial<ContainerSpec> = {}, web: Partial<ContainerSpec> = {}): JobSpec =>
  testJob(entries(side, web), { count });

let seq = 0;
/** The containers of one replica of `version` (entries `web` and `side` unless given). */
function replica(
  version: string,
  opts: { entries?: string[]; state?: Partial<Record<string, ObservedContainer['state']>>; at?: number } = {},
): ObservedContainer[] {
  const key = `r${++seq}`;
  const at = opts.at ?? seq;
  return (opts.entries ?? ['web', 'side']).map((entry) => ({
    id: `${key}-${entry}`,
    name: `demo-${entry}-${key}`,
    version,
    entry,
    replica: key,
    state: opts.state?.[entry] ?? 'running',
    health: 'none',
    imageId: `sha256:${entry}`,
    createdAt: at,
  }));
}

const history = (version: string, spec: JobSpec) => recordDeploy(null, spec, version, '2026-01-01T00:00:00Z');
const obs = (containers: ObservedContainer[], state: Observation['state'] = null): Observation => ({
  job: 'demo',
  state,
  containers,
});

describe('groupReplicas / isWhole', () => {
  it('groups by the replica label; a container without one is a replica of its own', () => {
    const a = replica('aaaaaaa');
    const loner: ObservedContainer = { ...a[0]!, id: 'x', replica: null, entry: null };
    const groups = groupReplicas([...a, loner]);
    expect(groups.map((g) => g.containers.map((c) => c.id))).toEqual([[a[0]!.id, a[1]!.id], ['x']]);
    expect(groups[1]!.key).toBe('container:x');
  });

  it('whole = exactly one container of every entry, one version', () => {
    const spec = job();
    expect(isWhole(groupReplicas(replica('a'))[0]!, spec)).toBe(true);
    expect(isWhole(groupReplicas(replica('a', { entries: ['web'] }))[0]!, spec)).toBe(false);
    expect(isWhole(groupReplicas(replica('a', { entries: ['web', 'web'] }))[0]!, spec)).toBe(false);
    expect(isWhole(groupReplicas(replica('a', { entries: ['web', 'side', 'old'] }))[0]!, spec)).toBe(false);
    const mixed = replica('a');
    mixed[1] = { ...mixed[1]!, version: 'b' };
    expect(isWhole(groupReplicas(mixed)[0]!, spec)).toBe(false);
  });
});

describe('planDeploy with two entries', () => {
  it('fresh: count replicas to create, desired counts containers (count × entries)', () => {
    const p = planDeploy(obs([]), job(3), 'aaaaaaa');
    expect(p.steps.create).toBe(3);
    expect(p.plan).toMatchObject({ action: 'fresh', desired: 6, running: 0, total: 0 });
  });

  it('the same version, whole and running: nothing to do', () => {
    const spec = job(2);
    const p = planDeploy(
      obs([...replica('aaaaaaa'), ...replica('aaaaaaa')], history('aaaaaaa', spec)),
      spec,
      'aaaaaaa',
    );
    expect(p.plan).toMatchObject({ action: 'noop', changes: false, running: 4, total: 4, desired: 4 });
  });

  it('a half-made replica of the target version is a leftover, removed first, and a whole one is created', () => {
    const spec = job(2);
    const whole = replica('aaaaaaa');
    const half = replica('aaaaaaa', { entries: ['web'] });
    const p = planDeploy(obs([...whole, ...half], history('aaaaaaa', spec)), spec, 'aaaaaaa');
    expect(p.steps.removeLeftovers).toEqual([half[0]!.id]);
    expect(p.steps.create).toBe(1);
    expect(p.steps.removeExtra).toEqual([]);
    expect(p.plan).toMatchObject({ action: 'scale', changes: true });
  });

  it('scale down removes whole replicas, newest first, stopped ones before running ones', () => {
    const spec = job(1);
    const old = replica('aaaaaaa', { at: 10 });
    const newer = replica('aaaaaaa', { at: 20 });
    const stopped = replica('aaaaaaa', { at: 5, state: { side: 'exited' } });
    const p = planDeploy(obs([...old, ...newer, ...stopped], history('aaaaaaa', job(3))), spec, 'aaaaaaa');
    expect(p.steps.removeExtra).toEqual([...newer, ...stopped].map((c) => c.id));
    expect(p.steps.create).toBe(0);
    expect(p.steps.startExisting).toEqual([]);
  });

  it('a kept replica with a stopped container: only that container is started', () => {
    const spec = job(2);
    const a = replica('aaaaaaa', { state: { side: 'exited' } });
    const b = replica('aaaaaaa');
    const p = planDeploy(obs([...a, ...b], history('aaaaaaa', spec)), spec, 'aaaaaaa');
    expect(p.plan.action).toBe('start');
    expect(p.steps.startExisting).toEqual([a[1]!.id]);
  });

  it('a change in one entry is a new version: every container of every entry is replaced', () => {
    const spec = job(2);
    const running = [...replica('aaaaaaa'), ...replica('aaaaaaa')];
    const p = planDeploy(obs(running, history('aaaaaaa', spec)), job(2, { image: 'side:v2' }), 'bbbbbbb');
    expect(p.plan).toMatchObject({ action: 'update', strategy: 'start-first', desired: 4 });
    expect(p.steps.replace).toEqual(running.map((c) => c.id));
    expect(p.steps.create).toBe(2);
  });

  it('a fixed host port in any entry makes the update stop-first, for the containers of every entry', () => {
    const fixed = job(1, { ports: [{ in: 53, protocol: 'udp', out: 53 }] });
    const running = replica('aaaaaaa');
    const p = planDeploy(
      obs(running, history('aaaaaaa', fixed)),
      job(1, { ports: fixed.container[1]!.ports, image: 'side:v2' }),
      'bbbbbbb',
    );
    expect(p.plan.strategy).toBe('stop-first');
    expect(p.steps.replace).toEqual(running.map((c) => c.id));
  });

  it('pull: always — a moved tag of one entry redeploys the same version, naming that image', () => {
    const spec = job(1, { pull: 'always' });
    const running = replica('aaaaaaa');
    const moved = planDeploy(obs(running, history('aaaaaaa', spec)), spec, 'aaaaaaa', {
      'side:v1': 'sha256:new',
    });
    expect(moved.plan).toMatchObject({ action: 'update' });
    expect(moved.plan.warnings).toContain('image side:v1 changed since it was last pulled');
    expect(moved.steps.replace).toEqual(running.map((c) => c.id));
    const same = planDeploy(obs(running, history('aaaaaaa', spec)), spec, 'aaaaaaa', {
      'side:v1': 'sha256:side',
    });
    expect(same.plan.action).toBe('noop');
    // Planning without pulling says which image will be pulled again.
    expect(planDeploy(obs(running, history('aaaaaaa', spec)), spec, 'aaaaaaa').plan.warnings).toEqual([
      'pull: always — the image side:v1 is pulled again at deploy; a changed image updates the containers',
    ]);
  });

  it('stop and purge act on the containers of every entry', () => {
    const running = [...replica('aaaaaaa'), ...replica('aaaaaaa', { state: { web: 'exited' } })];
    const s = history('aaaaaaa', job(2));
    expect(planStop(obs(running, s), false).steps.stop).toEqual(
      running.filter((c) => c.state === 'running').map((c) => c.id),
    );
    expect(planStop(obs(running, s), true).steps.purge).toEqual(running.map((c) => c.id));
  });
});
