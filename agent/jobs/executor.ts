/**
 * The executor: carries out a plan from src/core/planner against a ContainerRuntime.
 *
 * Safety rules it keeps:
 * - new containers are only ever added beside the old ones and health-gated before anything old
 *   is touched (start-first); with a fixed host port the old ones are stopped first and started
 *   again if the new ones fail (stop-first);
 * - any failure before the commit removes every container this operation created, so the node is
 *   as it was;
 * - the history is committed after the new containers are healthy and before the old ones are
 *   removed, so a kill -9 at any point leaves a state the planner converges from.
 *
 * Which record to commit and what a health inspection means are decided in src/core (commit.ts,
 * health-verdict.ts); this file only carries the work out.
 */
import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { committedState, unchangedPlanCommits } from '../../src/core/commit.js';
import { entryStopGraceMs, jobImages } from '../../src/core/entries.js';
import { DokkupError } from '../../src/core/errors.js';
import { currentRecord } from '../../src/core/history.js';
import { registryOfImage } from '../../src/core/image-ref.js';
import { containerLabels, LABEL_VERSION } from '../../src/core/labels.js';
import type { ExecutionPlan, Observation } from '../../src/core/planner.js';
import { type AgentPolicy, policyViolations } from '../../src/core/policy.js';
import type { OperationResult, Phase, Plan, PlanAction } from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import { hostFacts } from '../policy/host-facts.js';
import type { JobStateStore } from '../store/job-store.js';
import { type GatedContainer, type GateOptions, hasHealthcheck, waitHealthy } from './health-gate.js';
import { containersOf } from './observe.js';
import { asDokkupError, OperationFailed } from './operation.js';
import type { OperationOptions, ProgressSink } from './service.js';
import { boundedEach, type GraceOf, StopPhase, throwFirstRejection } from './stop-phase.js';
import { type NamedContainer, named, type TrafficSwitch } from './traffic.js';

export interface ExecutorOptions {
  runtime: ContainerRuntime;
  store: JobStateStore;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /**
   * Creates, starts and removes in flight at once on this node (engine work: the engine slows
   * past a few at once). Stops are not bounded by it: see stop-phase.ts.
   */
  concurrency: number;
  /** How often new containers are inspected while waiting for them to become healthy. */
  pollMs: number;
  policy: AgentPolicy;
  /** The node proxy's side of operations (jobs with a `proxy:` block). */
  traffic: TrafficSwitch;
  /** The network the proxy shares with the containers it sends requests to. */
  proxyNetwork: string;
}

/** Marks an operation's milestones for its result's timings (see OperationEnvelope). */
export interface OperationMarks {
  /** The new version passed its health gate and was committed: it is what serves from now on. */
  cutover(): void;
}

const noMarks: OperationMarks = { cutover: () => {} };

/**
 * Each observed container's grace period: its entry's in `spec`, else in `previous` (an entry the
 * new spec dropped), else Docker's default.
 */
function graceResolver(obs: Observation, spec: JobSpec | null, previous: JobSpec | null): GraceOf {
  const entryOf = new Map(obs.containers.map((c) => [c.id, c.entry]));
  return (id) => {
    const entry = entryOf.get(id) ?? null;
    const inSpec = spec?.container.some((e) => (e.name ?? null) === entry);
    return entryStopGraceMs(inSpec ? spec : previous, entry);
  };
}

/** How an operation gets its images: the request's credentials, and which were pulled already. */
export interface PullOptions extends OperationOptions {
  /** Images pulled before planning (a deploy's entries with `pull: always`). */
  pulled?: readonly string[];
}

