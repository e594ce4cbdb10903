/**
 * A fleet the size the control center is built for, for the store's unit tests: `n0001`…, in
 * groups `eu` (the first half) and `us`, every node online with one container of `web` and a
 * summary whose CPU is the node's number, then the problems the test asks for. Excluded from the
 * build (`*.fixture.ts`).
 */
import type { Action, FeedFact } from './actions.js';
import { initialState, type TuiState } from './state.js';
import { agentInfo, apply, container, jobStatus, T0 } from './store.fixture.js';

export const nodeName = (i: number) => `n${String(i).padStart(4, '0')}`;

export interface Problems {
  offline?: number[];
  unauthorized?: number[];
  /** The feed found a certificate that is not the pinned one. */
  untrusted?: number[];
  error?: number[];
}

export function bigFleet(
  size: number,
  problems: Problems = {},
  screen = { width: 160, height: 48 },
): TuiState {
  const names = Array.from({ length: size }, (_, i) => nodeName(i + 1));
  const half = Math.floor(size / 2);
  let s = initialState(
    names.map((name, i) => ({ name, location: `10.0.${i >> 8}.${i & 255}:8080` })),
    { inventoryName: 'fleet.yaml', inventoryPath: 'fleet.yaml' },
    T0,
    screen,
    { eu: names.slice(0, half), us: names.slice(half) },
  );
  const facts: FeedFact[] = names.map((name, i) => ({
    type: 'nodeSummary',
    node: name,
    at: T0,
    summary: {
      at: T0,
      info: agentInfo({ hostname: name }),
      jobs: [jobStatus('web', [container('web', i + 1)])],
      others: [],
      usage: { cpuPercent: i + 1, memoryUsage: (size - i) * 1024 * 1024, containers: 1 },
    },
  }));
  s = apply(s, { type: 'feedBatch', facts });
  const actions: Action[] = [];
  for (const i of problems.offline ?? []) {
    // The feed gave up, then HTTP says the node is down.
    actions.push({ type: 'feedState', node: nodeName(i), state: 'offline', error: 'refused', at: T0 });
    actions.push({
      type: 'nodeProbeFailed',
      node: nodeName(i),
      at: T0,
      failure: 'offline',
      error: 'refused',
    });
  }
  for (const i of problems.unauthorized ?? [])
    actions.push({ type: 'feedState', node: nodeName(i), state: 'unauthorized', error: 'bad key', at: T0 });
  for (const i of problems.untrusted ?? [])
    actions.push({
      type: 'feedState',
      node: nodeName(i),
      state: 'untrusted',
      error: 'certificate mismatch',
      at: T0,
    });
  for (const i of problems.error ?? [])
    actions.push({
      type: 'nodeProbeFailed',
      node: nodeName(i),
      at: T0,
      failure: 'error',
      error: 'docker down',
    });
  return apply(s, ...actions);
}
