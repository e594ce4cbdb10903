import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../protocol/job.js';
import type { JobState } from '../protocol/state.js';
import { recordDeploy, recordRollback } from './history.js';
import {
  diffSpecs,
  effectiveCurrent,
  type Observation,
  type ObservedContainer,
  planDeploy,
  planRollback,
  planStop,
} from './planner.js';
import { testSpec } from './spec.fixture.js';

function spec(over: Partial<JobSpec['container']> = {}, count = 2): JobSpec {
  return testSpec(
    { ports: [{ in: 8000, protocol: 'tcp', out: null }], environment: { A: '1' }, ...over },
    { count, target: { kind: 'group', group: 'labs' } },
  );
}

let seq = 0;
function c(
  version: string | null,
  state: ObservedContainer['state'] = 'running',
  createdAt = ++seq,
): ObservedContainer {
  return {
    id: `id${String(createdAt).padStart(3, '0')}`,
    name: `demo-${createdAt}`,
    version,
    state,
    health: 'none',
    imageId: 'sha256:img',
    createdAt,
  };
}

function stateWith(...versions: [string, JobSpec][]): JobState {
  let s: JobState | null = null;
  for (const [v, sp] of versions) s = recordDeploy(s, sp, v, '2026-01-01T00:00:00Z');
  return s!;
}

const obs = (containers: ObservedContainer[], state: JobState | null = null): Observation => ({
  job: 'demo',
  state,
  containers,
});

