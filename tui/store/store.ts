/**
 * A tiny observable holder for the state: controllers dispatch actions, the view and the
 * controllers listen (listeners get the previous state too, to react to what changed), and the
 * effects the reducer returns go to the one effect handler (`tui/controllers/effects.ts`).
 */
import type { Action } from './actions.js';
import type { Effect } from './effects.js';
import { reduce } from './reducer.js';
import type { TuiState } from './state.js';

export type Listener = (state: TuiState, previous: TuiState, action: Action) => void;
export type EffectHandler = (effect: Effect) => void;

export class Store {
  private current: TuiState;
  private readonly listeners = new Set<Listener>();
  private effectHandler: EffectHandler | null = null;
  private dispatching = false;
  private readonly queued: Action[] = [];

  constructor(initial: TuiState) {
    this.current = initial;
  }

  get state(): TuiState {
    return this.current;
  }

  /**
   * Applies an action: listeners run after the state changed, then its effects are handed over
   * in order. Actions dispatched meanwhile (by a listener or an effect) are queued.
   */
  dispatch(action: Action): void {
    this.queued.push(action);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queued.shift(); next !== undefined; next = this.queued.shift()) {
        const previous = this.current;
        const { state, effects } = reduce(previous, next);
        if (state !== previous) {
          this.current = state;
          for (const listener of [...this.listeners]) listener(state, previous, next);
        }
        for (const effect of effects) this.effectHandler?.(effect);
      }
    } finally {
      this.dispatching = false;
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Where effects go; there is one handler (the last one set). Without one they are dropped. */
  handleEffects(handler: EffectHandler | null): void {
    this.effectHandler = handler;
  }
}
