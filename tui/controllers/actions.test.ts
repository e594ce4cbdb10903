/**
 * The actions controller carrying out a confirmed rollout, against agents that answer from
 * memory (a test double of the client, below): what the board says about each node must be
 * what the CLI says (src/core/outcome.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AgentClient } from '../../src/client/agent-client.js';
import { Cluster } from '../../src/client/cluster.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import type { OperationResult, Plan } from '../../src/protocol/api.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import { initialState, type OperationRequest } from '../store/state.js';
import { Store } from '../store/store.js';
import { ActionsController } from './actions.js';

const NODE: InventoryNode = {
  name: 'lab1',
  location: '127.0.0.1:1',
  baseUrl: 'http://127.0.0.1:1',
  key: 'k',
};

const freshPlan: Plan = {
  job: 'demo',
  operation: 'deploy',
  action: 'fresh',
  changes: true,
  fresh: true,
  versionFrom: null,
  versionTo: 'bbbbbbb',
  running: 0,
  total: 0,
  desired: 1,
  strategy: 'start-first',
  canRollback: false,
  rollbackTo: null,
  diff: null,
  warnings: [],
};

/** A node whose deploy fails the way a first deploy of a crashing image does. */
function failingFreshDeploy(): AgentClient {
  const result: OperationResult = {
    ok: false,
    action: 'fresh',
    message: 'new container 0123456789ab exited with code 3',
    versionFrom: null,
    versionTo: 'bbbbbbb',
    running: 0,
    total: 0,
    restored: true,
    error: { code: 'start_failed', message: 'new container 0123456789ab exited with code 3' },
  };
  return { deploy: async () => result, close: () => {} } as unknown as AgentClient;
}

async function rolloutMessage(client: AgentClient): Promise<string | null> {
  const store = new Store(
    initialState([{ name: NODE.name, location: NODE.location }], { inventoryName: 'test' }, 0),
  );
  const cluster = new Cluster([NODE], { clientFactory: () => client });
  const actions = new ActionsController(store, cluster, {
    inventory: { source: 'test', nodes: [NODE], groups: {} },
    inventoryPath: 'inventory.yaml',
    jobFiles: [],
    cwd: '/',
    embedded: false,
    refreshNode: () => {},
    refreshAll: () => {},
  });
  const request: OperationRequest = {
    id: 1,
    op: 'deploy',
    job: 'demo',
    nodes: [NODE.name],
    spec: testSpec(),
    file: 'demo.yaml',
    count: null,
  };
  store.dispatch({ type: 'planStarted', request, title: 'Deploy demo' });
  store.dispatch({
    type: 'planReady',
    request,
    title: 'Deploy demo',
    summary: [],
    nodes: [{ node: NODE.name, outcome: 'ok', plan: freshPlan, error: null }],
    command: 'dokkup run job demo.yaml',
  });
  const before = store.state;
  store.dispatch({ type: 'command', command: 'confirm.yes' });
  actions.afterCommand('confirm.yes', before, store.state);
  const finished = new Promise<void>((resolve) => {
    const stop = store.subscribe((state) => {
      if (state.rollout?.finishedAt !== null && state.rollout?.finishedAt !== undefined) {
        stop();
        resolve();
      }
    });
  });
  await finished;
  cluster.close();
  return store.state.rollout!.nodes[0]!.message;
}

describe('ActionsController', () => {
  it('says that a failed fresh deploy removed its new containers (there is no previous version)', async () => {
    const message = await rolloutMessage(failingFreshDeploy());
    expect(message).toBe('new container 0123456789ab exited with code 3 (the new containers were removed)');
    expect(message).not.toMatch(/previous version/);
  });
});
