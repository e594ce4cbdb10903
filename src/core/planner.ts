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
 */
import type { ContainerState, Health, Plan, PlanAction, SpecDiff } from '../protocol/api.js';
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import type { JobState } from '../protocol/state.js';
import { formatDurationMs } from './duration.js';
import { currentRecord, findRecord, previousVersion } from './history.js';

export interface ObservedContainer {
  id: string;
  name: string;
  version: string | null;
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
  /** Extra containers of the target version to remove (scale down: newest first). */
  removeExtra: string[];
  /** New containers of the target version to create, start and health-gate. */
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
const newestFirst = (a: ObservedContainer, b: ObservedContainer) =>
  b.createdAt - a.createdAt || b.id.localeCompare(a.id);
const oldestFirst = (a: ObservedContainer, b: ObservedContainer) => -newestFirst(a, b);
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

export function usesFixedHostPort(spec: ContainerSpec): boolean {
  return spec.ports.some((p) => p.out !== null);
}

interface ConvergeInput {
  obs: Observation;
  spec: JobSpec;
  version: string;
  /** For `pull: always`: the image ID the tag resolves to now (after pulling). */
  pulledImageId?: string | null;
}

/** Planning of deploy and rollback: converge the node to `count` containers of `version`. */
function converge(
  { obs, spec, version, pulledImageId }: ConvergeInput,
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
  const staleImage =
    pulledImageId != null &&
    ofTarget.some((c) => c.imageId !== pulledImageId) &&
    spec.container.pull === 'always';

  let action: PlanAction;
  if (sameVersion && !staleImage) {
    steps.removeLeftovers = ids(others);
    // Keep running containers first, then stopped ones (oldest first), up to count.
    const ordered = [
      ...ofTarget.filter(isRunning).sort(oldestFirst),
      ...ofTarget.filter((c) => !isRunning(c)).sort(oldestFirst),
    ];
    const kept = ordered.slice(0, count);
    steps.removeExtra = ids(ordered.slice(count).sort(newestFirst));
    steps.startExisting = ids(kept.filter((c) => !isRunning(c)));
    steps.create = count - kept.length;
    if (fresh) action = 'fresh';
    else if (steps.create > 0 || steps.removeExtra.length > 0) action = 'scale';
    else if (steps.startExisting.length > 0) action = 'start';
    else if (steps.removeLeftovers.length > 0) action = 'scale';
    else action = 'noop';
    if (steps.create > 0 && usesFixedHostPort(spec.container) && kept.length > 0) {
      warnings.push('a fixed host port (out) can only be bound once on this node');
    }
  } else {
    // Replace: new containers of `version` beside the old ones, then the old ones go.
    steps.removeLeftovers = staleImage ? [] : ids(ofTarget);
    steps.replace = staleImage ? ids(obs.containers) : ids(others);
    steps.create = count;
    steps.strategy = usesFixedHostPort(spec.container) ? 'stop-first' : 'start-first';
    action = 'update';
    if (steps.strategy === 'stop-first') {
      warnings.push(
        'fixed host port: old containers are stopped before the new ones start (restored on failure)',
      );
    }
    if (staleImage) warnings.push(`image ${spec.container.image} changed since it was last pulled`);
  }
  if (operation === 'rollback' && action !== 'noop') action = 'rollback';
  if (spec.container.pull === 'always' && pulledImageId === undefined) {
    warnings.push(
      'pull: always — the image is pulled again at deploy; a changed image updates the containers',
    );
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
      desired: count,
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
  pulledImageId?: string | null,
): ExecutionPlan {
  return converge({ obs, spec, version, pulledImageId }, 'deploy');
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

// ---------------------------------------------------------------------------------------------
// Diff

function keyChanges(a: Record<string, string>, b: Record<string, string>) {
  const added = Object.keys(b).filter((k) => !(k in a));
  const removed = Object.keys(a).filter((k) => !(k in b));
  const changed = Object.keys(b).filter((k) => k in a && a[k] !== b[k]);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

export function formatPorts(spec: ContainerSpec): string {
  if (spec.ports.length === 0) return 'none';
  return spec.ports.map((p) => `${p.out ?? ''}${p.out ? ':' : ''}${p.in}/${p.protocol}`).join(', ');
}

const argv = (a: string[] | null) => (a === null ? null : a.join(' '));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What differs between the running spec `from` (null: none known) and `to`. */
export function diffSpecs(from: JobSpec | null, to: JobSpec, imageIdChanged = false): SpecDiff {
  const a = from?.container;
  const b = to.container;
  const diff: SpecDiff = {
    environment: keyChanges(a?.environment ?? {}, b.environment),
    labels: keyChanges(a?.labels ?? {}, b.labels),
    other: [],
    imageIdChanged,
  };
  if (a?.image !== b.image) diff.image = { from: a?.image ?? null, to: b.image };
  if (from?.count !== to.count) diff.count = { from: from?.count ?? null, to: to.count };
  if (!a || formatPorts(a) !== formatPorts(b))
    diff.ports = { from: a ? formatPorts(a) : null, to: formatPorts(b) };
  // A command built from `${VAR}`s (now or in the version it replaces) may hold a secret: it is
  // named as changed, never shown.
  const masked = new Set([...(a?.maskedFields ?? []), ...(b.maskedFields ?? [])]);
  const maskedChanges: string[] = [];
  for (const field of ['command', 'entrypoint'] as const) {
    if (same(a?.[field] ?? null, b[field])) continue;
    if (masked.has(field)) maskedChanges.push(field);
    else diff[field] = { from: argv(a?.[field] ?? null), to: argv(b[field]) };
  }
  const stopFields = {
    stop_grace_period: (c?: ContainerSpec) =>
      c?.stopGracePeriodMs === undefined ? null : formatDurationMs(c.stopGracePeriodMs),
    stop_signal: (c?: ContainerSpec) => c?.stopSignal ?? null,
    init: (c?: ContainerSpec) => (c?.init === undefined ? null : String(c.init)),
  };
  for (const [field, show] of Object.entries(stopFields) as [
    keyof typeof stopFields,
    typeof stopFields.init,
  ][]) {
    // Shown for a first deploy too, when set: the operator sees how the containers will stop.
    if (show(a) !== show(b)) diff[field] = { from: show(a), to: show(b) };
  }
  diff.other.push(...maskedChanges);
  if (a) {
    for (const field of ['volumes', 'networks', 'restart', 'healthcheck', 'resources'] as const) {
      if (!same(a[field], b[field])) diff.other.push(field);
    }
  }
  return diff;
}
