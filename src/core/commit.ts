/**
 * Which history record an operation commits, and when an operation that changes nothing still
 * commits. The executor asks; these decide. Pure: the stored state, the spec and the time come in.
 *
 * The commit is the moment an operation's version becomes the node's version: after the new
 * containers passed the health gate and before the old ones are removed (see agent/jobs).
 */
import type { JobSpec } from '../protocol/job.js';
import type { JobState } from '../protocol/state.js';
import { currentRecord, recordDeploy, recordRollback, recordScale } from './history.js';
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
      return recordScale(stored, spec, version, at);
    case 'deploy':
      return recordDeploy(stored, spec, version, at);
  }
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