describe('planDeploy', () => {
  it('fresh: nothing on the node → create count, marked fresh', () => {
    const p = planDeploy(obs([]), spec(), 'aaaaaaa');
    expect(p.plan).toMatchObject({
      action: 'fresh',
      fresh: true,
      changes: true,
      versionFrom: null,
      versionTo: 'aaaaaaa',
      running: 0,
      total: 0,
      desired: 2,
    });
    expect(p.steps.create).toBe(2);
    expect(p.steps.replace).toEqual([]);
  });

  it('same spec again with everything running → noop, nothing to do', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const p = planDeploy(obs([c('aaaaaaa'), c('aaaaaaa')], s), spec(), 'aaaaaaa');
    expect(p.plan).toMatchObject({
      action: 'noop',
      changes: false,
      fresh: false,
      running: 2,
      total: 2,
      versionFrom: 'aaaaaaa',
    });
    expect(
      p.steps.create +
        p.steps.startExisting.length +
        p.steps.removeExtra.length +
        p.steps.removeLeftovers.length,
    ).toBe(0);
  });

  it('same spec with stopped job containers → start exactly those (defect 8)', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const a = c('aaaaaaa', 'exited');
    const b = c('aaaaaaa', 'running');
    const p = planDeploy(obs([a, b], s), spec(), 'aaaaaaa');
    expect(p.plan.action).toBe('start');
    expect(p.steps.startExisting).toEqual([a.id]);
    expect(p.steps.create).toBe(0);
  });

  it('new version → start-first update replacing every old container', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const olds = [c('aaaaaaa'), c('aaaaaaa')];
    const p = planDeploy(obs(olds, s), spec({ image: 'web:v2' }), 'bbbbbbb');
    expect(p.plan).toMatchObject({
      action: 'update',
      strategy: 'start-first',
      versionFrom: 'aaaaaaa',
      versionTo: 'bbbbbbb',
      changes: true,
    });
    expect(p.steps.create).toBe(2);
    expect(p.steps.replace).toEqual(olds.map((o) => o.id));
    expect(p.plan.diff?.image).toEqual({ from: 'web:v1', to: 'web:v2' });
  });

  it('fixed host port → stop-first, and the plan says so', () => {
    const s = stateWith(['aaaaaaa', spec({ ports: [{ in: 80, protocol: 'tcp', out: 8080 }] }, 1)]);
    const p = planDeploy(
      obs([c('aaaaaaa')], s),
      spec({ image: 'web:v2', ports: [{ in: 80, protocol: 'tcp', out: 8080 }] }, 1),
      'bbbbbbb',
    );
    expect(p.plan.strategy).toBe('stop-first');
    expect(p.plan.warnings.join(' ')).toMatch(/fixed host port/);
  });

  it('scale up keeps running containers and adds the difference', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const p = planDeploy(obs([c('aaaaaaa'), c('aaaaaaa')], s), spec({}, 5), 'aaaaaaa');
    expect(p.plan).toMatchObject({ action: 'scale', running: 2, desired: 5 });
    expect(p.steps.create).toBe(3);
    expect(p.steps.replace).toEqual([]);
    expect(p.steps.removeExtra).toEqual([]);
  });

  it('scale down removes the newest first, stopped ones before running ones (defect 7)', () => {
    const s = stateWith(['aaaaaaa', spec({}, 5)]);
    const [a, b, d, e] = [
      c('aaaaaaa', 'running', 10),
      c('aaaaaaa', 'running', 20),
      c('aaaaaaa', 'running', 30),
      c('aaaaaaa', 'exited', 5),
    ];
    const p = planDeploy(obs([a!, b!, d!, e!], s), spec({}, 2), 'aaaaaaa');
    expect(p.plan.action).toBe('scale');
    // Kept: the two oldest running; removed: the newest running, and the stopped one.
    expect(new Set(p.steps.removeExtra)).toEqual(new Set([d!.id, e!.id]));
    expect(p.steps.removeExtra[0]).toBe(d!.id);
    expect(p.steps.create).toBe(0);
  });

  it('scale plus a spec change is an update to the new count, never a mix (defect 7)', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const olds = [c('aaaaaaa'), c('aaaaaaa')];
    const p = planDeploy(obs(olds, s), spec({ environment: { A: '2' } }, 4), 'bbbbbbb');
    expect(p.plan.action).toBe('update');
    expect(p.steps.create).toBe(4);
    expect(p.steps.replace).toHaveLength(2);
    expect(p.plan.diff?.environment).toEqual({ added: [], removed: [], changed: ['A'] });
    expect(p.plan.diff?.count).toEqual({ from: 2, to: 4 });
  });

  it('after a crash mid-update: containers of the new version beside the old are removed first, then the update runs again', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const olds = [c('aaaaaaa'), c('aaaaaaa')];
    const half = [c('bbbbbbb', 'created'), c('bbbbbbb', 'running')];
    const p = planDeploy(obs([...olds, ...half], s), spec({ image: 'web:v2' }), 'bbbbbbb');
    expect(p.plan.action).toBe('update');
    expect(p.steps.removeLeftovers).toEqual(half.map((h) => h.id));
    expect(p.steps.replace).toEqual(olds.map((o) => o.id));
    expect(p.steps.create).toBe(2);
  });

  it('after a crash once the old ones were gone but before the history was written: adopt, no second rollout', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const news = [c('bbbbbbb'), c('bbbbbbb')];
    const p = planDeploy(obs(news, s), spec({ image: 'web:v2' }), 'bbbbbbb');
    expect(p.plan.action).toBe('noop');
    expect(p.plan.changes).toBe(false);
  });

  it('debris of another version is removed when the current version is deployed again', () => {
    const s = stateWith(['aaaaaaa', spec()]);
    const debris = c('ccccccc', 'created');
    const p = planDeploy(obs([c('aaaaaaa'), c('aaaaaaa'), debris], s), spec(), 'aaaaaaa');
    expect(p.plan.changes).toBe(true);
    expect(p.steps.removeLeftovers).toEqual([debris.id]);
    expect(p.steps.create).toBe(0);
  });

  it('without history, the version most containers carry is current', () => {
    expect(effectiveCurrent(obs([c('aaaaaaa'), c('bbbbbbb'), c('bbbbbbb')]))).toBe('bbbbbbb');
    expect(effectiveCurrent(obs([]))).toBeNull();
  });

  it('unversioned job containers (made by the original dokkup) are replaced start-first, not deleted first', () => {
    const legacy = [c(null), c(null)];
    const p = planDeploy(obs(legacy), spec(), 'aaaaaaa');
    expect(p.plan.action).toBe('update');
    expect(p.steps.replace).toEqual(legacy.map((l) => l.id));
    expect(p.steps.removeLeftovers).toEqual([]);
  });

  it('pull: always with a changed image ID updates containers of the same version', () => {
    const sp = spec({ pull: 'always' });
    const s = stateWith(['aaaaaaa', sp]);
    const p = planDeploy(obs([c('aaaaaaa'), c('aaaaaaa')], s), sp, 'aaaaaaa', 'sha256:new');
    expect(p.plan.action).toBe('update');
    expect(p.plan.diff?.imageIdChanged).toBe(true);
    expect(p.steps.replace).toHaveLength(2);
    const same = planDeploy(obs([c('aaaaaaa'), c('aaaaaaa')], s), sp, 'aaaaaaa', 'sha256:img');
    expect(same.plan.action).toBe('noop');
  });

  it('canRollback only with an earlier version in the history', () => {
    expect(planDeploy(obs([]), spec(), 'aaaaaaa').plan.canRollback).toBe(false);
    const s = stateWith(['aaaaaaa', spec()], ['bbbbbbb', spec({ image: 'web:v2' })]);
    const p = planDeploy(obs([c('bbbbbbb')], s), spec({ image: 'web:v2' }), 'bbbbbbb');
    expect(p.plan).toMatchObject({ canRollback: true, rollbackTo: 'aaaaaaa' });
  });
});

