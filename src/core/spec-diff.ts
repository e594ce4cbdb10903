/**
 * What differs between the spec a node runs and the one it is asked to run, field by field, for
 * `plan job` and the TUI's plan view. Environment and label values are never part of it (keys
 * only: values may be secrets). Pure.
 *
 * A job with one unnamed entry (every 0.3 job file) gets the 0.3 shape: its container's changes
 * at the top level. A job with named entries gets them per entry in `entries` (only the entries
 * that change), so the plan names the entry that changed: `~ web: image: a -> b`.
 */
import type { ContainerDiff, EntryDiff, SpecDiff } from '../protocol/api.js';
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import { formatDurationMs } from './duration.js';
import { hasNamedEntries } from './entries.js';
import { routeDescription } from './proxy.js';

function keyChanges(a: Record<string, string>, b: Record<string, string>) {
  const added = Object.keys(b).filter((k) => !(k in a));
  const removed = Object.keys(a).filter((k) => !(k in b));
  const changed = Object.keys(b).filter((k) => k in a && a[k] !== b[k]);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

export function formatPorts(spec: ContainerSpec): string {
  if (spec.ports.length === 0) return 'none';
  return spec.ports.map((p) => `${p.out ?? ''}${p.out ? ':' : ''}${p.in}/${p.protocol}`).join(', ');
}

const argv = (a: string[] | null) => (a === null ? null : a.join(' '));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What differs between one container definition `a` (undefined: none known) and `b`. */
export function diffContainers(a: ContainerSpec | undefined, b: ContainerSpec): ContainerDiff {
  const diff: ContainerDiff = {
    environment: keyChanges(a?.environment ?? {}, b.environment),
    labels: keyChanges(a?.labels ?? {}, b.labels),
    other: [],
  };
  if (a?.image !== b.image) diff.image = { from: a?.image ?? null, to: b.image };
  if (a && (a.name ?? null) !== (b.name ?? null)) diff.name = { from: a.name ?? null, to: b.name ?? null };
  if (!a || formatPorts(a) !== formatPorts(b))
    diff.ports = { from: a ? formatPorts(a) : null, to: formatPorts(b) };
  // A command built from `${VAR}`s (now or in the version it replaces) may hold a secret: it is
  // named as changed, never shown. Masking is per entry: each entry carries its own fields.
  const masked = new Set([...(a?.maskedFields ?? []), ...(b.maskedFields ?? [])]);
  const maskedChanges: string[] = [];
  for (const field of ['command', 'entrypoint'] as const) {
    if (same(a?.[field] ?? null, b[field])) continue;
    if (masked.has(field)) maskedChanges.push(field);
    else diff[field] = { from: argv(a?.[field] ?? null), to: argv(b[field]) };
  }
  const stopFields = {
    stop_grace_period: (c?: ContainerSpec) =>
      c?.stopGracePeriodMs === undefined ? null : formatDurationMs(c.stopGracePeriodMs),
    stop_signal: (c?: ContainerSpec) => c?.stopSignal ?? null,
    init: (c?: ContainerSpec) => (c?.init === undefined ? null : String(c.init)),
  };
  for (const [field, show] of Object.entries(stopFields) as [
    keyof typeof stopFields,
    typeof stopFields.init,
  ][]) {
    // Shown for a first deploy too, when set: the operator sees how the containers will stop.
    if (show(a) !== show(b)) diff[field] = { from: show(a), to: show(b) };
  }
  diff.other.push(...maskedChanges);
  if (a) {
    for (const field of ['volumes', 'networks', 'restart', 'healthcheck', 'resources'] as const) {
      if (!same(a[field], b[field])) diff.other.push(field);
    }
  }
  return diff;
}

/** True when the container diff names no change at all. */
export function isEmptyContainerDiff(d: ContainerDiff): boolean {
  const keys = (k: ContainerDiff['environment']) => k.added.length + k.removed.length + k.changed.length;
  const { environment, labels, other, ...changes } = d;
  return (
    keys(environment) === 0 && keys(labels) === 0 && other.length === 0 && Object.keys(changes).length === 0
  );
}

/**
 * Pairs the entries of `from` and `to`: by name, except that a job's single unnamed entry is the
 * same entry as the other side's first (naming a one-entry job, or adding entries to it, shows
 * how that container changes rather than a removal and an addition).
 */
interface EntryPair {
  a: ContainerSpec | undefined;
  b: ContainerSpec | undefined;
}

function pairEntries(from: readonly ContainerSpec[], to: readonly ContainerSpec[]): EntryPair[] {
  const unnamed = (list: readonly ContainerSpec[]) => list.length === 1 && list[0]!.name === undefined;
  if (unnamed(from) || unnamed(to)) {
    return [
      { a: from[0], b: to[0] },
      ...from.slice(1).map((a) => ({ a, b: undefined })),
      ...to.slice(1).map((b) => ({ a: undefined, b })),
    ];
  }
  const pairs: EntryPair[] = to.map((b) => ({ a: from.find((a) => a.name === b.name), b }));
  for (const a of from) if (!to.some((b) => b.name === a.name)) pairs.push({ a, b: undefined });
  return pairs;
}

function entryDiffs(from: JobSpec | null, to: JobSpec): EntryDiff[] {
  const out: EntryDiff[] = [];
  for (const { a, b } of pairEntries(from?.container ?? [], to.container)) {
    if (!b) {
      out.push({ name: a!.name ?? '', change: 'removed', image: a!.image });
      continue;
    }
    if (!a) {
      out.push({ name: b.name ?? '', change: 'added', image: b.image });
      continue;
    }
    const diff = diffContainers(a, b);
    if (!isEmptyContainerDiff(diff))
      out.push({ name: b.name ?? '', change: 'changed', image: b.image, diff });
  }
  return out;
}

/** What differs between the running spec `from` (null: none known) and `to`. */
export function diffSpecs(from: JobSpec | null, to: JobSpec, imageIdChanged = false): SpecDiff {
  const routeFrom = from?.proxy ? routeDescription(from.proxy) : null;
  const routeTo = to.proxy ? routeDescription(to.proxy) : null;
  const count = {
    ...(from?.count !== to.count ? { count: { from: from?.count ?? null, to: to.count } } : {}),
    // Only for jobs with a route on either side: other plans keep their shape.
    ...(routeFrom !== routeTo ? { route: { from: routeFrom, to: routeTo } } : {}),
  };
  if (!hasNamedEntries(to) && (from === null || !hasNamedEntries(from))) {
    // One unnamed entry on both sides: the 0.3 shape, byte for byte.
    const {
      name: _name,
      environment,
      labels,
      other,
      image,
      ...rest
    } = diffContainers(from?.container[0], to.container[0]!);
    return { environment, labels, other, imageIdChanged, ...(image ? { image } : {}), ...count, ...rest };
  }
  const none = { added: [], removed: [], changed: [] };
  return {
    ...count,
    environment: none,
    labels: { ...none },
    other: [],
    imageIdChanged,
    entries: entryDiffs(from, to),
  };
}

/**
 * The images a plan's diff goes to (a rollback's target version may run other images than the
 * job file): the top-level image change of a one-entry job, and each added or changed entry's.
 */
export function imagesDiffGoesTo(diff: SpecDiff | null | undefined): string[] {
  if (!diff) return [];
  const images: (string | null)[] = [diff.image?.to ?? null];
  for (const entry of diff.entries ?? []) {
    if (entry.change === 'added') images.push(entry.image);
    else if (entry.change === 'changed') images.push(entry.diff?.image?.to ?? null);
  }
  return [...new Set(images.filter((image): image is string => image !== null))];
}
