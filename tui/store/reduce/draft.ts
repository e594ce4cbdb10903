/**
 * Drafts for the fleet reducer: the facts of one frame are applied to records the batch owns
 * (changed in place), not copied again for every fact; outside `inDraft` every change copies, as
 * a reducer must. Nothing outside the batch ever sees a draft.
 */
import type { NodeEntry, TuiState } from '../state.js';

/** Objects made during the batch being applied: changed in place until it ends. */
let draft: WeakSet<object> | null = null;

/** `value` itself when the current batch made it, else a copy that the batch now owns. */
export function own<T extends object>(value: T, copy: (v: T) => T): T {
  if (draft?.has(value)) return value;
  const fresh = copy(value);
  draft?.add(fresh);
  return fresh;
}

/** A shallow copy. `for…in` rather than a spread: for ten thousand keys it is several times faster. */
export const copyRecord = <T extends object>(r: T): T => {
  const copy = {} as T;
  for (const key in r) copy[key] = r[key];
  return copy;
};

/** The state with `key` replaced by `value` (in place when the batch owns the state). */
export function withPart<K extends keyof TuiState>(state: TuiState, key: K, value: TuiState[K]): TuiState {
  if (state[key] === value) return state;
  const next = own(state, copyRecord);
  next[key] = value;
  return next;
}

/** The record with `key` set to `value`, as a new record (or in place when the batch owns it). */
export function setIn<V>(record: Record<string, V>, key: string, value: V): Record<string, V> {
  const next = own(record, copyRecord);
  next[key] = value;
  return next;
}

export function updateNode(state: TuiState, name: string, fn: (n: NodeEntry) => NodeEntry): TuiState {
  const node = state.nodes[name];
  if (!node) return state;
  const updated = fn(node);
  return updated === node ? state : withPart(state, 'nodes', setIn(state.nodes, name, updated));
}

/** Runs `fn` with a draft of its own: what it makes it may change in place until it returns. */
export function inDraft<T>(fn: () => T): T {
  const outer = draft;
  draft = new WeakSet();
  try {
    return fn();
  } finally {
    draft = outer;
  }
}
