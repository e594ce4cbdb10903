/**
 * The planner: desired spec + what the node has (containers from labels, history) → a plan for
 * the tables and the ordered work for the executor. Pure: everything is passed in.
 *
 * Vocabulary
 * - target version V: the version the operation converges to (deploy: the spec's; rollback: a
 *   history entry's).
 * - effective current E: the history's current version; if the history is missing (first start
 *   after a lost data dir, or a crash before the first commit) the version most job containers
 *   carry.
 * - "ours": job containers of V when V is E (they are what we converge); "leftovers": job
 *   containers of any version that is neither E nor (when V is E) V — debris of an interrupted
 *   operation, never serving the committed version, removed before anything else.
 * - replicas (see replicas.ts): `count` is a number of replicas, each one container of every
 *   entry. Replicas are kept, started, created and removed whole; a replica of V that is not whole
 *   (an interrupted operation made only part of it) is a leftover too.
 */
import type { ContainerState, Health, Plan, PlanAction } from '../protocol/api.js';
import type { JobSpec } from '../protocol/job.js';
import type { JobState } from '../protocol/state.js';
import { containersPerNode, findEntry, usesFixedHostPort } from './entries.js';
import { currentRecord, findRecord, previousVersion } from './history.js';
import {
  containerIds,
  groupReplicas,
  isReplicaRunning,
  isWhole,
  newestReplicaFirst,
  oldestReplicaFirst,
} from './replicas.js';
import { diffSpecs } from './spec-diff.js';

export interface ObservedContainer {
  id: string;
  name: string;
  version: string | null;
  /** Its entry (`dokkup.job.entry`); null for the single entry of a job that names none. */
  entry: string | null;
  /** Its replica (`dokkup.job.replica`); null when it is a replica of its own. */
  replica: string | null;
  state: ContainerState;
  health: Health;
  imageId: string;
  /** Unix seconds. */
  createdAt: number;
}

export interface Observation {
  job: string;
  state: JobState | null;
  containers: ObservedContainer[];
}

/** The work the executor carries out, in this order. */
export interface ExecutionSteps {
  /** Leftovers of interrupted operations: removed first. */
  removeLeftovers: string[];
  /** Existing containers of the target version to start (stopped ones that are kept). */
  startExisting: string[];
  /** Extra containers of the target version to remove (scale down: whole replicas, newest first). */
  removeExtra: string[];
  /** New replicas of the target version to create, start and health-gate (one container per entry each). */
  create: number;
  /**
   * Containers replaced by the new ones: stopped and removed only after every new container is
   * healthy (start-first), or stopped before and restarted on failure (stop-first).
   */
  replace: string[];
  strategy: 'start-first' | 'stop-first' | null;
  /** Stop (keep) these. */
  stop: string[];
  /** Remove these, and the job's history (purge). */
  purge: string[];
}

export interface ExecutionPlan {
  plan: Plan;
  /** The spec the node converges to (null for stop). */
  spec: JobSpec | null;
  steps: ExecutionSteps;
}

const noSteps = (): ExecutionSteps => ({
  removeLeftovers: [],
  startExisting: [],
  removeExtra: [],
  create: 0,
  replace: [],
  strategy: null,
  stop: [],
  purge: [],
});

const isRunning = (c: ObservedContainer) => c.state === 'running' || c.state === 'restarting';
const ids = (cs: ObservedContainer[]) => cs.map((c) => c.id);

