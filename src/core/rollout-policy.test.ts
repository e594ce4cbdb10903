/**
 * The fleet fields of `update` (max_parallel, auto_revert, canary, auto_promote): how a job file
 * spells them, what they normalise to, that they never change a job's version, and what a canary
 * commit leaves in a node's history.
 */
import { describe, expect, it } from 'vitest';
import { parseJobText } from '../config/index.js';
import type { ContainerEvent } from '../protocol/feeds.js';
import { canaryEventProblem, canaryStatusProblem } from './canary.js';
import { committedState } from './commit.js';
import { InputErrors } from './errors.js';
import { canaryOf, recordDeploy, recordPromote, recordRollback, toJobHistory } from './history.js';
import { describeLease } from './lease.js';
import { testSpec } from './spec.fixture.js';
import { canonicalJson, specVersion } from './version.js';

const JOB = 'name: web\ngroup: labs\ncontainer:\n  - image: web:1\n';
const withUpdate = (update: string) => `${JOB}update:\n${update}`;

describe('update.* fleet fields in a job file', () => {
  it('normalise to shares, a flag and milliseconds, present only when written', () => {
    const spec = parseJobText(
      withUpdate('  max_parallel: 10%\n  auto_revert: false\n  canary: 2\n  auto_promote: 5m\n'),
      'web.yaml',
    );
    expect(spec.update).toEqual({
      healthyDeadlineMs: 120_000,
      minHealthyMs: 3_000,
      maxParallel: { percent: 10 },
      autoRevert: false,
      canary: { nodes: 2 },
      autoPromoteMs: 300_000,
    });
    // A 0.3 file: the normalised spec has none of them, byte for byte what it was.
    expect(canonicalJson(parseJobText(JOB, 'web.yaml').update)).toBe(
      '{"healthyDeadlineMs":120000,"minHealthyMs":3000}',
    );
    expect(parseJobText(withUpdate('  canary: 0\n'), 'web.yaml').update.canary).toBeUndefined();
  });

  it('never change the version: they say how to roll out, not what runs', () => {
    const plain = parseJobText(JOB, 'web.yaml');
    const fleet = parseJobText(
      withUpdate('  max_parallel: 1\n  auto_revert: true\n  canary: 25%\n  auto_promote: 90s\n'),
      'web.yaml',
    );
    expect(specVersion(fleet)).toBe(specVersion(plain));
  });

  it.each([
    ['  max_parallel: 0\n', /web\.yaml:6:\d+ update\.max_parallel: must be at least 1 node/],
    ['  max_parallel: 0%\n', /update\.max_parallel: must be at least 1 node/],
    ['  max_parallel: 150%\n', /update\.max_parallel: must be at most 100%/],
    ['  max_parallel: two\n', /update\.max_parallel: must be a number of nodes or a percentage like 25%/],
    ['  max_parallel: -1\n', /update\.max_parallel/],
    ['  canary: 1.5\n', /update\.canary/],
    ['  auto_revert: yes please\n', /update\.auto_revert/],
    ['  auto_promote: 5m\n', /update\.auto_promote: only applies to a canary/],
    ['  canary: 1\n  auto_promote: 0s\n', /update\.auto_promote: must be longer than 0s/],
    ['  canary: 1\n  auto_promote: soon\n', /update\.auto_promote: must be a duration/],
    ['  max_paralel: 2\n', /unknown key "max_paralel" \(did you mean "max_parallel"\?\)/],
  ])('%j is refused with the file, line and field', (update, message) => {
    let error: unknown;
    try {
      parseJobText(withUpdate(update), 'web.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputErrors);
    expect((error as Error).message).toMatch(message);
  });
});

describe('canary marks in a node’s history', () => {
  const v1 = testSpec({ image: 'web:1' }, { name: 'web' });
  const v2 = testSpec({ image: 'web:2' }, { name: 'web' });
  const v3 = testSpec({ image: 'web:3' }, { name: 'web' });
  const base = recordDeploy(null, v1, 'aaaaaaa', 't0');
  const commit = (stored: typeof base, spec: typeof v1, version: string, canary?: boolean) =>
    committedState({
      operation: 'deploy',
      stored,
      planned: stored,
      spec,
      version,
      at: `at-${version}`,
      canary,
    });

  it('a canary deploy marks the node with the version it ran before', () => {
    const canary = commit(base, v2, 'bbbbbbb', true);
    expect(canaryOf(canary)).toEqual({ version: 'bbbbbbb', from: 'aaaaaaa', since: 'at-bbbbbbb' });
    expect(toJobHistory('web', canary).canary).toEqual(canaryOf(canary));
    // A plain deploy does not.
    expect(canaryOf(commit(base, v2, 'bbbbbbb'))).toBeNull();
  });

  it('a new canary over a canary keeps the fleet’s version to go back to', () => {
    const second = commit(commit(base, v2, 'bbbbbbb', true), v3, 'ccccccc', true);
    expect(canaryOf(second)).toMatchObject({ version: 'ccccccc', from: 'aaaaaaa' });
  });

  it('a scale of the canary keeps the mark; another version, a rollback or a promote ends it', () => {
    const canary = commit(base, v2, 'bbbbbbb', true);
    expect(canaryOf(commit(canary, { ...v2, count: 3 }, 'bbbbbbb'))).toMatchObject({ version: 'bbbbbbb' });
    expect(canaryOf(commit(canary, v3, 'ccccccc'))).toBeNull();
    const back = recordRollback(canary, 'aaaaaaa', 'later');
    expect(back.current).toBe('aaaaaaa');
    expect(canaryOf(back)).toBeNull();
    expect(back.canary).toBeUndefined();
    const promoted = recordPromote(canary);
    expect(promoted.current).toBe('bbbbbbb');
    expect(canaryOf(promoted)).toBeNull();
  });

  it('a canary deploy of what the node already runs marks nothing', () => {
    expect(canaryOf(commit(base, v1, 'aaaaaaa', true))).toBeNull();
  });
});

describe('a watched canary', () => {
  const status = (overrides: Record<string, unknown> = {}) => ({
    name: 'web',
    version: 'bbbbbbb',
    image: 'web:2',
    desired: 2,
    running: 2,
    total: 2,
    canary: { version: 'bbbbbbb', from: 'aaaaaaa', since: 't' },
    containers: ['c1', 'c2'].map((id) => ({
      id,
      name: `web-${id}`,
      job: 'web',
      version: 'bbbbbbb',
      image: 'web:2',
      imageId: 'sha256:2',
      state: 'running' as const,
      status: 'Up 3 minutes',
      health: 'healthy' as const,
      ports: [],
      createdAt: 1,
    })),
    ...overrides,
  });

  it('is healthy while it runs its version, marked, every container up and none replaced', () => {
    expect(canaryStatusProblem(status(), 'bbbbbbb', null)).toBeNull();
    expect(canaryStatusProblem(status(), 'bbbbbbb', new Set(['c1', 'c2']))).toBeNull();
  });

  it('says what is wrong with it', () => {
    const s = status();
    expect(canaryStatusProblem({ ...s, version: 'aaaaaaa' }, 'bbbbbbb', null)).toBe(
      'it runs aaaaaaa instead of bbbbbbb',
    );
    expect(canaryStatusProblem({ ...s, canary: null }, 'bbbbbbb', null)).toMatch(/no longer a canary/);
    const exited = {
      ...s,
      containers: [{ ...s.containers[0]!, state: 'exited' as const, status: 'Exited (3)' }],
    };
    expect(canaryStatusProblem(exited, 'bbbbbbb', null)).toBe('container c1 is exited (Exited (3))');
    const sick = { ...s, containers: [{ ...s.containers[0]!, health: 'unhealthy' as const }] };
    expect(canaryStatusProblem(sick, 'bbbbbbb', null)).toBe('container c1 is unhealthy');
    expect(canaryStatusProblem(s, 'bbbbbbb', new Set(['c1', 'c0']))).toBe(
      'container c2 replaced one that was running',
    );
    expect(canaryStatusProblem({ ...s, containers: s.containers.slice(0, 1) }, 'bbbbbbb', null)).toBe(
      'only 1 of 2 containers are running',
    );
  });

  it('counts a death, an OOM kill, a restart or turning unhealthy of its own containers, nothing else', () => {
    const event = (overrides: Partial<ContainerEvent>): ContainerEvent => ({
      type: 'container',
      action: 'die',
      containerId: 'abcdef0123456789',
      containerName: 'web-1',
      job: 'web',
      version: 'bbbbbbb',
      image: 'web:2',
      at: 1,
      ...overrides,
    });
    expect(canaryEventProblem(event({ exitCode: 3 }), 'web', 'bbbbbbb')).toBe(
      'container abcdef012345 died (exit 3)',
    );
    expect(canaryEventProblem(event({ action: 'oom' }), 'web', 'bbbbbbb')).toMatch(/out of memory/);
    expect(canaryEventProblem(event({ action: 'restart' }), 'web', 'bbbbbbb')).toMatch(/restarted/);
    expect(
      canaryEventProblem(event({ action: 'health_status', health: 'unhealthy' }), 'web', 'bbbbbbb'),
    ).toMatch(/turned unhealthy/);
    expect(
      canaryEventProblem(event({ action: 'health_status', health: 'healthy' }), 'web', 'bbbbbbb'),
    ).toBeNull();
    expect(canaryEventProblem(event({ action: 'start' }), 'web', 'bbbbbbb')).toBeNull();
    // The old version's containers going away during the update are not the canary's.
    expect(canaryEventProblem(event({ version: 'aaaaaaa' }), 'web', 'bbbbbbb')).toBeNull();
    expect(canaryEventProblem(event({ job: 'api' }), 'web', 'bbbbbbb')).toBeNull();
  });
});

describe('a lease, as a refusal says it', () => {
  it('names who, for what, since when and for how long still', () => {
    const lease = {
      operator: 'alice',
      host: 'laptop',
      command: 'run job web.yaml',
      acquiredAt: '2026-11-02T10:31:42.000Z',
      renewedAt: '2026-11-02T10:31:52.000Z',
      expiresAt: '2026-11-02T10:32:22.000Z',
    };
    expect(describeLease('web', lease, Date.parse('2026-11-02T10:31:54Z'))).toBe(
      'job web is locked by alice@laptop (run job web.yaml) since 2026-11-02T10:31:42Z, 12s ago; it lapses in 28s unless renewed',
    );
  });
});
