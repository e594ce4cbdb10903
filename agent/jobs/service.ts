/**
 * What the HTTP layer (and the feeds) need from the job engine. `JobEngine` in `engine.ts`
 * implements it: observe → plan (src/core/planner) → execute, under a per-job lock.
 */
import type {
  AgentInfo,
  ContainerList,
  JobHistory,
  JobList,
  JobStatus,
  OperationResult,
  Plan,
  PlanRequest,
  ProgressLine,
  PromoteResult,
} from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';

export type ProgressSink = (line: ProgressLine) => void;

export interface JobService {
  info(): Promise<AgentInfo>;
  listJobs(): Promise<JobList>;
  /** Every container on the engine, managed by dokkup or not (a newcomer sees their own at once). */
  listContainers(): Promise<ContainerList>;
  status(job: string): Promise<JobStatus>;
  history(job: string): Promise<JobHistory>;
  plan(job: string, request: PlanRequest): Promise<Plan>;
  /** Each long operation resolves (never rejects) with its result; failures are `ok: false`. */
  deploy(spec: JobSpec, progress: ProgressSink, options?: DeployOptions): Promise<OperationResult>;
  rollback(job: string, to: string | undefined, progress: ProgressSink): Promise<OperationResult>;
  stop(job: string, purge: boolean, progress: ProgressSink): Promise<OperationResult>;
  /** Clears the node's canary mark of `version`: the canary becomes the job's own version. */
  promote(job: string, version: string): Promise<PromoteResult>;
}

export interface DeployOptions {
  /** Put the version out as a canary (the node keeps a canary mark until it is promoted). */
  canary?: boolean;
}

/**
 * Operation progress as the agent's own events, for the feeds: every progress line and result of
 * every running operation is published here so a second operator can watch a deploy live.
 */
export type OperationEvent =
  | { type: 'operation-start'; job: string; operation: 'deploy' | 'rollback' | 'stop'; at: number }
  | { type: 'operation-progress'; job: string; line: ProgressLine; at: number }
  | { type: 'operation-done'; job: string; result: OperationResult; at: number };

export type OperationListener = (event: OperationEvent) => void;
