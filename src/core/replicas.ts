/**
 * Replicas: a job's containers grouped the way they were created. With several entries, the
 * containers of one replica (one of every entry) share the `dokkup.job.replica` label; without
 * it (one-entry jobs, dokkup 0.3's containers) every container is a replica of its own. The
 * planner keeps, starts, removes and counts whole replicas, so a node never runs a replica that
 * mixes versions or lacks an entry. Pure.
 */
import type { JobSpec } from '../protocol/job.js';
import type { ObservedContainer } from './planner.js';

export interface Replica {
  /** The replica label, or `container:<id>` for a container without one. */
  key: string;
  /** The version its containers carry (null: unlabelled containers of the original dokkup). */
  version: string | null;
  /** Its containers disagree on the version: never made by dokkup, so never kept. */
  mixed: boolean;
  containers: ObservedContainer[];
  /** Unix seconds: the earliest creation among its containers. */
  createdAt: number;
}

const isRunning = (c: ObservedContainer) => c.state === 'running' || c.state === 'restarting';

/** The containers grouped into replicas, in order of first appearance. */
export function groupReplicas(containers: readonly ObservedContainer[]): Replica[] {
  const byKey = new Map<string, Replica>();
  for (const c of containers) {
    const key = c.replica ?? `container:${c.id}`;
    const replica = byKey.get(key);
    if (!replica) {
      byKey.set(key, { key, version: c.version, mixed: false, containers: [c], createdAt: c.createdAt });
      continue;
    }
    replica.containers.push(c);
    if (c.version !== replica.version) replica.mixed = true;
    replica.createdAt = Math.min(replica.createdAt, c.createdAt);
  }
  return [...byKey.values()];
}

/**
 * Whole for `spec`: exactly one container of every entry, nothing else, one version. A replica
 * an interrupted operation left half made is not whole, and is debris.
 */
export function isWhole(replica: Replica, spec: Pick<JobSpec, 'container'>): boolean {
  if (replica.mixed || replica.containers.length !== spec.container.length) return false;
  return spec.container.every(
    (entry) => replica.containers.filter((c) => c.entry === (entry.name ?? null)).length === 1,
  );
}

/** Every container of the replica runs. */
export function isReplicaRunning(replica: Replica): boolean {
  return replica.containers.every(isRunning);
}

export function containerIds(replicas: readonly Replica[]): string[] {
  return replicas.flatMap((r) => r.containers.map((c) => c.id));
}

/** Newest replica first (ties by key, for a stable order). */
export const newestReplicaFirst = (a: Replica, b: Replica): number =>
  b.createdAt - a.createdAt || b.key.localeCompare(a.key);
export const oldestReplicaFirst = (a: Replica, b: Replica): number => -newestReplicaFirst(a, b);
