/**
 * A tiny observable holder for the state: controllers dispatch actions, the view and the
 * controllers listen. Listeners get the previous state too, to react to what changed.
 */
import type { Action } from './actions.js';
import { reduce } from './reducer.js';
import type { TuiState } from './state.js';

export type Listener = (state: TuiState, previous: TuiState, action: Action) => void;

export class Store {
  private current: TuiState;
  private readonly listeners = new Set<Listener>();
  private dispatching = false;
  private readonly queued: Action[] = [];

  constructor(initial: TuiState) {
    this.current = initial;
  }

  get state(): TuiState {
    return this.current;
  }

  /** Applies an action; listeners run after it. Actions dispatched by a listener are queued. */
  dispatch(action: Action): void {
    this.queued.push(action);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queued.shift(); next !== undefined; next = this.queued.shift()) {
        const previous = this.current;
        const state = reduce(previous, next);
        if (state === previous) continue;
        this.current = state;
        for (const listener of [...this.listeners]) listener(state, previous, next);
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
}
