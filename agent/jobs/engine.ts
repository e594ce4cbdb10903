/**
 * The job engine: observe (containers by label + history) → plan (src/core/planner, pure) →
 * execute (executor.ts, against a ContainerRuntime), one operation per job at a time
 * (operation.ts). A façade over those rooms that implements the `JobService` the HTTP layer and
 * the feeds use; the reads live in queries.ts and the health gate in health-gate.ts.
 */

import type { Logger } from 'pino';
import { jobImages } from '../../src/core/entries.js';
import { DokkupError } from '../../src/core/errors.js';
import { canaryOf, currentRecord, recordPromote } from '../../src/core/history.js';
import { LABEL_ENTRY, LABEL_VERSION } from '../../src/core/labels.js';
import { type ExecutionPlan, planDeploy, planRollback, planStop } from '../../src/core/planner.js';
import { type AgentPolicy, DEFAULT_POLICY } from '../../src/core/policy.js';
import type { Route } from '../../src/core/proxy.js';
import { specVersion } from '../../src/core/version.js';
import type {
  AgentInfo,
  ContainerList,
  JobHistory,
  JobList,
  JobStatus,
  OperationResult,
  Plan,
  PlanRequest,
  PromoteResult,
} from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { PROXY_NETWORK } from '../docker/proxy-container.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import type { ProxyManager } from '../proxy/manager.js';
import type { JobStateStore } from '../store/job-store.js';
import { authFor, Executor } from './executor.js';
import { containersOf, observe } from './observe.js';
import { OperationEnvelope } from './operation.js';
import { JobQueries } from './queries.js';
import type {
  DeployOptions,
  JobService,
  OperationHooks,
  OperationListener,
  OperationOptions,
  ProgressSink,
} from './service.js';
import { StopAwareRuntime } from './stop-aware-runtime.js';
import { TrafficSwitch } from './traffic.js';

export interface JobEngineOptions {
  runtime: ContainerRuntime;
  store: JobStateStore;
  logger: Logger;
  agentVersion: string;
  hostname?: string;
  now?: () => number;
  /** Waits `ms` (default: a real timer). Tests inject one that advances their clock instead. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Creates, starts and removes in flight at once on this node (see DEFAULT_ENGINE_CONCURRENCY).
   * Stops are not bounded: each job's old containers are stopped all at once.
   */
  concurrency?: number;
  /** How often new containers are inspected while waiting for them to become healthy. */
  pollMs?: number;
  /** What this agent refuses to run (default: no binds of the Docker socket or the host root). */
  policy?: AgentPolicy;
  /** The node's proxy; without one, jobs with a `proxy:` block are refused. */
  proxy?: ProxyManager;
}

/**
 * Creates, starts and removals in flight at once on one engine. Measured with `npm run bench`
 * (20 containers, job engine over dokkup's Docker runtime, four runs on a loaded 2-core machine):
 * 4 at a time 3.10 / 4.75 / 4.09 / 4.55 s, 8 at a time 3.25 / 4.44 / 3.36 / 3.71 s, 16 at a time
 * 2.96 / 5.19 / 5.05 / 3.78 s: 8 was the fastest on the whole, past it the engine contends.
 */
