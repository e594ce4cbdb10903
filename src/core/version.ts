/**
 * The version of a job: a SHA-256 over the canonical JSON of everything that shapes the
 * container. It is computed from the normalised spec only (never from Docker's view of an
 * image or container), so every node and every run agree on it.
 */
import { createHash } from 'node:crypto';
import type { JobSpec } from '../protocol/job.js';

/** JSON with object keys sorted at every depth; list order is kept (it is meaningful). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined) return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * What the hash covers: the container definition without `pull` (how an image is fetched
 * doesn't change the container) and `maskedFields`. Name, count, targets and update policy are left out on
 * purpose: scaling or moving a job is not a new version.
 */
function versionedPart(spec: JobSpec): unknown {
  // `maskedFields` only says how plans show the spec.
  const { pull: _pull, maskedFields: _masked, ...container } = spec.container;
  return container;
}

/** The full 64-hex SHA-256 version. */
export function fullVersion(spec: JobSpec): string {
  return createHash('sha256')
    .update(canonicalJson(versionedPart(spec)))
    .digest('hex');
}

/** The 7-hex short version shown to users and written in container labels. */
export function specVersion(spec: JobSpec): string {
  return fullVersion(spec).slice(0, 7);
}
