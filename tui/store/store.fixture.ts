/**
 * Helpers for the store's tests: a small fleet in a known state, and ways to drive the reducer
 * the way the app does (key presses through the keymap, facts as actions), keeping or dropping
 * the effects. Excluded from the build (`*.fixture.ts`).
 */
import type { Plan } from '../../src/protocol/index.js';
import { agentInfo, container, jobStatus } from '../../test/sim/agent-values.js';
import type { Action } from './actions.js';
import type { Effect, Step } from './effects.js';
import { resolveKey } from './keymap.js';
import { reduce } from './reducer.js';
import { initialState, type NodePlan, type OperationRequest, type TuiState } from './state.js';

export { agentInfo, container, containerStats, jobStatus, logLine } from '../../test/sim/agent-values.js';

export const T0 = 1_700_000_100_000;

/** Applies actions in order; the effects they call for are collected. */
export function run(state: TuiState, ...actions: Action[]): Step {
  const effects: Effect[] = [];
  let s = state;
  for (const action of actions) {
    const next = reduce(s, action);
    s = next.state;
    effects.push(...next.effects);
  }
  return { state: s, effects };
}

/** Applies actions in order and keeps the state only. */
export function apply(state: TuiState, ...actions: Action[]): TuiState {
  return run(state, ...actions).state;
}

/** The key presses as actions, resolved the way the app does: keymap, then reducer. */
export function keys(state: TuiState, ...names: string[]): Step {
  const effects: Effect[] = [];
  let s = state;
  for (const key of names) {
    const resolved = resolveKey(s, key);
    if (!resolved) continue;
    const next = reduce(s, {
      type: 'command',
      command: resolved.command,
      ...(resolved.char !== undefined ? { char: resolved.char } : {}),
    });
    s = next.state;
    effects.push(...next.effects);
  }
  return { state: s, effects };
}

/** Presses keys and keeps the state only. */
export function press(state: TuiState, ...names: string[]): TuiState {
  return keys(state, ...names).state;
}

/** Types text into whatever takes text. */
export function type(state: TuiState, text: string): TuiState {
  return press(state, ...Array.from(text).map((c) => (c === ' ' ? 'space' : c)));
}

/** A node's HTTP probe answered: info, round trip, job list. */
export function probed(
  node: string,
  jobs: ReturnType<typeof jobStatus>[],
  extra: Partial<Extract<Action, { type: 'nodeProbed' }>> = {},
): Action {
  return { type: 'nodeProbed', node, at: T0, info: agentInfo(), latencyMs: 3, jobs, ...extra };
}

/** Three nodes: lab1 and lab2 run web (v aaaaaaa), lab2 also runs api; lab3 is offline. */
export function fleet(size = { width: 160, height: 48 }): TuiState {
  const s = initialState(
    [
      { name: 'lab1', location: '10.0.0.1:8080' },
      { name: 'lab2', location: '10.0.0.2:8080' },
      { name: 'lab3', location: '10.0.0.3:8080' },
    ],
    { inventoryName: 'inventory.yaml', inventoryPath: 'inventory.yaml' },
    T0,
    size,
  );
  return apply(
    s,
    probed('lab1', [jobStatus('web', [container('web', 1), container('web', 2)])]),
    probed(
      'lab2',
      [
        jobStatus('web', [container('web', 3)], { desired: 2 }),
        jobStatus('api', [container('api', 1, { version: 'bbbbbbb' })]),
      ],
      { info: agentInfo({ dockerVersion: '27.0.1' }), latencyMs: 12 },
    ),
    { type: 'nodeProbeFailed', node: 'lab3', at: T0, failure: 'offline', error: 'connect ECONNREFUSED' },
  );
}

export function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    job: 'web',
    operation: 'deploy',
    action: 'scale',
    changes: true,
    fresh: false,
    versionFrom: 'aaaaaaa',
    versionTo: 'aaaaaaa',
    running: 2,
    total: 2,
    desired: 5,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...overrides,
  };
}

/** A node whose plan changes something (as the rollout classifies it: carried out once confirmed). */
export function changing(node: string, p: Plan = plan()): NodePlan {
  return {
    node,
    status: 'online',
    plan: p,
    error: null,
    changes: true,
    wave: 1,
    canary: false,
    outcome: 'skipped',
    message: 'not carried out: interrupted',
  };
}

/** A node with nothing to change. */
export function unchanged(node: string, message = 'Already up to date'): NodePlan {
  return {
    node,
    status: 'online',
    plan: plan({ changes: false, action: 'noop' }),
    error: null,
    changes: false,
    wave: null,
    canary: false,
    outcome: 'unchanged',
    message,
  };
}

/** A node the plan request could not reach. */
export function unreachable(node: string, error = 'connect ECONNREFUSED'): NodePlan {
  return {
    node,
    status: 'offline',
    plan: null,
    error,
    changes: false,
    wave: null,
    canary: false,
    outcome: 'offline',
    message: error,
  };
}

/** lab1 and lab2 would change; lab3 could not be asked. */
export const planned: NodePlan[] = [
  changing('lab1'),
  changing('lab2', plan({ running: 1, total: 1 })),
  unreachable('lab3'),
];

export function request(op: OperationRequest['op'], nodes: readonly string[], id = 7): OperationRequest {
  return { id, op, job: 'web', nodes: [...nodes], file: 'web.yaml', count: 5 };
}

/** The confirmation pane for `op` on web with these per-node plans. */
export function withPlan(s: TuiState, op: OperationRequest['op'], nodes: NodePlan[]): TuiState {
  const req = request(
    op,
    nodes.map((n) => n.node),
  );
  return apply(
    s,
    { type: 'planStarted', request: req, title: `${op} web` },
    {
      type: 'planReady',
      request: req,
      title: `${op} web`,
      summary: ['Node statuses:', '', 'NAME     STATUS     CONTAINERS'],
      nodes,
      command: 'dokkup run job -i inventory.yaml web.yaml',
    },
  );
}
