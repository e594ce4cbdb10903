/**
 * Which history record an operation commits, and when an operation that changes nothing still
 * commits. The executor asks; these decide. Pure: the stored state, the spec and the time come in.
 *
 * The commit is the moment an operation's version becomes the node's version: after the new
 * containers passed the health gate and before the old ones are removed (see agent/jobs).
 */
import type { JobSpec } from '../protocol/job.js';
import type { JobState } from '../protocol/state.js';
import { canaryOf, currentRecord, recordDeploy, recordRollback, recordScale } from './history.js';
import type { Observation } from './planner.js';
import { canonicalJson } from './version.js';

/**
 * - `rollback`: the pointer moves back to a version already in the history;
 * - `scale`: the version is already current; its entry keeps its place and takes the new count;
 * - `deploy`: a new version is appended (anything "forward" of the current entry is forgotten).
 */
export type CommitKind = 'deploy' | 'scale' | 'rollback';

export interface CommitInput {
  operation: 'deploy' | 'rollback';
  /** The history as stored now (read again just before the commit). */
  stored: JobState | null;
  /** The history the operation was planned from, for a rollback whose stored copy went missing. */
  planned: JobState | null;
  spec: JobSpec;
  version: string;
  /** ISO time of the commit. */
  at: string;
  /** A deploy put out as a canary: the node keeps a canary mark until it is promoted. */
  canary?: boolean;
}

export function commitKind(
  input: Pick<CommitInput, 'operation' | 'stored' | 'planned' | 'version'>,
): CommitKind {
  if (input.operation === 'rollback' && (input.stored ?? input.planned)) return 'rollback';
  return input.stored?.current === input.version ? 'scale' : 'deploy';
}

/** The history to write once the operation's containers are in place. */
export function committedState(input: CommitInput): JobState {
  const { stored, planned, spec, version, at } = input;
  switch (commitKind(input)) {
    case 'rollback':
      return recordRollback((stored ?? planned)!, version, at);
    case 'scale':
      return withCanaryMark(recordScale(stored, spec, version, at), input);
    case 'deploy':
      return withCanaryMark(recordDeploy(stored, spec, version, at), input);
  }
}

/**
 * The canary mark after a deploy: a canary deploy marks the node (a canary replacing another
 * canary keeps the version the node ran before both, so a rollback goes back to the fleet's
 * version, not to an abandoned canary); a plain deploy of the canary's own version (a scale, a
 * start) keeps the mark; any other version ends it.
 */
function withCanaryMark(next: JobState, input: CommitInput): JobState {
  const { canary: _dropped, ...state } = next;
  const existing = canaryOf(input.stored);
  if (existing && existing.version === input.version) return { ...state, canary: existing };
  if (input.canary !== true || input.operation !== 'deploy') return state;
  // Already this node's own version (not a canary): nothing new is being tried out here.
  if (input.stored?.current === input.version) return state;
  const from = existing ? existing.from : (input.stored?.current ?? null);
  return { ...state, canary: { version: input.version, from, since: input.at } };
}

/**
 * A plan with nothing to change still commits when the history does not record what runs:
 * - a version found only on the containers' labels (history lost, or a crash after the old
 *   containers were removed but before the commit) is adopted into the history;
 * - the current version's record holds another spec than the one deployed (a crash after a
 *   scale's new containers passed the gate but before its commit leaves the old count recorded,
 *   so the job's status would show the wrong desired count; or fields outside the version hash,
 *   like `update`, changed): the record takes the deployed spec.
 */
export function unchangedPlanCommits(obs: Observation, spec: JobSpec, version: string): boolean {
  if (obs.containers.length === 0) return false;
  const record = currentRecord(obs.state);
  return record?.version !== version || canonicalJson(record.spec) !== canonicalJson(spec);
}