/** The committed version, or (without history) the version most job containers carry. */
export function effectiveCurrent(obs: Observation): string | null {
  if (obs.state?.current) return obs.state.current;
  const counts = new Map<string, number>();
  for (const c of obs.containers) if (c.version) counts.set(c.version, (counts.get(c.version) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    if (n > bestCount) [best, bestCount] = [v, n];
  }
  return best;
}

interface ConvergeInput {
  obs: Observation;
  spec: JobSpec;
  version: string;
  /**
   * For entries with `pull: always`: the image ID each such image resolves to now (after
   * pulling), by image reference. Undefined when nothing was pulled (a plan request).
   */
  pulledImageIds?: Readonly<Record<string, string | null>>;
}

/** Planning of deploy and rollback: converge the node to `count` whole replicas of `version`. */
function converge(
  { obs, spec, version, pulledImageIds }: ConvergeInput,
  operation: 'deploy' | 'rollback',
): ExecutionPlan {
  const steps = noSteps();
  const warnings: string[] = [];
  const current = effectiveCurrent(obs);
  const running = obs.containers.filter(isRunning).length;
  const total = obs.containers.length;
  const count = spec.count;
  const ofTarget = obs.containers.filter((c) => c.version === version);
  const others = obs.containers.filter((c) => c.version !== version);
  // An update whose old containers are all gone already (a crash after the old ones were removed
  // but before the history was written) adopts the new ones instead of replacing them again.
  const adopt = current !== version && ofTarget.length > 0 && others.every((c) => c.version !== current);
  // Without history or versioned containers, unversioned job containers (e.g. made by the
  // original dokkup) are replaced start-first rather than removed as debris.
  const sameVersion = current === version || adopt || (current === null && others.length === 0);
  const fresh = total === 0;
  const stale = staleImages(ofTarget, spec, pulledImageIds);
  const staleImage = stale.length > 0;

  let action: PlanAction;
  if (sameVersion && !staleImage) {
    const replicas = groupReplicas(ofTarget);
    const whole = replicas.filter((r) => isWhole(r, spec));
    const broken = replicas.filter((r) => !isWhole(r, spec));
    steps.removeLeftovers = [...ids(others), ...containerIds(broken)];
    // Keep running replicas first, then the others (oldest first), up to count.
    const ordered = [
      ...whole.filter(isReplicaRunning).sort(oldestReplicaFirst),
      ...whole.filter((r) => !isReplicaRunning(r)).sort(oldestReplicaFirst),
    ];
    const kept = ordered.slice(0, count);
    steps.removeExtra = containerIds(ordered.slice(count).sort(newestReplicaFirst));
    steps.startExisting = ids(kept.flatMap((r) => r.containers).filter((c) => !isRunning(c)));
    steps.create = count - kept.length;
    if (fresh) action = 'fresh';
    else if (steps.create > 0 || steps.removeExtra.length > 0) action = 'scale';
    else if (steps.startExisting.length > 0) action = 'start';
    else if (steps.removeLeftovers.length > 0) action = 'scale';
    else action = 'noop';
    if (steps.create > 0 && usesFixedHostPort(spec) && kept.length > 0) {
      warnings.push('a fixed host port (out) can only be bound once on this node');
    }
  } else {
    // Replace: new replicas of `version` beside the old ones, then the old ones go.
    steps.removeLeftovers = staleImage ? [] : ids(ofTarget);
    steps.replace = staleImage ? ids(obs.containers) : ids(others);
    steps.create = count;
    steps.strategy = usesFixedHostPort(spec) ? 'stop-first' : 'start-first';
    action = 'update';
    if (steps.strategy === 'stop-first') {
      warnings.push(
        'fixed host port: old containers are stopped before the new ones start (restored on failure)',
      );
    }
    for (const image of stale) warnings.push(`image ${image} changed since it was last pulled`);
  }
  if (operation === 'rollback' && action !== 'noop') action = 'rollback';
  if (pulledImageIds === undefined) {
    for (const image of new Set(spec.container.filter((e) => e.pull === 'always').map((e) => e.image))) {
      const which = spec.container.length > 1 ? `${image} ` : '';
      warnings.push(
        `pull: always — the image ${which}is pulled again at deploy; a changed image updates the containers`,
      );
    }
  }

  const base = current ? (findRecord(obs.state, current)?.spec ?? null) : null;
  const changes =
    steps.removeLeftovers.length +
      steps.startExisting.length +
      steps.removeExtra.length +
      steps.create +
      steps.replace.length >
    0;
  const prev = previousVersion(obs.state);
  return {
    spec,
    steps,
    plan: {
      job: spec.name,
      operation,
      action,
      changes,
      fresh,
      versionFrom: current,
      versionTo: version,
      running,
      total,
      desired: containersPerNode(spec),
      strategy: steps.strategy,
      canRollback: prev !== null,
      rollbackTo: prev,
      diff: diffSpecs(base, spec, staleImage),
      warnings,
    },
  };
}

export function planDeploy(
  obs: Observation,
  spec: JobSpec,
  version: string,
  pulledImageIds?: Readonly<Record<string, string | null>>,
): ExecutionPlan {
  return converge({ obs, spec, version, ...(pulledImageIds ? { pulledImageIds } : {}) }, 'deploy');
}

/**
 * Images of `pull: always` entries whose tag now points at another image than the target
 * version's containers of that entry run (so the same version is redeployed).
 */
function staleImages(
  ofTarget: readonly ObservedContainer[],
  spec: JobSpec,
  pulled: Readonly<Record<string, string | null>> | undefined,
): string[] {
  if (!pulled) return [];
  const stale = new Set<string>();
  for (const c of ofTarget) {
    const entry = findEntry(spec, c.entry);
    if (entry?.pull !== 'always') continue;
    const now = pulled[entry.image];
    if (now != null && c.imageId !== now) stale.add(entry.image);
  }
  return [...stale];
}

/** Rollback to `to`, or to the version before the current one. Null when there is none. */
export function planRollback(
  obs: Observation,
  to?: string,
): ExecutionPlan | { plan: Plan; spec: null; steps: ExecutionSteps } {
  const target = to ?? previousVersion(obs.state);
  const record = target ? findRecord(obs.state, target) : null;
  const current = effectiveCurrent(obs);
  if (!record || target === current) {
    const running = obs.containers.filter(isRunning).length;
    const prev = previousVersion(obs.state);
    return {
      spec: null,
      steps: noSteps(),
      plan: {
        job: obs.job,
        operation: 'rollback',
        action: 'noop',
        changes: false,
        fresh: obs.containers.length === 0,
        versionFrom: current,
        versionTo: current,
        running,
        total: obs.containers.length,
        desired: running,
        strategy: null,
        canRollback: false,
        rollbackTo: prev,
        diff: null,
        warnings: [
          !target
            ? 'no earlier version in this node’s history'
            : target === current
              ? `version ${target} is already current`
              : `version ${target} is not in this node’s history`,
        ],
      },
    };
  }
  const plan = converge({ obs, spec: record.spec, version: record.version }, 'rollback');
  plan.plan.canRollback = true;
  plan.plan.rollbackTo = record.version;
  return plan;
}

export function planStop(obs: Observation, purge: boolean): ExecutionPlan {
  const steps = noSteps();
  const runningContainers = obs.containers.filter(
    (c) => c.state !== 'exited' && c.state !== 'dead' && c.state !== 'created',
  );
  if (purge) steps.purge = ids(obs.containers);
  else steps.stop = ids(runningContainers);
  const current = effectiveCurrent(obs);
  const rec = currentRecord(obs.state);
  const changes = purge ? obs.containers.length > 0 || obs.state !== null : steps.stop.length > 0;
  const prev = previousVersion(obs.state);
  return {
    spec: rec?.spec ?? null,
    steps,
    plan: {
      job: obs.job,
      operation: 'stop',
      action: purge ? 'purge' : changes ? 'stop' : 'noop',
      changes,
      fresh: false,
      versionFrom: current,
      versionTo: purge ? null : current,
      running: obs.containers.filter(isRunning).length,
      total: obs.containers.length,
      desired: 0,
      strategy: null,
      canRollback: !purge && prev !== null,
      rollbackTo: purge ? null : prev,
      diff: null,
      warnings: [],
    },
  };
}

export { diffSpecs };
