/**
 * A normalised job spec for tests, with every field spelled out once: tests override only what
 * they are about. Test-only (excluded from the build).
 */
import type { ContainerSpec, JobSpec } from '../protocol/job.js';

export function testSpec(
  container: Partial<ContainerSpec> = {},
  job: Partial<Omit<JobSpec, 'container'>> = {},
): JobSpec {
  return {
    name: 'demo',
    count: 1,
    target: { kind: 'nodes', nodes: ['n1'] },
    update: { healthyDeadlineMs: 60_000, minHealthyMs: 1000 },
    ...job,
    container: {
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
    },
  };
}
