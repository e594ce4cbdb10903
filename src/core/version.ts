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
 * What the hash covers: the entries' container definitions without `pull` (how an image is
 * fetched doesn't change the container) and without `maskedFields` (it only says how plans show
 * an entry). Name, count, targets and update policy are left out on
 * purpose: scaling or moving a job is not a new version.
 *
 * - One entry: that container's definition, exactly as dokkup 0.3 hashed its single container,
 *   so an upgrade never changes the version of a job file (and never redeploys it). An entry's
 *   `name` is part of its definition: adding `name:` to a one-entry job is a new version, because
 *   it changes the containers (their names, their `dokkup.job.entry` label, their network alias).
 * - A `proxy:` block: `{container, proxy}` of the above and the normalised route (a route change is
 *   a new version, deployed, and rolled back, through the same gapless switch).
 * - Several entries: the list of their definitions sorted by name. Entries start together, in no
 *   order, so listing them in another order is the same job and keeps the version; a list can
 *   never hash like a single object, so the two forms cannot collide.
 */
function versionedPart(spec: JobSpec): unknown {
  const containers = containersPart(spec);
  // A route is part of what runs (its containers join the proxy's network, the proxy sends them
  // requests): a job with a `proxy:` block hashes both. Without one, nothing changes.
  return spec.proxy ? { container: containers, proxy: spec.proxy } : containers;
}

function containersPart(spec: JobSpec): unknown {
  const parts = spec.container.map(({ pull: _pull, maskedFields: _masked, ...container }) => container);
  if (parts.length === 1) return parts[0];
  return parts.sort((a, b) =>
    (a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0,
  );
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
