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
import type { RegistryAuth } from '../../src/protocol/registry.js';

export type ProgressSink = (line: ProgressLine) => void;

/** What a caller may learn of an operation besides its progress (the audit log wants the plan). */
export interface OperationHooks {
  /** The plan the operation carries out, once it is made (not called when refused before that). */
  onPlan?(plan: Plan): void;
}

/** What an operation's request brought besides its subject, and the caller's hooks. */
export interface OperationOptions extends OperationHooks {
  /**
   * The operator's credentials for the registries of the images this operation may pull. Used
   * for those pulls only: never written to the history, the logs, the audit log or the feeds.
   */
  registryAuth?: readonly RegistryAuth[];
}

export interface JobService {
  info(): Promise<AgentInfo>;
  listJobs(): Promise<JobList>;
  /** Every container on the engine, managed by dokkup or not (a newcomer sees their own at once). */
  listContainers(): Promise<ContainerList>;
  status(job: string): Promise<JobStatus>;
  history(job: string): Promise<JobHistory>;
  plan(job: string, request: PlanRequest): Promise<Plan>;
  /**
   * Each long operation resolves with its result; failures are `ok: false`. A request refused
   * before anything ran (the agent's policy) rejects instead, so the HTTP layer can answer it
   * with a plain 400 naming the field, exactly like the plan.
   */
  deploy(spec: JobSpec, progress: ProgressSink, options?: DeployOptions): Promise<OperationResult>;
  rollback(
    job: string,
    to: string | undefined,
    progress: ProgressSink,
    options?: OperationOptions,
  ): Promise<OperationResult>;
  stop(job: string, purge: boolean, progress: ProgressSink, hooks?: OperationHooks): Promise<OperationResult>;
  /** Clears the node's canary mark of `version`: the canary becomes the job's own version. */
  promote(job: string, version: string): Promise<PromoteResult>;
}

export interface DeployOptions extends OperationOptions {
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