describe('planRollback', () => {
  const v1 = spec();
  const v2 = spec({ image: 'web:v2' }, 3);
  const s = stateWith(['aaaaaaa', v1], ['bbbbbbb', v2]);

  it('goes to the previous version with its own spec (count included), start-first', () => {
    const p = planRollback(obs([c('bbbbbbb'), c('bbbbbbb'), c('bbbbbbb')], s));
    expect(p.spec).toEqual(v1);
    expect(p.plan).toMatchObject({
      action: 'rollback',
      versionFrom: 'bbbbbbb',
      versionTo: 'aaaaaaa',
      desired: 2,
      canRollback: true,
      strategy: 'start-first',
    });
    expect(p.steps.replace).toHaveLength(3);
  });

  it('nothing to roll back to → no changes, canRollback false', () => {
    const p = planRollback(obs([c('aaaaaaa')], stateWith(['aaaaaaa', v1])));
    expect(p.spec).toBeNull();
    expect(p.plan).toMatchObject({ changes: false, canRollback: false });
  });

  it('--to an unknown version is refused with a reason', () => {
    const p = planRollback(obs([c('bbbbbbb')], s), 'fffffff');
    expect(p.spec).toBeNull();
    expect(p.plan.warnings[0]).toMatch(/not in this node/);
  });

  it('walks further back after a rollback', () => {
    const three = stateWith(['aaaaaaa', v1], ['bbbbbbb', v2], ['ccccccc', spec({ image: 'web:v3' })]);
    const back1 = recordRollback(three, 'bbbbbbb', 'now');
    const p = planRollback(obs([c('bbbbbbb')], back1));
    expect(p.plan.versionTo).toBe('aaaaaaa');
  });
});

