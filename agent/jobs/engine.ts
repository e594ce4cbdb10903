/**
 * The job engine: observe (containers by label + history) → plan (src/core/planner, pure) →
 * execute (here, against a ContainerRuntime), one operation per job at a time.
 *
 * Safety rules the execution keeps:
 * - new containers are only ever added beside the old ones and health-gated before anything old
 *   is touched (start-first); with a fixed host port the old ones are stopped first and started
 *   again if the new ones fail (stop-first);
 * - any failure removes every container this operation created, so the node is as it was;
 * - the history is committed after the new containers are healthy and before the old ones are
 *   removed, so a kill -9 at any point leaves a state the planner converges from.
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { DokkupError } from '../../src/core/errors.js';
import {
  currentRecord,
  recordDeploy,
  recordRollback,
  recordScale,
  toJobHistory,
} from '../../src/core/history.js';
import { jobLabels, LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import {
  type ExecutionPlan,
  effectiveCurrent,
  type Observation,
  type ObservedContainer,
  planDeploy,
  planRollback,
  planStop,
} from '../../src/core/planner.js';
import { type AgentPolicy, DEFAULT_POLICY, policyViolations } from '../../src/core/policy.js';
import { specVersion } from '../../src/core/version.js';
import type {
  AgentInfo,
  ContainerInfo,
  ContainerList,
  JobHistory,
  JobList,
  JobStatus,
  OperationResult,
  Phase,
  Plan,
  PlanAction,
  PlanRequest,
} from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import type { JobState } from '../../src/protocol/state.js';
import type { ContainerRuntime, RuntimeContainer } from '../docker/runtime.js';
import type { JobStateStore } from '../store/job-store.js';
import { JobLocks } from './lock.js';
import type { JobService, OperationEvent, OperationListener, ProgressSink } from './service.js';

export interface JobEngineOptions {
  runtime: ContainerRuntime;
  store: JobStateStore;
  logger: Logger;
  agentVersion: string;
  hostname?: string;
  now?: () => number;
  /** Creates/starts/stops in flight at once on this node (the engine slows sharply past ~8). */
  concurrency?: number;
  /** How often new containers are inspected while waiting for them to become healthy. */
  pollMs?: number;
  /** Seconds Docker gives a container between SIGTERM and SIGKILL when we stop it. */
  stopTimeoutSec?: number;
  /** What this agent refuses to run (default: no binds of the Docker socket or the host root). */
  policy?: AgentPolicy;
}

const SUCCESS: Record<PlanAction, string> = {
  fresh: 'Deployment successful',
  update: 'Update successful',
  scale: 'Scale successful',
  start: 'Job started successfully',
  noop: 'Already up to date',
  rollback: 'Rollback successful',
  stop: 'Job stopped successfully',
  purge: 'Job purged successfully',
};

