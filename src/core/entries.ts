/**
 * A job's entries (`container:` list items): one, or several each with a name. Each replica runs
 * one container of every entry. Small pure helpers every room shares, so "the job's image" or
 * "does it bind a fixed host port" mean the same everywhere.
 */
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import { stopGraceMs } from './stop.js';

/** True when the job's entries carry names (several entries always do; one may). */
export function hasNamedEntries(spec: Pick<JobSpec, 'container'>): boolean {
  return spec.container.some((e) => e.name !== undefined);
}

/** The entries' names, in file order (`null` for the single unnamed entry). */
export function entryNames(spec: Pick<JobSpec, 'container'>): (string | null)[] {
  return spec.container.map((e) => e.name ?? null);
}

/** The entry a container of the job runs, by its entry label (`null`: no label, the unnamed entry). */
export function findEntry(spec: Pick<JobSpec, 'container'>, entry: string | null): ContainerSpec | undefined {
  return spec.container.find((e) => (e.name ?? null) === entry);
}

/** The image of the first entry: what one-entry tables show as the job's image. */
export function primaryImage(spec: Pick<JobSpec, 'container'>): string {
  return spec.container[0]!.image;
}

/** Every image the job runs, each once, in entry order. */
export function jobImages(spec: Pick<JobSpec, 'container'>): string[] {
  return [...new Set(spec.container.map((e) => e.image))];
}

export function entryUsesFixedHostPort(entry: Pick<ContainerSpec, 'ports'>): boolean {
  return entry.ports.some((p) => p.out !== null);
}

/** A fixed host port in any entry: two copies of the job cannot run on one node at once. */
export function usesFixedHostPort(spec: Pick<JobSpec, 'container'>): boolean {
  return spec.container.some(entryUsesFixedHostPort);
}

/** Containers of the job per node: one of every entry per replica. */
export function containersPerNode(spec: Pick<JobSpec, 'container' | 'count'>): number {
  return spec.count * spec.container.length;
}

/** The grace period a container of `entry` gets (Docker's default when the entry is unknown). */
export function entryStopGraceMs(spec: Pick<JobSpec, 'container'> | null, entry: string | null): number {
  const found = spec ? findEntry(spec, entry) : undefined;
  return stopGraceMs(found ?? {});
}

/** `web`, or `(unnamed)` for the single entry of a job that names none. */
export function entryTitle(entry: string | null | undefined): string {
  return entry ?? '(unnamed)';
}