describe('planStop', () => {
  const s = stateWith(['aaaaaaa', spec()]);
  it('stop stops running containers and keeps them', () => {
    const run = c('aaaaaaa');
    const p = planStop(obs([run, c('aaaaaaa', 'exited')], s), false);
    expect(p.plan).toMatchObject({ action: 'stop', changes: true, running: 1, total: 2, desired: 0 });
    expect(p.steps.stop).toEqual([run.id]);
    expect(p.steps.purge).toEqual([]);
  });
  it('stop of a stopped job changes nothing', () => {
    expect(planStop(obs([c('aaaaaaa', 'exited')], s), false).plan.changes).toBe(false);
  });
  it('purge removes every container, stopped ones too', () => {
    const all = [c('aaaaaaa'), c('aaaaaaa', 'exited'), c('bbbbbbb', 'created')];
    const p = planStop(obs(all, s), true);
    expect(p.plan.action).toBe('purge');
    expect(p.steps.purge).toEqual(all.map((x) => x.id));
  });
  it('purge with only a history left still changes something (the history goes)', () => {
    expect(planStop(obs([], s), true).plan.changes).toBe(true);
    expect(planStop(obs([], null), true).plan.changes).toBe(false);
  });
});

describe('diffSpecs', () => {
  it('reports env keys, never values', () => {
    const d = diffSpecs(
      spec({ environment: { A: 'secret1', B: 'x' } }),
      spec({ environment: { A: 'secret2', C: 'y' } }),
    );
    expect(d.environment).toEqual({ added: ['C'], removed: ['B'], changed: ['A'] });
    expect(JSON.stringify(d)).not.toMatch(/secret/);
  });
  it('reports ports, command and other fields by name', () => {
    const d = diffSpecs(
      spec(),
      spec({
        ports: [{ in: 53, protocol: 'udp', out: null }],
        command: ['sh', '-c', 'x'],
        volumes: ['v:/d'],
      }),
    );
    expect(d.ports).toEqual({ from: '8000/tcp', to: '53/udp' });
    expect(d.command).toEqual({ from: null, to: 'sh -c x' });
    expect(d.other).toEqual(['volumes']);
  });
  it('shows the stop fields with their values, null where Docker’s default applies', () => {
    const d = diffSpecs(spec(), spec({ stopGracePeriodMs: 30_000, stopSignal: 'SIGQUIT', init: true }));
    expect(d.stop_grace_period).toEqual({ from: null, to: '30s' });
    expect(d.stop_signal).toEqual({ from: null, to: 'SIGQUIT' });
    expect(d.init).toEqual({ from: null, to: 'true' });
    expect(d.other).toEqual([]);
    const back = diffSpecs(spec({ stopGracePeriodMs: 30_000, init: true }), spec({ init: true }));
    expect(back.stop_grace_period).toEqual({ from: '30s', to: null });
    expect(back).not.toHaveProperty('init');
    expect(diffSpecs(null, spec({ init: true })).init).toEqual({ from: null, to: 'true' });
  });
  it('a command or entrypoint built from variables is named as changed, never shown (either side masked)', () => {
    const rotated = diffSpecs(
      spec({ command: ['serve', '--token', 'old-secret'], maskedFields: ['command'] }),
      spec({ command: ['serve', '--token', 'new-secret'], maskedFields: ['command'] }),
    );
    expect(rotated).not.toHaveProperty('command');
    expect(rotated.other).toEqual(['command']);
    expect(JSON.stringify(rotated)).not.toMatch(/secret/);
    // The old version was interpolated, the new one is not: the old value stays hidden too.
    const unmasked = diffSpecs(
      spec({ entrypoint: ['run', 'old-secret'], maskedFields: ['entrypoint'] }),
      spec({ entrypoint: ['run'] }),
    );
    expect(unmasked.other).toEqual(['entrypoint']);
    expect(JSON.stringify(unmasked)).not.toMatch(/secret/);
    // Unchanged masked fields are not mentioned at all.
    const same = diffSpecs(
      spec({ command: ['a', 's'], maskedFields: ['command'] }),
      spec({ command: ['a', 's'], maskedFields: ['command'] }),
    );
    expect(same.other).toEqual([]);
  });
  it('identical specs differ in nothing', () => {
    const d = diffSpecs(spec(), spec());
    expect(d).toEqual({
      environment: { added: [], removed: [], changed: [] },
      labels: { added: [], removed: [], changed: [] },
      other: [],
      imageIdChanged: false,
    });
  });
});
