/**
 * A normalised job spec for tests, with every field spelled out once: tests override only what
 * they are about. Test-only (excluded from the build).
 */
import type { ContainerSpec, JobSpec, ProxySpec } from '../protocol/job.js';

/** One container definition with every field spelled out (`web:v1`, nothing else set). */
export function testEntry(container: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: 'web:v1',
    command: null,
    entrypoint: null,
    ports: [],
    restart: 'always',
    labels: {},
    environment: {},
    volumes: [],
    networks: ['bridge'],
    healthcheck: null,
    resources: { nanoCpus: null, memoryBytes: null },
    pull: 'missing',
    ...container,
  };
}

/** A job with one unnamed entry (the 0.3 shape). */
export function testSpec(
  container: Partial<ContainerSpec> = {},
  job: Partial<Omit<JobSpec, 'container'>> = {},
): JobSpec {
  return testJob([testEntry(container)], job);
}

/** A job with these entries (give several a `name` each). */
export function testJob(entries: ContainerSpec[], job: Partial<Omit<JobSpec, 'container'>> = {}): JobSpec {
  return {
    name: 'demo',
    count: 1,
    target: { kind: 'nodes', nodes: ['n1'] },
    update: { healthyDeadlineMs: 60_000, minHealthyMs: 1000 },
    ...job,
    container: entries,
  };
}

/** A route on the node proxy: `shop.example.com` on port 80 to the containers' 8000, checked on /up. */
export function testRoute(route: Partial<ProxySpec> = {}): ProxySpec {
  return {
    port: 80,
    host: 'shop.example.com',
    path: null,
    entry: null,
    targetPort: 8000,
    health: { path: '/up', intervalMs: 1000 },
    drainMs: 30_000,
    ...route,
  };
}
