/**
 * The engine's reads: node info, the job list, one job's status and history, every container.
 * They take no lock: a read during an operation shows the node as it is at that moment.
 */
import { hostname as osHostname } from 'node:os';
import { containersPerNode, hasNamedEntries, primaryImage } from '../../src/core/entries.js';
import { canaryOf, currentRecord, toJobHistory } from '../../src/core/history.js';
import { LABEL_JOB } from '../../src/core/labels.js';
import { effectiveCurrent } from '../../src/core/planner.js';
import type {
  AgentInfo,
  ContainerInfo,
  ContainerList,
  EntryStatus,
  JobHistory,
  JobList,
  JobStatus,
} from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import type { JobState } from '../../src/protocol/state.js';
import type { ContainerRuntime, RuntimeContainer } from '../docker/runtime.js';
import type { JobStateStore } from '../store/job-store.js';
import { containersOf, toContainerInfo, toObserved } from './observe.js';

export interface QueriesOptions {
  runtime: ContainerRuntime;
  store: JobStateStore;
  agentVersion: string;
  hostname?: string;
}

export class JobQueries {
  constructor(private readonly opts: QueriesOptions) {}

  async info(): Promise<AgentInfo> {
    const { runtime, store } = this.opts;
    const [engine, containers, stored] = await Promise.all([
      runtime.info(),
      runtime.listContainers({ [LABEL_JOB]: true }),
      store.list(),
    ]);
    const jobs = new Set([...stored, ...containers.map((c) => c.labels[LABEL_JOB] ?? '')]);
    jobs.delete('');
    return {
      agentVersion: this.opts.agentVersion,
      dockerVersion: engine.version,
      dockerApiVersion: engine.apiVersion,
      hostname: this.opts.hostname ?? osHostname(),
      os: engine.os,
      arch: engine.arch,
      jobs: jobs.size,
      containers: {
        running: containers.filter((c) => c.state === 'running').length,
        total: containers.length,
      },
    };
  }

  async listJobs(): Promise<JobList> {
    const { runtime, store } = this.opts;
    const [containers, stored] = await Promise.all([
      runtime.listContainers({ [LABEL_JOB]: true }),
      store.list(),
    ]);
    const byJob = new Map<string, RuntimeContainer[]>();
    for (const name of stored) byJob.set(name, []);
    for (const c of containers) {
      const job = c.labels[LABEL_JOB];
      if (job) byJob.set(job, [...(byJob.get(job) ?? []), c]);
    }
    const jobs = await Promise.all(
      [...byJob.keys()].sort().map(async (job) => toStatus(job, await store.read(job), byJob.get(job) ?? [])),
    );
    return { jobs };
  }

  async listContainers(): Promise<ContainerList> {
    const all = await this.opts.runtime.listContainers({});
    return { containers: all.map(toContainerInfo).sort((a, b) => a.name.localeCompare(b.name)) };
  }

  async status(job: string): Promise<JobStatus> {
    const [state, containers] = await Promise.all([
      this.opts.store.read(job),
      containersOf(this.opts.runtime, job),
    ]);
    return toStatus(job, state, containers);
  }

  async history(job: string): Promise<JobHistory> {
    return toJobHistory(job, await this.opts.store.read(job));
  }
}

export function toStatus(job: string, state: JobState | null, containers: RuntimeContainer[]): JobStatus {
  const rec = currentRecord(state);
  const infos = containers
    .map(toContainerInfo)
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const entries = entryStatuses(rec?.spec ?? null, infos);
  return {
    name: job,
    version: effectiveCurrent({ job, state, containers: containers.map(toObserved) }),
    image: (rec ? primaryImage(rec.spec) : null) ?? containers[0]?.image ?? null,
    desired: rec ? containersPerNode(rec.spec) : null,
    running: containers.filter((c) => c.state === 'running').length,
    total: containers.length,
    containers: infos,
    ...(entries ? { entries } : {}),
    canary: canaryOf(state),
  };
}

/**
 * Per entry of a job with named entries: the current spec's entries (their order and images), or
 * without history the entries the containers' labels name. Undefined for a one-entry unnamed job.
 */
function entryStatuses(spec: JobSpec | null, containers: ContainerInfo[]): EntryStatus[] | undefined {
  const labelled = [...new Set(containers.flatMap((c) => (c.entry === undefined ? [] : [c.entry])))];
  const named = spec && hasNamedEntries(spec) ? spec.container.map((e) => e.name ?? '') : [];
  const names = [...named, ...labelled.filter((n) => !named.includes(n))];
  if (names.length === 0) return undefined;
  return names.map((name) => {
    const of = containers.filter((c) => c.entry === name);
    const entry = spec?.container.find((e) => e.name === name);
    return {
      name,
      image: entry?.image ?? of[0]?.image ?? null,
      desired: entry ? spec!.count : null,
      running: of.filter((c) => c.state === 'running').length,
      total: of.length,
    };
  });
}