export const DEFAULT_ENGINE_CONCURRENCY = 8;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class JobEngine implements JobService {
  private readonly runtime: ContainerRuntime;
  private readonly store: JobStateStore;
  private readonly queries: JobQueries;
  private readonly envelope: OperationEnvelope;
  private readonly executor: Executor;
  private readonly traffic: TrafficSwitch;
  private readonly proxy: ProxyManager | null;

  constructor(options: JobEngineOptions) {
    // Every read and every change of the engine goes through it: see stop-aware-runtime.ts.
    const opts = { ...options, runtime: new StopAwareRuntime(options.runtime) };
    this.runtime = opts.runtime;
    this.store = opts.store;
    const now = opts.now ?? Date.now;
    this.proxy = opts.proxy ?? null;
    this.traffic = new TrafficSwitch(this.proxy, opts.store, now);
    const sleep = opts.sleep ?? realSleep;
    this.queries = new JobQueries(opts);
    this.envelope = new OperationEnvelope({ runtime: opts.runtime, logger: opts.logger, now, sleep });
    this.executor = new Executor({
      runtime: opts.runtime,
      store: opts.store,
      logger: opts.logger,
      now,
      sleep,
      concurrency: opts.concurrency ?? DEFAULT_ENGINE_CONCURRENCY,
      pollMs: opts.pollMs ?? 250,
      policy: opts.policy ?? DEFAULT_POLICY,
      traffic: this.traffic,
      proxyNetwork: PROXY_NETWORK,
    });
  }

  /**
   * At agent start: the proxy serves every job's current version's running containers of its
   * route (whatever it held: an update the agent died in the middle of is not committed).
   */
  async reconcileRoutes(): Promise<void> {
    if (!this.proxy) return;
    const routes: Route[] = [];
    for (const job of await this.store.list()) {
      const record = currentRecord(await this.store.read(job));
      const proxy = record?.spec.proxy;
      if (!record || !proxy) continue;
      const upstreams = (await containersOf(this.runtime, job))
        .filter(
          (c) =>
            c.state === 'running' &&
            c.labels[LABEL_VERSION] === record.version &&
            (c.labels[LABEL_ENTRY] ?? null) === proxy.entry,
        )
        .map((c) => c.name)
        .sort();
      if (upstreams.length > 0) routes.push({ job, proxy, upstreams });
    }
    await this.proxy.reconcile(routes);
  }

  /** Every operation's start, progress and result, for the live feeds. */
  onOperation(listener: OperationListener): () => void {
    return this.envelope.onOperation(listener);
  }

  /** Resolves when no operation is running (or after `timeoutMs`): for a graceful shutdown. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.envelope.drain(timeoutMs);
  }

  get busy(): number {
    return this.envelope.busy;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async info(): Promise<AgentInfo> {
    const [info, proxy] = await Promise.all([this.queries.info(), this.proxy?.summary().catch(() => null)]);
    return proxy ? { ...info, proxy } : info;
  }

  async listJobs(): Promise<JobList> {
    const list = await this.queries.listJobs();
    // Routes without asking the proxy about every upstream (a list is refreshed often).
    return { jobs: await Promise.all(list.jobs.map((s) => this.withRoute(s, false))) };
  }

  listContainers(): Promise<ContainerList> {
    return this.queries.listContainers();
  }

  async status(job: string): Promise<JobStatus> {
    return this.withRoute(await this.queries.status(job), true);
  }

  private async withRoute(status: JobStatus, probe: boolean): Promise<JobStatus> {
    const route = await this.proxy?.status(status.name, probe);
    return route ? { ...status, route } : status;
  }

  history(job: string): Promise<JobHistory> {
    return this.queries.history(job);
  }

  async plan(job: string, request: PlanRequest): Promise<Plan> {
    const plan = await this.planOf(job, request);
    // Every plan says whether the node runs an unpromoted canary: the fleet's state, on the node.
    return { ...plan, canary: canaryOf(await this.store.read(job)) };
  }

  private async planOf(job: string, request: PlanRequest): Promise<Plan> {
    const obs = await observe(this.runtime, this.store, job);
    if (request.operation === 'deploy') {
      await this.executor.checkPolicy(request.spec, 'spec.');
      if (request.spec.name !== job)
        throw new DokkupError('invalid_request', 'spec.name does not match the job in the path', 'spec.name');
      await this.traffic.check(request.spec, 'spec.');
      const plan = planDeploy(obs, request.spec, specVersion(request.spec)).plan;
      const port = request.spec.proxy?.port;
      const proxy = port === undefined ? null : await this.proxy?.summary().catch(() => null);
      if (port !== undefined && proxy && proxy.ports.length > 0 && !proxy.ports.includes(port))
        plan.warnings.push(
          `the node's proxy restarts to publish port ${port}: its other ports (${proxy.ports.map((p) => `:${p}`).join(', ')}) do not answer for a moment`,
        );
      if (plan.changes && (plan.action === 'fresh' || plan.action === 'update' || plan.action === 'scale')) {
        const always = new Set(
          jobImages({ container: request.spec.container.filter((e) => e.pull === 'always') }),
        );
        for (const image of jobImages(request.spec)) {
          const missing = (await this.runtime.imageId(image)) === null;
          if (missing) plan.warnings.push(`image ${image} is not on this node yet: it will be pulled`);
          // Whether the pull would work with the credentials sent for this image's registry (or
          // none), before anyone confirms.
          if (missing || always.has(image)) {
            const problem = await this.runtime.checkPull?.(image, authFor(image, request.registryAuth));
            if (problem) plan.warnings.push(problem);
          }
        }
      }
      return plan;
    }
    if (request.operation === 'rollback') return planRollback(obs, request.to).plan;
    return planStop(obs, request.purge).plan;
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  /** Rejects (a plain 400) before anything runs when the policy refuses the spec; see `JobService`. */
  deploy(spec: JobSpec, progress: ProgressSink, options: DeployOptions = {}): Promise<OperationResult> {
    const { registryAuth, onPlan, canary } = options;
    // Before the lock, the pull and the plan: a refused spec creates nothing, not even an image.
    const precheck = () => this.executor.checkPolicy(spec, 'spec.');
    return this.envelope.run(
      spec.name,
      'deploy',
      progress,
      async (report, planned, marks) => {
        const version = specVersion(spec);
        // Entries with `pull: always` are pulled before planning (each with the credentials for
        // its registry): a tag that moved is an update.
        const always = jobImages({ container: spec.container.filter((e) => e.pull === 'always') });
        let pulledImageIds: Record<string, string | null> | undefined;
        for (const image of always) {
          await this.executor.pull(image, report, registryAuth);
          pulledImageIds = { ...pulledImageIds, [image]: await this.runtime.imageId(image) };
        }
        const obs = await observe(this.runtime, this.store, spec.name);
        const exec = planDeploy(obs, spec, version, pulledImageIds);
        planned(exec.plan);
        return this.executor.execute(exec, obs, report, marks, { registryAuth, pulled: always, canary });
      },
      { onPlan }, // the hooks only: the credentials stay in this closure
      precheck,
    );
  }

  rollback(
    job: string,
    to: string | undefined,
    progress: ProgressSink,
    options: OperationOptions = {},
  ): Promise<OperationResult> {
    const { registryAuth, onPlan } = options;
    return this.envelope.run(
      job,
      'rollback',
      progress,
      async (report, planned, marks) => {
        const obs = await observe(this.runtime, this.store, job);
        const exec = planRollback(obs, to);
        planned(exec.plan);
        if (!exec.spec) {
          throw new DokkupError('nothing_to_rollback', exec.plan.warnings[0] ?? 'nothing to roll back to');
        }
        return this.executor.execute(exec as ExecutionPlan, obs, report, marks, { registryAuth });
      },
      { onPlan },
    );
  }

  /** Clears the canary mark of `version`; refused when the node's canary is another version. */
  promote(job: string, version: string): Promise<PromoteResult> {
    return this.envelope.exclusive(job, 'promote', async () => {
      const state = await this.store.read(job);
      const mark = canaryOf(state);
      if (!state || !mark) return { job, version, promoted: false };
      if (mark.version !== version) {
        throw new DokkupError(
          'invalid_request',
          `version: this node's canary of ${job} is ${mark.version}, not ${version}`,
          'version',
        );
      }
      await this.store.write(recordPromote(state));
      return { job, version, promoted: true };
    });
  }

  stop(
    job: string,
    purge: boolean,
    progress: ProgressSink,
    hooks?: OperationHooks,
  ): Promise<OperationResult> {
    return this.envelope.run(
      job,
      'stop',
      progress,
      async (report, planned) => {
        const obs = await observe(this.runtime, this.store, job);
        const exec = planStop(obs, purge);
        planned(exec.plan);
        return this.executor.stop(exec, obs, purge, report);
      },
      hooks,
    );
  }
}
