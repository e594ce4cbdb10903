/**
 * The job file's `update:` block: the health gate of every node (`healthy_deadline`,
 * `min_healthy_time`) and how a fleet rollout goes (`max_parallel`, `auto_revert`, `canary`,
 * `auto_promote`; outside the version, see version.ts). Part of the normalisation in spec.ts.
 */
import type { JobFile, Share, UpdatePolicy } from '../protocol/job.js';
import { formatDurationMs, parseDurationMs } from './duration.js';
import { InputError } from './errors.js';
import type { ProblemSink } from './field-problems.js';

export const DEFAULT_HEALTHY_DEADLINE_MS = 120_000;
export const DEFAULT_MIN_HEALTHY_MS = 3_000;

export function normalizeUpdate(file: JobFile, problems: ProblemSink): UpdatePolicy {
  const u = file.update && typeof file.update === 'object' ? file.update : undefined;
  let healthyDeadlineMs = DEFAULT_HEALTHY_DEADLINE_MS;
  let minHealthyMs = DEFAULT_MIN_HEALTHY_MS;
  if (u?.healthy_deadline !== undefined) {
    const v = u.healthy_deadline;
    const ms = problems.attempt(['update', 'healthy_deadline'], null, () => parseDurationMs(v));
    if (ms === 0) problems.add(['update', 'healthy_deadline'], 'must be longer than 0s');
    else if (ms !== null) healthyDeadlineMs = ms;
  }
  if (u?.min_healthy_time !== undefined) {
    const v = u.min_healthy_time;
    const ms = problems.attempt(['update', 'min_healthy_time'], null, () => parseDurationMs(v));
    if (ms !== null) minHealthyMs = ms;
  }
  if (minHealthyMs >= healthyDeadlineMs) {
    // Whichever the user wrote is the one to point at; both can't be defaults (3s < 2m).
    if (u?.min_healthy_time !== undefined) {
      problems.add(
        ['update', 'min_healthy_time'],
        `must be shorter than the healthy deadline (${formatDurationMs(healthyDeadlineMs)}), ` +
          `or no container could ever pass; got ${formatDurationMs(minHealthyMs)}`,
      );
    } else {
      problems.add(
        ['update', 'healthy_deadline'],
        `must be longer than the minimum healthy time (${formatDurationMs(minHealthyMs)} by default), ` +
          `or no container could ever pass; got ${formatDurationMs(healthyDeadlineMs)}`,
      );
    }
  }
  const policy: UpdatePolicy = { healthyDeadlineMs, minHealthyMs };
  // The fleet fields exist in the spec only when written, so a file without them hashes and
  // normalises exactly as before (see version.ts).
  if (u?.max_parallel !== undefined) {
    const v = u.max_parallel;
    const parsed = problems.attempt<Share | null | undefined>(['update', 'max_parallel'], undefined, () =>
      parseShare(v),
    );
    if (parsed === null) {
      problems.add(['update', 'max_parallel'], 'must be at least 1 node (or a percentage above 0%)');
    } else if (parsed) policy.maxParallel = parsed;
  }
  if (u?.auto_revert !== undefined && typeof u.auto_revert === 'boolean') policy.autoRevert = u.auto_revert;
  if (u?.canary !== undefined) {
    const v = u.canary;
    const parsed = problems.attempt(['update', 'canary'], null, () => parseShare(v));
    if (parsed) policy.canary = parsed;
  }
  if (u?.auto_promote !== undefined) {
    const v = u.auto_promote;
    const ms = problems.attempt(['update', 'auto_promote'], null, () => parseDurationMs(v));
    if (ms === 0) problems.add(['update', 'auto_promote'], 'must be longer than 0s');
    else if (ms !== null && !policy.canary) {
      problems.add(
        ['update', 'auto_promote'],
        'only applies to a canary: set update.canary too (or remove auto_promote)',
      );
    } else if (ms !== null) policy.autoPromoteMs = ms;
  }
  return policy;
}

/**
 * `3` (nodes) or `"25%"` (of the target nodes) → a `Share`; `0` and `0%` are null ("none").
 * Throws an `InputError` for anything else.
 */
export function parseShare(v: number | string): Share | null {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new InputError(`must be a whole number of nodes, got ${v}`);
    return v === 0 ? null : { nodes: v };
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(typeof v === 'string' ? v.trim() : '');
  if (!m)
    throw new InputError(`must be a number of nodes or a percentage like 25%, got ${JSON.stringify(v)}`);
  const percent = Number(m[1]);
  if (percent > 100) throw new InputError(`must be at most 100%, got ${JSON.stringify(v)}`);
  return percent === 0 ? null : { percent };
}