/** An operation failed after it had created containers; they were removed again. */
class OperationFailed extends DokkupError {
  constructor(
    cause: DokkupError,
    readonly restored: boolean,
  ) {
    super(cause.code, cause.message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toObserved(c: RuntimeContainer): ObservedContainer {
  return {
    id: c.id,
    name: c.name,
    version: c.labels[LABEL_VERSION] ?? null,
    state: c.state,
    health: c.health,
    imageId: c.imageId,
    createdAt: c.createdAt,
  };
}

function toContainerInfo(c: RuntimeContainer): ContainerInfo {
  return {
    id: c.id,
    name: c.name,
    job: c.labels[LABEL_JOB] ?? '',
    version: c.labels[LABEL_VERSION] ?? null,
    image: c.image,
    imageId: c.imageId,
    state: c.state,
    status: c.status,
    health: c.health,
    ports: c.ports,
    createdAt: c.createdAt,
  };
}

export class JobEngine implements JobService {
  private readonly runtime: ContainerRuntime;
  private readonly store: JobStateStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly locks: JobLocks;
  private readonly listeners = new Set<OperationListener>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly stopTimeoutSec: number;

  constructor(private readonly opts: JobEngineOptions) {
    this.runtime = opts.runtime;
    this.store = opts.store;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.locks = new JobLocks(this.now);
    this.concurrency = opts.concurrency ?? 4;
    this.pollMs = opts.pollMs ?? 250;
    this.stopTimeoutSec = opts.stopTimeoutSec ?? 10;
  }

  /** Every operation's start, progress and result, for the live feeds. */
  onOperation(listener: OperationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no operation is running (or after `timeoutMs`): for a graceful shutdown. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.inFlight.size > 0) {
      if (this.now() > deadline) return false;
      await Promise.race([sleep(100), ...this.inFlight]);
    }
    return true;
  }

  get busy(): number {
    return this.inFlight.size;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async info(): Promise<AgentInfo> {
    const [engine, containers, stored] = await Promise.all([
      this.runtime.info(),
      this.runtime.listContainers({ [LABEL_JOB]: true }),
      this.store.list(),
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
    const [containers, stored] = await Promise.all([
      this.runtime.listContainers({ [LABEL_JOB]: true }),
      this.store.list(),
    ]);
    const byJob = new Map<string, RuntimeContainer[]>();
    for (const name of stored) byJob.set(name, []);
    for (const c of containers) {
      const job = c.labels[LABEL_JOB];
      if (job) byJob.set(job, [...(byJob.get(job) ?? []), c]);
    }
    const jobs = await Promise.all(
      [...byJob.keys()]
        .sort()
        .map(async (job) => this.toStatus(job, await this.store.read(job), byJob.get(job) ?? [])),
    );
    return { jobs };
  }

  async listContainers(): Promise<ContainerList> {
    const all = await this.runtime.listContainers({});
    return { containers: all.map(toContainerInfo).sort((a, b) => a.name.localeCompare(b.name)) };
  }

  async status(job: string): Promise<JobStatus> {
    const [state, containers] = await Promise.all([this.store.read(job), this.containersOf(job)]);
    return this.toStatus(job, state, containers);
  }

  async history(job: string): Promise<JobHistory> {
    return toJobHistory(job, await this.store.read(job));
  }

  async plan(job: string, request: PlanRequest): Promise<Plan> {
    const obs = await this.observe(job);
    if (request.operation === 'deploy') {
      this.checkPolicy(request.spec, 'spec.');
      if (request.spec.name !== job)
        throw new DokkupError('invalid_request', 'spec.name does not match the job in the path', 'spec.name');
      const plan = planDeploy(obs, request.spec, specVersion(request.spec)).plan;
      if (plan.changes && (plan.action === 'fresh' || plan.action === 'update' || plan.action === 'scale')) {
        if ((await this.runtime.imageId(request.spec.container.image)) === null) {
          plan.warnings.push(
            `image ${request.spec.container.image} is not on this node yet: it will be pulled`,
          );
        }
      }
      return plan;
    }
    if (request.operation === 'rollback') return planRollback(obs, request.to).plan;
    return planStop(obs, request.purge).plan;
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  deploy(spec: JobSpec, progress: ProgressSink): Promise<OperationResult> {
    return this.operate(spec.name, 'deploy', progress, async (report, planned) => {
      const version = specVersion(spec);
      let pulledImageId: string | null | undefined;
      if (spec.container.pull === 'always') {
        await this.pull(spec.container.image, report);
        pulledImageId = await this.runtime.imageId(spec.container.image);
      }
      const obs = await this.observe(spec.name);
      const exec = planDeploy(obs, spec, version, pulledImageId);
      planned(exec.plan);
      return this.execute(exec, obs, report);
    });
  }

  rollback(job: string, to: string | undefined, progress: ProgressSink): Promise<OperationResult> {
    return this.operate(job, 'rollback', progress, async (report, planned) => {
      const obs = await this.observe(job);
      const exec = planRollback(obs, to);
      planned(exec.plan);
      if (!exec.spec) {
        throw new DokkupError('nothing_to_rollback', exec.plan.warnings[0] ?? 'nothing to roll back to');
      }
      return this.execute(exec as ExecutionPlan, obs, report);
    });
  }

  stop(job: string, purge: boolean, progress: ProgressSink): Promise<OperationResult> {
    return this.operate(job, 'stop', progress, async (report, planned) => {
      const obs = await this.observe(job);
      const exec = planStop(obs, purge);
      planned(exec.plan);
      const { steps } = exec;
      await this.forEach(steps.stop, 'stop', 'Stopping container', report, (id) =>
        this.runtime.stopContainer(id, this.stopTimeoutSec),
      );
      await this.forEach(steps.purge, 'remove', 'Removing container', report, (id) =>
        this.runtime.removeContainer(id),
      );
      if (purge) await this.store.remove(job);
      const after = await this.containersOf(job);
      return this.result(exec.plan, after);
    });
  }

  /** Lock, publish start/progress/done, turn any failure into an `ok: false` result. */
  private operate(
    job: string,
    operation: 'deploy' | 'rollback' | 'stop',
    progress: ProgressSink,
    body: (report: ProgressSink, planned: (plan: Plan) => void) => Promise<OperationResult>,
  ): Promise<OperationResult> {
    const publish = (event: OperationEvent) => {
      for (const l of this.listeners) {
        try {
          l(event);
        } catch (err) {
          this.log.warn({ err }, 'operation listener failed');
        }
      }
    };
    let release: () => void;
    try {
      release = this.locks.acquire(job, operation);
    } catch (err) {
      return Promise.resolve(this.failure(job, operation, err as DokkupError, false));
    }
    const report: ProgressSink = (line) => {
      try {
        progress(line);
      } catch {
        // A client that went away must not abort the operation.
      }
      publish({ type: 'operation-progress', job, line, at: this.now() });
    };
    publish({ type: 'operation-start', job, operation, at: this.now() });
    this.log.info({ job, operation }, 'operation started');
    let plan: Plan | null = null;
    const run = (async () => {
      let result: OperationResult;
      try {
        result = await body(report, (p) => {
          plan = p;
        });
      } catch (err) {
        const e =
          err instanceof DokkupError
            ? err
            : new DokkupError('internal', (err as Error)?.message ?? String(err));
        if (!(err instanceof DokkupError)) this.log.error({ err, job, operation }, 'operation crashed');
        result = this.failure(job, operation, e, err instanceof OperationFailed ? err.restored : true, plan);
        // What is on the node now, so the summary can say what is still serving.
        try {
          const after = await this.containersOf(job);
          result.running = after.filter((c) => c.state === 'running').length;
          result.total = after.length;
        } catch {
          // Docker itself failing is already the error being reported.
        }
      } finally {
        release();
      }
      this.log[result.ok ? 'info' : 'warn']({ job, operation, result }, 'operation finished');
      publish({ type: 'operation-done', job, result, at: this.now() });
      return result;
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  private failure(
    job: string,
    operation: 'deploy' | 'rollback' | 'stop',
    err: DokkupError,
    restored: boolean,
    plan: Plan | null = null,
  ): OperationResult {
    this.log.debug({ job, operation, code: err.code }, 'operation failed');
    return {
      ok: false,
      action: plan?.action ?? (operation === 'deploy' ? 'update' : operation),
      message: err.message,
      versionFrom: plan?.versionFrom ?? null,
      versionTo: plan?.versionTo ?? null,
      running: 0,
      total: 0,
      restored,
      error: { code: err.code, message: err.message },
    };
  }

  /** Refuses a spec this agent's policy forbids, naming the field (`prefix` + its path). */
  private checkPolicy(spec: JobSpec, prefix = ''): void {
    const [first] = policyViolations(spec, this.opts.policy ?? DEFAULT_POLICY);
    if (first) throw new DokkupError('invalid_request', first.message, `${prefix}${first.field}`);
  }

  private async execute(
    exec: ExecutionPlan,
    obs: Observation,
    report: ProgressSink,
  ): Promise<OperationResult> {
    const { plan, steps } = exec;
    const spec = exec.spec as JobSpec;
    // Rollbacks too: the policy may have been tightened since that version was deployed.
    if (plan.changes) this.checkPolicy(spec);
    const version = plan.versionTo as string;
    const operationIsRollback = plan.operation === 'rollback';
    const commit = async () => {
      const state = await this.store.read(spec.name);
      const at = new Date(this.now()).toISOString();
      let next: JobState;
      if (operationIsRollback) next = recordRollback(state ?? obs.state!, version, at);
      else if (state?.current === version) next = recordScale(state, spec, version, at);
      else next = recordDeploy(state, spec, version, at);
      await this.store.write(next);
    };

    if (!plan.changes) {
      // Nothing to change; adopt a version found only on the containers into the history.
      if (obs.state?.current !== version && obs.containers.length > 0) await commit();
      return this.result(plan, obs.containers);
    }

    await this.forEach(steps.removeLeftovers, 'cleanup', 'Removing leftover container', report, (id) =>
      this.runtime.removeContainer(id),
    );

    if (steps.create > 0) await this.ensureImage(spec, report);
    const gated = await this.hasHealthcheck(spec);

    if (steps.replace.length > 0 || steps.strategy) {
      const wasRunning = new Set(obs.containers.filter((c) => c.state === 'running').map((c) => c.id));
      const stoppedFirst: string[] = [];
      if (steps.strategy === 'stop-first') {
        const toStop = steps.replace.filter((id) => wasRunning.has(id));
        await this.forEach(toStop, 'stop', 'Stopping old container', report, (id) =>
          this.runtime.stopContainer(id, this.stopTimeoutSec),
        );
        stoppedFirst.push(...toStop);
      }
      try {
        await this.createGated(spec, version, steps.create, gated, report);
      } catch (err) {
        if (stoppedFirst.length > 0) await this.restore(stoppedFirst, report);
        throw err;
      }
      await commit();
      await this.forEach(steps.replace, 'remove', 'Removing old container', report, async (id) => {
        await this.runtime.stopContainer(id, this.stopTimeoutSec);
        await this.runtime.removeContainer(id);
      });
    } else {
      await this.forEach(steps.removeExtra, 'remove', 'Removing container', report, async (id) => {
        await this.runtime.stopContainer(id, this.stopTimeoutSec);
        await this.runtime.removeContainer(id);
      });
      await this.forEach(steps.startExisting, 'start', 'Starting container', report, (id) =>
        this.runtime.startContainer(id),
      );
      await this.createGated(spec, version, steps.create, gated, report);
      await commit();
    }
    return this.result(plan, await this.containersOf(spec.name));
  }

  /** Start containers that were stopped for a stop-first update whose new version failed. */
  private async restore(ids: string[], report: ProgressSink): Promise<void> {
    try {
      await this.forEach(ids, 'restore', 'Restarting old container', report, (id) =>
        this.runtime.startContainer(id),
      );
    } catch (err) {
      this.log.error({ err }, 'restoring the old containers failed');
      throw new OperationFailed(err as DokkupError, false);
    }
  }

  /**
   * Create, start and health-gate `n` new containers. All or nothing: if any of them fails, every
   * container created here is removed before the error propagates.
   */
  private async createGated(
    spec: JobSpec,
    version: string,
    n: number,
    gated: boolean,
    report: ProgressSink,
  ): Promise<void> {
    if (n === 0) return;
    const created: string[] = [];
    try {
      const queue = new PQueue({ concurrency: this.concurrency });
      let started = 0;
      const labels = { ...jobLabels(spec.name, version) };
      const tasks = Array.from({ length: n }, () =>
        queue.add(async () => {
          const id = await this.runtime.createContainer({
            name: `${spec.name}-${randomUUID()}`,
            spec: spec.container,
            labels,
          });
          created.push(id);
          report({
            type: 'progress',
            phase: 'start',
            message: `Starting container (${++started}/${n})`,
            current: started,
            total: n,
          });
          await this.runtime.startContainer(id);
          return id;
        }),
      );
      const settled = await Promise.allSettled(tasks);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      await this.waitHealthy(created, spec, gated, report);
    } catch (err) {
      const cause =
        err instanceof DokkupError
          ? err
          : new DokkupError('internal', (err as Error)?.message ?? String(err));
      report({
        type: 'progress',
        phase: 'cleanup',
        message: `${cause.message}; removing the new containers`,
      });
      await this.forEach([...created], 'cleanup', 'Removing new container', report, (id) =>
        this.runtime.removeContainer(id),
      ).catch((e) => this.log.error({ err: e }, 'removing failed new containers'));
      throw new OperationFailed(cause, true);
    }
  }

  private async hasHealthcheck(spec: JobSpec): Promise<boolean> {
    const test = spec.container.healthcheck?.test;
    if (test) return test[0] !== 'NONE';
    return this.runtime.imageHasHealthcheck(spec.container.image);
  }

  /**
   * Healthy = running and, with a health check, reported healthy; without one, running without a
   * restart for `minHealthyMs`. Exited, restarted or unhealthy containers fail at once.
   */
  private async waitHealthy(
    ids: string[],
    spec: JobSpec,
    gated: boolean,
    report: ProgressSink,
  ): Promise<void> {
    const { healthyDeadlineMs, minHealthyMs } = spec.update;
    const deadline = this.now() + healthyDeadlineMs;
    const pending = new Set(ids);
    const runningSince = new Map<string, number>();
    const total = ids.length;
    const what = gated ? 'healthy' : 'running';
    report({
      type: 'progress',
      phase: 'health',
      message: `Waiting for containers to be ${what} (0/${total})`,
      current: 0,
      total,
    });
    while (pending.size > 0) {
      for (const id of [...pending]) {
        const c = await this.runtime.inspectContainer(id);
        const short = id.slice(0, 12);
        if (c.state === 'exited' || c.state === 'dead') {
          throw new DokkupError(
            'start_failed',
            `new container ${short} exited with code ${c.exitCode ?? '?'}`,
          );
        }
        if (c.restartCount > 0 || c.state === 'restarting') {
          throw new DokkupError('start_failed', `new container ${short} crashed and was restarted`);
        }
        let ok = false;
        if (gated) {
          if (c.health === 'unhealthy') {
            throw new DokkupError(
              'unhealthy',
              `new container ${short} is unhealthy${c.healthLog ? `: ${c.healthLog}` : ''}`,
            );
          }
          ok = c.state === 'running' && c.health === 'healthy';
        } else if (c.state === 'running') {
          const since = runningSince.get(id) ?? this.now();
          runningSince.set(id, since);
          ok = this.now() - since >= minHealthyMs;
        }
        if (ok) {
          pending.delete(id);
          const done = total - pending.size;
          report({
            type: 'progress',
            phase: 'health',
            message: `Waiting for containers to be ${what} (${done}/${total})`,
            current: done,
            total,
          });
        }
      }
      if (pending.size === 0) break;
      if (this.now() > deadline) {
        throw new DokkupError(
          'unhealthy',
          `${pending.size} new container(s) not ${what} within ${Math.round(healthyDeadlineMs / 1000)}s`,
        );
      }
      await sleep(this.pollMs);
    }
  }

  private async ensureImage(spec: JobSpec, report: ProgressSink): Promise<void> {
    if (spec.container.pull === 'always') return; // pulled before planning
    if ((await this.runtime.imageId(spec.container.image)) !== null) return;
    await this.pull(spec.container.image, report);
  }

  private async pull(image: string, report: ProgressSink): Promise<void> {
    report({ type: 'progress', phase: 'pull', message: `Pulling ${image}` });
    let last = 0;
    await this.runtime.pullImage(image, (p) => {
      // Docker reports every chunk; a few lines a second is plenty for a progress line.
      const t = this.now();
      if (t - last < 250) return;
      last = t;
      report({
        type: 'progress',
        phase: 'pull',
        message: p.message,
        ...(p.current !== undefined ? { current: p.current } : {}),
        ...(p.total !== undefined ? { total: p.total } : {}),
      });
    });
    report({ type: 'progress', phase: 'pull', message: `Pulled ${image}` });
  }

  /** Run `fn` over `ids` with bounded concurrency, reporting `label (i/n)`; first error wins after all settle. */
  private async forEach(
    ids: string[],
    phase: Phase,
    label: string,
    report: ProgressSink,
    fn: (id: string) => Promise<void>,
  ): Promise<void> {
    if (ids.length === 0) return;
    const queue = new PQueue({ concurrency: this.concurrency });
    let i = 0;
    const settled = await Promise.allSettled(
      ids.map((id) =>
        queue.add(async () => {
          await fn(id);
          report({
            type: 'progress',
            phase,
            message: `${label} (${++i}/${ids.length})`,
            current: i,
            total: ids.length,
          });
        }),
      ),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private result(plan: Plan, after: { state: string }[]): OperationResult {
    return {
      ok: true,
      action: plan.action,
      message: SUCCESS[plan.action],
      versionFrom: plan.versionFrom,
      versionTo: plan.versionTo,
      running: after.filter((c) => c.state === 'running').length,
      total: after.length,
    };
  }

  private async containersOf(job: string): Promise<RuntimeContainer[]> {
    return this.runtime.listContainers({ [LABEL_JOB]: job });
  }

  private async observe(job: string): Promise<Observation> {
    const [state, containers] = await Promise.all([this.store.read(job), this.containersOf(job)]);
    return {
      job,
      state,
      containers: containers.map(toObserved),
    };
  }

  private toStatus(job: string, state: JobState | null, containers: RuntimeContainer[]): JobStatus {
    const rec = currentRecord(state);
    const obs: Observation = {
      job,
      state,
      containers: containers.map(toObserved),
    };
    return {
      name: job,
      version: effectiveCurrent(obs),
      image: rec?.spec.container.image ?? containers[0]?.image ?? null,
      desired: rec?.spec.count ?? null,
      running: containers.filter((c) => c.state === 'running').length,
      total: containers.length,
      containers: containers
        .map(toContainerInfo)
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)),
    };
  }
}
