/**
 * What a node has for a job: its containers (found by label) and its stored history, in the
 * shapes the planner and the API speak. Reads only.
 */
import { LABEL_ENTRY, LABEL_JOB, LABEL_REPLICA, LABEL_VERSION } from '../../src/core/labels.js';
import type { Observation, ObservedContainer } from '../../src/core/planner.js';
import type { ContainerInfo } from '../../src/protocol/api.js';
import type { ContainerRuntime, RuntimeContainer } from '../docker/runtime.js';
import type { JobStateStore } from '../store/job-store.js';

export function toObserved(c: RuntimeContainer): ObservedContainer {
  return {
    id: c.id,
    name: c.name,
    version: c.labels[LABEL_VERSION] ?? null,
    entry: c.labels[LABEL_ENTRY] ?? null,
    replica: c.labels[LABEL_REPLICA] ?? null,
    state: c.state,
    health: c.health,
    imageId: c.imageId,
    createdAt: c.createdAt,
  };
}

export function toContainerInfo(c: RuntimeContainer): ContainerInfo {
  return {
    id: c.id,
    name: c.name,
    job: c.labels[LABEL_JOB] ?? '',
    version: c.labels[LABEL_VERSION] ?? null,
    ...(c.labels[LABEL_ENTRY] !== undefined ? { entry: c.labels[LABEL_ENTRY] } : {}),
    ...(c.labels[LABEL_REPLICA] !== undefined ? { replica: c.labels[LABEL_REPLICA] } : {}),
    image: c.image,
    imageId: c.imageId,
    state: c.state,
    status: c.status,
    health: c.health,
    ports: c.ports,
    createdAt: c.createdAt,
  };
}

/** The job's containers, any state. */
export function containersOf(runtime: ContainerRuntime, job: string): Promise<RuntimeContainer[]> {
  return runtime.listContainers({ [LABEL_JOB]: job });
}

export async function observe(
  runtime: ContainerRuntime,
  store: JobStateStore,
  job: string,
): Promise<Observation> {
  const [state, containers] = await Promise.all([store.read(job), containersOf(runtime, job)]);
  return { job, state, containers: containers.map(toObserved) };
}
