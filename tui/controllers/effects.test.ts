import { describe, expect, it } from 'vitest';
import type { Effect } from '../store/effects.js';
import { request } from '../store/store.fixture.js';
import { inventoryNode, storeFor } from './controllers.fixture.js';
import { runEffect, runEffects } from './effects.js';

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    targets: {
      refresh: {
        soon: (node: string): void => {
          calls.push(`soon ${node}`);
        },
        refreshAll: (): void => {
          calls.push('refreshAll');
        },
      },
      actions: {
        listJobFiles: async () => {
          calls.push('listJobFiles');
        },
        plan: async (intent: { op: string }) => {
          calls.push(`plan ${intent.op}`);
        },
        execute: async (request: { id: number }) => {
          calls.push(`execute ${request.id}`);
        },
        decline: (request: { id: number }): void => {
          calls.push(`decline ${request.id}`);
        },
      },
      audit: {
        read: (since: Record<string, string | null>): void => {
          calls.push(
            `readAudit ${Object.entries(since)
              .map(([n, s]) => `${n}:${s}`)
              .join(',')}`,
          );
        },
      },
    },
  };
}

describe('effect runner', () => {
  it('hands each effect to the controller that owns it', () => {
    const { calls, targets } = recorder();
    const effects: Effect[] = [
      { kind: 'refresh', node: 'lab1' },
      { kind: 'refreshAll' },
      { kind: 'listJobFiles' },
      { kind: 'plan', intent: { op: 'deploy', file: 'web.yaml' } },
      { kind: 'execute', request: request('deploy', ['lab1', 'lab2'], 3) },
      { kind: 'decline', request: request('deploy', ['lab1'], 4) },
      { kind: 'readAudit', since: { lab1: null, lab2: '2026-01-01T00:00:00Z' } },
    ];
    for (const effect of effects) runEffect(effect, targets);
    expect(calls).toEqual([
      'soon lab1',
      'refreshAll',
      'listJobFiles',
      'plan deploy',
      'execute 3',
      'decline 4',
      'readAudit lab1:null,lab2:2026-01-01T00:00:00Z',
    ]);
  });
  it('runs the effects of the store’s actions, after the state changed, until stopped', () => {
    const { store } = storeFor([inventoryNode('lab1')]);
    const { calls, targets } = recorder();
    const seen: string[] = [];
    store.subscribe((state) => seen.push(state.flash?.text ?? ''));
    targets.refresh.refreshAll = () => {
      // The listener saw the new state before the effect ran.
      calls.push(`refreshAll after ${seen.join('|')}`);
    };
    const stop = runEffects(store, targets);
    store.dispatch({ type: 'command', command: 'refresh' });
    expect(calls).toEqual(['refreshAll after Refreshing every node…']);
    stop();
    store.dispatch({ type: 'command', command: 'refresh' });
    expect(calls).toHaveLength(1);
  });
});
