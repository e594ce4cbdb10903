/**
 * The operation keys end to end inside the process: the real store and reducer, the real effect
 * runner and actions controller, job files on disk, and scripted agents behind a real `Cluster`
 * (the edge). Keys go in as commands; what the agents were asked and what the panes show come out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan, PlanRequest } from '../../src/protocol/index.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';
import { agentInfo, container, jobStatus, updateResult } from '../../test/sim/agent-values.js';
import type { Effect } from '../store/effects.js';
import { resolveKey } from '../store/keymap.js';
import { flashText, overlayView } from '../store/overlays.js';
import type { Store } from '../store/store.js';
import { ActionsController } from './actions.js';
import { type AgentScript, inventoryOf, scriptedCluster, storeFor, until } from './controllers.fixture.js';
import { runEffects } from './effects.js';

const WEB = `name: web
group: labs
count: 2
container:
  - image: 127.0.0.1:5000/web:v2
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dokkup-tui-actions-'));
  writeFileSync(join(dir, 'web.yaml'), WEB);
  writeFileSync(join(dir, 'inventory.yaml'), 'nodes:\n  - {name: lab1, location: "a:1", key: k}\n');
  writeFileSync(join(dir, 'other-inventory.yml'), 'nodes:\n  - name: x\n    location: b:1\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    job: 'web',
    operation: 'deploy',
    action: 'update',
    changes: true,
    fresh: false,
    versionFrom: 'aaaaaaa',
    versionTo: 'bbbbbbb',
    running: 2,
    total: 2,
    desired: 2,
    strategy: 'start-first',
    canRollback: true,
    rollbackTo: 'aaaaaaa',
    diff: null,
    warnings: [],
    ...overrides,
  };
}

const result = updateResult;

function setup(
  scripts: Record<string, AgentScript>,
  names = ['lab1', 'lab2', 'lab3'],
  extra: { env?: Record<string, string>; registries?: RegistryAuth[] } = {},
) {
  const inventory = {
    ...inventoryOf(names, { labs: names }),
    ...(extra.registries ? { registries: extra.registries } : {}),
  };
  const { store } = storeFor(inventory.nodes);
  const { cluster, calls } = scriptedCluster(inventory.nodes, scripts);
  const refreshed: Effect[] = [];
  const actions = new ActionsController(store, cluster, {
    inventory,
    inventoryPath: 'inventory.yaml',
    jobFiles: [],
    cwd: dir,
    embedded: false,
    now: () => 1_700_000_200_000,
    ...(extra.env ? { env: extra.env } : {}),
  });
  runEffects(store, {
    refresh: {
      soon: (node) => refreshed.push({ kind: 'refresh', node }),
      refreshAll: () => refreshed.push({ kind: 'refreshAll' }),
    },
    actions,
    audit: { read: () => {} },
  });
  const press = (...keys: string[]) => {
    for (const key of keys) {
      const resolved = resolveKey(store.state, key);
      if (!resolved) throw new Error(`${key} does nothing here`);
      store.dispatch({
        type: 'command',
        command: resolved.command,
        ...(resolved.char !== undefined ? { char: resolved.char } : {}),
      });
    }
  };
  return { store, calls, refreshed, press };
}

const confirmText = (store: Store) =>
  overlayView(store.state)!
    .rows.map((r) => r.map((s) => s.text).join(''))
    .join('\n');

describe('deploy (d)', () => {
  it('offers the job files, plans the chosen one everywhere, and runs it only where it changes something', async () => {
    const progress: AgentScript['result'] = async (_op, onProgress) => {
      onProgress({
        type: 'progress',
        phase: 'start',
        message: 'Starting container (1/2)',
        current: 1,
        total: 2,
      });
      return result();
    };
    const { store, calls, refreshed, press } = setup({
      lab1: { plan: async () => plan(), result: progress },
      lab2: { plan: async () => plan({ changes: false, action: 'noop', versionFrom: 'bbbbbbb' }) },
      lab3: { reach: 'offline' },
    });
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile', 'the chooser');
    // Files that look like inventories are not offered.
    expect(store.state.modal).toMatchObject({ files: ['web.yaml'] });
    press('enter');
    await until(() => store.state.modal?.kind === 'confirm', 'the confirmation');
    // The job's lease first, on every target node: lab3 cannot be reached there, so it is not planned.
    expect(calls.filter((c) => c.method === 'acquireLease').map((c) => c.node)).toEqual([
      'lab1',
      'lab2',
      'lab3',
    ]);
    expect(calls.filter((c) => c.method === 'plan').map((c) => [c.node, c.args[1]])).toEqual([
      ['lab1', { operation: 'deploy', spec: expect.objectContaining({ name: 'web', count: 2 }) }],
      ['lab2', { operation: 'deploy', spec: expect.objectContaining({ name: 'web' }) }],
    ]);
    const text = confirmText(store);
    expect(text).toContain('Deployment summary:');
    expect(text).toMatch(/lab1\s+ONLINE\s+2\/2\s+true\s+aaaaaaa -> bbbbbbb/);
    expect(text).toMatch(/lab3\s+OFFLINE/);
    expect(text).toContain('dokkup run job -i inventory.yaml web.yaml');
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null, 'the end of the rollout');
    // Only lab1 changes: lab2 is not asked again, lab3 could not be reached.
    expect(calls.filter((c) => c.method === 'deploy').map((c) => c.node)).toEqual(['lab1']);
    expect(store.state.rollout!.nodes.map((n) => [n.node, n.status, n.message])).toEqual([
      ['lab1', 'succeeded', 'Update successful'],
      // In the CLI's words.
      ['lab2', 'unchanged', 'Already up to date'],
      ['lab3', 'offline', 'lab3: connect ECONNREFUSED'],
    ]);
    expect(store.state.rollout!.nodes[0]!.lines).toEqual(['Starting', 'Starting container (1/2)']);
    expect(refreshed).toEqual([{ kind: 'refresh', node: 'lab1' }]);
    expect(flashText(store.state)).toMatchObject({ text: 'Deploy web: 2 nodes ok, 1 not', level: 'error' });
  });

  it('shows which secret changed (never its value) and deploys with the operator’s registry credentials', async () => {
    writeFileSync(
      join(dir, 'web.yaml'),
      `${WEB.replace('127.0.0.1:5000/web:v2', '127.0.0.1:5001/private/web:v1')}    environment:\n      DB_PASSWORD: \${DB_PASSWORD}\n`,
    );
    const secretDiff = {
      environment: { added: [], removed: [], changed: ['DB_PASSWORD'] },
      labels: { added: [], removed: [], changed: [] },
      other: [],
      imageIdChanged: false,
    };
    const registries = [{ server: '127.0.0.1:5001', username: 'ci', password: 'registry-pass-1' }];
    const { store, calls, press } = setup(
      { lab1: { plan: async () => plan({ diff: secretDiff }), result: async () => result() } },
      ['lab1'],
      { env: { DB_PASSWORD: 'db-secret-2' }, registries },
    );
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => store.state.modal?.kind === 'confirm');
    const text = confirmText(store);
    expect(text).toContain('Changes:');
    expect(text).toMatch(/lab1: update aaaaaaa -> bbbbbbb/);
    expect(text).toContain('~ environment: DB_PASSWORD');
    expect(text).not.toMatch(/db-secret-2|registry-pass-1/);
    // The plan carries the credentials (the agent checks the pull), the spec the secret's value.
    const planCall = calls.find((c) => c.method === 'plan')!;
    expect(planCall.args[1]).toMatchObject({ registryAuth: registries });
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null);
    const deploy = calls.find((c) => c.method === 'deploy')!;
    expect(deploy.args[0]).toMatchObject({ container: [{ environment: { DB_PASSWORD: 'db-secret-2' } }] });
    expect(deploy.args[2]).toEqual({ registryAuth: registries });
    expect(JSON.stringify(store.state)).not.toMatch(/db-secret-2|registry-pass-1/);
  });

  it('says what a failed update left running', async () => {
    // Both nodes in one wave, so that both are under way when one fails.
    writeFileSync(join(dir, 'web.yaml'), `${WEB}update:\n  max_parallel: 100%\n`);
    const { store, press } = setup(
      {
        lab1: {
          plan: async () => plan(),
          result: async () =>
            result({
              ok: false,
              message: 'Update failed',
              restored: true,
              error: { code: 'unhealthy', message: 'container web-1 is unhealthy' },
            }),
        },
        lab2: {
          plan: async () => plan(),
          result: async () => result({ ok: false, message: 'Update failed', restored: false }),
        },
      },
      ['lab1', 'lab2'],
    );
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => store.state.modal?.kind === 'confirm');
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null);
    expect(store.state.rollout!.nodes.map((n) => [n.status, n.message])).toEqual([
      ['failed', 'Update failed: container web-1 is unhealthy (the previous version was left running)'],
      ['failed', 'Update failed (nothing was restored)'],
    ]);
  });

  it('says that a failed fresh deploy removed its new containers (there is no previous version)', async () => {
    const { store, press } = setup(
      {
        lab1: {
          plan: async () => plan({ action: 'fresh', fresh: true, versionFrom: null, running: 0, total: 0 }),
          result: async () =>
            result({
              ok: false,
              action: 'fresh',
              message: 'new container 0123456789ab exited with code 3',
              versionFrom: null,
              running: 0,
              total: 0,
              restored: true,
              error: { code: 'start_failed', message: 'new container 0123456789ab exited with code 3' },
            }),
        },
      },
      ['lab1'],
    );
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => store.state.modal?.kind === 'confirm');
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null);
    const message = store.state.rollout!.nodes[0]!.message;
    expect(message).toBe('new container 0123456789ab exited with code 3 (the new containers were removed)');
    expect(message).not.toMatch(/previous version/);
  });

  it('carries nothing out when the operator cancels, while planning or at the confirmation', async () => {
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const { store, calls, press } = setup(
      {
        lab1: {
          plan: async () => {
            await gate;
            return plan();
          },
          result: async () => result(),
        },
      },
      ['lab1'],
    );
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => store.state.modal?.kind === 'planning');
    press('escape');
    answer();
    await until(() => calls.some((c) => c.method === 'plan'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The late plan is dropped: no pane comes back.
    expect(store.state.modal).toBeNull();
    // Planned again, then declined at the pane.
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => store.state.modal?.kind === 'confirm');
    press('n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.state.rollout).toBeNull();
    expect(calls.filter((c) => c.method === 'deploy')).toEqual([]);
  });

  it('never leaves a board waiting for a plan it does not hold', async () => {
    const { store } = setup({ lab1: { plan: async () => plan() } }, ['lab1']);
    // A board for a request this controller never planned (the keys cannot do this).
    store.dispatch({
      type: 'planStarted',
      request: { id: 99, op: 'stop', job: 'web', nodes: ['lab1'], file: null, count: null },
      title: 'Stop web',
    });
    store.dispatch({
      type: 'planReady',
      request: { id: 99, op: 'stop', job: 'web', nodes: ['lab1'], file: null, count: null },
      title: 'Stop web',
      summary: [],
      nodes: [
        {
          node: 'lab1',
          status: 'online',
          plan: plan(),
          error: null,
          changes: true,
          wave: 1,
          canary: false,
          outcome: 'skipped',
          message: '',
        },
      ],
      command: '',
    });
    store.dispatch({ type: 'command', command: 'confirm.yes' });
    await until(() => store.state.rollout?.finishedAt !== null, 'the board to end');
    expect(store.state.rollout!.nodes[0]!.status).toBe('waiting');
    expect(flashText(store.state)).toMatchObject({ level: 'error', text: 'Stop web: 0 nodes ok, 1 not' });
  });

  it('says which file is wrong and where, and plans nothing', async () => {
    writeFileSync(join(dir, 'web.yaml'), 'name: web\ngroup: labs\ncontainer:\n  - image: 5\n');
    const { store, calls, press } = setup({});
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => flashText(store.state) !== null, 'the error');
    expect(flashText(store.state)).toMatchObject({
      level: 'error',
      text: expect.stringMatching(/web\.yaml:4:\d+/),
    });
    expect(store.state.modal).toBeNull();
    expect(calls).toEqual([]);
  });
});

describe('scale, rollback, stop, purge', () => {
  function listed(store: Store): void {
    for (const node of ['lab1', 'lab2']) {
      store.dispatch({
        type: 'nodeProbed',
        node,
        at: 1,
        info: agentInfo({ hostname: node }),
        latencyMs: 1,
        jobs: [jobStatus('api', [container('api', node === 'lab1' ? 1 : 2)])],
      });
    }
  }

  it('scales a job its file defines, with the typed count', async () => {
    const { store, calls, press } = setup({
      lab1: { plan: async () => plan({ action: 'scale', desired: 5 }) },
      lab2: { plan: async () => plan({ action: 'scale', desired: 5 }) },
      lab3: { plan: async () => plan({ action: 'scale', desired: 5 }) },
    });
    // web runs somewhere so that it can be selected.
    store.dispatch(probedWeb('lab1'));
    press('2', 's', '5', 'enter');
    await until(() => store.state.modal?.kind === 'confirm');
    expect(calls.find((c) => c.method === 'plan')!.args[1]).toMatchObject({
      operation: 'deploy',
      spec: { name: 'web', count: 5 },
    });
    expect(confirmText(store)).toContain('Count per node: 5');
    expect(confirmText(store)).toContain(
      'dokkup run job -i inventory.yaml web.yaml   # with count: 5 in web.yaml',
    );
  });

  it('cannot scale a job no file defines, and says how to', async () => {
    const { store, calls, press } = setup({});
    listed(store);
    press('2', 's', '3', 'enter');
    await until(() => flashText(store.state) !== null);
    expect(flashText(store.state)!.text).toBe(
      'No job file defines api: pass it on the command line (dokkup tui api.yaml) to scale it',
    );
    expect(calls.filter((c) => c.method === 'plan')).toEqual([]);
  });

  it('stops or purges a job without a file on the nodes that report it', async () => {
    const stopPlan = async () => plan({ operation: 'stop', action: 'stop', desired: 0 });
    const { store, calls, press } = setup({ lab1: { plan: stopPlan }, lab2: { plan: stopPlan } });
    listed(store);
    press('2', 'p');
    await until(() => store.state.modal?.kind === 'confirm');
    expect(calls.filter((c) => c.method === 'plan').map((c) => [c.node, c.args])).toEqual([
      ['lab1', ['api', { operation: 'stop', purge: true }]],
      ['lab2', ['api', { operation: 'stop', purge: true }]],
    ]);
    const text = confirmText(store);
    expect(text).toContain('Stop job summary:');
    expect(text).toMatch(/api\s+127\.0\.0\.1:5000\/api:v1\s+lab1,lab2/);
    expect(text).toContain('dokkup stop job --purge -i inventory.yaml <api.yaml>');
    expect(store.state.modal).toMatchObject({ typeToConfirm: 'api' });
  });

  it('rolls back on the job file’s targets', async () => {
    const rollbackPlan = async () => plan({ operation: 'rollback', action: 'rollback' });
    const { store, calls, press } = setup({
      lab1: {
        plan: rollbackPlan,
        result: async () => result({ action: 'rollback', message: 'Rollback successful' }),
      },
      lab2: {
        plan: rollbackPlan,
        result: async () => result({ action: 'rollback', message: 'Rollback successful' }),
      },
      lab3: { reach: 'unauthorized' },
    });
    store.dispatch(probedWeb('lab1'));
    press('2', 'r');
    await until(() => store.state.modal?.kind === 'confirm');
    // lab3 refuses the key when asked for the lease: it is not planned, and the pane says why.
    expect(calls.filter((c) => c.method === 'acquireLease').map((c) => c.node)).toEqual([
      'lab1',
      'lab2',
      'lab3',
    ]);
    expect(calls.filter((c) => c.method === 'plan').map((c) => c.node)).toEqual(['lab1', 'lab2']);
    expect(confirmText(store)).toMatch(/lab3\s+UNAUTHORIZED/);
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null);
    expect(calls.filter((c) => c.method === 'rollback').map((c) => [c.node, c.args])).toEqual([
      ['lab1', ['web']],
      ['lab2', ['web']],
    ]);
  });
});

function probedWeb(node: string) {
  return {
    type: 'nodeProbed' as const,
    node,
    at: 1,
    info: agentInfo({ hostname: node }),
    latencyMs: 1,
    jobs: [jobStatus('web', [container('web', 1)])],
  };
}

describe('a canary and a lease (r, d)', () => {
  const V1 = 'aaaaaaa';
  const V2 = 'bbbbbbb';

  it('r while a canary is out takes only the canary back, to the version it ran before', async () => {
    // Each agent plans the rollback it is asked for: to its previous version, or to the one given.
    const rollbackPlan =
      (running: string, previous: string, canary: Plan['canary']) =>
      async (_job: string, request: PlanRequest) => {
        const to = request.operation === 'rollback' ? (request.to ?? previous) : previous;
        return plan({
          operation: 'rollback',
          action: to === running ? 'noop' : 'rollback',
          changes: to !== running,
          versionFrom: running,
          versionTo: to,
          rollbackTo: previous,
          canary,
        });
      };
    const canaryPlan = rollbackPlan(V2, V1, { version: V2, from: V1, since: '2026-11-02T10:00:00.000Z' });
    const heldPlan = rollbackPlan(V1, 'ccccccc', null);
    const { store, calls, press } = setup({
      lab1: {
        plan: canaryPlan,
        result: async () =>
          result({ action: 'rollback', message: 'Rollback successful', versionFrom: V2, versionTo: V1 }),
      },
      lab2: { plan: heldPlan },
      lab3: { plan: heldPlan },
    });
    store.dispatch(probedWeb('lab1'));
    press('2', 'r');
    await until(() => store.state.modal?.kind === 'confirm');
    const text = confirmText(store);
    expect(text).toMatch(/wave 1: lab1\b/);
    expect(text).toMatch(/lab2\s+ONLINE\s+2\/2\s+\S+\s+aaaaaaa\s*$/m);
    expect(text).not.toMatch(/wave \d: .*lab2/);
    press('y');
    await until(() => store.state.rollout?.finishedAt !== null);
    // Only the canary moved, to the version it ran before the canary; the others were not asked.
    expect(calls.filter((c) => c.method === 'rollback').map((c) => [c.node, c.args])).toEqual([
      ['lab1', ['web', V1]],
    ]);
    expect(store.state.rollout!.nodes.map((n) => [n.node, n.status, n.message])).toEqual([
      ['lab1', 'succeeded', 'Rollback successful'],
      ['lab2', 'unchanged', `Not a canary: stays on ${V1}`],
      ['lab3', 'unchanged', `Not a canary: stays on ${V1}`],
    ]);
    // Every lease taken was given back.
    await until(() => calls.filter((c) => c.method === 'releaseLease').length === 3, 'the leases given back');
  });

  it('another operator’s lease: refused before any plan, naming the holder; nothing carried out', async () => {
    const { store, calls, press } = setup({
      lab1: { plan: async () => plan() },
      lab2: {
        plan: async () => plan(),
        leaseHeldBy: {
          operator: 'bob',
          host: 'desk',
          command: 'run job web.yaml',
          acquiredAt: '2026-11-02T10:00:00.000Z',
          renewedAt: '2026-11-02T10:00:00.000Z',
          expiresAt: '2026-11-02T10:00:30.000Z',
        },
      },
      lab3: { plan: async () => plan() },
    });
    press('d');
    await until(() => store.state.modal?.kind === 'chooseFile');
    press('enter');
    await until(() => flashText(store.state) !== null, 'the refusal');
    expect(flashText(store.state)).toMatchObject({
      level: 'error',
      text: expect.stringMatching(
        /job web is locked by bob@desk \(run job web\.yaml\) \(on lab2\); nothing was changed/,
      ),
    });
    expect(store.state.modal).toBeNull();
    expect(calls.filter((c) => ['plan', 'deploy', 'rollback', 'stop'].includes(c.method))).toEqual([]);
    // The first node's lease is taken before the others'; what was taken was given back.
    expect(calls.filter((c) => c.method === 'acquireLease').map((c) => c.node)).toEqual([
      'lab1',
      'lab2',
      'lab3',
    ]);
    await until(
      () => calls.filter((c) => c.method === 'releaseLease').length >= 2,
      'the leases of lab1 and lab3 given back',
    );
    expect(
      calls
        .filter((c) => c.method === 'releaseLease')
        .map((c) => c.node)
        .sort(),
    ).toEqual(['lab1', 'lab3']);
  });
});
