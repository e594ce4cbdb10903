/**
 * Per-job deployment history, as pure functions over `JobState`. A deploy truncates anything
 * "forward" of the current entry (like a browser history) and appends; a rollback only moves the
 * pointer, so `rollback` twice walks further back, and a deploy after a rollback forgets the
 * versions that were rolled away from.
 */
import type { CanaryMark, HistoryEntry, JobHistory } from '../protocol/api.js';
import type { JobSpec } from '../protocol/job.js';
import type { HistoryRecord, JobState } from '../protocol/state.js';
import { hasNamedEntries, primaryImage } from './entries.js';

/** Kubernetes keeps 10 revisions; we keep twice that. */
export const HISTORY_LIMIT = 20;

export function emptyState(job: string): JobState {
  return { schema: 1, job, current: null, entries: [] };
}

function currentIndex(state: JobState): number {
  return state.current === null ? -1 : state.entries.findIndex((e) => e.version === state.current);
}

export function currentRecord(state: JobState | null): HistoryRecord | null {
  if (!state) return null;
  const i = currentIndex(state);
  return i >= 0 ? (state.entries[i] ?? null) : null;
}

/** The version a plain `rollback` goes to: the entry before the current one. */
export function previousVersion(state: JobState | null): string | null {
  if (!state) return null;
  const i = currentIndex(state);
  return i > 0 ? (state.entries[i - 1]?.version ?? null) : null;
}

export function findRecord(state: JobState | null, version: string): HistoryRecord | null {
  return state?.entries.find((e) => e.version === version) ?? null;
}

/** After a successful deploy of `spec` (version `version`) at `now` (ISO). */
export function recordDeploy(state: JobState | null, spec: JobSpec, version: string, now: string): JobState {
  const base = state ?? emptyState(spec.name);
  const i = currentIndex(base);
  const kept = (i >= 0 ? base.entries.slice(0, i + 1) : base.entries).filter((e) => e.version !== version);
  const entries = [...kept, { version, spec, deployedAt: now }].slice(-HISTORY_LIMIT);
  return { schema: 1, job: spec.name, current: version, entries };
}

/**
 * After a scale or a start of the current version: the entry keeps its place and its version, but
 * its spec takes the new count (a later rollback to it restores that count).
 */
export function recordScale(state: JobState | null, spec: JobSpec, version: string, now: string): JobState {
  const existing = findRecord(state, version);
  if (!state || !existing) return recordDeploy(state, spec, version, now);
  return {
    ...state,
    current: version,
    entries: state.entries.map((e) => (e.version === version ? { ...e, spec } : e)),
  };
}

/** After a successful rollback to `version` (which is in the history). */
export function recordRollback(state: JobState, version: string, now: string): JobState {
  const { canary: _canary, ...rest } = state;
  const next: JobState = {
    ...rest,
    current: version,
    entries: state.entries.map((e) => (e.version === version ? { ...e, deployedAt: now } : e)),
  };
  // Going back to the canary's own version (an odd case) keeps it a canary; anything else ends it.
  const mark = canaryOf(state);
  return mark && mark.version === version ? { ...next, canary: mark } : next;
}

/** The node's canary mark, when its current version is a canary that was not promoted. */
export function canaryOf(state: JobState | null): CanaryMark | null {
  const mark = state?.canary;
  return mark && state.current === mark.version ? mark : null;
}

/** The state with its canary mark cleared (promoted): the version becomes the job's own. */
export function recordPromote(state: JobState): JobState {
  const { canary: _canary, ...rest } = state;
  return rest;
}

export function toJobHistory(job: string, state: JobState | null): JobHistory {
  const entries: HistoryEntry[] = (state?.entries ?? []).map((e) => ({
    version: e.version,
    image: primaryImage(e.spec),
    ...(hasNamedEntries(e.spec)
      ? { entries: e.spec.container.map((c) => ({ name: c.name ?? '', image: c.image })) }
      : {}),
    count: e.spec.count,
    deployedAt: e.deployedAt,
    current: e.version === state?.current,
  }));
  return { job, current: state?.current ?? null, entries, canary: canaryOf(state) };
}
