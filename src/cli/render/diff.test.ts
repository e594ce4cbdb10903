import { describe, expect, it } from 'vitest';
import type { Plan, SpecDiff } from '../../protocol/api.js';
import { describeAction, describeDiff, nodeList, renderChanges } from './diff.js';

const emptyDiff: SpecDiff = {
  environment: { added: [], removed: [], changed: [] },
  labels: { added: [], removed: [], changed: [] },
  other: [],
  imageIdChanged: false,
};

function plan(partial: Partial<Plan>): Plan {
  return {
    job: 'demo',
    operation: 'deploy',
    action: 'noop',
    changes: false,
    fresh: false,
    versionFrom: '55dab35',
    versionTo: '55dab35',
    running: 2,
    total: 2,
    desired: 2,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...partial,
  };
}

describe('describeDiff', () => {
  it('lists every changed field, environment keys without values', () => {
    const diff: SpecDiff = {
      image: { from: 'web:1', to: 'web:2' },
      count: { from: 2, to: 5 },
      environment: { added: ['NEW_B', 'NEW_A'], removed: ['OLD'], changed: ['SECRET_TOKEN'] },
      labels: { added: [], removed: [], changed: ['my.label.test'] },
      ports: { from: '8000/tcp', to: '8000/tcp, 9000:9000/udp' },
      command: { from: null, to: 'httpd -f' },
      entrypoint: { from: '/bin/sh', to: null },
      other: ['volumes', 'restart'],
      imageIdChanged: true,
    };
    expect(describeDiff(diff)).toEqual([
      '~ image: web:1 -> web:2',
      '~ image: the tag now points at a different image (re-pulled)',
      '~ count: 2 -> 5',
      '+ environment: NEW_A, NEW_B',
      '- environment: OLD',
      '~ environment: SECRET_TOKEN',
      '~ labels: my.label.test',
      '~ ports: 8000/tcp -> 8000/tcp, 9000:9000/udp',
      '~ command: (image default) -> httpd -f',
      '~ entrypoint: /bin/sh -> (image default)',
      '~ restart, volumes',
    ]);
  });

  it('shows the stop fields with their values and Docker’s defaults by name', () => {
    const diff: SpecDiff = {
      ...emptyDiff,
      stop_grace_period: { from: null, to: '30s' },
      stop_signal: { from: 'SIGTERM', to: null },
      init: { from: null, to: 'true' },
    };
    expect(describeDiff(diff)).toEqual([
      '~ stop_grace_period: (default 10s) -> 30s',
      '~ stop_signal: SIGTERM -> (image default)',
      '~ init: (engine default) -> true',
    ]);
  });

  it('an empty diff has no lines', () => {
    expect(describeDiff(emptyDiff)).toEqual([]);
  });
});

describe('describeDiff: the route', () => {
  it('a route change is one line, (none) for a side without one', () => {
    const diff: SpecDiff = {
      environment: { added: [], removed: [], changed: [] },
      labels: { added: [], removed: [], changed: [] },
      other: [],
      imageIdChanged: false,
      route: { from: null, to: ':80 shop.example.com → 8000 (no health check, drain 30s)' },
    };
    expect(describeDiff(diff)).toEqual([
      '~ route: (none) -> :80 shop.example.com → 8000 (no health check, drain 30s)',
    ]);
  });
});

describe('describeAction', () => {
  it('names what the node would do', () => {
    expect(describeAction(plan({ action: 'fresh', changes: true, fresh: true, running: 0, total: 0 }))).toBe(
      'fresh deploy of 55dab35: create 2 containers',
    );
    expect(
      describeAction(
        plan({ action: 'update', changes: true, versionTo: '9470cdc', desired: 3, strategy: 'start-first' }),
      ),
    ).toBe('update 55dab35 -> 9470cdc, containers 2 -> 3, start-first');
    expect(describeAction(plan({ action: 'scale', changes: true, desired: 1 }))).toBe(
      'scale 55dab35: containers 2 -> 1',
    );
    expect(describeAction(plan({ action: 'start', changes: true, running: 0 }))).toBe(
      'start 2 stopped containers of 55dab35',
    );
    expect(describeAction(plan({}))).toBe('no changes');
    expect(describeAction(plan({ action: 'rollback', changes: false }))).toBe('nothing to roll back');
  });
});

describe('renderChanges', () => {
  it('prints nodes with the same plan once, field lines indented, warnings marked', () => {
    const update = plan({
      action: 'update',
      changes: true,
      versionTo: '9470cdc',
      strategy: 'stop-first',
      diff: {
        ...emptyDiff,
        image: { from: 'web:1', to: 'web:2' },
        environment: { added: ['TOKEN'], removed: [], changed: [] },
      },
      warnings: ['fixed host port 8080: the update stops the old container first'],
    });
    expect(
      renderChanges([
        { name: 'lab1', plan: update },
        { name: 'lab2', plan: plan({}) },
        { name: 'lab3', plan: update },
      ]).join('\n'),
    ).toBe(`Changes:

lab1, lab3: update 55dab35 -> 9470cdc, stop-first
  ~ image: web:1 -> web:2
  + environment: TOKEN
  ! fixed host port 8080: the update stops the old container first
lab2: no changes`);
  });

  it('abbreviates long node lists', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `n${i + 1}`);
    expect(nodeList(names, 3)).toBe('n1, n2, n3 and 997 more');
  });
});
