/**
 * The one effect runner: carries out what the reducer asks for (`Effect`) by handing it to the
 * controller that owns that part of the outside world. Controllers never call each other; what
 * they find out comes back as actions, and the reducer decides what follows.
 */
import type { Effect } from '../store/effects.js';
import type { Store } from '../store/store.js';
import type { ActionsController } from './actions.js';
import type { AuditReader } from './audit.js';
import type { RefreshController } from './refresh.js';

export interface EffectTargets {
  refresh: Pick<RefreshController, 'soon' | 'refreshAll'>;
  actions: Pick<ActionsController, 'listJobFiles' | 'plan' | 'execute' | 'decline'>;
  audit: Pick<AuditReader, 'read'>;
}

export function runEffect(effect: Effect, targets: EffectTargets): void {
  switch (effect.kind) {
    case 'refresh':
      targets.refresh.soon(effect.node);
      return;
    case 'refreshAll':
      targets.refresh.refreshAll();
      return;
    case 'listJobFiles':
      void targets.actions.listJobFiles();
      return;
    case 'plan':
      void targets.actions.plan(effect.intent);
      return;
    case 'execute':
      void targets.actions.execute(effect.request);
      return;
    case 'decline':
      targets.actions.decline(effect.request);
      return;
    case 'readAudit':
      targets.audit.read(effect.since);
      return;
  }
}

/** Makes `targets` carry out every effect of `store` from now on. */
export function runEffects(store: Store, targets: EffectTargets): () => void {
  store.handleEffects((effect) => runEffect(effect, targets));
  return () => store.handleEffects(null);
}
