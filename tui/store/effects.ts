/**
 * What the reducer asks the outside world to do. `reduce` returns them beside the new state;
 * the one effect runner (`tui/controllers/effects.ts`) carries them out, and whatever comes back
 * is dispatched as an action. Live subscriptions are not effects: like Elm's `subscriptions`,
 * they are derived from the state (`select/subscriptions.ts`) and kept in step by the feeds
 * controller.
 */
import type { OperationRequest, TuiState } from './state.js';

/** What to plan: the operation key pressed and what it was pressed on. */
export type PlanIntent =
  | { op: 'deploy'; file: string }
  | { op: 'scale'; job: string; count: number }
  /** Roll the canary out on the rest of the job's nodes (the job's file must define it). */
  | { op: 'promote'; job: string }
  | {
      op: 'rollback' | 'stop' | 'purge';
      job: string;
      /** The nodes that report the job (its targets when no job file defines it). */
      reporting: string[];
      /** The image the nodes report (for the summary when no job file defines the job). */
      image: string | null;
    };

export type Effect =
  /** Fetch a node's info and job list again, soon (bursts fold into one request). */
  | { kind: 'refresh'; node: string }
  /** Fetch every node's now (`R`). */
  | { kind: 'refreshAll' }
  /** List the job files `d` offers; answered by `jobFilesListed`. */
  | { kind: 'listJobFiles' }
  /** Ask the target nodes for a plan; answered by `planStarted`, then `planReady` / `planFailed`. */
  | { kind: 'plan'; intent: PlanIntent }
  /** Carry the confirmed rollout out (on the nodes its plan changes); answered by `rollout*` actions. */
  | { kind: 'execute'; request: OperationRequest }
  /** The operator cancelled while planning or at the confirmation: nothing is carried out. */
  | { kind: 'decline'; request: OperationRequest }
  /** Read every node's audit log from `since` (per node; null: the last day); answered by `auditRead`. */
  | { kind: 'readAudit'; since: Record<string, string | null> };

/** A reducer's answer: the next state and what to do about it. */
export interface Step {
  state: TuiState;
  effects: readonly Effect[];
}

const NONE: readonly Effect[] = Object.freeze([]);

/** The step to `state`, with these effects. */
export function step(state: TuiState, ...effects: Effect[]): Step {
  return { state, effects: effects.length > 0 ? effects : NONE };
}

/** A room's answer, as a step: a bare state has no effects. */
export function toStep(result: TuiState | Step): Step {
  return 'effects' in result ? result : step(result);
}