/** The request's credentials for the registry `image` is pulled from, if any. */
export function authFor(
  image: string,
  registryAuth: readonly RegistryAuth[] | undefined,
): RegistryAuth | undefined {
  if (!registryAuth?.length) return undefined;
  const registry = registryOfImage(image);
  return registryAuth.find((a) => a.server === registry);
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

export class Executor {
  private readonly runtime: ContainerRuntime;
  private readonly gate: GateOptions;
  private readonly stops: StopPhase;

  constructor(private readonly opts: ExecutorOptions) {
    this.runtime = opts.runtime;
    this.gate = { runtime: opts.runtime, now: opts.now, sleep: opts.sleep, pollMs: opts.pollMs };
    this.stops = new StopPhase({ runtime: opts.runtime, concurrency: opts.concurrency });
  }

  /**
   * Refuses a spec this agent's policy forbids, naming the field (`prefix` + its path). Looks
   * the spec's binds and networks up on the host each time: a symlink may have changed since.
   */
  async checkPolicy(spec: JobSpec, prefix = ''): Promise<void> {
    const { policy } = this.opts;
    if (policy.allowHostBinds && policy.allowHostNetwork) return;
    const [first] = policyViolations(spec, policy, await hostFacts(spec, this.runtime));
    if (first) throw new DokkupError('invalid_request', first.message, `${prefix}${first.field}`);
  }

  /**
   * Converge the node to a deploy's or a rollback's plan. `canary`: the version goes out as a
   * canary (the commit marks the node, see src/core/commit.ts).
   */
  async execute(
    exec: ExecutionPlan,
    obs: Observation,
    report: ProgressSink,
    marks: OperationMarks = noMarks,
    pulls: PullOptions & { canary?: boolean } = {},
  ): Promise<OperationResult> {
    const { plan } = exec;
    const spec = exec.spec as JobSpec;
    const version = plan.versionTo as string;
    let committed = false;
    const commit = async () => {
      const stored = await this.opts.store.read(spec.name);
      const operation = plan.operation === 'rollback' ? 'rollback' : 'deploy';
      const at = new Date(this.opts.now()).toISOString();
      await this.opts.store.write(
        committedState({ operation, stored, planned: obs.state, spec, version, at, canary: pulls.canary }),
      );
      committed = true;
      if (plan.changes) marks.cutover();
    };
    try {
      return await this.converge(exec, obs, report, commit, pulls);
    } catch (err) {
      if (committed) throw await this.failedAfterCommit(spec.name, version, err);
      throw err;
    }
  }

  private async converge(
    exec: ExecutionPlan,
    obs: Observation,
    report: ProgressSink,
    commit: () => Promise<void>,
    pulls: PullOptions,
  ): Promise<OperationResult> {
    const { plan, steps } = exec;
    const spec = exec.spec as JobSpec;
    const version = plan.versionTo as string;
    // Rollbacks too: the policy may have been tightened since that version was deployed.
    if (plan.changes) await this.checkPolicy(spec);

    const traffic = this.opts.traffic;
    const routed = traffic.involved(spec, spec.name);
    if (!plan.changes) {
      if (unchangedPlanCommits(obs, spec, version)) await commit();
      // The route follows what runs (it may have been lost with the proxy's own state).
      if (routed) {
        const running = obs.containers.filter((c) => c.version === version && c.state === 'running');
        await traffic.cutover(spec, named(running), report);
      }
      return this.result(plan, obs.containers);
    }
    await traffic.check(spec);

    // Containers about to go leave the route first, and their requests in flight finish.
    const leaving = new Set(steps.removeLeftovers);
    if (!steps.strategy) for (const id of steps.removeExtra) leaving.add(id);
    if (routed) await traffic.release(spec.name, namesOf(obs, leaving), report);

    await this.forEach(steps.removeLeftovers, 'cleanup', 'Removing leftover container', report, (id) =>
      this.runtime.removeContainer(id),
    );

    if (steps.create > 0) await this.ensureImages(spec, report, pulls);
    // Each entry's old containers get the grace period the job gives that entry (or, for an entry
    // the new spec dropped, the one it had).
    const grace = graceResolver(obs, spec, currentRecord(obs.state)?.spec ?? null);
    if (steps.replace.length > 0 || steps.strategy) {
      const wasRunning = new Set(obs.containers.filter((c) => c.state === 'running').map((c) => c.id));
      const stoppedFirst: string[] = [];
      if (steps.strategy === 'stop-first') {
        const toStop = steps.replace.filter((id) => wasRunning.has(id));
        try {
          await this.stops.stopAll(toStop, 'Stopping old containers', grace, report);
        } catch (err) {
          // Some may have stopped before one failed: start them all again (a running one is a no-op).
          await this.restore(toStop, report);
          throw err;
        }
        stoppedFirst.push(...toStop);
      }
      const before = traffic.routeOf(spec.name);
      try {
        // The route switches to the new containers once they passed the gate and the proxy
        // reaches them: a failure before that leaves it (and the old containers) as they were.
        await this.createGated(spec, version, steps.create, report, (created) =>
          routed ? traffic.cutover(spec, created, report) : Promise.resolve(),
        );
      } catch (err) {
        if (stoppedFirst.length > 0) await this.restore(stoppedFirst, report);
        throw err;
      }
      await commit();
      await traffic.drain(spec.name, before, report);
      await this.stops.stopAndRemove(steps.replace, 'old containers', grace, report);
    } else {
      await this.stops.stopAndRemove(steps.removeExtra, 'extra containers', grace, report);
      await this.forEach(steps.startExisting, 'start', 'Starting container', report, (id) =>
        this.runtime.startContainer(id),
      );
      const gone = new Set([...steps.removeLeftovers, ...steps.removeExtra]);
      const kept = named(obs.containers.filter((c) => c.version === version && !gone.has(c.id)));
      await this.createGated(spec, version, steps.create, report, (created) =>
        routed ? traffic.cutover(spec, [...kept, ...created], report) : Promise.resolve(),
      );
      await commit();
    }
    return this.result(plan, await containersOf(this.runtime, spec.name));
  }

  /**
   * After the commit the new version is what runs, whatever fails next: the result must not
   * claim the previous version was left running. It says what runs and what was left over (a
   * later deploy of this version removes the leftovers).
   */
  private async failedAfterCommit(job: string, version: string, err: unknown): Promise<OperationFailed> {
    const cause = asDokkupError(err);
    let left: number | null = null;
    try {
      left = (await containersOf(this.runtime, job)).filter(
        (c) => c.labels[LABEL_VERSION] !== version,
      ).length;
    } catch {
      // Docker failing is the cause being reported; the count is then unknown.
    }
    const what =
      left === null || left === 0
        ? 'the operation failed after committing it'
        : `${left} old container${left === 1 ? '' : 's'} could not be removed`;
    return new OperationFailed(
      cause,
      { restored: false, committed: true },
      `version ${version} is running, but ${what}: ${cause.message}`,
    );
  }

  /** Stop (keep) or purge (remove, and forget the history) a job's containers. */
  async stop(
    exec: ExecutionPlan,
    obs: Observation,
    purge: boolean,
    report: ProgressSink,
  ): Promise<OperationResult> {
    const { steps } = exec;
    const job = obs.job;
    // Each entry's grace period in the job's current spec, or Docker's default without a history.
    const grace = graceResolver(obs, exec.spec, null);
    // Requests stop going to the job's containers, and those in flight finish, before they stop.
    await this.opts.traffic.release(job, namesOf(obs, new Set([...steps.stop, ...steps.purge])), report);
    await this.opts.traffic.withdraw(job);
    await this.stops.stopAll(steps.stop, 'Stopping containers', grace, report);
    await this.stops.stopAndRemove(steps.purge, 'containers', grace, report);
    if (purge) await this.opts.store.remove(job);
    return this.result(exec.plan, await containersOf(this.runtime, job));
  }

  /** Pulls `image` with the request's credentials for its registry, if it brought any. */
  async pull(image: string, report: ProgressSink, registryAuth?: readonly RegistryAuth[]): Promise<void> {
    report({ type: 'progress', phase: 'pull', message: `Pulling ${image}` });
    let last = 0;
    const auth = authFor(image, registryAuth);
    await this.runtime.pullImage(
      image,
      (p) => {
        // Docker reports every chunk; a few lines a second is plenty for a progress line.
        const t = this.opts.now();
        if (t - last < 250) return;
        last = t;
        report({
          type: 'progress',
          phase: 'pull',
          message: p.message,
          ...(p.current !== undefined ? { current: p.current } : {}),
          ...(p.total !== undefined ? { total: p.total } : {}),
        });
      },
      auth,
    );
    report({ type: 'progress', phase: 'pull', message: `Pulled ${image}` });
  }

  /** Start containers that were stopped for a stop-first update whose new version failed. */
  private async restore(ids: string[], report: ProgressSink): Promise<void> {
    try {
      await this.forEach(ids, 'restore', 'Restarting old container', report, (id) =>
        this.runtime.startContainer(id),
      );
    } catch (err) {
      this.opts.logger.error({ err }, 'restoring the old containers failed');
      throw new OperationFailed(asDokkupError(err), { restored: false });
    }
  }

  /**
   * Create, start and health-gate `n` new replicas: one container of every entry each, all started
   * together (entries have no start order, like docker-compose services without depends_on). All
   * or nothing: if any container of any replica fails, every container created here is removed
   * before the error propagates.
   */
  private async createGated(
    spec: JobSpec,
    version: string,
    n: number,
    report: ProgressSink,
    afterGate: (created: NamedContainer[]) => Promise<void> = async () => {},
  ): Promise<void> {
    if (n === 0) {
      await afterGate([]);
      return;
    }
    const created: string[] = [];
    const createdNamed: NamedContainer[] = [];
    try {
      const gatedEntries = await Promise.all(spec.container.map((e) => hasHealthcheck(this.runtime, e)));
      const queue = new PQueue({ concurrency: this.opts.concurrency });
      const total = n * spec.container.length;
      const several = spec.container.length > 1;
      let started = 0;
      const gate: GatedContainer[] = [];
      const tasks = Array.from({ length: n }, () => randomUUID()).flatMap((replica) =>
        spec.container.map((entry, e) =>
          queue.add(async () => {
            const name = entry.name ? `${spec.name}-${entry.name}-${replica}` : `${spec.name}-${replica}`;
            const proxyNetwork = this.opts.traffic.networkFor(
              spec,
              entry.name ?? null,
              this.opts.proxyNetwork,
            );
            const id = await this.runtime.createContainer({
              name,
              spec: entry,
              labels: containerLabels(spec.name, version, entry.name, several ? replica : undefined),
              ...(entry.name ? { aliases: [entry.name] } : {}),
              ...(proxyNetwork ? { proxyNetwork } : {}),
            });
            created.push(id);
            createdNamed.push({ id, name, entry: entry.name ?? null });
            report({
              type: 'progress',
              phase: 'start',
              message: `Starting container (${++started}/${total})`,
              current: started,
              total,
            });
            await this.runtime.startContainer(id);
            // Its health window runs from here, while the others are still being created.
            gate.push({ id, gated: gatedEntries[e]!, entry: entry.name, startedAt: this.opts.now() });
            return id;
          }),
        ),
      );
      throwFirstRejection(await Promise.allSettled(tasks));
      await waitHealthy(this.gate, gate, spec.update, report);
      await afterGate(createdNamed);
    } catch (err) {
      await this.opts.traffic.withdraw(spec.name).catch(() => {});
      const cause = asDokkupError(err);
      report({
        type: 'progress',
        phase: 'cleanup',
        message: `${cause.message}; removing the new containers`,
      });
      await this.forEach([...created], 'cleanup', 'Removing new container', report, (id) =>
        this.runtime.removeContainer(id),
      ).catch((e) => this.opts.logger.error({ err: e }, 'removing failed new containers'));
      throw new OperationFailed(cause, { restored: true });
    }
  }

  /**
   * Every entry's image is on the node before containers are created: a deploy with `pull:
   * always` pulled those entries' images before planning; the others (and every image of a
   * rollback, whose version may be gone since) are pulled when missing, each with the request's
   * credentials for its own registry.
   */
  private async ensureImages(spec: JobSpec, report: ProgressSink, pulls: PullOptions): Promise<void> {
    const pulled = new Set(pulls.pulled ?? []);
    for (const image of jobImages(spec)) {
      if (pulled.has(image)) continue;
      if ((await this.runtime.imageId(image)) !== null) continue;
      await this.pull(image, report, pulls.registryAuth);
    }
  }

  /** Engine work over `ids` with the node's bound (see stop-phase.ts). */
  private forEach(
    ids: string[],
    phase: Phase,
    label: string,
    report: ProgressSink,
    fn: (id: string) => Promise<void>,
  ): Promise<void> {
    return boundedEach(this.opts.concurrency, ids, phase, label, report, fn);
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
}

/** The names of the observed containers with these IDs. */
function namesOf(obs: Observation, ids: ReadonlySet<string>): Set<string> {
  return new Set(obs.containers.filter((c) => ids.has(c.id)).map((c) => c.name));
}
